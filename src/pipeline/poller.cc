#include "pipeline/poller.h"

#include <sys/resource.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/alloc_counter.h"
#include "common/log.h"
#include "common/metrics.h"

namespace xtcp::pipeline {

absl::Duration RandomBelow(absl::Duration limit) {
  if (limit <= absl::ZeroDuration()) return absl::ZeroDuration();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t ns = absl::ToInt64Nanoseconds(limit);
  return absl::Nanoseconds(static_cast<int64_t>(rng() % static_cast<uint64_t>(ns)));
}

Poller::PollMetrics::PollMetrics(Metrics* m)
    : done(&m->Count("Poller", "done", "count")),
      polls(&m->Count("Poller", "pollingLoops", "count")),
      complete(&m->Count("Poller", "complete", "count")),
      busy(&m->Count("Poller", "namespaceBusy", "count")),
      timeouts(&m->Count("Poller", "PollTimeout", "count")),
      already_polling(&m->Count("Poller", "alreadyPolling", "count")),
      tick(&m->Count("mapReconciler", "tick", "count")),
      ticker(&m->Count("Poller", "ticker", "count")),
      poll_request(&m->Count("Poller", "pollRequestCh", "count")),
      reconciler_start(&m->Count("mapReconciler", "start", "count")),
      reconciler_complete(&m->Count("mapReconciler", "complete", "count")),
      ticker_reset(&m->Count("Poller", "ticker.Reset", "count")),
      poll_seconds(&m->Summary("Poller", "pollToDoneDuration", "count")),
      dump_seconds(&m->Summary("Poller", "namespaceDumpDuration", "count")),
      system_cpu_seconds(&m->Summary("Poller", "pollSystemCpu", "count")),
      user_cpu_seconds(&m->Summary("Poller", "pollUserCpu", "count")) {}

namespace {

struct Cpu {
  absl::Duration system, user;
};

Cpu ProcessCpu() {
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return {};
  return {.system = absl::DurationFromTimeval(ru.ru_stime),
          .user = absl::DurationFromTimeval(ru.ru_utime)};
}

// frequency ± frequency*pct/200, uniformly.
absl::Duration JitteredInterval(absl::Duration frequency, uint32_t pct) {
  const absl::Duration span = frequency * pct / 100;
  if (span <= absl::ZeroDuration()) return frequency;
  return frequency - span / 2 + RandomBelow(span);
}

}  // namespace

Poller::Poller(PollerOptions opts, EnvelopeBatcher* batcher, Metrics* metrics)
    : opts_(opts),
      max_concurrent_dumps_(opts.max_concurrent_dumps > 0
                                ? opts.max_concurrent_dumps
                                : std::max<size_t>(1, std::thread::hardware_concurrency())),
      batcher_(batcher),
      metrics_(metrics),
      frequency_(opts.poll_frequency),
      timeout_(opts.poll_timeout) {}

void Poller::Stop() {
  absl::MutexLock lock(&mu_);
  stop_ = true;
}

bool Poller::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

bool Poller::poll_pending() const {
  absl::MutexLock lock(&mu_);
  return poll_requested_;
}

void Poller::RequestReconcile() {
  absl::MutexLock lock(&mu_);
  reconcile_requested_ = true;
}

void Poller::SetCadence(absl::Duration frequency, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  frequency_ = frequency;
  timeout_ = timeout;
  cadence_changed_ = true;
  metrics_.ticker_reset->Increment();
}

absl::Duration Poller::poll_frequency() const {
  absl::MutexLock lock(&mu_);
  return frequency_;
}

absl::Duration Poller::poll_timeout() const {
  absl::MutexLock lock(&mu_);
  return timeout_;
}

void Poller::TriggerPoll() {
  absl::MutexLock lock(&mu_);
  if (active_poll_ != 0) {
    // The poll in flight answers this request (upstream: alreadyPolling, ignored).
    ++stats_.triggers_coalesced;
    metrics_.already_polling->Increment();
    return;
  }
  poll_requested_ = true;
}

PollStats Poller::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Poller::Forget(uint64_t inode) {
  uint64_t poll_id = 0;
  {
    absl::MutexLock lock(&mu_);
    const size_t before = waiting_.size();
    std::erase_if(waiting_, [inode](NamespaceCollector* c) { return c->inode() == inode; });
    const bool was_waiting = waiting_.size() != before;
    if (!pending_.erase(inode)) return;
    if (!was_waiting && in_flight_ > 0) --in_flight_;  // its dump slot is free for the next one
    poll_id = active_poll_;
  }
  if (poll_id != 0) StartWaiting(poll_id);
}

void Poller::DumpFinished(uint64_t poll_id, uint64_t inode) {
  metrics_.done->Increment();
  {
    absl::MutexLock lock(&mu_);
    if (poll_id != active_poll_) return;  // a dump of an earlier poll, after that poll's timeout
    if (auto it = dump_started_.find(inode); it != dump_started_.end()) {
      const absl::Duration took = absl::Now() - it->second;
      dump_started_.erase(it);
      if (took > slowest_dump_) {
        slowest_dump_ = took;
        slowest_inode_ = inode;
      }
      // Under mu_: observed before the poll can see this namespace done.
      metrics_.dump_seconds->Observe(absl::ToDoubleSeconds(took));
    }
    if (!pending_.erase(inode)) return;  // forgotten, or a duplicate
    if (in_flight_ > 0) --in_flight_;
  }
  StartWaiting(poll_id);
}

void Poller::StartWaiting(uint64_t poll_id) {
  // Called by the poller and by readers whose dump just ended.
  for (;;) {
    NamespaceCollector* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (poll_id != active_poll_ || waiting_.empty() || in_flight_ >= max_concurrent_dumps_)
        return;
      next = waiting_.front();
      waiting_.pop_front();
      ++in_flight_;
      dump_started_[next->inode()] = absl::Now();  // before StartPoll(): its end may come first
    }
    // Outside mu_: StartPoll() may call DumpFinished() (no family could be sent).
    if (!next->StartPoll(poll_id)) {  // stopped (or still busy) meanwhile: nothing will report
      absl::MutexLock lock(&mu_);
      dump_started_.erase(next->inode());
      if (pending_.erase(next->inode()) && in_flight_ > 0) --in_flight_;
    }
  }
}

