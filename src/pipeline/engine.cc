#include "pipeline/engine.h"

#include <dirent.h>
#include <netinet/in.h>

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/alloc_counter.h"
#include "common/log.h"
#include "common/metrics.h"
#include "netns/enter.h"

namespace xtcp::pipeline {
namespace {

size_t CountEntries(const char* dir) {
  DIR* d = ::opendir(dir);
  if (d == nullptr) return 0;
  size_t n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

absl::Duration RandomBelow(absl::Duration limit) {
  if (limit <= absl::ZeroDuration()) return absl::ZeroDuration();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t ns = absl::ToInt64Nanoseconds(limit);
  return absl::Nanoseconds(static_cast<int64_t>(rng() % static_cast<uint64_t>(ns)));
}

}  // namespace

size_t ProcessThreads() { return CountEntries("/proc/self/task"); }
size_t ProcessFds() { return CountEntries("/proc/self/fd"); }

Engine::PollMetrics::PollMetrics(Metrics* m)
    : reconciles(&m->Count("reconcile", "start", "count")),
      found(&m->Count("discoverNamespaces", "found", "counter")),
      found_proc(&m->Count("discoverNamespaces", "foundProc", "counter")),
      found_bind(&m->Count("discoverNamespaces", "foundBindMount", "counter")),
      skipped(&m->Count("discoverNamespaces", "skipped", "counter")),
      done(&m->Count("Poller", "done", "count")),
      polls(&m->Count("Poller", "pollingLoops", "count")),
      complete(&m->Count("Poller", "complete", "count")),
      reconcile_seconds(&m->Summary("reconcile", "complete", "counter")),
      poll_seconds(&m->Summary("Poller", "pollToDoneDuration", "count")),
      threads(&m->Gauge("Engine", "threads", "gauge")),
      fds(&m->Gauge("Engine", "fds", "gauge")) {}

Engine::Engine(const config::Config& cfg, EnvelopeBatcher* batcher, const Stamps* stamps,
               Metrics* metrics, netns::DiscoveryOptions discovery)
    : cfg_(cfg),
      batcher_(batcher),
      stamps_(stamps),
      metrics_(metrics),
      discoverer_(std::move(discovery)),
      collector_metrics_(metrics),
      poll_metrics_(metrics),
      next_seq_(cfg.nlmsg_seq),
      max_concurrent_dumps_(std::max<size_t>(1, std::thread::hardware_concurrency())) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const config::Config& cfg,
                                                       EnvelopeBatcher* batcher,
                                                       const Stamps* stamps, Metrics* metrics,
                                                       netns::DiscoveryOptions discovery) {
  std::unique_ptr<Engine> e(new Engine(cfg, batcher, stamps, metrics, std::move(discovery)));
  if (absl::Status s = e->Init(); !s.ok()) return s;
  return e;
}

absl::Status Engine::Init() {
  auto self = discoverer_.CurrentInode();
  if (!self.ok()) return self.status();
  self_inode_ = *self;

  CollectorOptions& o = ctx_.opts;
  // With -ioUring one ring per namespace reads: its multishot receive drains a whole dump in one
  // wait, and further rings armed on the same socket would only be woken for nothing (every ring
  // polls the socket), costing CPU and buffer memory. -netlinkers sets the syscall readers.
  o.readers = cfg_.io_uring ? 1 : cfg_.netlinkers;
  o.buffer_size = cfg_.RecvBufferSize();
  o.recv_timeout = absl::Milliseconds(static_cast<int64_t>(cfg_.nl_timeout_ms));
  o.modulus = cfg_.modulus == 0 ? 1 : cfg_.modulus;
  o.families.clear();
  for (int f : cfg_.families) o.families.push_back(f == 6 ? AF_INET6 : AF_INET);
  // -deserializers_spec was validated by the parser against decode's own keys.
  const decode::DeserializerSet deserializers = decode::ParseDeserializers(cfg_.deserializers_spec)
                                                    .value_or(decode::DeserializerSet::Default());
  o.idiag_ext = deserializers.IdiagExt();
  o.decode.deserializers = deserializers;
  o.io_uring = cfg_.io_uring;
  o.uring_recv_batch = cfg_.io_uring_recv_batch;
  o.uring_cqe_batch = cfg_.io_uring_cqe_batch;
  o.write_files = cfg_.write_files;
  o.capture_path = cfg_.capture_path;
  ctx_.batcher = batcher_;
  ctx_.stamps = stamps_;
  ctx_.metrics = &collector_metrics_;
  ctx_.listener = this;
  ctx_.next_seq = &next_seq_;

  // The daemon's own namespace is opened here, on this thread: a failure is a startup error.
  auto sock = netlink::NetlinkSocket::Open();
  if (!sock.ok()) return sock.status();
  auto self_collector =
      std::make_unique<NamespaceCollector>(self_inode_, "default", std::move(*sock), &ctx_);
  if (absl::Status s = self_collector->Start(); !s.ok()) return s;
  collectors_.emplace(self_inode_, std::move(self_collector));
  {
    std::lock_guard lock(mu_);
    names_[self_inode_] = "default";
    stats_.namespaces = 1;
  }
  metrics_->Count("add", "store", "counter").Increment();
  if (cfg_.reconcile_frequency > absl::ZeroDuration()) {
    next_background_reconcile_ = absl::Now() + cfg_.reconcile_frequency;
  }
  watcher_ = std::make_unique<netns::Watcher>(discoverer_.options().bind_dirs,
                                              [this] { RequestReconcile(); });
  if (absl::Status s = watcher_->Start(); !s.ok()) {
    XTCP_LOG(kWarn, "namespace watcher unavailable (%s); relying on rescans",
             std::string(s.message()));
    watcher_.reset();
  }
  return absl::OkStatus();
}

Engine::~Engine() {
  Stop();
  if (watcher_) watcher_->Stop();
  for (auto& [inode, c] : collectors_) c->Stop();
}

void Engine::Stop() {
  std::lock_guard lock(mu_);
  stop_ = true;
  cv_.notify_all();
}

void Engine::RequestReconcile() {
  std::lock_guard lock(mu_);
  reconcile_requested_ = true;
  cv_.notify_all();
}

void Engine::TriggerPoll() {
  std::lock_guard lock(mu_);
  poll_requested_ = true;
  cv_.notify_all();
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::map<uint64_t, std::string> Engine::Namespaces() const {
  std::lock_guard lock(mu_);
  return names_;
}

bool Engine::ThreadBudgetAllows(uint32_t extra) const {
  if (cfg_.max_threads <= 0) return true;
  // +1: the short-lived setns helper thread.
  return ProcessThreads() + extra + 1 <= static_cast<size_t>(cfg_.max_threads);
}

void Engine::AddNamespace(const netns::NamespaceInfo& info) {
  const absl::Time now = absl::Now();
  auto failed = failures_.find(info.inode);
  if (failed != failures_.end() && now < failed->second.next_try) return;

  if (!ThreadBudgetAllows(ctx_.opts.readers)) {
    metrics_->Count("netNamespaceInstance", "maxThreads", "error").Increment();
    {
      std::lock_guard lock(mu_);
      ++stats_.refused_for_threads;
    }
    if (refused_logged_.insert(info.inode).second) {
      XTCP_LOG(kWarn, "namespace %s (inode %d) refused: its %d readers would exceed -maxThreads %d",
               info.name, info.inode, ctx_.opts.readers, cfg_.max_threads);
    }
    return;
  }

  auto entered = netns::OpenSocketInNamespace(info.handle, info.inode);
  if (entered.ok() && entered->restore_failed) {
    metrics_->Count("netNamespaceInstance", "restoreNs", "error").Increment();
    XTCP_LOG(kWarn,
             "namespace %s: helper thread could not return to the daemon's namespace; retired",
             info.name);
  }
  absl::Status status = entered.ok() ? absl::OkStatus() : entered.status();
  std::unique_ptr<NamespaceCollector> c;
  if (status.ok()) {
    c = std::make_unique<NamespaceCollector>(info.inode, info.name, std::move(entered->socket),
                                             &ctx_);
    status = c->Start();
  }
  if (!status.ok() && info.pid != 0 && absl::IsUnavailable(status)) {
    // The process we found the namespace through is gone (or its pid was reused): not a failure of
    // the namespace. The next rescan finds it through another process or its bind mount.
    metrics_->Count("netNamespaceInstance", "handleVanished", "count").Increment();
    XTCP_LOG(kDebug, "namespace %s (inode %d): %s; will look again", info.name, info.inode,
             std::string(status.message()));
    return;
  }
  if (!status.ok()) {
    Failure& f = failures_[info.inode];
    ++f.attempts;
    const absl::Duration backoff =
        std::min(absl::Seconds(1) * (int64_t{1} << std::min(f.attempts - 1, 9)), absl::Minutes(5));
    f.next_try = now + backoff;
    metrics_->Count("netNamespaceInstance", "Setns", "error").Increment();
    {
      std::lock_guard lock(mu_);
      ++stats_.enter_failures;
    }
    Log(f.attempts == 1 ? LogLevel::kWarn : LogLevel::kDebug,
        "namespace %s (inode %d) not collected, retry in %s: %s", info.name, info.inode,
        absl::FormatDuration(backoff), std::string(status.message()));
    return;
  }
  failures_.erase(info.inode);
  refused_logged_.erase(info.inode);
  metrics_->Count("add", "store", "counter").Increment();
  XTCP_LOG(kDebug, "namespace %s (inode %d) added", info.name, info.inode);
  collectors_.emplace(info.inode, std::move(c));
  std::lock_guard lock(mu_);
  names_[info.inode] = info.name;
}

void Engine::Reconcile() {
  const absl::Time start = absl::Now();
  poll_metrics_.reconciles->Increment();
  netns::DiscoveryStats ds;
  const std::vector<netns::NamespaceInfo> live = discoverer_.Discover(self_inode_, &ds);
  poll_metrics_.found->Increment(static_cast<double>(ds.found));
  poll_metrics_.found_proc->Increment(static_cast<double>(ds.from_proc));
  poll_metrics_.found_bind->Increment(static_cast<double>(ds.from_bind_mounts));
  poll_metrics_.skipped->Increment(static_cast<double>(ds.skipped));
  if (ds.not_namespace) {
    metrics_->Count("discoverNamespaces", "notNamespace", "counter")
        .Increment(static_cast<double>(ds.not_namespace));
  }
  // `ip netns add` creates the file a moment before mounting the namespace on it: warn only when
  // an entry is still not a namespace at the next rescan.
  std::map<std::string, int> still_bad;
  for (const std::string& path : ds.not_namespace_paths) {
    auto it = not_namespace_seen_.find(path);
    const int seen = (it == not_namespace_seen_.end() ? 0 : it->second) + 1;
    still_bad[path] = seen;
    if (seen == 2) {
      XTCP_LOG(kWarn,
               "skipping %s: not a network namespace (no socket opened, nothing labelled with it)",
               path);
    }
  }
  not_namespace_seen_ = std::move(still_bad);

  std::set<uint64_t> live_inodes;
  for (const auto& info : live) live_inodes.insert(info.inode);
  // Gone: stop readers, close the socket, forget everything about it.
  for (auto it = collectors_.begin(); it != collectors_.end();) {
    if (it->first == self_inode_ || live_inodes.count(it->first)) {
      ++it;
      continue;
    }
    XTCP_LOG(kDebug, "namespace %s (inode %d) deleted", it->second->name(), it->first);
    it->second->Stop();
    {
      std::lock_guard lock(mu_);
      names_.erase(it->first);
      pending_.erase(it->first);
    }
    it = collectors_.erase(it);
    metrics_->Count("delete", "delete", "counter").Increment();
  }
  for (auto it = failures_.begin(); it != failures_.end();) {
    it = live_inodes.count(it->first) ? std::next(it) : failures_.erase(it);
  }
  for (auto it = refused_logged_.begin(); it != refused_logged_.end();) {
    it = live_inodes.count(*it) ? std::next(it) : refused_logged_.erase(it);
  }
  for (const auto& info : live) {
    if (info.self) continue;
    auto it = collectors_.find(info.inode);
    if (it == collectors_.end()) {
      AddNamespace(info);
    } else if (it->second->name() != info.name) {
      // E.g. first seen through a process as netns:[inode], since bind-mounted under a name.
      XTCP_LOG(kDebug, "namespace %s (inode %d) is now named %s", it->second->name(), info.inode,
               info.name);
      it->second->Rename(info.name);
      std::lock_guard lock(mu_);
      names_[info.inode] = info.name;
    }
  }
  {
    std::lock_guard lock(mu_);
    stats_.namespaces = collectors_.size();
  }
  metrics_->NamespaceGauge().Set(static_cast<double>(collectors_.size()));
  poll_metrics_.threads->Set(static_cast<double>(ProcessThreads()));
  poll_metrics_.fds->Set(static_cast<double>(ProcessFds()));
  poll_metrics_.reconcile_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
}

void Engine::DumpFinished(uint64_t poll_id, uint64_t inode) {
  poll_metrics_.done->Increment();
  {
    std::lock_guard lock(mu_);
    if (poll_id != active_poll_) return;  // a dump of an earlier poll, after that poll's timeout
    if (in_flight_ > 0) --in_flight_;
    if (pending_.erase(inode) && pending_.empty()) cv_.notify_all();
  }
  StartWaiting(poll_id);
}

void Engine::StartWaiting(uint64_t poll_id) {
  // At most max_concurrent_dumps_ namespaces dump at once: the kernel walks the whole (global)
  // socket hash for each, and running more of them than there are CPUs only adds lock
  // contention and memory. Called by the poller and by readers whose dump just ended.
  for (;;) {
    NamespaceCollector* next = nullptr;
    {
      std::lock_guard lock(mu_);
      if (poll_id != active_poll_ || waiting_.empty() || in_flight_ >= max_concurrent_dumps_)
        return;
      next = waiting_.front();
      waiting_.pop_front();
      ++in_flight_;
    }
    if (!next->StartPoll(poll_id)) {  // stopped meanwhile
      std::lock_guard lock(mu_);
      --in_flight_;
      if (pending_.erase(next->inode()) && pending_.empty()) cv_.notify_all();
    }
  }
}

void Engine::Poll() {
  const absl::Time start = absl::Now();
  const std::optional<uint64_t> allocs_before = HeapAllocations();
  uint64_t sockets_before = 0;
  for (auto& [inode, c] : collectors_) sockets_before += c->sockets_seen();
  const uint64_t id = ++poll_id_;
  poll_metrics_.polls->Increment();
  // Collectors are asked outside mu_: they call DumpFinished() (which takes mu_) under their own
  // lock.
  std::vector<NamespaceCollector*> idle;
  size_t busy = 0;
  for (auto& [inode, c] : collectors_) {
    if (c->busy()) {
      ++busy;  // still in an earlier poll's dump: sits this one out
    } else {
      idle.push_back(c.get());
    }
  }
  if (busy)
    metrics_->Count("Poller", "namespaceBusy", "count").Increment(static_cast<double>(busy));
  const size_t started = idle.size();
  {
    std::lock_guard lock(mu_);
    active_poll_ = id;
    // Everything is pending before any dump can finish.
    pending_.clear();
    for (NamespaceCollector* c : idle) pending_.insert(c->inode());
    waiting_.assign(idle.begin(), idle.end());
    in_flight_ = 0;
  }
  StartWaiting(id);

  bool timed_out = false;
  {
    std::unique_lock lock(mu_);
    const absl::Time deadline = start + cfg_.poll_timeout;
    while (!pending_.empty() && !stop_) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        timed_out = true;
        break;
      }
      cv_.wait_for(lock, absl::ToChronoNanoseconds(left));
    }
    if (!pending_.empty() && !timed_out) timed_out = !stop_;
    active_poll_ = 0;
    waiting_.clear();  // namespaces not reached before the timeout wait for the next poll
    if (timed_out) ++stats_.polls_timed_out;
  }
  const absl::Duration took = absl::Now() - start;
  poll_metrics_.poll_seconds->Observe(absl::ToDoubleSeconds(took));
  if (timed_out) {
    metrics_->Count("Poller", "PollTimeout", "count").Increment();
    batcher_->Flush(FlushReason::kPollTimeout);
  } else {
    batcher_->Flush(FlushReason::kPollEnd);
  }
  uint64_t sockets = 0;
  for (auto& [inode, c] : collectors_) sockets += c->sockets_seen();
  {
    std::lock_guard lock(mu_);
    ++stats_.polls_completed;
  }
  poll_metrics_.complete->Increment();
  std::string allocs;
  if (const auto after = HeapAllocations(); after && allocs_before) {
    allocs = absl::StrCat(", ", *after - *allocs_before, " allocations");
  }
  XTCP_LOG(kInfo, "poll %d: %d namespaces%s, %d sockets, %s in %.3fms%s", id, started,
           busy ? absl::StrCat(" (", busy, " still busy)") : "", sockets - sockets_before,
           timed_out ? "TIMED OUT" : "done", absl::ToDoubleMilliseconds(took), allocs);
}

