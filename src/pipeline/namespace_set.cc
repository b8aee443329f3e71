#include "pipeline/namespace_set.h"

#include <dirent.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"

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

}  // namespace

size_t ProcessThreads() { return CountEntries("/proc/self/task"); }
size_t ProcessFds() { return CountEntries("/proc/self/fd"); }

NamespaceSet::SetMetrics::SetMetrics(Metrics* m)
    : reconciles(&m->Count("reconcile", "start", "count")),
      found(&m->Count("discoverNamespaces", "found", "counter")),
      found_proc(&m->Count("discoverNamespaces", "foundProc", "counter")),
      found_bind(&m->Count("discoverNamespaces", "foundBindMount", "counter")),
      skipped(&m->Count("discoverNamespaces", "skipped", "counter")),
      not_namespace(&m->Count("discoverNamespaces", "notNamespace", "counter")),
      added(&m->Count("add", "store", "counter")),
      deleted(&m->Count("delete", "delete", "counter")),
      max_threads(&m->Count("netNamespaceInstance", "maxThreads", "error")),
      enter_failed(&m->Count("netNamespaceInstance", "Setns", "error")),
      handle_vanished(&m->Count("netNamespaceInstance", "handleVanished", "count")),
      discover_start(&m->Count("discoverNamespaces", "start", "counter")),
      instance_start(&m->Count("netNamespaceInstance", "start", "counter")),
      instance_end(&m->Count("netNamespaceInstance", "end", "counter")),
      nsids_assigned(&m->Count("refreshNsids", "assigned", "counter")),
      reconcile_seconds(&m->Summary("reconcile", "complete", "counter")),
      discover_seconds(&m->Summary("discoverNamespaces", "complete", "counter")),
      instance_seconds(&m->Summary("netNamespaceInstance", "complete", "counter")),
      namespaces(&m->NamespaceGauge()),
      threads(&m->Gauge("Engine", "threads", "gauge")),
      fds(&m->Gauge("Engine", "fds", "gauge")),
      shared_hash(&m->Gauge("Engine", "sharedSocketHashNamespaces", "gauge")) {}

NamespaceSet::NamespaceSet(NamespaceSetOptions opts, CollectorContext* ctx, Metrics* metrics,
                           NamespaceHooks hooks, std::function<void(uint64_t)> forget)
    : opts_(opts),
      ctx_(ctx),
      hooks_(std::move(hooks)),
      forget_(std::move(forget)),
      metrics_(metrics) {}

NamespaceSet::~NamespaceSet() { StopAll(); }

void NamespaceSet::StopAll() {
  for (auto& [inode, c] : collectors_) c->Stop();
}

absl::Status NamespaceSet::AddSelf(uint64_t inode, std::unique_ptr<netlink::DumpSocket> socket,
                                   netns::SocketHashInfo socket_hash) {
  self_inode_ = inode;
  self_hash_ = socket_hash;
  auto c = std::make_unique<NamespaceCollector>(inode, "default", std::move(socket), ctx_);
  if (absl::Status s = c->Start(); !s.ok()) return s;
  collectors_.emplace(inode, std::move(c));
  {
    absl::MutexLock lock(&names_mu_);
    names_[inode] = "default";
    stats_.namespaces = collectors_.size();
  }
  metrics_.added->Increment();
  return absl::OkStatus();
}

std::vector<NamespaceCollector*> NamespaceSet::Collectors() const {
  std::vector<NamespaceCollector*> out;
  out.reserve(collectors_.size());
  for (const auto& [inode, c] : collectors_) out.push_back(c.get());
  return out;
}

std::map<uint64_t, std::string> NamespaceSet::Names() const {
  absl::MutexLock lock(&names_mu_);
  return names_;
}

NamespaceSetStats NamespaceSet::stats() const {
  absl::MutexLock lock(&names_mu_);
  return stats_;
}

