// nsq: against a small nsqd-protocol server of the test's own (no nsqd in Debian; see
// sink/fake_nsqd.h) that records every PUB, refuses on demand and sends heartbeats. Rows sent,
// rows the server got and rows reported lost agree.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "pipeline/output.h"
#include "sink/fake_nsqd.h"
#include "sink/peers.h"
#include "sink/stage_rows.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using testing::Counters;
using testing::FakeNsqd;

using ::testing::HasSubstr;
using testing::WaitFor;

constexpr char kTopic[] = "xtcp-test";

uint16_t FreePort() {
  const int fd = testing::BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const uint16_t port = testing::LocalPort(fd);
  ::close(fd);
  return port;
}

class NsqSinkTest : public ::testing::Test {
 protected:
  SinkOptions Options(uint16_t port) {
    SinkOptions o;
    o.dest = "nsq:127.0.0.1:" + std::to_string(port);
    o.topic = kTopic;
    o.metrics = &metrics_;
    o.io_timeout = absl::Seconds(2);
    o.reconnect_backoff_initial = absl::Milliseconds(20);
    o.reconnect_backoff_max = absl::Milliseconds(200);
    return o;
  }
  std::unique_ptr<Sink> Direct(uint16_t port) {
    auto sink = CreateSink(Options(port));
    EXPECT_TRUE(sink.ok()) << sink.status();
    return sink.ok() ? *std::move(sink) : nullptr;
  }
  std::unique_ptr<pipeline::OutputStage> Stage(uint16_t port, const std::string& format) {
    auto sink = CreateSink(Options(port));
    EXPECT_TRUE(sink.ok()) << sink.status();
    pipeline::OutputOptions opts;
    opts.block_when_full = true;
    auto stage = std::make_unique<pipeline::OutputStage>(*CreateMarshaller({format, ""}),
                                                         std::move(*sink), &metrics_, opts);
    stage->Start();
    return stage;
  }
  double Count(std::string_view variable, std::string_view type) {
    return metrics_.CountValue("destNSQ", variable, type);
  }

  Metrics metrics_;
};

TEST_F(NsqSinkTest, PubIsFramedByteByByteAsDocumented) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start());
  auto sink = Direct(server.port());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->scheme(), "nsq");
  ASSERT_TRUE(sink->Send("hello").ok());
  const std::string binary("\x00\x01\x02\n\xff", 5);
  ASSERT_TRUE(sink->Send(binary).ok());

  const std::vector<std::string> raw = server.raw_pubs();
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0], std::string("PUB xtcp-test\n\x00\x00\x00\x05hello", 23));
  EXPECT_EQ(raw[1], std::string("PUB xtcp-test\n\x00\x00\x00\x05", 18) + binary);
  const std::vector<std::string> ids = server.identifies();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_THAT(ids[0], HasSubstr("\"feature_negotiation\":true"));
  EXPECT_EQ(ids[0].front(), '{');
  EXPECT_EQ(server.protocol_errors(), 0);         // the magic was right
  EXPECT_EQ(sink->max_message_size(), 1u << 20);  // no negotiation: nsqd's default
  EXPECT_EQ(Count("Publish", "count"), 2);
  EXPECT_EQ(Count("PublishBytes", "count"), 10);
  EXPECT_EQ(Count("connect", "count"), 1);
}

TEST_F(NsqSinkTest, EveryFlushIsOnePubAndDecodesToTheRowsSent) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start());
  auto stage = Stage(server.port(), "protobufList");
  for (uint64_t i = 0; i < 5; ++i)
    stage->Submit(testing::NumberedRows(1 + i * 20, 20), FlushReason::kPollEnd);
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  std::multiset<uint64_t> want;
  for (uint64_t n = 1; n <= 100; ++n) want.insert(n);
  EXPECT_EQ(server.bodies().size(), 5u);
  EXPECT_EQ(Counters(server.bodies()), want);
  EXPECT_EQ(stage->rows_sent(), 100u);
  EXPECT_EQ(stage->rows_lost(), 0u);
  EXPECT_EQ(Count("Publish", "count"), 5);
  EXPECT_EQ(Count("Publish", "error"), 0);
}

