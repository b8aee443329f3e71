#pragma once
// Engine: namespace bookkeeping and the poll loop.
//
//   Run(): reconcile -> [jitter] -> loop { reconcile? -> poll every namespace -> wait for all
//          dumps (or -timeout) -> flush "poll_end"/"poll_timeout" -> sleep to next tick }
//
// Namespaces are keyed by nsfs inode. A new one gets a socket opened through a short setns on a
// helper thread (netns/enter.h) and -netlinkers reader threads; one that cannot be entered gets no
// socket, is counted and retried with exponential backoff; a vanished one has its readers stopped,
// socket closed and bookkeeping freed. -maxThreads is an admission check: a namespace whose readers
// would take the process past it is refused (counted, retried later).
//
// Thread-safe: Run() on one thread; Stop(), RequestReconcile() and TriggerPoll() from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "netns/discovery.h"
#include "netns/watcher.h"
#include "pipeline/collector.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/summary.h"

namespace xtcp {
class Metrics;
namespace pipeline {

struct EngineStats {
  uint64_t polls_completed = 0;
  uint64_t polls_timed_out = 0;
  uint64_t namespaces = 0;
  uint64_t enter_failures = 0;
  uint64_t refused_for_threads = 0;
};

class Engine : public DumpListener {
 public:
  // `batcher`, `stamps` and `metrics` must outlive the engine.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const config::Config& cfg,
                                                        EnvelopeBatcher* batcher,
                                                        const Stamps* stamps, Metrics* metrics,
                                                        netns::DiscoveryOptions discovery = {});
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Polls until -maxLoops polls completed or Stop(). `on_polling` is called once, when the first
  // poll starts (after the startup jitter): readiness. Returns after the readers of every namespace
  // have stopped; the caller then does the final flush.
  absl::Status Run(std::function<void()> on_polling = {});

  void Stop();
  void RequestReconcile();
  void TriggerPoll();

  EngineStats stats() const;
  // Names by inode of the namespaces being collected (tests, logs).
  std::map<uint64_t, std::string> Namespaces() const;

  // DumpListener (called by reader threads).
  void DumpFinished(uint64_t poll_id, uint64_t inode) override;

 private:
  Engine(const config::Config& cfg, EnvelopeBatcher* batcher, const Stamps* stamps,
         Metrics* metrics, netns::DiscoveryOptions discovery);
  absl::Status Init();
  void Reconcile();
  void AddNamespace(const netns::NamespaceInfo& info);
  void Poll();
  void StartWaiting(uint64_t poll_id);
  // Waits until `until`, handling reconcile requests; false if stopping.
  bool SleepUntil(absl::Time until);
  absl::Duration NextInterval();
  bool ThreadBudgetAllows(uint32_t extra) const;

  struct Failure {
    int attempts = 0;
    absl::Time next_try;
  };

  const config::Config cfg_;
  EnvelopeBatcher* const batcher_;
  const Stamps* const stamps_;
  Metrics* const metrics_;
  netns::Discoverer discoverer_;
  uint64_t self_inode_ = 0;

  CollectorMetrics collector_metrics_;
  // Metrics touched every poll, resolved once (a look-up builds a label map).
  struct PollMetrics {
    explicit PollMetrics(Metrics* m);
    prometheus::Counter *reconciles, *found, *found_proc, *found_bind, *skipped, *done, *polls,
        *complete;
    prometheus::Summary *reconcile_seconds, *poll_seconds;
    prometheus::Gauge *threads, *fds;
  } poll_metrics_;
  std::atomic<uint32_t> next_seq_;
  CollectorContext ctx_;
  std::unique_ptr<netns::Watcher> watcher_;

  // Poller thread only.
  std::map<uint64_t, std::unique_ptr<NamespaceCollector>> collectors_;
  std::map<uint64_t, Failure> failures_;
  std::set<uint64_t> refused_logged_;
  std::map<std::string, int> not_namespace_seen_;  // bind-mount entries that are not namespaces
  absl::Time next_background_reconcile_ = absl::InfiniteFuture();
  uint64_t poll_id_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                        // guarded by mu_
  bool reconcile_requested_ = false;         // guarded by mu_
  bool poll_requested_ = false;              // guarded by mu_
  uint64_t active_poll_ = 0;                 // guarded by mu_
  std::set<uint64_t> pending_;               // guarded by mu_: inodes whose dump is still running
  std::deque<NamespaceCollector*> waiting_;  // guarded by mu_: not started yet this poll
  size_t in_flight_ = 0;                     // guarded by mu_
  const size_t max_concurrent_dumps_;
  EngineStats stats_;                      // guarded by mu_
  std::map<uint64_t, std::string> names_;  // guarded by mu_
};

}  // namespace pipeline
}  // namespace xtcp