bool NamespaceSet::ThreadBudgetAllows(uint32_t extra) const {
  if (opts_.max_threads <= 0) return true;
  // +1: the short-lived setns helper thread.
  return hooks_.process_threads() + extra + 1 <= static_cast<size_t>(opts_.max_threads);
}

void NamespaceSet::Add(const netns::NamespaceInfo& info) {
  const absl::Time now = absl::Now();
  auto failed = failures_.find(info.inode);
  if (failed != failures_.end() && now < failed->second.next_try) return;

  // A namespace adds no reader thread (the pool is shared); entering it takes a short-lived helper
  // thread, which must fit.
  if (!ThreadBudgetAllows(0)) {
    metrics_.max_threads->Increment();
    {
      absl::MutexLock lock(&names_mu_);
      ++stats_.refused_for_threads;
    }
    if (refused_logged_.insert(info.inode).second) {
      XTCP_LOG(kWarn,
               "namespace %s (inode %d) refused: the process already runs %d threads and entering "
               "the namespace would exceed -maxThreads %d",
               info.name, info.inode, hooks_.process_threads(), opts_.max_threads);
    }
    return;
  }

  metrics_.instance_start->Increment();
  const absl::Time setup_start = absl::Now();
  auto opened = hooks_.open(info);
  absl::Status status = opened.ok() ? absl::OkStatus() : opened.status();
  std::unique_ptr<NamespaceCollector> c;
  if (status.ok()) {
    c = std::make_unique<NamespaceCollector>(info.inode, info.name, std::move(opened->socket),
                                             ctx_);
    status = c->Start();
  }
  if (!status.ok() && info.pid != 0 && absl::IsUnavailable(status)) {
    // The process we found the namespace through is gone (or its pid was reused): not a failure of
    // the namespace. The next rescan finds it through another process or its bind mount.
    metrics_.handle_vanished->Increment();
    XTCP_LOG(kDebug, "namespace %s (inode %d): %s; will look again", info.name, info.inode,
             std::string(status.message()));
    return;
  }
  if (!status.ok()) {
    Failure& f = failures_[info.inode];
    ++f.attempts;
    const absl::Duration backoff =
        std::min(opts_.enter_backoff_first * (int64_t{1} << std::min(f.attempts - 1, 9)),
                 opts_.enter_backoff_max);
    f.next_try = now + backoff;
    metrics_.enter_failed->Increment();
    {
      absl::MutexLock lock(&names_mu_);
      ++stats_.enter_failures;
    }
    Log(f.attempts == 1 ? LogLevel::kWarn : LogLevel::kDebug,
        "namespace %s (inode %d) not collected, retry in %s: %s", info.name, info.inode,
        absl::FormatDuration(backoff), std::string(status.message()));
    return;
  }
  failures_.erase(info.inode);
  refused_logged_.erase(info.inode);
  metrics_.instance_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - setup_start));
  metrics_.added->Increment();
  XTCP_LOG(kDebug, "namespace %s (inode %d) added", info.name, info.inode);
  collectors_.emplace(info.inode, std::move(c));
  hash_kind_[info.inode] = opened->socket_hash.kind;
  absl::MutexLock lock(&names_mu_);
  names_[info.inode] = info.name;
}

void NamespaceSet::Remove(uint64_t inode) {
  auto it = collectors_.find(inode);
  XTCP_LOG(kDebug, "namespace %s (inode %d) deleted", it->second->name(), inode);
  if (forget_) forget_(inode);
  it->second->Stop();
  {
    absl::MutexLock lock(&names_mu_);
    names_.erase(inode);
  }
  collectors_.erase(it);
  hash_kind_.erase(inode);
  metrics_.deleted->Increment();
  metrics_.instance_end->Increment();
}

void NamespaceSet::NoteNotNamespaces(const netns::DiscoveryStats& ds) {
  if (ds.not_namespace) metrics_.not_namespace->Increment(static_cast<double>(ds.not_namespace));
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
}

