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

// Reads one capture file. Errors name the file and what is wrong with it (e.g. a pcap with another
// link type, a truncated pcap header).
absl::StatusOr<Capture> ReadCapture(const std::string& path);

// Parses capture bytes already in memory (format detected from the magic number).
absl::StatusOr<Capture> ParseCapture(std::vector<uint8_t> bytes, const std::string& name,
                                     int64_t fallback_time_ns);

// Parses an RFC 3339 timestamp with optional fractional seconds and a Z or ±hh:mm offset
// (e.g. 2024-08-29T12:10:36.560332872-07:00) found at the end of a file name.
bool ParseTimeFromFileName(const std::string& name, int64_t* unix_ns);

}  // namespace xtcp::decode