PollResult Poller::PollOnce(const std::vector<NamespaceCollector*>& targets) {
  const absl::Time start = absl::Now();
  const Cpu cpu_before = ProcessCpu();
  const std::optional<uint64_t> allocs_before = HeapAllocations();
  uint64_t sockets_before = 0;
  for (NamespaceCollector* c : targets) sockets_before += c->sockets_seen();
  PollResult res;
  res.poll_id = ++poll_id_;
  metrics_.polls->Increment();
  // Collectors are asked outside mu_ (lock order: never poller -> collector).
  std::vector<NamespaceCollector*> idle;
  for (NamespaceCollector* c : targets) {
    if (c->busy()) {
      ++res.busy;  // still in an earlier poll's dump: sits this one out
    } else {
      idle.push_back(c);
    }
  }
  if (res.busy) metrics_.busy->Increment(static_cast<double>(res.busy));
  res.started = idle.size();
  {
    absl::MutexLock lock(&mu_);
    active_poll_ = res.poll_id;
    poll_requested_ = false;  // this poll answers every request made before it
    // Everything is pending before any dump can finish.
    pending_.clear();
    for (NamespaceCollector* c : idle) pending_.insert(c->inode());
    dump_started_.clear();
    slowest_dump_ = absl::ZeroDuration();
    slowest_inode_ = 0;
    waiting_.clear();
    for (NamespaceCollector* c : idle) {
      if (unreached_.contains(c->inode())) waiting_.push_back(c);
    }
    for (NamespaceCollector* c : idle) {
      if (!unreached_.contains(c->inode())) waiting_.push_back(c);
    }
    in_flight_ = 0;
  }
  StartWaiting(res.poll_id);

  // Wait for the dumps, heartbeating meanwhile: a poll waiting for a slow kernel is not a stall.
  const absl::Time deadline = start + poll_timeout();
  for (bool settled_now = false; !settled_now;) {
    {
      absl::MutexLock lock(&mu_);
      auto settled = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_.empty() || stop_; };
      settled_now =
          mu_.AwaitWithDeadline(absl::Condition(&settled), std::min(deadline, next_heartbeat())) ||
          absl::Now() >= deadline;
    }
    Beat();
  }
  {
    absl::MutexLock lock(&mu_);
    res.timed_out = !pending_.empty() && !stop_;
    active_poll_ = 0;
    pending_.clear();
    unreached_.clear();  // namespaces not reached before the timeout go first next time
    for (NamespaceCollector* c : waiting_) unreached_.insert(c->inode());
    waiting_.clear();
    dump_started_.clear();
    res.slowest_dump = slowest_dump_;
    res.slowest_inode = slowest_inode_;
    if (res.timed_out) ++stats_.polls_timed_out;
  }
  res.took = absl::Now() - start;
  const Cpu cpu_after = ProcessCpu();
  res.system_cpu = cpu_after.system - cpu_before.system;
  res.user_cpu = cpu_after.user - cpu_before.user;
  metrics_.system_cpu_seconds->Observe(absl::ToDoubleSeconds(res.system_cpu));
  metrics_.user_cpu_seconds->Observe(absl::ToDoubleSeconds(res.user_cpu));
  metrics_.poll_seconds->Observe(absl::ToDoubleSeconds(res.took));
  if (res.timed_out) {
    metrics_.timeouts->Increment();
    batcher_->Flush(FlushReason::kPollTimeout);
  } else {
    batcher_->Flush(FlushReason::kPollEnd);
  }
  uint64_t sockets = 0;
  for (NamespaceCollector* c : targets) sockets += c->sockets_seen();
  {
    absl::MutexLock lock(&mu_);
    ++stats_.polls_completed;
  }
  metrics_.complete->Increment();
  std::string allocs;
  if (const auto after = HeapAllocations(); after && allocs_before) {
    allocs = absl::StrCat(", ", *after - *allocs_before, " allocations");
  }
  std::string slowest;
  if (res.started > 1 && res.slowest_inode != 0) {
    slowest = absl::StrFormat(", slowest namespace %d %.3fms", res.slowest_inode,
                              absl::ToDoubleMilliseconds(res.slowest_dump));
  }
  XTCP_LOG(kInfo,
           "poll %d: %d namespaces%s, %d sockets, %s in %.3fms (CPU: kernel %.3fms, user "
           "%.3fms%s)%s",
           res.poll_id, res.started, res.busy ? absl::StrCat(" (", res.busy, " still busy)") : "",
           sockets - sockets_before, res.timed_out ? "TIMED OUT" : "done",
           absl::ToDoubleMilliseconds(res.took), absl::ToDoubleMilliseconds(res.system_cpu),
           absl::ToDoubleMilliseconds(res.user_cpu), slowest, allocs);
  return res;
}