TEST_F(NsqSinkTest, RefusedPubFailsWithTheServersWordsAndReconnects) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start());
  auto sink = Direct(server.port());
  ASSERT_NE(sink, nullptr);
  for (const char* code : {"E_INVALID bad", "E_PUB_FAILED disk full", "E_BAD_MESSAGE too big"}) {
    server.Refuse(1, code);
    const absl::Status s = sink->Send("x");
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(code));
    EXPECT_THAT(std::string(s.message()), HasSubstr("nsq:127.0.0.1:"));
    int tries = 0;  // the next one reconnects (after the backoff, if any)
    EXPECT_TRUE(WaitFor([&] { return ++tries <= 200 && sink->Send("y").ok(); }));
  }
  EXPECT_EQ(Count("replyError", "error"), 3);
  EXPECT_EQ(Count("Publish", "count"), 3);
  EXPECT_GE(Count("Publish", "error"), 3);
  EXPECT_GE(server.connections(), 4);
  EXPECT_EQ(server.bodies(), std::vector<std::string>({"y", "y", "y"}));
}

TEST_F(NsqSinkTest, RefusedPubsThroughTheStageSentEqualsReceivedPlusLost) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start());
  server.Refuse(8, "E_PUB_FAILED PUB failed");
  auto stage = Stage(server.port(), "protobufList");
  constexpr uint64_t kFlushes = 10, kRows = 10;
  for (uint64_t i = 0; i < kFlushes; ++i)
    stage->Submit(testing::NumberedRows(1 + i * kRows, kRows), FlushReason::kPollEnd);
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  const uint64_t sent = stage->rows_sent(), lost = stage->rows_lost();
  const std::multiset<uint64_t> got = Counters(server.bodies());
  EXPECT_EQ(sent + lost, kFlushes * kRows);
  EXPECT_GT(lost, 0u);  // 8 refusals are more than one flush's tries
  EXPECT_EQ(got.size(), sent);
  EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()).size(), sent);
  EXPECT_EQ(metrics_.CountValue("Poller", "envelopeRowsLost", "error"), static_cast<double>(lost));
  EXPECT_EQ(Count("replyError", "error"), 8);
  EXPECT_EQ(Count("Publish", "count"), static_cast<double>(sent / kRows));
}

TEST_F(NsqSinkTest, HeartbeatsAreAnsweredWithNop) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start());
  auto sink = Direct(server.port());
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Send("a").ok());
  server.HeartbeatWhenIdle();  // read and answered before the next PUB
  ASSERT_TRUE(WaitFor([&] { return server.heartbeats_sent() == 1; }, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(50));  // in the sink's socket buffer
  ASSERT_TRUE(sink->Send("b").ok());
  server.HeartbeatBeforeNextOk();  // between the PUB and its answer
  ASSERT_TRUE(sink->Send("c").ok());
  ASSERT_TRUE(WaitFor([&] { return server.nops() == 2; }, absl::Seconds(5)));
  EXPECT_EQ(server.heartbeats_sent(), 2);
  EXPECT_EQ(server.protocol_errors(), 0);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.bodies(), std::vector<std::string>({"a", "b", "c"}));
  EXPECT_EQ(Count("heartbeat", "count"), 2);
  EXPECT_EQ(Count("Publish", "error"), 0);
}

TEST_F(NsqSinkTest, ServerDownAtStartIsRetriedWithBackoffNotFatal) {
  const uint16_t port = FreePort();
  auto sink = Direct(port);
  ASSERT_NE(sink, nullptr);
  const absl::Status first = sink->Send("x");
  EXPECT_TRUE(absl::IsUnavailable(first)) << first;
  EXPECT_THAT(std::string(first.message()), HasSubstr("nsq:127.0.0.1:"));
  EXPECT_TRUE(absl::IsUnavailable(sink->Send("x")));  // within the backoff: no connect
  EXPECT_EQ(Count("connect", "error"), 1);
  EXPECT_EQ(Count("backoff", "error"), 1);
  EXPECT_EQ(Count("Publish", "error"), 2);

  FakeNsqd server;
  ASSERT_TRUE(server.Start(port));
  int tries = 0;
  EXPECT_TRUE(WaitFor([&] { return ++tries <= 200 && sink->Send("x").ok(); }));
  EXPECT_EQ(Count("Publish", "count"), 1);
  EXPECT_EQ(Count("connect", "count"), 1);
  EXPECT_EQ(server.bodies(), std::vector<std::string>({"x"}));
}

