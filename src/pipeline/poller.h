#pragma once
// Poller: the poll cadence and one poll's bookkeeping.
//
//   Run(driver): [jitter] -> loop { driver.BeforePoll() -> PollOnce(driver.Targets()) ->
//                                   wait to next tick (jittered), rescanning when asked }
//   PollOnce(): start dumps (at most max_concurrent_dumps at once) -> wait until every target's
//               dump is done, or poll_timeout, or Stop() -> flush "poll_end" / "poll_timeout"
//
// Done-tracking is per namespace (inode) and per poll id: a DumpFinished() of an earlier poll (a
// dump still running when its poll timed out) ends nothing in the current one. A namespace still
// dumping for an earlier poll sits the next one out ("namespaceBusy").
//
// TriggerPoll() asks for a poll now. Requests coalesce: any number made while idle give one poll;
// one made while a poll is in flight is absorbed by that poll (counted Poller/alreadyPolling).
//
// Cost: every poll's INFO line and summaries carry the dump time of each namespace
// (Poller/namespaceDumpDuration), and the process's system and user CPU over the poll
// (Poller/pollSystemCpu, Poller/pollUserCpu): what a poll costs the kernel, before -frequency is
// raised.
//
// Locks: mu_ guards the wake-up flags, the current poll's pending/waiting sets and the stats. It is
// taken by the poller thread and by reader threads (DumpFinished()), never held while calling a
// collector (collectors call DumpFinished() with none of their locks held).
//
// Thread-safe: Run()/PollOnce() on one thread (the poller thread); Stop(), RequestReconcile(),
// TriggerPoll(), stats() and DumpFinished() from any thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pipeline/collector.h"

namespace prometheus {
class Counter;
class Gauge;
class Summary;
}  // namespace prometheus

