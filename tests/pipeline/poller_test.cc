// Poller over collectors reading fake kernels: done-tracking, timeouts, the dump cap, namespaces
// going away mid-poll, TriggerPoll().
#include "pipeline/poller.h"

#include <netinet/in.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "pipeline/engine_harness.h"
#include "prometheus/summary.h"

namespace xtcp::testing {
namespace {

using pipeline::NamespaceCollector;
using pipeline::Poller;
using pipeline::PollerOptions;

PollerOptions Fast(absl::Duration timeout = absl::Seconds(10)) {
  PollerOptions o;
  o.poll_frequency = absl::Hours(1);
  o.poll_jitter_pct = 0;
  o.poll_timeout = timeout;
  o.reconcile_before_poll = false;
  o.reconcile_frequency = absl::ZeroDuration();
  return o;
}

// A poller and `n` namespaces (inodes 1..n), each with its own fake kernel.
struct PollHarness {
  explicit PollHarness(size_t n, PollerOptions o = Fast()) : poller(o, &h.batcher, &h.metrics) {
    for (size_t i = 0; i < n; ++i) {
      kernels.push_back(std::make_unique<FakeKernel>());
      kernels.back()->SetDump(AF_INET, {Sockets({static_cast<uint16_t>(100 + i)})});
    }
    for (size_t i = 0; i < n; ++i) collectors.push_back(h.Collector(kernels[i].get(), i + 1));
  }
  std::vector<NamespaceCollector*> Targets() {
    std::vector<NamespaceCollector*> t;
    for (auto& c : collectors) t.push_back(c.get());
    return t;
  }
  // Waits (at most 10s) until kernel `i` got `n` dump requests.
  void AwaitRequests(size_t i, size_t n) {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (kernels[i]->requests().size() < n && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_GE(kernels[i]->requests().size(), n);
  }

  CollectorHarness h{&poller};
  Poller poller;
  std::vector<std::unique_ptr<FakeKernel>> kernels;
  std::vector<std::unique_ptr<NamespaceCollector>> collectors;
};

TEST(Poller, PollEndsWhenEveryNamespaceIsDone) {
  PollHarness p(3);
  const pipeline::PollResult r = p.poller.PollOnce(p.Targets());
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.started, 3u);
  EXPECT_EQ(p.h.consumer.Records().size(), 3u);  // one AF_INET socket each, no AF_INET6 ones
  EXPECT_EQ(p.h.consumer.reasons(), std::vector<FlushReason>{FlushReason::kPollEnd});
}

uint64_t Samples(Metrics& m, const char* f, const char* v) {
  return m.Summary(f, v, "count").Collect().summary.sample_count;
}

// Every namespace's dump time is observed, the slowest is named, and the poll's CPU is measured.
TEST(Poller, ReportsEachNamespacesDumpTimeAndThePollsCpu) {
  PollHarness p(3);
  p.kernels[1]->SlowHandOut(0, absl::Milliseconds(150));
  const pipeline::PollResult r = p.poller.PollOnce(p.Targets());
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.slowest_inode, 2u);
  EXPECT_GE(r.slowest_dump, absl::Milliseconds(150));
  EXPECT_LE(r.slowest_dump, r.took);
  EXPECT_GE(r.system_cpu, absl::ZeroDuration());
  EXPECT_GE(r.user_cpu, absl::ZeroDuration());
  EXPECT_EQ(Samples(p.h.metrics, "Poller", "namespaceDumpDuration"), 3u);
  EXPECT_EQ(Samples(p.h.metrics, "Poller", "pollSystemCpu"), 1u);
  EXPECT_EQ(Samples(p.h.metrics, "Poller", "pollUserCpu"), 1u);
  // The next poll starts afresh: nothing slow, a different slowest.
  const pipeline::PollResult r2 = p.poller.PollOnce(p.Targets());
  EXPECT_LT(r2.slowest_dump, absl::Milliseconds(150));
  EXPECT_EQ(Samples(p.h.metrics, "Poller", "namespaceDumpDuration"), 6u);
}

// Reader 1 takes the dump's first datagram and is held up before decoding it; reader 2 takes the
// DONE after it. The poll must still end with every socket of the dump in its Envelope.
TEST(Poller, DoneReadFirstWaitsForTheDatagramBeforeIt) {
  for (const bool compat : {true, false}) {
    SCOPED_TRACE(compat ? "TCPDIAG_GETSOCK dump" : "v2 pair");
    PollHarness p(0);
    p.h.ctx.opts.compat_dump = compat;
    p.kernels.push_back(std::make_unique<FakeKernel>());
    FakeKernel& k = *p.kernels.back();
    // Sockets first, the DONE in a datagram of its own (v2: the AF_INET6 dump is a lone DONE).
    k.SetDump(AF_INET, {Sockets({100, 101, 102}, /*done=*/false), Sockets({}, /*done=*/true)});
    k.SlowHandOut(0, absl::Milliseconds(200));
    p.collectors.push_back(p.h.Collector(&k, 1));
    const pipeline::PollResult r = p.poller.PollOnce(p.Targets());
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(p.h.consumer.Records().size(), 3u);
    EXPECT_EQ(p.h.consumer.reasons(), std::vector<FlushReason>{FlushReason::kPollEnd});
  }
}

TEST(Poller, TimeoutMidDumpFlushesAndLateDoneEndsNothing) {
  PollHarness p(2, Fast(absl::Milliseconds(100)));
  p.kernels[1]->Hold();
  const pipeline::PollResult r1 = p.poller.PollOnce(p.Targets());
  EXPECT_TRUE(r1.timed_out);
  EXPECT_EQ(p.h.consumer.reasons().back(), FlushReason::kPollTimeout);
  // Namespace 2 is still in poll 1's dump: it sits poll 2 out.
  const pipeline::PollResult r2 = p.poller.PollOnce(p.Targets());
  EXPECT_FALSE(r2.timed_out);
  EXPECT_EQ(r2.busy, 1u);
  p.kernels[1]->Release();  // its late replies: kept, stamped with poll 1's dump time
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.collectors[1]->busy() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  p.h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = p.h.consumer.Records();
  ASSERT_NE(WithPort(rs, 101), nullptr);
  ASSERT_EQ(rs.size(), 3u);  // 100 (poll 1), 100 (poll 2), then the late 101
  EXPECT_LT(WithPort(rs, 101)->timestamp_ns(), rs[1].timestamp_ns());
  EXPECT_EQ(p.poller.stats().polls_timed_out, 1u);
  EXPECT_EQ(p.poller.stats().polls_completed, 2u);
}

TEST(Poller, CapsConcurrentDumps) {
  PollerOptions o = Fast(absl::Milliseconds(100));
  o.max_concurrent_dumps = 2;
  PollHarness p(3, o);
  for (auto& k : p.kernels) k->Hold();
  EXPECT_TRUE(p.poller.PollOnce(p.Targets()).timed_out);
  size_t asked = 0;
  for (auto& k : p.kernels) asked += k->requests().size();
  EXPECT_EQ(asked, 2u);  // the third waited for a slot that never freed
}

// Namespaces a timed-out poll never reached go first in the next poll: one slow namespace at the
// head of the list cannot starve the ones after it.
TEST(Poller, NamespacesNotReachedBeforeATimeoutGoFirstNextTime) {
  PollerOptions o = Fast(absl::Milliseconds(100));
  o.max_concurrent_dumps = 1;
  PollHarness p(3, o);
  p.kernels[0]->Hold();  // the first namespace's dump never ends
  EXPECT_TRUE(p.poller.PollOnce(p.Targets()).timed_out);
  EXPECT_EQ(p.kernels[1]->requests().size(), 0u);
  EXPECT_EQ(p.kernels[2]->requests().size(), 0u);
  // Its dump ends between the polls, and it is slow again in the next one.
  p.kernels[0]->Release();
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.collectors[0]->busy() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_FALSE(p.collectors[0]->busy());
  p.kernels[0]->Hold();
  // Poll 2: 2 and 3, unreached last time, are dumped before 1 takes the only slot again.
  EXPECT_TRUE(p.poller.PollOnce(p.Targets()).timed_out);
  EXPECT_EQ(p.kernels[1]->requests().size(), 1u);
  EXPECT_EQ(p.kernels[2]->requests().size(), 1u);
  EXPECT_EQ(p.kernels[0]->requests().size(), 2u);
  p.kernels[0]->Release();
}

TEST(Poller, CapStartsTheNextDumpAsOneEnds) {
  PollerOptions o = Fast();
  o.max_concurrent_dumps = 1;
  PollHarness p(4, o);
  EXPECT_FALSE(p.poller.PollOnce(p.Targets()).timed_out);
  for (auto& k : p.kernels) EXPECT_EQ(k->requests().size(), 1u);  // one TCPDIAG_GETSOCK each
}

TEST(Poller, NamespaceDeletedMidDumpIsNotWaitedFor) {
  PollHarness p(2);  // 10s timeout: the poll must end long before
  p.kernels[0]->Hold();
  std::thread deleter([&] {
    p.AwaitRequests(0, 1);
    p.poller.Forget(1);  // what NamespaceSet does before stopping a vanished namespace
    p.collectors[0]->Stop();
  });
  const pipeline::PollResult r = p.poller.PollOnce(p.Targets());
  deleter.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.took, absl::Seconds(5));
}

