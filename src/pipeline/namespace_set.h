#pragma once
// NamespaceSet: which network namespaces are collected, each with its NamespaceCollector.
//
//   Reconcile(): discover -> gone: Forget hook, Stop() (leave the reader pool), close socket, free
//                         -> new: admission (-maxThreads) -> open a socket inside it -> Start()
//                         -> renamed: Rename() (records read afterwards carry the new name)
//
// Namespaces are keyed by nsfs inode. One that cannot be entered gets no collector, is counted and
// retried with exponential backoff (1s, 2s, ... 5min); one whose representative process vanished
// is simply looked at again at the next rescan. -maxThreads is an admission check: namespaces add
// no threads (the reader pool is shared), but entering one takes a short-lived helper thread, so a
// process already at the budget refuses it (counted, logged once, retried).
//
// Socket hash: each namespace's hash is read when it is entered (netns/socket_hash.h). The number
// on the host's shared hash is a gauge; once it reaches kSharedHashAdviceAt, one INFO line names
// the sysctl that gives new namespaces their own hash (docs/performance.md, "Container hosts").
//
// Locks: names_mu_ guards the inode -> name map read by other threads (Names(), stats); everything
// else is touched by the owning (poller) thread only.
//
// Thread-compatible, except Names() and size(), which are thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "netlink/dump_socket.h"
#include "netns/discovery.h"
#include "netns/socket_hash.h"
#include "pipeline/collector.h"

namespace prometheus {
class Counter;
class Gauge;
class Summary;
}  // namespace prometheus

namespace xtcp {
class Metrics;
namespace pipeline {

struct NamespaceSetOptions {
  // Process thread budget (-maxThreads); 0: unlimited.
  int64_t max_threads = 2000;
  bool populate_nsid = false;  // -populateNsid (the Engine then sets NamespaceHooks::nsid)
  // Retry backoff of a namespace that could not be entered: first, doubling to at most `max`.
  absl::Duration enter_backoff_first = absl::Seconds(1);
  absl::Duration enter_backoff_max = absl::Minutes(5);
};

struct NamespaceSetStats {
  uint64_t namespaces = 0;
  uint64_t enter_failures = 0;
  uint64_t refused_for_threads = 0;
  uint64_t shared_hash = 0;  // namespaces (not the daemon's own) on the host's socket hash
  uint64_t own_hash = 0;     // namespaces (not the daemon's own) with a hash of their own
};

// A socket inside a namespace, and what was learnt while inside.
struct OpenedNamespace {
  std::unique_ptr<netlink::DumpSocket> socket;
  netns::SocketHashInfo socket_hash;
};

// Namespaces on the shared hash from which the start-up advice is logged.
inline constexpr uint64_t kSharedHashAdviceAt = 10;

// How the set sees the host; the defaults are the real ones (netns/discovery.h, netns/enter.h,
// /proc/self/task). Tests substitute fakes.
struct NamespaceHooks {
  // Every namespace but the daemon's own (which the set always has).
  std::function<std::vector<netns::NamespaceInfo>(netns::DiscoveryStats*)> discover;
  // A dump socket inside `info`'s namespace. Unavailable when its handle vanished.
  std::function<absl::StatusOr<OpenedNamespace>(const netns::NamespaceInfo&)> open;
  std::function<size_t()> process_threads;
  // -populateNsid: the namespace's nsid (nullopt: none assigned, or the lookup failed); empty
  // when not wanted. Asked at every rescan, so an nsid assigned later is picked up.
  std::function<std::optional<uint32_t>(const netns::NamespaceInfo&)> nsid;
};

class NamespaceSet {
 public:
  // `ctx` (and what it points to) and `metrics` must outlive the set. `forget` is called before a
  // namespace's collector is stopped and destroyed (the poller stops waiting for it).
  NamespaceSet(NamespaceSetOptions opts, CollectorContext* ctx, Metrics* metrics,
               NamespaceHooks hooks, std::function<void(uint64_t inode)> forget = {});
  ~NamespaceSet();
  NamespaceSet(const NamespaceSet&) = delete;
  NamespaceSet& operator=(const NamespaceSet&) = delete;

  // Adds the daemon's own namespace ("default") with `socket`; its failure is a startup error.
  absl::Status AddSelf(uint64_t inode, std::unique_ptr<netlink::DumpSocket> socket,
                       netns::SocketHashInfo socket_hash = {});

  // Rescans: see the header comment.
  void Reconcile();

  // Every collector, for a poll; valid until the next Reconcile().
  std::vector<NamespaceCollector*> Collectors() const;

  // Stops every reader (idempotent).
  void StopAll();

  std::map<uint64_t, std::string> Names() const ABSL_LOCKS_EXCLUDED(names_mu_);
  NamespaceSetStats stats() const ABSL_LOCKS_EXCLUDED(names_mu_);

 private:
  struct Failure {
    int attempts = 0;
    absl::Time next_try;
  };
  void Add(const netns::NamespaceInfo& info) ABSL_LOCKS_EXCLUDED(names_mu_);
  void Remove(uint64_t inode) ABSL_LOCKS_EXCLUDED(names_mu_);
  void NoteNotNamespaces(const netns::DiscoveryStats& ds);
  void NoteSocketHashes();
  bool ThreadBudgetAllows(uint32_t extra) const;

  const NamespaceSetOptions opts_;
  CollectorContext* const ctx_;
  const NamespaceHooks hooks_;
  const std::function<void(uint64_t)> forget_;
  uint64_t self_inode_ = 0;
  // Resolved once: a look-up builds a label map.
  struct SetMetrics {
    explicit SetMetrics(Metrics* m);
    prometheus::Counter *reconciles, *found, *found_proc, *found_bind, *skipped, *not_namespace,
        *added, *deleted, *max_threads, *enter_failed, *handle_vanished;
    prometheus::Counter *discover_start, *instance_start, *instance_end, *nsids_assigned;
    prometheus::Summary *reconcile_seconds, *discover_seconds, *instance_seconds;
    prometheus::Gauge *namespaces, *threads, *fds, *shared_hash;
  } metrics_;

  // Owning thread only.
  std::map<uint64_t, std::unique_ptr<NamespaceCollector>> collectors_;
  std::map<uint64_t, Failure> failures_;
  std::set<uint64_t> refused_logged_;
  std::map<std::string, int> not_namespace_seen_;    // bind-mount entries that are not namespaces
  std::map<uint64_t, netns::SocketHash> hash_kind_;  // of every collected namespace but our own
  netns::SocketHashInfo self_hash_;
  bool hash_advice_logged_ = false;

  mutable absl::Mutex names_mu_;
  std::map<uint64_t, std::string> names_ ABSL_GUARDED_BY(names_mu_);
  NamespaceSetStats stats_ ABSL_GUARDED_BY(names_mu_);
};

// Threads and fds of this process (/proc/self/task, /proc/self/fd).
size_t ProcessThreads();
size_t ProcessFds();

}  // namespace pipeline
}  // namespace xtcp
