#pragma once
// Captured netlink traffic, for -replay and tests.
//
// Two formats are read:
//  * pcap (classic, any byte order, micro- or nanosecond stamps) with LINKTYPE_NETLINK (253), as
//    written by tcpdump/wireshark on an nlmon device. Each packet is a 16-byte cooked header
//    followed by the netlink bytes:
//
//      0       2        4        6                  14       16
//      +-------+--------+--------+------------------+--------+----------------------+
//      |pkttype| ARPHRD | addrlen| address (8)      |protocol| netlink message(s)   |
//      +-------+--------+--------+------------------+--------+----------------------+
//      (protocol is big-endian: 4 = NETLINK_SOCK_DIAG)
//
//  * a raw datagram file (anything that is not pcap): the exact bytes of one recv(), as -writeFiles
//    saves them. Its time comes from an RFC 3339 stamp in the file name ("netlink.<time>" or
//    "<time>"), else from the file's modification time.
//
// Only sock_diag replies are returned; requests (NLM_F_REQUEST) mark the poll time of the replies
// that follow them, and packets of other netlink families are skipped.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace xtcp::decode {

struct CapturedDatagram {
  int64_t poll_time_ns = 0;     // time of the request this reply answers (else its own time)
  int64_t capture_time_ns = 0;  // time the datagram was captured
  std::span<const uint8_t> bytes;
};

struct Capture {
  enum class Format { kPcap, kRaw };
  Format format = Format::kRaw;
  std::vector<uint8_t> storage;  // the file; datagrams point into it
  std::vector<CapturedDatagram> datagrams;
  uint64_t requests = 0;         // dump requests seen (pcap only)
  uint64_t skipped_packets = 0;  // other netlink families, truncated records, …
};

// Streams one capture file, a datagram at a time, holding at most one datagram (or one 1 MiB chunk
// of a raw file) in memory: what -replay uses, whatever the file's size.
//
//  * Only regular files are read: a FIFO, a device or a directory is InvalidArgument at Open()
//    (a FIFO would block forever, a device never ends).
//  * Lengths are capped by what the file holds: a pcap record longer than the rest of the file is
//    a truncated last record (skipped, counted), one longer than kMaxDatagramBytes is skipped
//    without being read. Nothing is allocated from a length field alone.
//  * A raw file is cut into chunks at netlink message boundaries, so walking the chunks counts
//    exactly what walking the whole file would.
//
// Not thread-safe. A datagram's bytes are valid until the next call to Next().
class CaptureReader {
 public:
  static constexpr size_t kMaxDatagramBytes = 16u << 20;  // far above any netlink recv()
  static constexpr size_t kRawChunkBytes = 1u << 20;

  // Opens `path`; errors name it (NotFound, InvalidArgument for a non-regular file, an empty
  // file, a truncated pcap header or another pcap link type).
  static absl::StatusOr<CaptureReader> Open(const std::string& path);
  // Reads an open regular file; `name` is used in errors and for the raw file's time stamp,
  // `fallback_time_ns` when the name has none.
  static absl::StatusOr<CaptureReader> FromFd(UniqueFd fd, const std::string& name,
                                              int64_t fallback_time_ns);

  Capture::Format format() const { return format_; }
  uint64_t requests() const { return requests_; }
  uint64_t skipped_packets() const { return skipped_packets_; }

  // The next reply datagram: true, or false at the end of the file. A read error is DataLoss.
  absl::StatusOr<bool> Next(CapturedDatagram* out);

 private:
  CaptureReader() = default;
  absl::Status ReadAt(uint64_t off, size_t n, uint8_t* dest) const;
  absl::StatusOr<bool> NextPcap(CapturedDatagram* out);
  absl::StatusOr<bool> NextRaw(CapturedDatagram* out);

  UniqueFd fd_;
  std::string name_;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  Capture::Format format_ = Capture::Format::kRaw;
  bool swapped_ = false;
  int64_t frac_scale_ = 1000;
  int64_t raw_time_ns_ = 0;
  int64_t poll_time_ns_ = 0;
  uint64_t requests_ = 0;
  uint64_t skipped_packets_ = 0;
  std::vector<uint8_t> buf_;
};

// Reads a whole capture file into memory (tests and tools; -replay streams with CaptureReader).
// Same errors as CaptureReader::Open.
absl::StatusOr<Capture> ReadCapture(const std::string& path);

// Parses capture bytes already in memory (format detected from the magic number), with the same
// reader.
absl::StatusOr<Capture> ParseCapture(std::vector<uint8_t> bytes, const std::string& name,
                                     int64_t fallback_time_ns);

// Parses an RFC 3339 timestamp with optional fractional seconds and a Z or ±hh:mm offset
// (e.g. 2024-08-29T12:10:36.560332872-07:00) found at the end of a file name.
bool ParseTimeFromFileName(const std::string& name, int64_t* unix_ns);

}  // namespace xtcp::decode
