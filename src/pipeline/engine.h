#pragma once
// Engine: the collection engine, a thin owner of its parts (docs/architecture.md):
//
//   NamespaceSet (namespace_set.h)  which namespaces, each a NamespaceCollector (collector.h) with
//                                   its DumpSocket
//   ReaderPool (reader_pool.h)      the fixed reader threads serving every namespace's socket
//   Poller (poller.h)               cadence, jitter, one poll's dumps and done-tracking, flushes
//   netns::Watcher                  inotify on the bind-mount dirs -> RequestReconcile()
//   enrich::CgroupResolver          -resolveContainerId: cgroup id -> container, its own thread
//   enrich::DockerIndex             -enrichContainer: netns inode -> Docker container, its thread
//
// Run() rescans, then hands the poller thread (the caller's) to Poller::Run(), with the engine as
// its PollDriver: Targets() and Rescan() come from the NamespaceSet.
//
// Thread-safe: Run() on one thread; Stop(), RequestReconcile(), TriggerPoll(), SetCadence(),
// stats() and Namespaces() from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "enrich/cgroup.h"
#include "enrich/docker.h"
#include "netns/discovery.h"
#include "netns/watcher.h"
#include "pipeline/collector.h"
#include "pipeline/namespace_set.h"
#include "pipeline/poller.h"

namespace xtcp {
class Metrics;
namespace pipeline {

// Everything the engine is configured with; defaults are the daemon's flag defaults. Built from
// the daemon's Config in src/main/options.cc.
struct EngineOptions {
  PollerOptions poller;            // -pollFrequency, -pollJitter, -pollTimeout, -maxLoops, ...
  NamespaceSetOptions namespaces;  // -maxThreads
  CollectorOptions collector;  // -netlinkers, -nlTimeout, -modulus, families, deserializers, ...
  uint32_t nlmsg_seq = 666;    // first netlink sequence number (-nlmsgSeq)
  netns::DiscoveryOptions discovery;
  // -resolveContainerId: container_id/container_runtime of each socket from its cgroup.
  bool resolve_container_id = false;
  enrich::CgroupResolverOptions cgroups;
  // -enrichContainer: container_id/runtime/name/image of each namespace from the Docker Engine.
  bool enrich_container = false;
  enrich::DockerIndexOptions docker;
};

struct EngineStats {
  uint64_t polls_completed = 0;
  uint64_t polls_timed_out = 0;
  uint64_t namespaces = 0;
  uint64_t enter_failures = 0;
  uint64_t refused_for_threads = 0;
  uint64_t shared_hash = 0;  // namespaces on the host's TCP socket hash (netns/socket_hash.h)
  uint64_t own_hash = 0;
};

class Engine : private PollDriver {
 public:
  // `batcher`, `stamps` and `metrics` must outlive the engine. Opens the daemon's own namespace's
  // socket (a failure is a startup error) and starts the namespace watcher.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(EngineOptions opts,
                                                        EnvelopeBatcher* batcher,
                                                        const Stamps* stamps, Metrics* metrics);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Polls until max_loops polls completed or Stop(). `on_polling` is called once, when the first
  // poll starts (after the startup jitter): readiness. The caller then destroys the engine (which
  // stops every reader) and does the final flush.
  absl::Status Run(std::function<void()> on_polling = {});

  void Stop() { poller_.Stop(); }
  void RequestReconcile() { poller_.RequestReconcile(); }
  // A poll now; coalesced with a poll in flight (see Poller::TriggerPoll()).
  void TriggerPoll() { poller_.TriggerPoll(); }
  // A new poll cadence, live (see Poller::SetCadence()).
  void SetCadence(absl::Duration frequency, absl::Duration timeout) {
    poller_.SetCadence(frequency, timeout);
  }
  absl::Duration poll_frequency() const { return poller_.poll_frequency(); }
  absl::Duration poll_timeout() const { return poller_.poll_timeout(); }

  EngineStats stats() const;
  // Names by inode of the namespaces being collected (tests, logs).
  std::map<uint64_t, std::string> Namespaces() const { return namespaces_->Names(); }

 private:
  Engine(EngineOptions opts, EnvelopeBatcher* batcher, const Stamps* stamps, Metrics* metrics);
  absl::Status Init();
  // -resolveContainerId: the resolver, started, in ctx_; a WARN (and no resolver) if it cannot be.
  void StartCgroupResolver();

  // PollDriver (poller thread).
  std::vector<NamespaceCollector*> Targets() override { return namespaces_->Collectors(); }
  // A namespace new since the last rescan makes the Docker index list again (a container started
  // while the event stream was down).
  void Rescan(bool) override;

  const EngineOptions opts_;
  Metrics* const metrics_;
  netns::Discoverer discoverer_;
  uint64_t self_inode_ = 0;
  CollectorMetrics collector_metrics_;
  std::atomic<uint32_t> next_seq_;
  CollectorContext ctx_;
  std::unique_ptr<enrich::CgroupResolver> cgroups_;  // before pool_: readers call it
  std::unique_ptr<enrich::DockerIndex> docker_;      // before pool_: readers call it
  std::unique_ptr<ReaderPool> pool_;  // before namespaces_: collectors leave it when they stop
  Poller poller_;                     // before namespaces_: collectors report to it until they stop
  std::unique_ptr<NamespaceSet> namespaces_;
  std::unique_ptr<netns::Watcher> watcher_;
};

}  // namespace pipeline
}  // namespace xtcp