TEST_F(NsqSinkTest, FlushAboveMaxMsgSizeIsSplitOnRowBoundaries) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start(0, 16384));
  auto stage = Stage(server.port(), "jsonl");
  stage->Submit(testing::NumberedRows(1, 1), FlushReason::kPollEnd);  // connects: learns the max
  ASSERT_TRUE(WaitFor([&] { return Count("Publish", "count") == 1; }));
  EXPECT_EQ(stage->sink().max_message_size(), 16384u);
  stage->Submit(testing::NumberedRows(2, 300), FlushReason::kSizeCap);
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  EXPECT_EQ(stage->rows_sent(), 301u);
  EXPECT_EQ(stage->rows_lost(), 0u);
  const std::vector<std::string> bodies = server.bodies();
  ASSERT_GT(bodies.size(), 2u);
  size_t lines = 0;
  for (const std::string& m : bodies) {
    EXPECT_LE(m.size(), 16384u);
    EXPECT_EQ(m.back(), '\n');  // cut on row boundaries
    lines += static_cast<size_t>(std::count(m.begin(), m.end(), '\n'));
  }
  EXPECT_EQ(lines, 301u);
  EXPECT_EQ(metrics_.CountValue("Output", "splitFlush", "count"), 1);
  EXPECT_EQ(Count("tooLarge", "error"), 0);
}

TEST_F(NsqSinkTest, MessageAboveMaxMsgSizeIsRefusedBeforeSending) {
  FakeNsqd server;
  ASSERT_TRUE(server.Start(0, 100));
  auto sink = Direct(server.port());
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Send("x").ok());
  EXPECT_EQ(sink->max_message_size(), 100u);
  const absl::Status s = sink->Send(std::string(101, 'a'));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(Count("tooLarge", "error"), 1);
  EXPECT_EQ(server.raw_pubs().size(), 1u);
}

TEST_F(NsqSinkTest, BadAddressIsOneLineNamingTheSyntax) {
  for (const char* dest :
       {"nsq", "nsq:", "nsq:host", "nsq:host:0", "nsq:[::1", "nsq:a:b:c", "nsq:host:99999"}) {
    SinkOptions o;
    o.dest = dest;
    auto s = CreateSink(o);
    ASSERT_FALSE(s.ok()) << dest;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << dest;
    const std::string msg(s.status().message());
    EXPECT_THAT(msg, HasSubstr("(want nsq:host:port)")) << dest;
    EXPECT_THAT(msg, HasSubstr(std::string("\"") + dest + "\" for flag -dest")) << dest;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST_F(NsqSinkTest, TopicFollowsNsqRules) {
  const std::string long_name(64, 'a');
  for (const std::string& good :
       {std::string("xtcp"), std::string("a.b_c-D9"), long_name, std::string("xtcp#ephemeral")}) {
    SinkOptions o = Options(4150);
    o.topic = good;
    EXPECT_TRUE(CreateSink(o).ok()) << good;
  }
  for (const std::string& bad :
       {std::string(""), long_name + "a", std::string("a b"), std::string("a/b"),
        std::string("#ephemeral"), std::string("x#ephemeral#ephemeral"), std::string("x#eph"),
        std::string(55, 'a') + "#ephemeral"}) {
    SinkOptions o = Options(4150);
    o.topic = bad;
    auto s = CreateSink(o);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("for flag -topic")) << bad;
  }
}

}  // namespace
}  // namespace xtcp