TEST(Poller, DeletingARunningDumpFreesItsSlotForTheNext) {
  PollerOptions o = Fast();
  o.max_concurrent_dumps = 1;
  PollHarness p(2, o);
  p.kernels[0]->Hold();
  std::thread deleter([&] {
    p.AwaitRequests(0, 1);
    p.poller.Forget(1);
    p.collectors[0]->Stop();
  });
  const pipeline::PollResult r = p.poller.PollOnce(p.Targets());
  deleter.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(p.kernels[1]->requests().size(), 1u);  // namespace 2 was started and finished
}

TEST(Poller, TriggerDuringAPollIsCoalescedIntoIt) {
  PollHarness p(1);
  p.kernels[0]->Hold();
  std::thread t([&] {
    p.AwaitRequests(0, 1);
    p.poller.TriggerPoll();
    p.poller.TriggerPoll();
    p.kernels[0]->Release();
  });
  p.poller.PollOnce(p.Targets());
  t.join();
  EXPECT_EQ(p.poller.stats().triggers_coalesced, 2u);
  EXPECT_FALSE(p.poller.poll_pending());
  EXPECT_EQ(p.h.Count("Poller", "alreadyPolling", "count"), 2);
}

TEST(Poller, TriggersWhileIdleGiveOnePoll) {
  PollHarness p(1);
  p.poller.TriggerPoll();
  p.poller.TriggerPoll();
  EXPECT_TRUE(p.poller.poll_pending());
  p.poller.PollOnce(p.Targets());
  EXPECT_FALSE(p.poller.poll_pending());  // that poll answered both
  EXPECT_EQ(p.poller.stats().triggers_coalesced, 0u);
}

