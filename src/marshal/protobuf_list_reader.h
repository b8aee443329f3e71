#pragma once
// ProtobufListReader: reads a protobufList stream — `varint(len) ‖ Envelope`, repeated, as the
// protobufList marshaller writes it and ClickHouse reads it — from a file descriptor. Used by
// `xtcp2 -decode` and by tests that check what sinks delivered.
//
// Not thread-safe. The descriptor is borrowed and must outlive the reader.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "record/record_codec.h"

namespace xtcp::marshal {

class ProtobufListReader {
 public:
  // Envelopes longer than this are reported as malformed rather than allocated.
  static constexpr uint64_t kMaxEnvelopeBytes = 256u << 20;

  // When `fd` is a regular file its size caps every length: an envelope claiming more bytes than
  // the rest of the file is an error before anything is allocated. On a stream (stdin, a pipe)
  // memory grows only with the bytes that actually arrive (at most 1 MiB per read).
  explicit ProtobufListReader(int fd);

  // Reads the next Envelope into `*envelope`. Returns false at a clean end of input (between
  // messages), true when an Envelope was read. A truncated length, an implausible length (above
  // kMaxEnvelopeBytes, or above what the rest of a regular file holds), a truncated or unparsable
  // Envelope, or a read error is DataLoss naming the byte offset of the message that failed.
  absl::StatusOr<bool> Next(record::ProtoEnvelope* envelope);

  // Byte offset of the next message (after the last one read).
  uint64_t offset() const { return offset_; }

 private:
  // Makes at least `n` unread bytes available; returns how many are (fewer only at end of input).
  absl::StatusOr<size_t> Fill(size_t n);

  int fd_;
  std::string buf_;  // bytes read, [pos_, buf_.size()) not yet consumed
  size_t pos_ = 0;
  uint64_t offset_ = 0;
  bool eof_ = false;
  int64_t file_size_ = -1;  // size of a regular file, -1 for streams
};

// Parses a whole protobufList byte string into `*envelopes` (cleared first). Same errors as Next.
absl::Status ParseProtobufList(std::string_view bytes, std::vector<record::ProtoEnvelope>* out);

}  // namespace xtcp::marshal