absl::Duration Poller::NextInterval() const {
  return JitteredInterval(poll_frequency(), opts_.poll_jitter_pct);
}

void Poller::Beat() {
  if (!opts_.heartbeat || absl::Now() < next_heartbeat_) return;
  opts_.heartbeat();
  // At least 1 ms apart: a zero interval must not turn the sleeps into a spin.
  next_heartbeat_ = absl::Now() + std::max(opts_.heartbeat_interval, absl::Milliseconds(1));
}

bool Poller::SleepUntil(absl::Time until, PollDriver* driver) {
  for (;;) {
    Beat();
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || poll_requested_ || reconcile_requested_ || cadence_changed_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&woken),
                            std::min({until, next_background_reconcile_, next_heartbeat()}));
      if (stop_) return false;
      if (poll_requested_) {
        poll_requested_ = false;
        metrics_.poll_request->Increment();
        return true;
      }
      const absl::Time now = absl::Now();
      if (cadence_changed_) {
        // The wait restarts from now at the new frequency (upstream resets its ticker).
        cadence_changed_ = false;
        until = now + JitteredInterval(frequency_, opts_.poll_jitter_pct);
        continue;
      }
      if (!reconcile_requested_ && now < next_background_reconcile_) {
        if (now >= until) {
          metrics_.ticker->Increment();
          return true;
        }
        continue;  // woken for a heartbeat (taken at the top of the loop)
      }
      reconcile_requested_ = false;
    }
    bool background = false;
    if (absl::Now() >= next_background_reconcile_) {
      metrics_.tick->Increment();
      next_background_reconcile_ = absl::Now() + opts_.reconcile_frequency;
      background = true;
    }
    driver->Rescan(background);
  }
}

void Poller::Run(PollDriver* driver, const std::function<void()>& on_polling) {
  if (opts_.heartbeat) next_heartbeat_ = absl::Now();  // the first one at once
  if (opts_.reconcile_frequency > absl::ZeroDuration()) {
    next_background_reconcile_ = absl::Now() + opts_.reconcile_frequency;
    metrics_.reconciler_start->Increment();
  }
  struct ReconcilerEnd {
    Poller* p;
    ~ReconcilerEnd() {
      if (p->opts_.reconcile_frequency > absl::ZeroDuration()) {
        p->metrics_.reconciler_complete->Increment();
      }
    }
  } reconciler_end{this};
  if (!SleepUntil(absl::Now() + RandomBelow(opts_.poll_frequency * opts_.poll_jitter_pct / 100),
                  driver)) {
    return;
  }
  for (uint64_t done = 0;;) {
    const absl::Time tick = absl::Now();
    if (opts_.reconcile_before_poll) driver->Rescan(false);
    if (done == 0 && on_polling) on_polling();  // the first poll is under way
    Beat();
    PollOnce(driver->Targets());
    ++done;
    if (opts_.max_loops != 0 && done >= opts_.max_loops) break;
    if (!SleepUntil(tick + NextInterval(), driver)) break;
  }
}

}  // namespace xtcp::pipeline
