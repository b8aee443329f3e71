#pragma once
// Collectors over fake kernels, Envelopes kept in memory: the engine's parts without root.

#include <netinet/in.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "fakes/fake_kernel.h"
#include "fakes/nl_builder.h"
#include "pipeline/collector.h"
#include "pipeline/envelope.h"
#include "pipeline/reader_pool.h"
#include "pipeline/stamp.h"
#include "record/record_codec.h"

namespace xtcp::testing {

// Keeps every Envelope handed over, with its flush reason.
class MemoryConsumer : public pipeline::EnvelopeConsumer {
 public:
  std::unique_ptr<pipeline::Envelope> Fresh() override {
    return std::make_unique<pipeline::Envelope>();
  }
  void Submit(std::unique_ptr<pipeline::Envelope> env, FlushReason reason) override {
    absl::MutexLock lock(&mu_);
    envelopes_.push_back(std::move(env));
    reasons_.push_back(reason);
  }
  std::vector<FlushReason> reasons() const {
    absl::MutexLock lock(&mu_);
    return reasons_;
  }
  // Every row of every Envelope so far, decoded.
  std::vector<record::ProtoRecord> Records() const {
    absl::MutexLock lock(&mu_);
    std::vector<record::ProtoRecord> out;
    for (const auto& env : envelopes_) {
      record::ProtoEnvelope e;
      const auto v = env->bytes.view();
      EXPECT_TRUE(e.ParseFromArray(v.data(), static_cast<int>(v.size())));
      for (const auto& r : e.row()) out.push_back(r);
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pipeline::Envelope>> envelopes_ ABSL_GUARDED_BY(mu_);
  std::vector<FlushReason> reasons_ ABSL_GUARDED_BY(mu_);
};

// Records DumpFinished() calls.
class FinishLog : public pipeline::DumpListener {
 public:
  void DumpFinished(uint64_t poll_id, uint64_t inode) override {
    absl::MutexLock lock(&mu_);
    finished_.emplace_back(poll_id, inode);
  }
  // Waits (at most 10s) until `n` dumps finished; returns what finished.
  std::vector<std::pair<uint64_t, uint64_t>> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return finished_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<uint64_t, uint64_t>> finished_ ABSL_GUARDED_BY(mu_);
};

// Options fit for fakes: two pool readers, short idle wait, big buffers for captures.
inline pipeline::CollectorOptions FakeCollectorOptions() {
  pipeline::CollectorOptions o;
  o.readers = 2;
  o.buffer_size = 1 << 20;
  o.recv_timeout = absl::Milliseconds(200);
  return o;
}

struct CollectorHarness {
  explicit CollectorHarness(pipeline::DumpListener* listener,
                            pipeline::CollectorOptions opts = FakeCollectorOptions()) {
    stamps.hostname = "test-host";
    ctx.opts = std::move(opts);
    ctx.batcher = &batcher;
    ctx.stamps = &stamps;
    ctx.metrics = &collector_metrics;
    ctx.listener = listener;
    ctx.next_seq = &next_seq;
  }
  // The reader pool serving the collectors, built from ctx.opts and started on first use (so a
  // test may change ctx.opts first).
  pipeline::ReaderPool* Pool() {
    if (pool == nullptr) {
      pool = pipeline::MakeReaderPool(&ctx);
      EXPECT_TRUE(pool->Start().ok());
      ctx.pool = pool.get();
    }
    return pool.get();
  }
  // A started collector reading from `kernel`.
  std::unique_ptr<pipeline::NamespaceCollector> Collector(FakeKernel* kernel, uint64_t inode,
                                                          std::string name = "ns") {
    Pool();
    auto c = std::make_unique<pipeline::NamespaceCollector>(inode, std::move(name),
                                                            kernel->Socket(), &ctx);
    EXPECT_TRUE(c->Start().ok());
    return c;
  }
  double Count(const char* f, const char* v, const char* t) { return metrics.CountValue(f, v, t); }

  Metrics metrics;
  MemoryConsumer consumer;
  pipeline::EnvelopeBatcher batcher{1000000, 1u << 30, &consumer};
  pipeline::Stamps stamps;
  pipeline::CollectorMetrics collector_metrics{&metrics};
  std::atomic<uint32_t> next_seq{100};
  pipeline::CollectorContext ctx;
  std::unique_ptr<pipeline::ReaderPool> pool;  // last: its readers stop before the rest goes
};

// One datagram with a socket per port (all seq `seq`, renumbered by the fake kernel), then DONE
// when `done`.
inline std::vector<uint8_t> Sockets(std::vector<uint16_t> ports, bool done = true, uint32_t seq = 1,
                                    uint8_t family = AF_INET) {
  NlBuilder b;
  for (uint16_t p : ports) {
    FakeInetDiagMsg m;
    m.family = family;
    m.sport = p;
    m.dport = 80;
    m.cookie = p;
    b.BeginSocket(seq).Msg(m).End();
  }
  if (done) b.Done(seq);
  return b.Take();
}

// The record of source port `port`, or nullptr.
inline const record::ProtoRecord* WithPort(const std::vector<record::ProtoRecord>& rs,
                                           uint32_t port) {
  for (const auto& r : rs) {
    if (r.inet_diag_msg_socket_source_port() == port) return &r;
  }
  return nullptr;
}

}  // namespace xtcp::testing
