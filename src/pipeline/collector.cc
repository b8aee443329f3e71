#include "pipeline/collector.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "decode/request.h"
#include "pipeline/capture_file.h"
#include "pipeline/row_batch.h"

namespace xtcp::pipeline {

using netlink::kWakeSeq;

CollectorMetrics::CollectorMetrics(Metrics* m) : metrics(m) {
  packets = &m->Count("Netlinker", "packets", "count");
  bytes = &m->Count("Netlinker", "n", "count");
  messages = &m->Count("Netlinker", "p", "count");
  sockets = &m->Count("Deserialize", "envelopeAppend", "count");
  timeouts = &m->Count("Netlinker", "Timeout", "count");
  recv_errors = &m->Count("Netlinker", "nerr", "count");
  truncated = &m->Count("Netlinker", "truncated", "error");
  stale = &m->Count("Deserialize", "staleReply", "count");
  dumps = &m->Count("poller", "poll", "count");
  dump_errors = &m->Count("Poller", "dumpError", "error");
  send_errors = &m->Count("SendNetlinkDumpRequest", "Sendto", "error");
  write_file_errors = &m->Count("Netlinker", "WriteFile", "error");
  modulus_skipped = &m->Count("Deserialize", "continue", "count");
  uring_rearms = &m->Count("NetlinkerIoUring", "recv", "count");
  uring_no_buffers = &m->Count("NetlinkerIoUring", "noBuffers", "count");
  reader_errors = &m->Count("Netlinker", "readerWait", "error");
  compat_refused = &m->Count("Netlinker", "compatRefused", "count");
  recv_calls = &m->Count("Netlinker", "RecvfromCalls", "count");
  deserialize_start = &m->Count("Deserialize", "start", "count");
  deserialize_bytes = &m->Count("Deserialize", "n", "count");
  cgroup_misses = &m->Count("cgroupResolver", "miss", "count");
  for (size_t i = 0; i < decode::kProblemCount; ++i) {
    const auto l = decode::LabelsOf(static_cast<decode::Problem>(i));
    problems.push_back(&m->Count(l.function, l.variable, l.type));
  }
}

// A pool reader's state: its decode scratch and row batch, stamped for the collector whose datagram
// it handles (Adopt()).
class CollectorReader final : public ReaderLocal {
 public:
  uint32_t id = 0;
  uint64_t owner = 0;  // serial of the collector the meta below is for (0: none yet)
  std::string netns;   // the name this reader stamps (meta.netns points here)
  uint32_t netns_gen = 0;
  record::FlatRecord scratch;
  RowBatch batch;
  record::RowEncoder encoder;
  decode::DecodeProblems problems;
  uint32_t files_written = 0;
  bool capture_failed = false;
  // -resolveContainerId: the cgroup map this reader looks sockets up in (kept across datagrams,
  // replaced when the resolver's generation moves) and the reader's cache in front of it.
  std::shared_ptr<const enrich::CgroupMap> cgroups;
  uint64_t cgroups_gen = 0;
  enrich::CgroupCache cgroup_cache;
  // -enrichContainer: the Docker map the meta's container_* strings point into, and its
  // generation (a new one makes Adopt() stamp again).
  std::shared_ptr<const enrich::DockerMap> docker;
  uint64_t docker_gen = 0;
  // -enrichNic/-enrichLldp: the uplink snapshot the meta's uplink columns point into.
  std::shared_ptr<const UplinkSnapshot> uplinks;
  uint64_t uplinks_gen = 0;

