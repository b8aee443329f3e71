#include "pipeline/engine.h"

#include <netinet/in.h>

#include <memory>
#include <optional>
#include <utility>

#include "common/log.h"
#include "common/metrics.h"
#include "decode/deserializers.h"
#include "netlink/netlink_socket.h"
#include "netns/enter.h"
#include "netns/nsid.h"
#include "netns/socket_hash.h"

namespace xtcp::pipeline {

Engine::Engine(EngineOptions opts, EnvelopeBatcher* batcher, const Stamps* stamps, Metrics* metrics)
    : opts_(std::move(opts)),
      metrics_(metrics),
      discoverer_(opts_.discovery),
      collector_metrics_(metrics),
      next_seq_(opts_.nlmsg_seq),
      poller_(opts_.poller, batcher, metrics) {
  ctx_.opts = opts_.collector;
  ctx_.batcher = batcher;
  ctx_.stamps = stamps;
  ctx_.metrics = &collector_metrics_;
  ctx_.listener = &poller_;
  ctx_.next_seq = &next_seq_;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(EngineOptions opts, EnvelopeBatcher* batcher,
                                                       const Stamps* stamps, Metrics* metrics) {
  std::unique_ptr<Engine> e(new Engine(std::move(opts), batcher, stamps, metrics));
  if (absl::Status s = e->Init(); !s.ok()) return s;
  return e;
}

absl::Status Engine::Init() {
  auto self = discoverer_.CurrentInode();
  if (!self.ok()) return self.status();
  self_inode_ = *self;

  prometheus::Counter* restore_failed =
      &metrics_->Count("netNamespaceInstance", "restoreNs", "error");
  NamespaceHooks hooks;
  hooks.discover = [this](netns::DiscoveryStats* ds) {
    return discoverer_.Discover(self_inode_, ds);
  };
  hooks.open =
      [restore_failed](const netns::NamespaceInfo& info) -> absl::StatusOr<OpenedNamespace> {
    auto entered = netns::OpenSocketInNamespace(info.handle, info.inode);
    if (!entered.ok()) return entered.status();
    if (entered->restore_failed) {
      restore_failed->Increment();
      XTCP_LOG(kWarn,
               "namespace %s: helper thread could not return to the daemon's namespace; retired",
               info.name);
    }
    return OpenedNamespace{.socket = std::move(entered->socket),
                           .socket_hash = entered->socket_hash};
  };
  hooks.process_threads = ProcessThreads;
  if (opts_.namespaces.populate_nsid) {
    // Opened now, in the daemon's namespace and before the sandbox: nsids are relative to it.
    auto resolver = netns::NsidResolver::Open();
    if (!resolver.ok()) return resolver.status();
    auto shared = std::make_shared<netns::NsidResolver>(std::move(*resolver));
    prometheus::Counter* failed = &metrics_->Count("netNamespaceInstance", "nsid", "error");
    hooks.nsid = [shared, failed](const netns::NamespaceInfo& info) -> std::optional<uint32_t> {
      auto id = shared->Query(info.handle);
      if (id.ok()) return *id;
      failed->Increment();
      XTCP_LOG(kDebug, "namespace %s: %s", info.name, std::string(id.status().message()));
      return std::nullopt;
    };
  }

  if (opts_.resolve_container_id) StartCgroupResolver();
  if (opts_.enrich_container) {
    // Nothing waits for the engine: its thread lists in the background and readers stamp from
    // whatever map it has (none at first).
    auto made = enrich::DockerIndex::Create(opts_.docker, metrics_);
    if (!made.ok()) return made.status();
    docker_ = std::move(*made);
    docker_->Start();
    ctx_.docker = docker_.get();
  }

  pool_ = MakeReaderPool(&ctx_);
  if (absl::Status s = pool_->Start(); !s.ok()) return s;
  ctx_.pool = pool_.get();
  namespaces_ = std::make_unique<NamespaceSet>(opts_.namespaces, &ctx_, metrics_, std::move(hooks),
                                               [this](uint64_t inode) { poller_.Forget(inode); });

  // The daemon's own namespace is opened here, on this thread: a failure is a startup error.
  auto sock = netlink::NetlinkSocket::Open();
  if (!sock.ok()) return sock.status();
  if (absl::Status s = namespaces_->AddSelf(self_inode_, std::move(*sock), netns::ReadSocketHash());
      !s.ok()) {
    return s;
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

void Engine::StartCgroupResolver() {
  bool decoded = false;
  for (size_t i = 0; i < decode::kDeserializers.size(); ++i) {
    if (decode::kDeserializers[i].key == "cgroup")
      decoded = opts_.collector.decode.deserializers.Has(i);
  }
  if (!decoded) {
    XTCP_LOG(kWarn,
             "-resolveContainerId: the cgroup deserializer is off (-deserializers), so sockets "
             "carry no cgroup id; container columns left empty");
    return;
  }
  auto made = enrich::CgroupResolver::Create(opts_.cgroups, metrics_);
  if (!made.ok()) {
    XTCP_LOG(kWarn, "-resolveContainerId: %s; container columns left empty",
             std::string(made.status().message()));
    return;
  }
  cgroups_ = std::move(*made);
  const auto map = cgroups_->Current();
  XTCP_LOG(kInfo, "-resolveContainerId: cgroup2 at %s: %d cgroups, %d containers",
           cgroups_->mount().mount_point, map->cgroups(), map->containers());
  cgroups_->Start();
  ctx_.cgroups = cgroups_.get();
}

Engine::~Engine() {
  Stop();
  if (watcher_) watcher_->Stop();
  if (namespaces_) namespaces_->StopAll();
  if (pool_) pool_->Stop();  // no source is left: the readers only wait
  if (cgroups_) cgroups_->Stop();
  if (docker_) docker_->Stop();
}

void Engine::Rescan(bool) {
  const auto before = namespaces_->Names();
  namespaces_->Reconcile();
  if (docker_ == nullptr) return;
  for (const auto& [inode, name] : namespaces_->Names()) {
    if (!before.contains(inode)) {
      docker_->RequestRefresh();
      return;
    }
  }
}

EngineStats Engine::stats() const {
  const PollStats p = poller_.stats();
  const NamespaceSetStats n = namespaces_->stats();
  return {.polls_completed = p.polls_completed,
          .polls_timed_out = p.polls_timed_out,
          .namespaces = n.namespaces,
          .enter_failures = n.enter_failures,
          .refused_for_threads = n.refused_for_threads,
          .shared_hash = n.shared_hash,
          .own_hash = n.own_hash};
}

absl::Status Engine::Run(std::function<void()> on_polling) {
  namespaces_->Reconcile();
  const std::vector<uint8_t>& fam = ctx_.opts.families;
  XTCP_LOG(kDebug, "collecting %d namespaces, families %s (%s), %d shared readers%s",
           namespaces_->stats().namespaces,
           fam.size() == 2 ? "4,6" : (!fam.empty() && fam[0] == AF_INET ? "4" : "6"),
           UsesCompatDump(ctx_.opts) ? "one TCPDIAG_GETSOCK dump" : "SOCK_DIAG_BY_FAMILY dumps",
           ctx_.opts.readers, ctx_.opts.io_uring ? " (io_uring)" : "");
  poller_.Run(this, on_polling);
  return absl::OkStatus();
}

}  // namespace xtcp::pipeline
