// The kafka sink behind the output stage, where rows are counted: a text flush bigger than the
// broker's message limit is split and arrives whole; messages that never get delivered are counted
// as the rows they carried. Rows sent, rows consumed and rows lost agree.
#include <algorithm>
#include <string>

#include "absl/strings/str_split.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/test_records.h"
#include "pipeline/output.h"
#include "sink/kafka_mock.h"
#include "sink/stage_rows.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

struct KafkaStage {
  KafkaStage(testing::MockKafka& kafka, const std::string& topic, const std::string& format,
             absl::Duration produce_timeout = absl::ZeroDuration()) {
    kafka.CreateTopic(topic);
    SinkOptions o;
    o.dest = "kafka:" + kafka.bootstraps();
    o.topic = topic;
    o.produce_timeout = produce_timeout;
    o.metrics = &metrics;
    auto sink = CreateSink(o);
    EXPECT_TRUE(sink.ok()) << sink.status();
    pipeline::OutputOptions opts;
    opts.block_when_full = true;
    stage = std::make_unique<pipeline::OutputStage>(*CreateMarshaller({format, ""}),
                                                    std::move(*sink), &metrics, opts);
    stage->Start();
  }
  Metrics metrics;
  std::unique_ptr<pipeline::OutputStage> stage;
};

TEST(KafkaLoss, JsonlFlushAboveTheMessageLimitIsSplitAndArrivesWhole) {
  testing::MockKafka kafka;
  ASSERT_TRUE(kafka.ok());
  KafkaStage k(kafka, "big-jsonl", "jsonl");
  k.stage->Submit(testing::NumberedRows(1, 4000),
                  FlushReason::kSizeCap);  // ~700 KB protobuf, MBs of jsonl
  ASSERT_TRUE(k.stage->Stop(absl::Seconds(30)).ok());
  EXPECT_EQ(k.stage->rows_lost(), 0u);
  EXPECT_EQ(k.stage->rows_sent(), 4000u);
  const auto produced = static_cast<size_t>(k.metrics.CountValue("destKafka", "Produce", "count"));
  ASSERT_GT(produced, 1u);
  const auto msgs = testing::ConsumeWithLibrdkafka(kafka.bootstraps(), "big-jsonl", produced);
  ASSERT_EQ(msgs.size(), produced);
  size_t lines = 0;
  for (const std::string& m : msgs) {
    EXPECT_LT(m.size(), 1000000u);
    EXPECT_EQ(m.back(), '\n');  // cut on row boundaries
    lines += static_cast<size_t>(std::count(m.begin(), m.end(), '\n'));
  }
  EXPECT_EQ(lines, 4000u);
}

TEST(KafkaLoss, UndeliveredMessagesAreCountedAsTheirRows) {
  testing::MockKafka kafka;
  ASSERT_TRUE(kafka.ok());
  kafka.SetDown();
  KafkaStage k(kafka, "down", "protobufList", absl::Seconds(1));
  for (uint64_t i = 0; i < 5; ++i)
    k.stage->Submit(testing::NumberedRows(1 + i * 100, 100), FlushReason::kPollEnd);
  k.stage->WaitIdle();
  EXPECT_EQ(k.stage->rows_sent(), 500u);   // accepted into librdkafka's queue
  (void)k.stage->Stop(absl::Seconds(10));  // past message.timeout.ms: every delivery fails
  EXPECT_EQ(k.stage->rows_sent(), 0u);
  EXPECT_EQ(k.stage->rows_lost(), 500u);
  EXPECT_EQ(k.metrics.CountValue("Poller", "envelopeRowsLost", "error"), 500);
  EXPECT_EQ(k.metrics.CountValue("destKafka", "Produce", "error"), 5);
}

TEST(KafkaLoss, DrainDeadlinePurgesAndCountsTheRowsBeforeReturning) {
  testing::MockKafka kafka;
  ASSERT_TRUE(kafka.ok());
  kafka.SetDown();
  KafkaStage k(kafka, "slow", "protobufList");  // default message timeout: 300 s
  for (uint64_t i = 0; i < 3; ++i)
    k.stage->Submit(testing::NumberedRows(1 + i * 10, 10), FlushReason::kPollEnd);
  const absl::Status s = k.stage->Stop(absl::Milliseconds(500));
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_EQ(k.stage->rows_sent() + k.stage->rows_lost(), 30u);
  EXPECT_EQ(k.stage->rows_lost(), 30u);
}

TEST(KafkaLoss, EmptyOrMalformedBrokerListIsOneLineInvalidArgument) {
  for (const char* dest : {"kafka", "kafka:", "kafka:,", "kafka:host:9092,", "kafka:h:1:2"}) {
    SinkOptions o;
    o.dest = dest;
    auto s = CreateSink(o);
    ASSERT_FALSE(s.ok()) << dest;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << dest;
    EXPECT_THAT(std::string(s.status().message()), ::testing::Not(::testing::HasSubstr("\n")));
  }
}

}  // namespace
}  // namespace xtcp