  // The container columns of a socket of `cgroup` (empty: none, or a miss, counted).
  const record::ContainerColumns* ContainerOf(enrich::CgroupResolver* resolver, uint64_t cgroup,
                                              uint32_t* misses) {
    const record::ContainerColumns* columns = nullptr;
    if (!cgroup_cache.Lookup(*cgroups, cgroup, &columns)) {
      ++*misses;
      resolver->NoteMiss(*cgroups, cgroup);
    }
    return columns;
  }
  // Takes the resolver's newest map if it changed.
  void RefreshCgroups(const enrich::CgroupResolver& resolver) {
    const uint64_t gen = resolver.generation();
    if (gen == cgroups_gen && cgroups != nullptr) return;
    cgroups = resolver.Current();
    cgroups_gen = gen;
    cgroup_cache.Reset();
  }
};

std::unique_ptr<ReaderLocal> MakeCollectorReader(const CollectorContext* ctx, uint32_t id) {
  auto r = std::make_unique<CollectorReader>();
  r->id = id;
  const UplinkSource* source = ctx->stamps->uplinks.get();
  r->uplinks_gen = source != nullptr ? source->generation() : 0;
  ctx->stamps->Apply(&r->scratch.meta, &r->uplinks);
  r->scratch.meta.netlinker_id = id;
  return r;
}

std::unique_ptr<ReaderPool> MakeReaderPool(const CollectorContext* ctx) {
  ReaderPoolOptions o;
  o.threads = ctx->opts.readers == 0 ? 1 : ctx->opts.readers;
  o.io_uring = ctx->opts.io_uring;
  o.buffer_size = ctx->opts.buffer_size;
  o.idle_wait = ctx->opts.recv_timeout;
  o.uring_recv_batch = ctx->opts.uring_recv_batch;
  o.uring_cqe_batch = ctx->opts.uring_cqe_batch;
  o.make_local = [ctx](uint32_t id) { return MakeCollectorReader(ctx, id); };
  if (ctx->metrics != nullptr) {
    o.counters.idle_wait = ctx->metrics->timeouts;
    o.counters.uring_rearms = ctx->metrics->uring_rearms;
    o.counters.uring_no_buffers = ctx->metrics->uring_no_buffers;
    o.counters.errors = ctx->metrics->reader_errors;
  }
  return std::make_unique<ReaderPool>(std::move(o));
}

namespace {
std::atomic<uint64_t> next_serial{1};
}  // namespace

NamespaceCollector::NamespaceCollector(uint64_t inode, std::string name,
                                       std::unique_ptr<netlink::DumpSocket> socket,
                                       CollectorContext* ctx)
    : inode_(inode),
      name_(std::move(name)),
      socket_(std::move(socket)),
      ctx_(ctx),
      serial_(next_serial.fetch_add(1)) {}

NamespaceCollector::~NamespaceCollector() { Stop(); }

std::string NamespaceCollector::name() const {
  absl::MutexLock lock(&name_mu_);
  return name_;
}

void NamespaceCollector::Rename(std::string name) {
  absl::MutexLock lock(&name_mu_);
  name_ = std::move(name);
  name_gen_.fetch_add(1, std::memory_order_release);
}

absl::Status NamespaceCollector::Start() {
  if (ctx_->pool == nullptr)
    return absl::FailedPreconditionError("collector without a reader pool");
  absl::Status s = ctx_->pool->Add(this, socket_->poll_fd(), socket_->fd());
  registered_ = s.ok();
  return s;
}

void NamespaceCollector::Stop() {
  stop_.store(true);
  if (registered_) {
    // Returns once no reader is inside OnReadable()/OnDatagram(): a datagram taken before is still
    // handled (its rows reach the final flush); what is left queued on the socket is dropped with
    // it.
    ctx_->pool->Remove(this);
    registered_ = false;
  }
  absl::MutexLock lock(&dump_mu_);
  active_ = false;
  end_pending_.store(false);
}

bool NamespaceCollector::busy() const {
  absl::MutexLock lock(&dump_mu_);
  return active_;
}

bool NamespaceCollector::StartPoll(uint64_t poll_id) {
  bool finished = false;
  {
    absl::MutexLock lock(&dump_mu_);
    if (active_ || stop_.load()) return false;
    active_ = true;
    poll_id_ = poll_id;
    finished = SendFirstLocked();
    if (finished) active_ = false;  // nothing was sent: no datagram can be in hand
  }
  // The listener is called without dump_mu_ held (it takes the engine's lock).
  if (finished) ctx_->listener->DumpFinished(poll_id, inode_);
  return true;
}

bool UsesCompatDump(const CollectorOptions& o) {
  const std::vector<uint8_t>& f = o.families;
  const bool both = f.size() == 2 && ((f[0] == AF_INET && f[1] == AF_INET6) ||
                                      (f[0] == AF_INET6 && f[1] == AF_INET));
  return both && o.compat_dump;
}

bool NamespaceCollector::WantCompat() const {
  return UsesCompatDump(ctx_->opts) && !ctx_->compat_refused.load(std::memory_order_relaxed);
}

uint32_t NamespaceCollector::ArmSlotLocked() {
  uint32_t seq = ctx_->next_seq->fetch_add(1);
  if (seq == kWakeSeq) seq = ctx_->next_seq->fetch_add(1);
  current_seq_ = seq;
  DumpSlot& slot = slots_[seq % kSlots];
  slot.sent_ns.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  slot.next_index.store(0, std::memory_order_relaxed);
  slot.seq.store(seq, std::memory_order_release);
  ctx_->metrics->dumps->Increment();
  return seq;
}

bool NamespaceCollector::SendFirstLocked() {
  compat_ = false;
  if (!WantCompat()) return SendFromLocked(0);
  compat_ = true;
  const decode::CompatDumpRequest req =
      decode::BuildCompatDumpRequest(ctx_->opts.idiag_ext, ArmSlotLocked());
  const absl::Status s = socket_->Send(req);
  if (s.ok()) return false;
  // No reply will come; the v2 requests would go the same way, so the dump is over.
  compat_ = false;
  ctx_->metrics->send_errors->Increment();
  XTCP_LOG(kWarn, "namespace %s: %s", name(), std::string(s.message()));
  return true;
}

bool NamespaceCollector::SendFromLocked(size_t family_idx) {
  compat_ = false;
  for (; family_idx < ctx_->opts.families.size(); ++family_idx) {
    family_idx_ = family_idx;
    const decode::DumpRequest req = decode::BuildDumpRequest(ctx_->opts.families[family_idx],
                                                             ctx_->opts.idiag_ext, ArmSlotLocked());
    const absl::Status s = socket_->Send(req);
    if (s.ok()) return false;
    // No reply will come: this family is over, try the next.
    ctx_->metrics->send_errors->Increment();
    XTCP_LOG(kWarn, "namespace %s: %s", name(), std::string(s.message()));
  }
  return true;
}

bool NamespaceCollector::CompatFailed(uint32_t seq, int32_t code) {
  {
    absl::MutexLock lock(&dump_mu_);
    if (!active_ || end_pending_.load() || !compat_ || seq != current_seq_) return false;
    if (code == -EINVAL || code == -EOPNOTSUPP) {
      // The kernel does not serve TCPDIAG_GETSOCK: it will not for any namespace either.
      ctx_->metrics->compat_refused->Increment();
      if (!ctx_->compat_refused.exchange(true)) {
        XTCP_LOG(kWarn,
                 "the kernel refused the TCPDIAG_GETSOCK dump (%s); dumping AF_INET and AF_INET6 "
                 "separately from now on",
                 std::strerror(-code));
      }
    } else {
      ctx_->metrics->dump_errors->Increment();
      XTCP_LOG(kWarn,
               "namespace %s: TCPDIAG_GETSOCK dump failed (%s); dumping the families "
               "separately this time",
               name(), std::strerror(-code));
    }
    // This dump's records still come, from the v2 pair.
    // Stopping, or SendFromLocked() found nothing to send: the dump is over.
    if (stop_.load() || SendFromLocked(0)) end_pending_.store(true);
  }
  return true;
}

void NamespaceCollector::FamilyEnded(uint32_t seq) {
  absl::MutexLock lock(&dump_mu_);
  if (!active_ || end_pending_.load() || seq != current_seq_) return;  // a wake reply, a duplicate
  // A compat dump is one request for every family; otherwise the next family's dump may follow.
  if (stop_.load() || compat_ || SendFromLocked(family_idx_ + 1)) end_pending_.store(true);
}

void NamespaceCollector::Release() {
  if (in_hand_.fetch_sub(1) == 1) MaybeReportEnd();
}

void NamespaceCollector::MaybeReportEnd() {
  if (!end_pending_.load()) return;  // the common case, without the lock
  uint64_t poll_id = 0;
  {
    absl::MutexLock lock(&dump_mu_);
    if (!end_pending_.load() || in_hand_.load() != 0) return;
    end_pending_.store(false);
    active_ = false;
    poll_id = poll_id_;
  }
  // The listener is called without dump_mu_ held (it takes the poller's lock).
  ctx_->listener->DumpFinished(poll_id, inode_);
}

NamespaceCollector::DumpSlot* NamespaceCollector::FindSlot(uint32_t seq) {
  DumpSlot& slot = slots_[seq % kSlots];
  return slot.seq.load(std::memory_order_acquire) == seq ? &slot : nullptr;
}

void NamespaceCollector::MaybeCapture(CollectorReader* r, std::span<const uint8_t> d) {
  if (r->files_written >= ctx_->opts.write_files || r->capture_failed) return;
  const std::string stamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E9S%Ez", absl::Now(), absl::LocalTimeZone());
  auto written = WriteCaptureFile(absl::StrCat(ctx_->opts.capture_path, "netlink.", stamp), d);
  if (!written.ok()) {
    // Once per reader: the next datagram would most likely fail the same way.
    r->capture_failed = true;
    ctx_->metrics->write_file_errors->Increment();
    XTCP_LOG(kWarn, "-writeFiles: %s; no more captures from reader %d of namespace %s",
             std::string(written.status().message()), r->id, r->netns);
    return;
  }
  ++r->files_written;
}

void NamespaceCollector::SetNsid(uint32_t nsid) {
  if (nsid_.exchange(nsid) == nsid) return;
  absl::MutexLock lock(&name_mu_);  // Adopt() reads nsid_ after seeing the new generation
  name_gen_.fetch_add(1, std::memory_order_release);
}

void NamespaceCollector::Adopt(CollectorReader* r) {
  const uint32_t gen = name_gen_.load(std::memory_order_acquire);
  enrich::DockerIndex* const docker = ctx_->docker;
  const uint64_t docker_gen = docker != nullptr ? docker->generation() : 0;
  // A refreshed uplink snapshot (-enrichRefresh): one load per datagram.
  if (const UplinkSource* up = ctx_->stamps->uplinks.get(); up != nullptr) {
    if (const uint64_t g = up->generation(); g != r->uplinks_gen) {
      r->uplinks = up->Current();
      r->uplinks_gen = g;
      r->uplinks->Apply(&r->scratch.meta);
    }
  }
  // The common case, two loads per datagram and no lock.
  if (r->owner == serial_ && gen == r->netns_gen && docker_gen == r->docker_gen) return;
  if (docker != nullptr && docker_gen != r->docker_gen) {
    r->docker = docker->Current();
    r->docker_gen = docker_gen;
  }
  absl::MutexLock lock(&name_mu_);
  r->owner = serial_;
  r->netns = name_;
  r->netns_gen = gen;
  record::RecordMeta& meta = r->scratch.meta;
  meta.netns_inode = inode_;
  meta.nsid = nsid_.load(std::memory_order_relaxed);
  meta.socket_fd = static_cast<uint64_t>(socket_->fd());
  const enrich::DockerContainer* c = r->docker ? r->docker->Find(inode_) : nullptr;
  meta.container_id = c ? std::string_view(c->id) : std::string_view();
  meta.container_runtime = c ? std::string_view(c->runtime) : std::string_view();
  meta.container_name = c ? std::string_view(c->name) : std::string_view();
  meta.container_image = c ? std::string_view(c->image) : std::string_view();
  // As upstream: a namespace known only by its inode is named after its container.
  if (c != nullptr && !c->name.empty() && r->netns.starts_with("netns:[")) r->netns = c->name;
  meta.netns = r->netns;
}

void NamespaceCollector::HandleDatagram(CollectorReader* r, std::span<const uint8_t> d,
                                        bool truncated) {
  CollectorMetrics& m = *ctx_->metrics;
  Adopt(r);
  m.packets->Increment();
  m.bytes->Increment(static_cast<double>(d.size()));
  if (truncated) m.truncated->Increment();
  if (ctx_->opts.write_files > 0) MaybeCapture(r, d);
  m.deserialize_start->Increment();
  m.deserialize_bytes->Increment(static_cast<double>(d.size()));
  if (d.size() < decode::kNlmsgHdrLen) {
    r->problems.Add(decode::Problem::kTruncatedHeader);
    m.problems[static_cast<size_t>(decode::Problem::kTruncatedHeader)]->Increment();
    return;
  }
  // Every message of a dump datagram carries the dump's sequence number.
  const uint32_t seq = decode::Load<uint32_t>(d.data() + 8);
  DumpSlot* slot = FindSlot(seq);

  const uint64_t modulus = ctx_->opts.modulus;
  uint32_t count = 0;
  uint64_t index = 0, counter = 0;
  if (slot != nullptr) {
    count = decode::CountSocketMessages(d, seq);
    index = modulus > 1 ? slot->next_index.fetch_add(count, std::memory_order_relaxed) : 0;
    uint64_t emitted = count;
    if (modulus > 1) {
      emitted = 0;
      for (uint64_t i = index; i < index + count; ++i) emitted += (i % modulus == 0);
    }
    counter = ctx_->batcher->ReserveCounters(emitted);
    r->scratch.meta.timestamp_ns = slot->sent_ns.load(std::memory_order_relaxed);
    r->encoder.SetMeta(r->scratch.meta);
  }

  enrich::CgroupResolver* const resolver = ctx_->cgroups;
  if (resolver != nullptr) r->RefreshCgroups(*resolver);
  const bool containers = resolver != nullptr && r->cgroups != nullptr;

  decode::DecodeProblems before = r->problems;
  uint32_t stale = 0, skipped = 0, misses = 0;
  const decode::WalkResult w = decode::WalkDatagram(
      d, ctx_->opts.decode, &r->scratch, &r->problems, [&](uint32_t s, record::FlatRecord& rec) {
        if (slot == nullptr || s != seq) {
          ++stale;
          return;
        }
        if (modulus > 1 && (index++ % modulus) != 0) {
          ++skipped;
          return;
        }
        if (!containers) {
          r->batch.Add(r->encoder, counter++, rec.payload);
          return;
        }
        const record::ContainerColumns* container =
            rec.payload.c_group != 0 ? r->ContainerOf(resolver, rec.payload.c_group, &misses)
                                     : nullptr;
        r->batch.Add(r->encoder, counter++, rec.payload, container);
      });
  const size_t rows = r->batch.rows();
  r->batch.AppendTo(ctx_->batcher);
  sockets_seen_.fetch_add(w.sockets, std::memory_order_relaxed);

  m.messages->Increment(w.messages);
  if (rows) m.sockets->Increment(static_cast<double>(rows));
  if (stale) m.stale->Increment(stale);
  if (skipped) m.modulus_skipped->Increment(skipped);
  if (misses) m.cgroup_misses->Increment(misses);
  for (size_t i = 0; i < decode::kProblemCount; ++i) {
    const uint64_t delta = r->problems.counts[i] - before.counts[i];
    if (delta) m.problems[i]->Increment(static_cast<double>(delta));
  }
  if (w.error && !CompatFailed(w.error_seq, w.error_code)) {
    m.dump_errors->Increment();
    XTCP_LOG(kWarn, "namespace %s: dump failed: %s", r->netns, std::strerror(-w.error_code));
    FamilyEnded(w.error_seq);
  }
  if (w.done) FamilyEnded(w.done_seq);
}

void NamespaceCollector::OnReadable(ReaderState& state, absl::FunctionRef<void()> rearm) {
  auto* r = static_cast<CollectorReader*>(state.local.get());
  size_t len = 0;
  int err = 0;
  ctx_->metrics->recv_calls->Increment();
  const netlink::RecvResult res = socket_->TryReceive(state.buffer, &len, &err);
  const bool datagram = res == netlink::RecvResult::kData || res == netlink::RecvResult::kTruncated;
  // Counted before the next reader may receive: a DONE it takes cannot end the dump under us.
  if (datagram) in_hand_.fetch_add(1);
  rearm();
  switch (res) {
    case netlink::RecvResult::kData:
    case netlink::RecvResult::kTruncated:
      HandleDatagram(r, state.buffer.first(len), res == netlink::RecvResult::kTruncated);
      Release();
      break;
    case netlink::RecvResult::kTimeout:  // another reader took it first
      break;
    case netlink::RecvResult::kError:
      // ENOBUFS: the socket's receive queue overran (the dump's replies are lost, a DONE with it).
      ctx_->metrics->recv_errors->Increment();
      XTCP_LOG(kDebug, "namespace %s reader %d: recv: %s", name(), r->id, std::strerror(err));
      break;
  }
}

void NamespaceCollector::OnDatagram(ReaderState& state, std::span<const uint8_t> d,
                                    bool truncated) {
  in_hand_.fetch_add(1);
  HandleDatagram(static_cast<CollectorReader*>(state.local.get()), d, truncated);
  Release();
}

}  // namespace xtcp::pipeline
