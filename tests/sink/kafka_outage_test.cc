// A Kafka broker that goes away for 30 s while the daemon keeps producing: messages wait in the
// bounded queue and every record arrives once the broker is back (label `slow`).
#include <set>
#include <string>

#include "common/metrics.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "marshal/test_records.h"
#include "sink/kafka_mock.h"
#include "sink/peers.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using testing::WaitFor;

constexpr uint64_t kRecordsPerFlush = 50;

std::string Flush(uint64_t index) {
  testing::TestEnvelope env;
  for (uint64_t i = 0; i < kRecordsPerFlush; ++i) {
    env.Add(testing::NumberedRecord(index * kRecordsPerFlush + i + 1));
  }
  auto m = CreateMarshaller({"protobufList", ""});
  std::string out;
  EXPECT_TRUE((*m)->Marshal(env.view(), &out).ok());
  return out;
}

std::set<uint64_t> DistinctCounters(const std::vector<std::string>& messages) {
  std::set<uint64_t> out;
  for (const std::string& m : messages) {
    std::vector<record::ProtoEnvelope> envs;
    EXPECT_TRUE(marshal::ParseProtobufList(m, &envs).ok());
    for (const auto& e : envs) {
      for (const auto& r : e.row()) out.insert(r.record_counter());
    }
  }
  return out;
}

TEST(KafkaOutage, Broker30sDownNothingLostAndCountersTellTheStory) {
  testing::MockKafka kafka;
  ASSERT_TRUE(kafka.ok());
  kafka.CreateTopic("outage");
  Metrics metrics;
  SinkOptions o;
  o.dest = "kafka:" + kafka.bootstraps();
  o.topic = "outage";
  o.kafka_statistics_interval = absl::Milliseconds(200);
  o.metrics = &metrics;
  auto sink = CreateSink(o);
  ASSERT_TRUE(sink.ok()) << sink.status();
  const auto count = [&](std::string_view v, std::string_view t) {
    return metrics.CountValue("destKafka", v, t);
  };
  const std::string broker = kafka.bootstraps() + "/1";
  const auto broker_up = [&] { return metrics.Gauge("kafka", "broker_state_up", broker).Value(); };
  uint64_t sent = 0;

  // Up: 10 flushes delivered.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*sink)->Send(Flush(sent++)).ok());
  ASSERT_TRUE(WaitFor([&] { return count("Produce", "count") == 10; }));
  ASSERT_TRUE(WaitFor([&] { return broker_up() == 1; }));

  // Down for 30 s while producing every 200 ms: accepted, queued, none delivered, none failed.
  kafka.SetDown();
  const absl::Time down_until = absl::Now() + absl::Seconds(30);
  while (absl::Now() < down_until) {
    ASSERT_TRUE((*sink)->Send(Flush(sent++)).ok());
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(count("Produce", "count"), 10);
  EXPECT_EQ(count("Produce", "error"), 0);
  EXPECT_EQ(count("enqueue", "count"), static_cast<double>(sent));
  EXPECT_EQ(broker_up(), 0);
  EXPECT_GT(metrics.Gauge("kafka", "msg_cnt", "gauge").Value(), 100);  // waiting in the queue
  EXPECT_GE(count("clientError", "error"), 1);                         // the outage was reported

  // Back: 10 more, then drain. Every flush is acknowledged exactly once.
  kafka.SetUp();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*sink)->Send(Flush(sent++)).ok());
  ASSERT_TRUE((*sink)->Drain(absl::Seconds(60)).ok());
  EXPECT_EQ(count("Produce", "count"), static_cast<double>(sent));
  EXPECT_EQ(count("Produce", "error"), 0);
  EXPECT_EQ(count("queueFull", "error"), 0);
  EXPECT_EQ(count("undelivered", "error"), 0);

  // Every record is in the topic (at-least-once: a batch in flight at the cut may repeat).
  std::set<uint64_t> want;
  for (uint64_t n = 1; n <= sent * kRecordsPerFlush; ++n) want.insert(n);
  const auto consumed = testing::ConsumeWithLibrdkafka(kafka.bootstraps(), "outage", sent);
  EXPECT_GE(consumed.size(), sent);
  EXPECT_EQ(DistinctCounters(consumed), want);
  int kcat_exit = -1;
  const auto by_kcat = testing::ConsumeWithKcat(kafka.bootstraps(), "outage", &kcat_exit);
  EXPECT_EQ(kcat_exit, 0);
  EXPECT_EQ(DistinctCounters(by_kcat), want);
}

}  // namespace
}  // namespace xtcp
