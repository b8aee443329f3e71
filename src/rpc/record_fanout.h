#pragma once
// RecordFanout: every flushed Envelope, shared with the gRPC record streams.
//
//   EnvelopeBatcher --Submit--> TeeConsumer --Publish()--> RecordFanout --> one queue per client
//                                    |                                        (bounded in bytes)
//                                    +--Submit--> OutputStage (the -dest sink, unchanged)
//
// Publish() copies an Envelope once, and only while a client listens; every client's queue holds
// a reference to the same copy. A client whose queue is over its byte bound loses the new
// Envelope's rows (counted per reason, WARN at most once per 10 s): collection never waits for a
// stream. A row of an Envelope (field 10) holds a serialized XtcpFlatRecord, which a stream
// parses into its response only when it sends it.
//
// Subscribers are woken (their `wake` callback) when rows arrive while they were idle, and told
// to end (`end`) by CloseAll(). Both callbacks run with no fanout lock held, and never after
// Unsubscribe() returned.
//
// Thread-safe.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/log_limiter.h"
#include "pipeline/envelope.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace xtcp {
class Metrics;
namespace rpc {

// Which service a stream belongs to (its metric triples).
enum class StreamKind { kFlatRecords, kPollFlatRecords };

class RecordFanout;

// One client's queue. Created by RecordFanout::Subscribe().
class RecordSubscriber {
 public:
  // The next record to send (a serialized XtcpFlatRecord), valid until the next call. False
  // when the queue is empty: the subscriber is idle and the next Publish() wakes it.
  bool Next(std::string_view* row) ABSL_LOCKS_EXCLUDED(mu_);
  // Rows this client lost because its queue was full.
  uint64_t rows_dropped() const ABSL_LOCKS_EXCLUDED(mu_);
  StreamKind kind() const { return kind_; }

 private:
  friend class RecordFanout;
  struct Chunk {
    std::string bytes;  // a serialized Envelope: rows back to back
    uint32_t rows = 0;
  };
  RecordSubscriber(StreamKind kind, std::string peer, size_t max_bytes, std::function<void()> wake,
                   std::function<void()> end)
      : kind_(kind),
        peer_(std::move(peer)),
        max_bytes_(max_bytes),
        wake_(std::move(wake)),
        end_(std::move(end)) {}
  // Queues `chunk`; false (and nothing queued) when that would pass max_bytes. *wake: the
  // subscriber was idle.
  bool Push(const std::shared_ptr<const Chunk>& chunk, bool* wake) ABSL_LOCKS_EXCLUDED(mu_);
  void Wake() ABSL_LOCKS_EXCLUDED(gate_);
  void End() ABSL_LOCKS_EXCLUDED(gate_);
  void Close() ABSL_LOCKS_EXCLUDED(gate_);

  const StreamKind kind_;
  const std::string peer_;
  const size_t max_bytes_;

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<const Chunk>> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t offset_ ABSL_GUARDED_BY(mu_) = 0;  // read position in queue_.front()
  bool idle_ ABSL_GUARDED_BY(mu_) = true;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;

  // Held while a callback runs; Close() takes it, so none runs after Unsubscribe().
  absl::Mutex gate_;
  bool closed_ ABSL_GUARDED_BY(gate_) = false;
  const std::function<void()> wake_;
  const std::function<void()> end_;
};

struct RecordFanoutOptions {
  // Bytes of Envelopes one client may have queued (shared copies count in full for each).
  size_t client_buffer_bytes = 16 << 20;
};

class RecordFanout {
 public:
  // `metrics` must outlive the fanout.
  RecordFanout(RecordFanoutOptions opts, Metrics* metrics);
  RecordFanout(const RecordFanout&) = delete;
  RecordFanout& operator=(const RecordFanout&) = delete;

  // A new client; `peer` names it in logs. After CloseAll(), `end` runs at once.
  std::shared_ptr<RecordSubscriber> Subscribe(StreamKind kind, std::string peer,
                                              std::function<void()> wake, std::function<void()> end)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes a client; no callback of it runs once this returns.
  void Unsubscribe(const std::shared_ptr<RecordSubscriber>& sub) ABSL_LOCKS_EXCLUDED(mu_);
  // Every client ends (server shutdown); later subscribers end at once.
  void CloseAll() ABSL_LOCKS_EXCLUDED(mu_);

  // Hands `env` to every client (a copy, made only if there is one).
  void Publish(const pipeline::Envelope& env) ABSL_LOCKS_EXCLUDED(mu_);

  size_t clients() const ABSL_LOCKS_EXCLUDED(mu_);
  // Rows dropped for clients that were behind, over the fanout's life.
  uint64_t rows_dropped() const { return rows_dropped_.load(std::memory_order_relaxed); }

 private:
  const RecordFanoutOptions opts_;
  struct FanoutMetrics {
    explicit FanoutMetrics(Metrics* m);
    prometheus::Counter *start, *complete, *fr_dropped, *pfr_dropped;
    prometheus::Gauge* clients;
  } metrics_;
  std::atomic<uint64_t> rows_dropped_{0};

  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<RecordSubscriber>> subs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  LogLimiter behind_limiter_ ABSL_GUARDED_BY(mu_){absl::Seconds(10)};
};

// The batcher's consumer while gRPC is on: every Envelope goes to the fanout, then on to `next`.
class TeeConsumer final : public pipeline::EnvelopeConsumer {
 public:
  TeeConsumer(RecordFanout* fanout, pipeline::EnvelopeConsumer* next)
      : fanout_(fanout), next_(next) {}
  std::unique_ptr<pipeline::Envelope> Fresh() override { return next_->Fresh(); }
  void Submit(std::unique_ptr<pipeline::Envelope> envelope, FlushReason reason) override {
    fanout_->Publish(*envelope);
    next_->Submit(std::move(envelope), reason);
  }

 private:
  RecordFanout* const fanout_;
  pipeline::EnvelopeConsumer* const next_;
};

}  // namespace rpc
}  // namespace xtcp