void NamespaceSet::NoteSocketHashes() {
  uint64_t shared = 0, own = 0;
  for (const auto& [inode, kind] : hash_kind_) {
    shared += kind == netns::SocketHash::kShared;
    own += kind == netns::SocketHash::kOwn;
  }
  {
    absl::MutexLock lock(&names_mu_);
    stats_.shared_hash = shared;
    stats_.own_hash = own;
  }
  metrics_.shared_hash->Set(static_cast<double>(shared));
  if (hash_advice_logged_ || shared < kSharedHashAdviceAt) return;
  hash_advice_logged_ = true;
  const uint64_t buckets = self_hash_.kind == netns::SocketHash::kOwn ? self_hash_.buckets : 0;
  XTCP_LOG(kInfo,
           "%d of %d namespaces share the host's TCP socket hash%s: each one's dump walks all of "
           "it. Setting net.ipv4.tcp_child_ehash_entries (Linux 6.1+, e.g. to 1024) before "
           "containers start gives each new namespace a hash of its own; measured here it cut "
           "the kernel's cost of dumping such namespaces to about a third (docs/performance.md, "
           "\"Container hosts\")",
           shared, hash_kind_.size(),
           buckets ? absl::StrCat(" (", buckets, " buckets)") : std::string());
}

void NamespaceSet::Reconcile() {
  const absl::Time start = absl::Now();
  metrics_.reconciles->Increment();
  netns::DiscoveryStats ds;
  metrics_.discover_start->Increment();
  const std::vector<netns::NamespaceInfo> live = hooks_.discover(&ds);
  metrics_.discover_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  metrics_.found->Increment(static_cast<double>(ds.found));
  metrics_.found_proc->Increment(static_cast<double>(ds.from_proc));
  metrics_.found_bind->Increment(static_cast<double>(ds.from_bind_mounts));
  metrics_.skipped->Increment(static_cast<double>(ds.skipped));
  NoteNotNamespaces(ds);

  std::set<uint64_t> live_inodes;
  for (const auto& info : live) live_inodes.insert(info.inode);
  std::vector<uint64_t> gone;
  for (const auto& [inode, c] : collectors_) {
    if (inode != self_inode_ && !live_inodes.count(inode)) gone.push_back(inode);
  }
  for (uint64_t inode : gone) Remove(inode);
  std::erase_if(failures_, [&](const auto& f) { return !live_inodes.count(f.first); });
  std::erase_if(refused_logged_, [&](uint64_t inode) { return !live_inodes.count(inode); });
  for (const auto& info : live) {
    if (info.self || info.inode == self_inode_) continue;
    auto it = collectors_.find(info.inode);
    if (it == collectors_.end()) {
      Add(info);
    } else if (it->second->name() != info.name) {
      // E.g. first seen through a process as netns:[inode], since bind-mounted under a name.
      XTCP_LOG(kDebug, "namespace %s (inode %d) is now named %s", it->second->name(), info.inode,
               info.name);
      it->second->Rename(info.name);
      absl::MutexLock lock(&names_mu_);
      names_[info.inode] = info.name;
    }
    if (hooks_.nsid) {
      if (auto c = collectors_.find(info.inode); c != collectors_.end()) {
        const uint32_t nsid = hooks_.nsid(info).value_or(0);
        if (nsid != 0) metrics_.nsids_assigned->Increment();
        c->second->SetNsid(nsid);
      }
    }
  }
  {
    absl::MutexLock lock(&names_mu_);
    stats_.namespaces = collectors_.size();
  }
  NoteSocketHashes();
  metrics_.namespaces->Set(static_cast<double>(collectors_.size()));
  metrics_.threads->Set(static_cast<double>(hooks_.process_threads()));
  metrics_.fds->Set(static_cast<double>(ProcessFds()));
  metrics_.reconcile_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
}

}  // namespace xtcp::pipeline
