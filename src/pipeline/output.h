#pragma once
// OutputStage: the one writer thread between the batcher and the sink.
//
//   batcher --Submit()--> [bounded queue] --> writer thread: marshal -> split? -> sink.Send (retry)
//      ^                                              |
//      +------------------ Fresh() <-- envelope pool <+  (recycled, capacity kept)
//
// Full-queue policy: Submit() blocks (backpressure reaches the netlink readers, and through them
// the kernel, which simply waits). Nothing is dropped on the way in. A sink failure is retried a
// few times with backoff; what still fails is counted as lost rows, never silently dropped.
// Datagram sinks (max_message_size() > 0) get each flush cut into self-contained chunks at record
// boundaries, each marshalled on its own.
//
// Thread-safe. Start() once, Stop() once (idempotent).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
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
  size_t queue_depth = 2;       // envelopes waiting for the writer
  size_t pool_size = 4;         // envelopes in existence (filling + queued + writing + spare)
  size_t envelope_reserve = 0;  // bytes reserved in each new envelope (the byte cap): no regrowth
  int send_attempts = 3;        // per message; backoff 50ms, 100ms, …
  absl::Duration retry_backoff = absl::Milliseconds(50);
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

  uint64_t rows_sent() const { return rows_sent_.load(); }
  uint64_t rows_lost() const { return rows_lost_.load(); }
  uint64_t flushes() const { return flushes_.load(); }
  const Sink& sink() const { return *sink_; }
  const Marshaller& marshaller() const { return *marshaller_; }

 private:
  struct Item {
    std::unique_ptr<Envelope> envelope;
    FlushReason reason;
  };
  void Run();
  void Write(const Item& item);
  // Marshals rows [first, first+count) of `env` into `out`.
  absl::Status MarshalRows(const Envelope& env, const std::vector<uint32_t>& ends, size_t first,
                           size_t count, std::string* out);
  bool SendWithRetry(std::string_view payload);
  bool SendWithRetry(std::span<const std::string_view> parts);
  void CountLost(uint64_t rows);

  std::unique_ptr<Marshaller> marshaller_;
  std::unique_ptr<Sink> sink_;
  Metrics* metrics_;
  const OutputOptions opts_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;                        // guarded by mu_
  std::vector<std::unique_ptr<Envelope>> free_;   // guarded by mu_
  size_t created_ = 0;                            // guarded by mu_
  bool running_ = false;                          // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
  bool writing_ = false;                          // guarded by mu_
  absl::Time deadline_ = absl::InfiniteFuture();  // guarded by mu_
  std::thread writer_;

  std::string out_;  // writer thread only
  // Per-flush metrics, resolved once (null without Metrics).
  prometheus::Counter* flush_by_reason_[6] = {};
  prometheus::Counter* rows_flushed_ = nullptr;
  std::atomic<uint64_t> rows_sent_{0}, rows_lost_{0}, flushes_{0};
};

}  // namespace pipeline
}  // namespace xtcp
