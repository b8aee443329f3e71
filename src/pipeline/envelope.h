#pragma once
// Envelope batching: records (already encoded as Envelope rows) accumulate in the current
// Envelope until a cap trips or a poll ends; full Envelopes go to the output stage.
//
// Caps (upstream semantics, with its record-dropping bug fixed):
//   rows:  after a row is appended, rows >= max_rows  -> flush "rows_cap"
//   bytes: a row that would take the Envelope past max_bytes first flushes the rows before it,
//          "size_cap", so an Envelope never exceeds max_bytes unless a single row does.
// A cap flush continues in a fresh Envelope at once: no record is ever dropped.
//
// The byte count is the Envelope's exact serialized size, kept in O(1): the Envelope *is* its
// serialized bytes.
//
// Thread-safe: any number of readers Append() concurrently with Flush() from the poller.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "absl/synchronization/mutex.h"
#include "common/byte_buffer.h"
#include "xtcp/envelope.h"

namespace xtcp {

class Metrics;

namespace pipeline {

struct Envelope {
  ByteBuffer bytes;
  uint32_t rows = 0;

  void Clear() {
    bytes.Clear();
    rows = 0;
  }
  EnvelopeView view() const { return {bytes.view(), rows}; }
};

// Where full Envelopes go and fresh ones come from (the output stage; fakes in tests).
class EnvelopeConsumer {
 public:
  virtual ~EnvelopeConsumer() = default;
  // A cleared Envelope to fill; may block while the output is behind (backpressure).
  virtual std::unique_ptr<Envelope> Fresh() = 0;
  // Takes a full Envelope. May block while the output queue is full; never drops.
  virtual void Submit(std::unique_ptr<Envelope> envelope, FlushReason reason) = 0;
};

class EnvelopeBatcher {
 public:
  // `consumer` must outlive the batcher.
  EnvelopeBatcher(uint32_t max_rows, uint32_t max_bytes, EnvelopeConsumer* consumer);
  EnvelopeBatcher(const EnvelopeBatcher&) = delete;
  EnvelopeBatcher& operator=(const EnvelopeBatcher&) = delete;

  // Reserves `n` consecutive record_counter values and returns the first. Counters start at 1 and
  // are unique per process, so a consumer can detect gaps.
  uint64_t ReserveCounters(uint64_t n) {
    return next_counter_.fetch_add(n, std::memory_order_relaxed);
  }

  // Appends encoded rows: `rows` holds them back to back and ends[i] is the end offset of row i.
  void Append(std::string_view rows, std::span<const uint32_t> ends);

  // Hands the current Envelope to the consumer if it holds rows (no-op otherwise).
  void Flush(FlushReason reason);

  uint64_t rows_appended() const { return rows_appended_.load(std::memory_order_relaxed); }
  uint32_t max_rows() const { return max_rows_; }
  uint32_t max_bytes() const { return max_bytes_; }

 private:
  const uint32_t max_rows_;
  const uint32_t max_bytes_;
  EnvelopeConsumer* const consumer_;
  std::atomic<uint64_t> next_counter_{1};
  std::atomic<uint64_t> rows_appended_{0};

  absl::Mutex mu_;
  std::unique_ptr<Envelope> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pipeline
}  // namespace xtcp
