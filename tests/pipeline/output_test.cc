#include "pipeline/output.h"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/metrics.h"
#include "gtest/gtest.h"
#include "pipeline/row_batch.h"
#include "record/wire.h"

namespace xtcp::pipeline {
namespace {

// A sink that keeps payloads, can fail a number of sends, and can be slow.
class FakeSink : public Sink {
 public:
  std::string_view scheme() const override { return "fake"; }
  size_t max_message_size() const override { return max_size; }
  absl::Status Send(std::string_view payload) override {
    if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
    entered.fetch_add(1);
    gate.WaitForNotification();
    std::lock_guard lock(mu);
    ++attempts;
    if (closed) return absl::AbortedError("reader went away");
    if (fail_next > 0) {
      --fail_next;
      return absl::UnavailableError("peer down");
    }
    payloads.emplace_back(payload);
    return absl::OkStatus();
  }
  absl::Status Reopen() override {
    std::lock_guard lock(mu);
    payloads.emplace_back("REOPEN");
    return absl::OkStatus();
  }
  void SetLossCallback(LossCallback cb) override { on_loss = std::move(cb); }
  // Blocks every Send() until notified (notified from the start unless a test holds it).
  absl::Notification gate;
  std::atomic<int> entered{0};
  LossCallback on_loss;
  bool closed = false;
  std::mutex mu;
  std::vector<std::string> payloads;
  int fail_next = 0;
  int attempts = 0;
  size_t max_size = 0;
  absl::Duration delay = absl::ZeroDuration();
};

std::unique_ptr<Envelope> MakeEnvelope(int rows, uint64_t first_counter = 1) {
  auto env = std::make_unique<Envelope>();
  record::FlatRecord r;
  r.meta.hostname = "a-host-name-long-enough-to-make-rows-of-some-size";
  for (int i = 0; i < rows; ++i) {
    r.meta.record_counter = first_counter + static_cast<uint64_t>(i);
    record::AppendEnvelopeRow(r, &env->bytes);
    ++env->rows;
  }
  return env;
}

// Rows in one protobufList payload (varint length ‖ Envelope).
int RowsIn(const std::string& payload) {
  const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  uint64_t len = 0;
  const uint8_t* body = record::wire::GetVarint(p, p + payload.size(), &len);
  EXPECT_NE(body, nullptr);
  EXPECT_EQ(static_cast<size_t>(p + payload.size() - body), len);
  record::ProtoEnvelope env;
  EXPECT_TRUE(env.ParseFromArray(body, static_cast<int>(len)));
  return env.row_size();
}

struct Harness {
  explicit Harness(OutputOptions opts = {}, bool hold_sink = false,
                   const std::string& format = "protobufList") {
    auto sink = std::make_unique<FakeSink>();
    fake = sink.get();
    if (!hold_sink) fake->gate.Notify();
    stage = std::make_unique<OutputStage>(*CreateMarshaller({format, ""}), std::move(sink),
                                          &metrics, opts);
    stage->Start();
  }
  ~Harness() {
    if (!fake->gate.HasBeenNotified()) fake->gate.Notify();  // let an abandoned writer finish
  }
  Metrics metrics;
  FakeSink* fake;
  std::unique_ptr<OutputStage> stage;
};

TEST(OutputStage, DeliversAndCountsByReason) {
  Harness h;
  h.stage->Submit(MakeEnvelope(3), FlushReason::kPollEnd);
  h.stage->Submit(MakeEnvelope(2), FlushReason::kRowsCap);
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(5)).ok());
  ASSERT_EQ(h.fake->payloads.size(), 2u);
  EXPECT_EQ(RowsIn(h.fake->payloads[0]), 3);
  EXPECT_EQ(RowsIn(h.fake->payloads[1]), 2);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeFlush", "poll_end"), 1);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeFlush", "rows_cap"), 1);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeRows", "count"), 5);
  EXPECT_EQ(h.stage->rows_sent(), 5u);
}