namespace xtcp {
class Metrics;
namespace pipeline {

struct PollerOptions {
  absl::Duration poll_frequency = absl::Seconds(10);
  uint32_t poll_jitter_pct = 20;  // each interval is frequency ± frequency*pct/200
  absl::Duration poll_timeout = absl::Seconds(5);
  uint64_t max_loops = 0;  // polls before Run() returns; 0 = until Stop()
  // Namespace rescans: before every poll, and/or on a timer (zero: none), besides
  // RequestReconcile().
  bool reconcile_before_poll = true;
  absl::Duration reconcile_frequency = absl::Hours(6);
  // Dumps running at once (the kernel walks the whole global socket hash for each); 0: one per CPU.
  size_t max_concurrent_dumps = 0;
  // Liveness of the poll loop: `heartbeat` is called on the poller thread every
  // `heartbeat_interval` (at least 1 ms; or a little later) while the loop turns: between polls,
  // and while a poll waits for its dumps. Whatever holds the poller thread up (a rescan, a flush, a
  // collector that does not return) holds the heartbeats up with it; that is the point (systemd's
  // watchdog). Empty: none.
  std::function<void()> heartbeat;
  absl::Duration heartbeat_interval = absl::InfiniteDuration();
};

struct PollStats {
  uint64_t polls_completed = 0;
  uint64_t polls_timed_out = 0;
  uint64_t triggers_coalesced = 0;  // TriggerPoll() calls absorbed by a poll in flight
};

// What one poll did.
struct PollResult {
  uint64_t poll_id = 0;
  size_t started = 0;  // namespaces asked to dump
  size_t busy = 0;     // namespaces sitting this poll out (still in an earlier dump)
  bool timed_out = false;
  absl::Duration took;
  // Process CPU from the poll's start until its dumps settled (before the flush): system time is
  // mostly the kernel walking socket hashes for the dumps; user time is decoding and encoding.
  absl::Duration system_cpu, user_cpu;
  absl::Duration slowest_dump;  // the longest single namespace's dump of this poll
  uint64_t slowest_inode = 0;
};

// The poller's view of the namespaces; implemented by the Engine over its NamespaceSet.
class PollDriver {
 public:
  virtual ~PollDriver() = default;
  // The namespaces to poll now. Poller thread; the pointers stay valid until the next Rescan().
  virtual std::vector<NamespaceCollector*> Targets() = 0;
  // Rescans the namespaces (poller thread, never during PollOnce()). `background` when the
  // reconcile timer asked for it.
  virtual void Rescan(bool background) = 0;
};

class Poller : public DumpListener {
 public:
  // `batcher` and `metrics` must outlive the poller.
  Poller(PollerOptions opts, EnvelopeBatcher* batcher, Metrics* metrics);
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Polls until max_loops polls completed or Stop(). `on_polling` is called once, when the first
  // poll starts (after the startup jitter).
  void Run(PollDriver* driver, const std::function<void()>& on_polling = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // One poll of `targets`, waiting for their dumps (bounded by poll_timeout and Stop()), then the
  // flush. Poller thread.
  PollResult PollOnce(const std::vector<NamespaceCollector*>& targets) ABSL_LOCKS_EXCLUDED(mu_);

  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  void RequestReconcile() ABSL_LOCKS_EXCLUDED(mu_);
  void TriggerPoll() ABSL_LOCKS_EXCLUDED(mu_);
  // A new cadence (gRPC SetPollFrequency): the wait for the next poll restarts at once with a
  // jittered interval of `frequency` (Poller/ticker.Reset); `timeout` bounds the next poll.
  void SetCadence(absl::Duration frequency, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration poll_frequency() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration poll_timeout() const ABSL_LOCKS_EXCLUDED(mu_);
  bool stopping() const ABSL_LOCKS_EXCLUDED(mu_);
  // A TriggerPoll() not yet answered by a poll.
  bool poll_pending() const ABSL_LOCKS_EXCLUDED(mu_);

  // A namespace is going away: the current poll no longer waits for it. Any thread.
  void Forget(uint64_t inode) ABSL_LOCKS_EXCLUDED(mu_);

  PollStats stats() const ABSL_LOCKS_EXCLUDED(mu_);

  // DumpListener (reader threads, or the poller thread from StartPoll()).
  void DumpFinished(uint64_t poll_id, uint64_t inode) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Starts waiting dumps while fewer than max_concurrent_dumps run.
  void StartWaiting(uint64_t poll_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `until`, running rescans when asked; false if stopping.
  bool SleepUntil(absl::Time until, PollDriver* driver) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration NextInterval() const ABSL_LOCKS_EXCLUDED(mu_);
  // Calls opts_.heartbeat when one is due (poller thread, mu_ not held).
  void Beat() ABSL_LOCKS_EXCLUDED(mu_);
  // Deadline of the next heartbeat (InfiniteFuture without one).
  absl::Time next_heartbeat() const { return next_heartbeat_; }

  const PollerOptions opts_;
  const size_t max_concurrent_dumps_;
  EnvelopeBatcher* const batcher_;
  // Resolved once: a look-up builds a label map.
  struct PollMetrics {
    explicit PollMetrics(Metrics* m);
    prometheus::Counter *done, *polls, *complete, *busy, *timeouts, *already_polling, *tick;
    // Upstream's: cadence ticks, polls asked for by TriggerPoll(), the reconcile timer's life.
    prometheus::Counter *ticker, *poll_request, *reconciler_start, *reconciler_complete;
    prometheus::Counter* ticker_reset;  // SetCadence()
    prometheus::Summary *poll_seconds, *dump_seconds, *system_cpu_seconds, *user_cpu_seconds;
  } metrics_;

  // Poller thread only.
  uint64_t poll_id_ = 0;
  absl::Time next_background_reconcile_ = absl::InfiniteFuture();
  absl::Time next_heartbeat_ = absl::InfiniteFuture();

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool reconcile_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool cadence_changed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration frequency_ ABSL_GUARDED_BY(mu_);    // opts_.poll_frequency until SetCadence()
  absl::Duration timeout_ ABSL_GUARDED_BY(mu_);      // opts_.poll_timeout until SetCadence()
  uint64_t active_poll_ ABSL_GUARDED_BY(mu_) = 0;    // 0: no poll in flight
  std::set<uint64_t> pending_ ABSL_GUARDED_BY(mu_);  // inodes whose dump of this poll runs
  std::map<uint64_t, absl::Time> dump_started_ ABSL_GUARDED_BY(mu_);  // of the running dumps
  absl::Duration slowest_dump_ ABSL_GUARDED_BY(mu_);
  uint64_t slowest_inode_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<NamespaceCollector*> waiting_ ABSL_GUARDED_BY(mu_);  // not started yet this poll
  // Not started before the last poll's timeout: they go first in the next poll, so a slow
  // namespace early in the list cannot starve the ones after it.
  std::set<uint64_t> unreached_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  PollStats stats_ ABSL_GUARDED_BY(mu_);
};

// Random duration in [0, limit).
absl::Duration RandomBelow(absl::Duration limit);

}  // namespace pipeline
}  // namespace xtcp
