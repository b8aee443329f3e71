// The kafka sink against librdkafka's mock cluster: everything produced is read back by a
// librdkafka consumer and by kcat; a broker that is away makes messages wait, not vanish.
#include <set>
#include <string>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "marshal/test_records.h"
#include "sink/kafka_mock.h"
#include "sink/peers.h"
#include "sink/stage_rows.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using testing::Counters;

using testing::ConsumeWithKcat;
using testing::ConsumeWithLibrdkafka;
using ::testing::HasSubstr;
using testing::WaitFor;

// One protobufList flush holding records [first, first + n).
std::string Flush(uint64_t first, uint64_t n) {
  testing::TestEnvelope env;
  for (uint64_t i = first; i < first + n; ++i) env.Add(testing::NumberedRecord(i));
  auto m = CreateMarshaller({"protobufList", ""});
  std::string out;
  EXPECT_TRUE((*m)->Marshal(env.view(), &out).ok());
  return out;
}

std::multiset<uint64_t> Range(uint64_t first, uint64_t n) {
  std::multiset<uint64_t> out;
  for (uint64_t i = first; i < first + n; ++i) out.insert(i);
  return out;
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kafka_.ok()); }
  std::unique_ptr<Sink> Make(const std::string& topic, const std::string& compression = "",
                             int queue_max = 10000) {
    kafka_.CreateTopic(topic);
    SinkOptions o;
    o.dest = "kafka:" + kafka_.bootstraps();
    o.topic = topic;
    o.kafka_compression = compression;
    o.kafka_queue_max_messages = queue_max;
    o.kafka_statistics_interval = absl::Milliseconds(100);
    o.metrics = &metrics_;
    auto s = CreateSink(o);
    EXPECT_TRUE(s.ok()) << s.status();
    // On failure (already reported) hand back a null sink so the test fails instead of crashing.
    return s.ok() ? *std::move(s) : *CreateSink(SinkOptions{.dest = "null"});
  }
  double Count(std::string_view v, std::string_view t) {
    return metrics_.CountValue("destKafka", v, t);
  }

  testing::MockKafka kafka_;
  Metrics metrics_;
};

TEST_F(KafkaSinkTest, EveryRecordIsConsumedBackByLibrdkafkaAndKcat) {
  auto sink = Make("records");
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(sink->Send(Flush(1 + i * 100, 100)).ok());
  ASSERT_TRUE(sink->Drain(absl::Seconds(10)).ok());
  EXPECT_EQ(Count("Produce", "count"), 5);
  EXPECT_EQ(Count("Produce", "error"), 0);
  EXPECT_EQ(Count("enqueue", "count"), 5);
  EXPECT_EQ(Counters(ConsumeWithLibrdkafka(kafka_.bootstraps(), "records", 5)), Range(1, 500));
  int kcat_exit = -1;
  const auto by_kcat = ConsumeWithKcat(kafka_.bootstraps(), "records", &kcat_exit);
  EXPECT_EQ(kcat_exit, 0);
  ASSERT_EQ(by_kcat.size(), 5u);
  EXPECT_EQ(by_kcat[0], Flush(1, 100));  // byte for byte
  EXPECT_EQ(Counters(by_kcat), Range(1, 500));
}

TEST_F(KafkaSinkTest, EveryCompressionRoundTrips) {
  for (const char* codec : {"auto", "zstd", "LZ4", "snappy", "gzip", "none"}) {
    const std::string topic = std::string("codec-") + codec;
    auto sink = Make(topic, codec);
    ASSERT_TRUE(sink->Send(Flush(1, 300)).ok()) << codec;
    ASSERT_TRUE(sink->Drain(absl::Seconds(10)).ok()) << codec;
    const auto got = ConsumeWithLibrdkafka(kafka_.bootstraps(), topic, 1);
    ASSERT_EQ(got.size(), 1u) << codec;
    EXPECT_EQ(got[0], Flush(1, 300)) << codec;
  }
  EXPECT_EQ(Count("Produce", "count"), 6);
}

TEST_F(KafkaSinkTest, StatisticsBecomeGauges) {
  auto sink = Make("stats");
  ASSERT_TRUE(sink->Send(Flush(1, 10)).ok());
  ASSERT_TRUE(sink->Drain(absl::Seconds(10)).ok());
  EXPECT_TRUE(WaitFor([&] { return metrics_.Gauge("kafka", "txmsgs", "gauge").Value() >= 1; }));
  const std::string broker = kafka_.bootstraps() + "/1";  // librdkafka's broker name
  EXPECT_TRUE(
      WaitFor([&] { return metrics_.Gauge("kafka", "broker_state_up", broker).Value() == 1; }));
  EXPECT_EQ(metrics_.Gauge("kafka", "msg_cnt", "gauge").Value(), 0);  // nothing waiting
}

TEST_F(KafkaSinkTest, BrokerDownAtStartMessagesWaitThenArrive) {
  kafka_.CreateTopic("late");
  kafka_.SetDown();
  auto sink = Make("late");
  for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(sink->Send(Flush(1 + i * 10, 10)).ok());
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Count("Produce", "count"), 0);  // waiting in the queue, not failed
  EXPECT_EQ(Count("Produce", "error"), 0);
  kafka_.SetUp();
  ASSERT_TRUE(sink->Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(Count("Produce", "count"), 4);
  EXPECT_EQ(Counters(ConsumeWithLibrdkafka(kafka_.bootstraps(), "late", 4)), Range(1, 40));
}

TEST_F(KafkaSinkTest, FullQueueFailsSendAndDrainCountsTheUndelivered) {
  kafka_.SetDown();
  {
    auto sink = Make("full", "", /*queue_max=*/3);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sink->Send(Flush(1, 5)).ok());
    const absl::Status full = sink->Send(Flush(1, 5));
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(Count("queueFull", "error"), 1);
    const absl::Status drained = sink->Drain(absl::Milliseconds(300));
    EXPECT_EQ(drained.code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_THAT(std::string(drained.message()), HasSubstr("3 messages undelivered"));
    EXPECT_EQ(Count("FlushOnClose", "error"), 1);
    EXPECT_EQ(Count("undelivered", "error"), 3);
  }
  // Destroying the sink purges what is left: each message gets a failed delivery report.
  EXPECT_EQ(Count("Produce", "error"), 3);
  EXPECT_EQ(Count("Produce", "count"), 0);
}

TEST(KafkaSinkFactory, BadAddressesAndCompressionAreInvalidArguments) {
  for (const char* dest : {"kafka:", "kafka:broker", "kafka::9092", "kafka:a:1,b"}) {
    SinkOptions o;
    o.dest = dest;
    auto s = CreateSink(o);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << dest;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("valid schemes are:")) << dest;
  }
  SinkOptions o;
  o.dest = "kafka:127.0.0.1:9,127.0.0.1:10";
  o.kafka_compression = "brotli";
  auto s = CreateSink(o);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("-kafkaCompression"));
  o.kafka_compression = "";
  EXPECT_TRUE(CreateSink(o).ok());  // several seed brokers, none up: fine at start
}

}  // namespace
}  // namespace xtcp