TEST(OutputStage, RetriesAFailingSink) {
  OutputOptions o;
  o.retry_backoff = absl::Milliseconds(1);
  Harness h(o);
  h.fake->fail_next = 2;
  h.stage->Submit(MakeEnvelope(4), FlushReason::kPollEnd);
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(5)).ok());
  EXPECT_EQ(h.fake->attempts, 3);
  ASSERT_EQ(h.fake->payloads.size(), 1u);
  EXPECT_EQ(h.stage->rows_lost(), 0u);
}

TEST(OutputStage, CountsWhatStillFails) {
  OutputOptions o;
  o.retry_backoff = absl::Milliseconds(1);
  Harness h(o);
  h.fake->fail_next = 100;
  h.stage->Submit(MakeEnvelope(4), FlushReason::kPollEnd);
  (void)h.stage->Stop(absl::Seconds(5));
  EXPECT_EQ(h.fake->attempts, 3);
  EXPECT_EQ(h.stage->rows_lost(), 4u);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeRowsLost", "error"), 4);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeFlush", "error"), 1);
}

TEST(OutputStage, SplitsForSmallDatagramsIntoSelfContainedChunks) {
  Harness h;
  h.fake->max_size = 700;
  h.stage->Submit(MakeEnvelope(100), FlushReason::kPollEnd);
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(5)).ok());
  ASSERT_GT(h.fake->payloads.size(), 3u);
  int rows = 0;
  for (const auto& p : h.fake->payloads) {
    EXPECT_LE(p.size(), 700u);
    rows += RowsIn(p);
  }
  EXPECT_EQ(rows, 100);
  EXPECT_EQ(h.stage->rows_lost(), 0u);
}

TEST(OutputStage, BackpressureWhenAskedFor) {
  OutputOptions o;
  o.block_when_full = true;
  o.queue_depth = 1;
  o.pool_size = 2;
  Harness h(o);
  h.fake->delay = absl::Milliseconds(20);
  std::thread producer([&] {
    for (int i = 0; i < 10; ++i) {
      auto env = h.stage->Fresh();
      auto full = MakeEnvelope(5, static_cast<uint64_t>(i) * 5 + 1);
      env->bytes.Append(full->bytes.view());
      env->rows = full->rows;
      h.stage->Submit(std::move(env), FlushReason::kPollEnd);
    }
  });
  producer.join();
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(10)).ok());
  EXPECT_EQ(h.fake->payloads.size(), 10u);
  EXPECT_EQ(h.stage->rows_sent(), 50u);
}

TEST(OutputStage, LateSubmitAfterStopIsCountedAsLost) {
  Harness h;
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(1)).ok());
  h.stage->Submit(MakeEnvelope(7), FlushReason::kShutdown);
  EXPECT_EQ(h.stage->rows_lost(), 7u);
}

// Submits `n` envelopes of `rows` rows from another thread; true if all Submit() calls returned
// within 10 s (a blocking Submit would stall every namespace's polling).
bool SubmitReturns(OutputStage& stage, int n, int rows) {
  auto done = std::async(std::launch::async, [&] {
    for (int i = 0; i < n; ++i) stage.Submit(MakeEnvelope(rows), FlushReason::kPollEnd);
  });
  return done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
}

TEST(OutputStage, StuckSinkNeverBlocksSubmitAndDropsAreCountedInRows) {
  OutputOptions o;
  o.queue_depth = 1;
  Harness h(o, /*hold_sink=*/true);
  h.stage->Submit(MakeEnvelope(4), FlushReason::kPollEnd);  // the writer takes it and blocks
  for (int i = 0; i < 2000 && h.fake->entered.load() == 0; ++i)
    absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(h.fake->entered.load(), 1);
  ASSERT_TRUE(SubmitReturns(*h.stage, 4, 5));  // 1 queued, 3 dropped
  EXPECT_EQ(h.stage->rows_dropped_queue_full(), 15u);
  EXPECT_EQ(h.metrics.CountValue("Output", "queueFull", "error"), 3);
  h.fake->gate.Notify();
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(5)).ok());
  EXPECT_EQ(h.stage->rows_sent(), 9u);
  EXPECT_EQ(h.stage->rows_lost(), 15u);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeRowsLost", "error"), 15);
}