// A driver over the harness's collectors, counting rescans.
class FixedDriver : public pipeline::PollDriver {
 public:
  explicit FixedDriver(PollHarness* p) : p_(p) {}
  std::vector<NamespaceCollector*> Targets() override { return p_->Targets(); }
  void Rescan(bool) override { ++rescans; }
  int rescans = 0;

 private:
  PollHarness* p_;
};

TEST(Poller, TriggerWakesTheCadenceSleep) {
  PollerOptions o = Fast();
  o.max_loops = 2;  // poll_frequency is an hour: only the trigger can start poll 2
  PollHarness p(1, o);
  FixedDriver d(&p);
  std::thread run([&] { p.poller.Run(&d); });
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.poller.stats().polls_completed < 1 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  p.poller.TriggerPoll();
  while (p.poller.stats().polls_completed < 2 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (p.poller.stats().polls_completed < 2) p.poller.Stop();
  run.join();
  EXPECT_EQ(p.poller.stats().polls_completed, 2u);
}

TEST(Poller, ReconcileRequestRescansWhileAsleep) {
  PollHarness p(1);
  FixedDriver d(&p);
  std::thread run([&] { p.poller.Run(&d); });
  p.poller.RequestReconcile();
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.poller.stats().polls_completed < 1 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  p.poller.RequestReconcile();
  p.poller.Stop();
  run.join();
  EXPECT_GE(d.rescans, 1);
  EXPECT_EQ(p.poller.stats().polls_completed, 1u);
}

// Heartbeats (systemd's WATCHDOG=1 in the daemon) come from the poll loop every interval: while it
// sleeps between polls and while a poll waits for a slow kernel.
std::atomic<int> beats{0};
PollerOptions Beating(absl::Duration timeout = absl::Seconds(10)) {
  PollerOptions o = Fast(timeout);
  o.heartbeat = [] { beats.fetch_add(1); };
  o.heartbeat_interval = absl::Milliseconds(20);
  return o;
}

// Waits (at most 10 s) until at least `n` heartbeats were counted.
bool AwaitBeats(int n) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (beats.load() < n && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  return beats.load() >= n;
}

TEST(PollerHeartbeat, BeatsWhileAsleepAndWhileAPollWaits) {
  beats = 0;
  PollHarness p(1, Beating(absl::Seconds(1)));
  p.kernels[0]->Hold();  // the first poll waits its whole 1 s timeout
  FixedDriver d(&p);
  const absl::Time start = absl::Now();
  std::thread run([&] { p.poller.Run(&d); });
  EXPECT_TRUE(AwaitBeats(8));                                  // within the held poll
  EXPECT_EQ(p.poller.stats().polls_completed, 0u);             // ... still waiting for the kernel
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(7 * 20));  // not faster than the interval
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (p.poller.stats().polls_completed < 1 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(AwaitBeats(beats.load() + 5));  // then asleep for the hour
  EXPECT_EQ(p.poller.stats().polls_completed, 1u);
  p.poller.Stop();
  p.kernels[0]->Release();
  run.join();
}

// A driver whose Rescan() can hang, as a stuck /proc read or a setns helper that never returns
// would: the poller thread is held up.
class StallingDriver : public pipeline::PollDriver {
 public:
  explicit StallingDriver(PollHarness* p) : p_(p) {}
  std::vector<NamespaceCollector*> Targets() override { return p_->Targets(); }
  void Rescan(bool) override {
    absl::MutexLock lock(&mu_);
    ++rescans_;
    mu_.Await(absl::Condition(
        +[](bool* stalled) { return !*stalled; }, &stalled_));
  }
  void Stall(bool on) {
    absl::MutexLock lock(&mu_);
    stalled_ = on;
  }
  int rescans() {
    absl::MutexLock lock(&mu_);
    return rescans_;
  }

 private:
  PollHarness* p_;
  absl::Mutex mu_;
  bool stalled_ ABSL_GUARDED_BY(mu_) = false;
  int rescans_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(PollerHeartbeat, AStalledLoopStopsBeatingAndResumesAfter) {
  beats = 0;
  PollerOptions o = Beating();
  o.reconcile_before_poll = true;  // every poll starts with a Rescan()
  PollHarness p(1, o);
  StallingDriver d(&p);
  std::thread run([&] { p.poller.Run(&d); });
  ASSERT_TRUE(AwaitBeats(3));
  d.Stall(true);
  p.poller.TriggerPoll();  // the next poll's Rescan() hangs
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (d.rescans() < 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(d.rescans(), 2);
  const int at_stall = beats.load();
  absl::SleepFor(absl::Milliseconds(300));  // 15 intervals
  EXPECT_EQ(beats.load(), at_stall);        // no ping: systemd's watchdog would fire
  d.Stall(false);
  EXPECT_TRUE(AwaitBeats(at_stall + 3));  // the loop turns again, so do the pings
  p.poller.Stop();
  run.join();
}

}  // namespace
}  // namespace xtcp::testing