absl::Duration Engine::NextInterval() {
  const absl::Duration span = cfg_.poll_frequency * cfg_.poll_jitter_pct / 100;
  if (span <= absl::ZeroDuration()) return cfg_.poll_frequency;
  return cfg_.poll_frequency - span / 2 + RandomBelow(span);
}

bool Engine::SleepUntil(absl::Time until) {
  for (;;) {
    bool reconcile = false;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (stop_) return false;
        if (poll_requested_) {
          poll_requested_ = false;
          return true;
        }
        if (reconcile_requested_) break;
        const absl::Time now = absl::Now();
        if (now >= until) return true;
        const absl::Time wake = std::min(until, next_background_reconcile_);
        if (now >= next_background_reconcile_) break;
        cv_.wait_for(lock, absl::ToChronoNanoseconds(wake - now));
        if (absl::Now() >= next_background_reconcile_) break;
      }
      reconcile = true;
      reconcile_requested_ = false;
    }
    if (reconcile) {
      if (absl::Now() >= next_background_reconcile_) {
        metrics_->Count("mapReconciler", "tick", "count").Increment();
        next_background_reconcile_ = absl::Now() + cfg_.reconcile_frequency;
      }
      Reconcile();
    }
  }
}

absl::Status Engine::Run(std::function<void()> on_polling) {
  Reconcile();
  XTCP_LOG(kDebug, "collecting %d namespaces, families %s, %d readers each%s", collectors_.size(),
           ctx_.opts.families.size() == 2 ? "4,6" : (ctx_.opts.families[0] == AF_INET ? "4" : "6"),
           ctx_.opts.readers, cfg_.io_uring ? " (io_uring)" : "");
  if (!SleepUntil(absl::Now() + RandomBelow(cfg_.poll_frequency * cfg_.poll_jitter_pct / 100))) {
    return absl::OkStatus();
  }
  for (uint64_t done = 0;;) {
    absl::Time tick = absl::Now();
    if (cfg_.reconcile_before_poll) Reconcile();
    if (done == 0 && on_polling) on_polling();  // the first poll is under way
    Poll();
    ++done;
    if (cfg_.max_loops != 0 && done >= cfg_.max_loops) break;
    if (!SleepUntil(tick + NextInterval())) break;
  }
  return absl::OkStatus();
}

}  // namespace xtcp::pipeline