TEST(OutputStage, StopReturnsAtTheDeadlineWhileTheSinkBlocks) {
  Harness h({}, /*hold_sink=*/true);
  h.stage->Submit(MakeEnvelope(4), FlushReason::kPollEnd);
  h.stage->Submit(MakeEnvelope(6), FlushReason::kPollEnd);
  auto stopped = std::async(std::launch::async, [&] { return h.stage->Stop(absl::Seconds(1)); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(absl::IsDeadlineExceeded(stopped.get()));
  EXPECT_TRUE(h.stage->abandoned());
  EXPECT_EQ(h.stage->rows_lost(), 10u);  // the one in flight and the one queued
  EXPECT_EQ(h.stage->rows_sent(), 0u);
}

TEST(OutputStage, ClosedSinkIsNotRetriedAndStopsTheRun) {
  std::atomic<int> closed_calls{0};
  OutputOptions o;
  o.on_sink_closed = [&] { closed_calls.fetch_add(1); };
  Harness h(o);
  h.fake->closed = true;
  h.stage->Submit(MakeEnvelope(3), FlushReason::kPollEnd);
  h.stage->WaitIdle();
  h.stage->Submit(MakeEnvelope(2), FlushReason::kPollEnd);
  (void)h.stage->Stop(absl::Seconds(5));
  EXPECT_TRUE(h.stage->sink_closed());
  EXPECT_EQ(closed_calls.load(), 1);
  EXPECT_EQ(h.fake->attempts, 1);
  EXPECT_EQ(h.stage->rows_lost(), 5u);
}

TEST(OutputStage, ReopenHappensBetweenTheFlushesAroundIt) {
  Harness h;
  h.stage->Submit(MakeEnvelope(3), FlushReason::kPollEnd);
  h.stage->RequestReopen();
  h.stage->Submit(MakeEnvelope(2), FlushReason::kPollEnd);
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(5)).ok());
  ASSERT_EQ(h.fake->payloads.size(), 3u);
  EXPECT_EQ(h.fake->payloads[1], "REOPEN");
  EXPECT_EQ(RowsIn(h.fake->payloads[2]), 2);
}

TEST(OutputStage, AsynchronousLossMovesRowsFromSentToLost) {
  Harness h;
  h.stage->Submit(MakeEnvelope(8), FlushReason::kPollEnd);
  h.stage->WaitIdle();
  ASSERT_TRUE(h.fake->on_loss);
  h.fake->on_loss(8);  // e.g. Kafka: delivery failed after the broker stayed away
  EXPECT_EQ(h.stage->rows_sent(), 0u);
  EXPECT_EQ(h.stage->rows_lost(), 8u);
  EXPECT_EQ(h.metrics.CountValue("Poller", "envelopeRowsLost", "error"), 8);
}

int Lines(const std::string& s, const std::string& line) {
  int n = 0;
  for (size_t pos = 0; (pos = s.find(line + "\n", pos)) != std::string::npos; pos += line.size()) {
    n += pos == 0 || s[pos - 1] == '\n';
  }
  return n;
}

TEST(OutputStage, CsvHeaderStartsEveryFlushToAMessageSink) {
  Harness h({}, false, "csv");
  h.fake->max_size = 6000;
  h.stage->Submit(MakeEnvelope(40), FlushReason::kPollEnd);
  h.stage->Submit(MakeEnvelope(40), FlushReason::kPollEnd);
  ASSERT_TRUE(h.stage->Stop(absl::Seconds(5)).ok());
  ASSERT_GT(h.fake->payloads.size(), 4u);
  const std::string header = h.fake->payloads[0].substr(0, h.fake->payloads[0].find('\n'));
  std::string all;
  for (const auto& p : h.fake->payloads) all += p;
  EXPECT_EQ(Lines(all, header), 2);  // one per flush, at the start of its first datagram
  EXPECT_EQ(h.stage->rows_sent(), 80u);
}

}  // namespace
}  // namespace xtcp::pipeline
