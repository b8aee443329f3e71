#include "pipeline/output.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

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
    std::lock_guard lock(mu);
    ++attempts;
    if (fail_next > 0) {
      --fail_next;
      return absl::UnavailableError("peer down");
    }
    payloads.emplace_back(payload);
    return absl::OkStatus();
  }
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
  explicit Harness(OutputOptions opts = {}) {
    auto sink = std::make_unique<FakeSink>();
    fake = sink.get();
    stage = std::make_unique<OutputStage>(*CreateMarshaller({"protobufList", ""}), std::move(sink),
                                          &metrics, opts);
    stage->Start();
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

TEST(OutputStage, BackpressureInsteadOfDropping) {
  OutputOptions o;
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

}  // namespace
}  // namespace xtcp::pipeline
