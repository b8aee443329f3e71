#pragma once
// OutputStage: the one writer thread between the batcher and the sink.
//
//   batcher --Submit()--> [bounded queue] --> writer thread: marshal -> split? -> sink.Send (retry)
//      ^                                              |
//      +------------------ Fresh() <-- envelope pool <+  (recycled, capacity kept)
//
// Full-queue policy (unless block_when_full): Submit() waits at most `submit_wait` for room in
// the queue (a burst within one poll fits in it), and not at all while the writer has finished
// no envelope since the last drop (a stuck sink), so a sink never stalls polling for long. Then
// the submitted envelope's rows are dropped: counted in rows_lost(), Poller/envelopeRowsLost/error
// and Output/queueFull/error (envelopes), and logged as a warning at most once per 10 s. Fresh()
// never blocks (the pool grows past pool_size only while envelopes are dropped and recycled).
//
// A sink failure is retried a few times with backoff; what still fails is counted as lost rows. A
// sink that says its destination is gone for good (Aborted: a closed stdout) is not retried:
// everything from then on is counted lost and `on_sink_closed` runs once (the daemon stops).
// Sinks with a message limit (max_message_size() > 0: datagrams, Kafka) get each flush cut into
// self-contained chunks at record boundaries, each marshalled on its own (csv/tsv: the header in
// the first). Asynchronous sinks (Kafka) report rows they accepted but failed to deliver later;
// those move from rows_sent() to rows_lost().
//
// Shutdown: Stop(timeout) returns within `timeout` whatever the sink does. If the writer is stuck
// in a send at the deadline, what is queued and in flight is counted lost and the writer is left
// behind (abandoned() is true): the process must then exit without destroying the stage (the
// destructor would wait for the sink to return).
//
// Thread-safe. Start() once, Stop() once (idempotent).

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log_limiter.h"
#include "pipeline/envelope.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace prometheus {
class Counter;
}

namespace xtcp {
class Metrics;
namespace pipeline {

struct OutputOptions {
  // Submit() on a full queue: false (the daemon) drops and counts; true (replay, tests) waits.
  bool block_when_full = false;
  // How long Submit() may wait for room before it drops.
  absl::Duration submit_wait = absl::Milliseconds(250);
  size_t queue_depth = 2;       // envelopes waiting for the writer
  size_t pool_size = 4;         // envelopes in existence (filling + queued + writing + spare)
  size_t envelope_reserve = 0;  // bytes reserved in each new envelope (the byte cap): no regrowth
  int send_attempts = 3;        // per message; backoff 50ms, 100ms, …
  absl::Duration retry_backoff = absl::Milliseconds(50);
  // Runs once, on the writer thread, when the sink reports its destination closed (Aborted).
  std::function<void()> on_sink_closed;
};

class OutputStage final : public EnvelopeConsumer {
 public:
  // `metrics` must outlive the stage.
  OutputStage(std::unique_ptr<Marshaller> marshaller, std::unique_ptr<Sink> sink, Metrics* metrics,
              OutputOptions opts = {});
  ~OutputStage() override;
  OutputStage(const OutputStage&) = delete;
  OutputStage& operator=(const OutputStage&) = delete;

  void Start();
  // Sends everything queued, drains the sink, joins the writer. Envelopes still queued at the
  // deadline are counted as lost. Returns DeadlineExceeded if anything was lost to the deadline.
  absl::Status Stop(absl::Duration timeout);

  std::unique_ptr<Envelope> Fresh() override;
  void Submit(std::unique_ptr<Envelope> envelope, FlushReason reason) override;

  // Blocks until every envelope submitted so far has been handed to the sink (or lost).
  void WaitIdle();
  // Asks the writer to call Sink::Reopen() after the envelopes submitted so far (SIGHUP).
  void RequestReopen();

  // Rows the sink accepted (and did not report lost later), rows lost anywhere on the way.
  uint64_t rows_sent() const { return rows_sent_.load(); }
  uint64_t rows_lost() const { return rows_lost_.load(); }
  // Rows dropped because the queue was full (part of rows_lost()).
  uint64_t rows_dropped_queue_full() const { return rows_dropped_full_.load(); }
  // True when Stop() left a writer stuck in the sink behind (see the file comment).
  bool abandoned() const { return abandoned_.load(); }
  // True once the sink reported its destination closed.
  bool sink_closed() const { return sink_closed_.load(); }
  const Sink& sink() const { return *sink_; }
  const Marshaller& marshaller() const { return *marshaller_; }

 private:
  struct Item {
    std::unique_ptr<Envelope> envelope;  // null: a reopen request
    FlushReason reason;
  };
  void Run();
  void Write(const Item& item);
  // Marshals rows [first, first+count) of `env` into `out`.
  absl::Status MarshalRows(const Envelope& env, const std::vector<uint32_t>& ends, size_t first,
                           size_t count, std::string* out);
  bool SendWithRetry(std::string_view payload, uint64_t rows);
  bool SendWithRetry(std::span<const std::string_view> parts, uint64_t rows);
  // Settles `rows` of the envelope being written (unless Stop() already counted it lost).
  void Settle(uint64_t sent, uint64_t lost);
  void CountLost(uint64_t rows);
  void Recycle(std::unique_ptr<Envelope> env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t QueuedEnvelopes() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<Marshaller> marshaller_;
  std::unique_ptr<Sink> sink_;
  Metrics* metrics_;
  const OutputOptions opts_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // any change of the state below
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Envelope>> free_ ABSL_GUARDED_BY(mu_);
  size_t created_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t in_flight_rows_ ABSL_GUARDED_BY(mu_) = 0;                 // unsettled rows being written
  LogLimiter full_limiter_ ABSL_GUARDED_BY(mu_){absl::Seconds(10)};  // "queue full" warnings
  bool behind_ ABSL_GUARDED_BY(mu_) = false;  // dropped, and no envelope written since
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread writer_;

  std::string out_;  // writer thread only
  // Per-flush metrics, resolved once (null without Metrics).
  prometheus::Counter* flush_by_reason_[6] = {};
  prometheus::Counter* rows_flushed_ = nullptr;
  prometheus::Counter* lost_flushes_ = nullptr;    // Poller/envelopeFlush/error
  prometheus::Counter* lost_rows_ = nullptr;       // Poller/envelopeRowsLost/error
  prometheus::Counter* queue_full_ = nullptr;      // Output/queueFull/error
  prometheus::Counter* marshal_errors_ = nullptr;  // <marshaller op>/marshal/error
  prometheus::Counter* split_flushes_ = nullptr;   // Output/splitFlush/count
  prometheus::Counter* chunks_ = nullptr;          // Output/chunks/count
  prometheus::Counter* too_large_ = nullptr;       // Output/recordTooLarge/error
  std::atomic<uint64_t> rows_sent_{0}, rows_lost_{0}, rows_dropped_full_{0};
  std::atomic<bool> abandoned_{false}, sink_closed_{false};
};

}  // namespace pipeline
}  // namespace xtcp
