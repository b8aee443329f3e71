// valkey: against a real redis-server (Valkey speaks the same protocol) that each test starts on
// loopback, with a hiredis subscriber on the channel. Rows sent, rows the subscriber got and rows
// the daemon reports lost agree, across a server restart too.
//
// The server starts with no TCP port and a unix socket: the subscriber subscribes over the socket,
// then `CONFIG SET port` opens the TCP port the sink publishes to. So no message can reach a
// server before the subscriber does (pub/sub keeps nothing for absent subscribers).
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "pipeline/output.h"
#include "sink/peers.h"
#include "sink/stage_rows.h"
#include "support/process.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using testing::Counters;

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WaitFor;

constexpr char kChannel[] = "xtcp-test";

uint16_t FreePort() {
  const int fd = testing::BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const uint16_t port = testing::LocalPort(fd);
  ::close(fd);
  return port;
}

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;
struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

Context ConnectUnix(const std::string& path) {
  timeval tv{2, 0};
  Context c(redisConnectUnixWithTimeout(path.c_str(), tv));
  if (c == nullptr || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), tv);
  return c;
}

// One redis-server child: unix socket always, TCP port once Listen() is called.
class RedisServer {
 public:
  explicit RedisServer(TempDir& dir) : sock_(dir.File("redis.sock")), log_(dir.File("redis.log")) {}
  ~RedisServer() { Stop(); }

  bool Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        "redis-server", "--port",    "0",  "--unixsocket", sock_, "--save",      "", "--appendonly",
        "no",           "--logfile", log_, "--daemonize",  "no",  "--databases", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<testing::Child>(testing::Child::Start(argv));
    if (!child_->ok()) return false;
    return WaitFor([&] { return ConnectUnix(sock_) != nullptr; }, absl::Seconds(10));
  }
  // Opens TCP `port` on 127.0.0.1 (redis 7 rebinds on CONFIG SET).
  bool Listen(uint16_t port) {
    Context c = ConnectUnix(sock_);
    if (c == nullptr) return false;
    Reply r(static_cast<redisReply*>(
        redisCommand(c.get(), "CONFIG SET port %d", static_cast<int>(port))));
    return r != nullptr && r->type == REDIS_REPLY_STATUS;
  }
  void Stop() {
    if (child_ == nullptr) return;
    child_->Signal(SIGTERM);
    if (child_->Wait(absl::Seconds(5)) == -1000) child_->Finish(absl::Seconds(1));
    child_.reset();
  }
  const std::string& socket_path() const { return sock_; }

 private:
  const std::string sock_, log_;
  std::unique_ptr<testing::Child> child_;
};

// SUBSCRIBEs to kChannel over the server's unix socket and records every message until the server
// goes away or Stop().
class Subscriber {
 public:
  ~Subscriber() { Stop(); }
  bool Start(const std::string& sock) {
    ctx_ = ConnectUnix(sock);
    if (ctx_ == nullptr) return false;
    Reply confirm(static_cast<redisReply*>(redisCommand(ctx_.get(), "SUBSCRIBE %s", kChannel)));
    if (confirm == nullptr || confirm->type != REDIS_REPLY_ARRAY) return false;
    thread_ = std::thread([this] { Read(); });
    return true;
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ctx_.reset();
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  void Read() {
    while (!stop_) {
      for (;;) {  // what the reader already holds, then the socket
        void* raw = nullptr;
        if (redisReaderGetReply(ctx_->reader, &raw) != REDIS_OK || raw == nullptr) break;
        Reply r(static_cast<redisReply*>(raw));
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            std::string(r->element[0]->str) == "message") {
          std::lock_guard lock(mu_);
          messages_.emplace_back(r->element[2]->str, r->element[2]->len);
        }
      }
      pollfd p{ctx_->fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if (redisBufferRead(ctx_.get()) != REDIS_OK) return;  // the server went away
    }
  }

  Context ctx_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> messages_;
};

class ValkeySinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }  // as the daemon: hiredis uses write(2)

  SinkOptions Options(uint16_t port) {
    SinkOptions o;
    o.dest = "valkey:127.0.0.1:" + std::to_string(port);
    o.topic = kChannel;
    o.metrics = &metrics_;
    o.io_timeout = absl::Seconds(2);
    o.reconnect_backoff_initial = absl::Milliseconds(20);
    o.reconnect_backoff_max = absl::Milliseconds(200);
    return o;
  }
  std::unique_ptr<pipeline::OutputStage> Stage(uint16_t port) {
    auto sink = CreateSink(Options(port));
    EXPECT_TRUE(sink.ok()) << sink.status();
    pipeline::OutputOptions opts;
    opts.block_when_full = true;
    auto stage = std::make_unique<pipeline::OutputStage>(*CreateMarshaller({"protobufList", ""}),
                                                         std::move(*sink), &metrics_, opts);
    stage->Start();
    return stage;
  }
  double Count(std::string_view variable, std::string_view type) {
    return metrics_.CountValue("destValKey", variable, type);
  }

  TempDir dir_;
  Metrics metrics_;
};

TEST_F(ValkeySinkTest, EveryFlushIsOnePublishAndDecodesToTheRowsSent) {
  RedisServer server(dir_);
  ASSERT_TRUE(server.Start());
  Subscriber sub;
  ASSERT_TRUE(sub.Start(server.socket_path()));
  const uint16_t port = FreePort();
  ASSERT_TRUE(server.Listen(port));
  auto stage = Stage(port);
  for (uint64_t i = 0; i < 5; ++i)
    stage->Submit(testing::NumberedRows(1 + i * 20, 20), FlushReason::kPollEnd);
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  ASSERT_TRUE(WaitFor([&] { return sub.messages().size() >= 5; }));
  std::multiset<uint64_t> want;
  for (uint64_t n = 1; n <= 100; ++n) want.insert(n);
  EXPECT_EQ(sub.messages().size(), 5u);
  EXPECT_EQ(Counters(sub.messages()), want);
  EXPECT_EQ(stage->rows_sent(), 100u);
  EXPECT_EQ(stage->rows_lost(), 0u);
  EXPECT_EQ(Count("Publish", "count"), 5);
  EXPECT_EQ(Count("Publish", "error"), 0);
  EXPECT_EQ(Count("connect", "count"), 1);
  EXPECT_EQ(Count("noSubscriber", "count"), 0);
}

TEST_F(ValkeySinkTest, ServerRestartMidRunSentEqualsReceivedPlusLost) {
  RedisServer server(dir_);
  ASSERT_TRUE(server.Start());
  auto sub = std::make_unique<Subscriber>();
  ASSERT_TRUE(sub->Start(server.socket_path()));
  const uint16_t port = FreePort();
  ASSERT_TRUE(server.Listen(port));
  auto stage = Stage(port);
  constexpr uint64_t kFlushes = 120, kRows = 10;
  std::thread submitter([&] {
    for (uint64_t i = 0; i < kFlushes; ++i) {
      stage->Submit(testing::NumberedRows(1 + i * kRows, kRows), FlushReason::kPollEnd);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return sub->messages().size() >= 20; }));
  server.Stop();  // the subscriber's connection ends with it
  sub->Stop();
  std::vector<std::string> received = sub->messages();
  absl::SleepFor(absl::Seconds(1));  // flushes fail their retries meanwhile
  ASSERT_TRUE(server.Start());
  auto sub2 = std::make_unique<Subscriber>();
  ASSERT_TRUE(sub2->Start(server.socket_path()));
  ASSERT_TRUE(server.Listen(port));
  submitter.join();
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  const uint64_t sent = stage->rows_sent(), lost = stage->rows_lost();
  ASSERT_TRUE(WaitFor(
      [&] { return Counters(received).size() + Counters(sub2->messages()).size() >= sent; }));
  for (const std::string& m : sub2->messages()) received.push_back(m);
  const std::multiset<uint64_t> got = Counters(received);
  const std::set<uint64_t> distinct(got.begin(), got.end());

  EXPECT_EQ(sent + lost, kFlushes * kRows);
  EXPECT_GT(lost, 0u);               // the outage cost flushes …
  EXPECT_EQ(distinct.size(), sent);  // … every other row arrived (a retry may repeat one)
  EXPECT_EQ(distinct.count(kFlushes * kRows), 1u);  // the last flush, after the restart
  EXPECT_EQ(metrics_.CountValue("Poller", "envelopeRowsLost", "error"), static_cast<double>(lost));
  EXPECT_GE(Count("connect", "count"), 2);
  EXPECT_GE(Count("connect", "error"), 1);
  EXPECT_GE(Count("Publish", "error"), static_cast<double>(lost / kRows * 3));  // 3 tries each
  EXPECT_EQ(Count("Publish", "count"), static_cast<double>(sent / kRows));
}

TEST_F(ValkeySinkTest, ServerDownAtStartIsRetriedWithBackoffNotFatal) {
  const uint16_t port = FreePort();
  auto sink = CreateSink(Options(port));
  ASSERT_TRUE(sink.ok()) << sink.status();
  const absl::Status first = (*sink)->Send("x");
  EXPECT_TRUE(absl::IsUnavailable(first)) << first;
  EXPECT_THAT(std::string(first.message()), HasSubstr("valkey:127.0.0.1:"));
  EXPECT_TRUE(absl::IsUnavailable((*sink)->Send("x")));  // within the backoff: no connect
  EXPECT_EQ(Count("connect", "error"), 1);
  EXPECT_EQ(Count("backoff", "error"), 1);
  EXPECT_EQ(Count("Publish", "error"), 2);

  RedisServer server(dir_);
  ASSERT_TRUE(server.Start());
  ASSERT_TRUE(server.Listen(port));
  int tries = 0;
  EXPECT_TRUE(WaitFor([&] { return ++tries <= 100 && (*sink)->Send("x").ok(); }));
  EXPECT_EQ(Count("Publish", "count"), 1);
  EXPECT_EQ(Count("connect", "count"), 1);
  EXPECT_EQ(Count("noSubscriber", "count"), 1);  // nobody listened to that one
}

TEST_F(ValkeySinkTest, RefusedPublishIsAnErrorWithTheServersWordsAndKeepsTheConnection) {
  RedisServer server(dir_);
  ASSERT_TRUE(server.Start({"--requirepass", "secret"}));
  const uint16_t port = FreePort();
  {
    Context c = ConnectUnix(server.socket_path());
    ASSERT_NE(c, nullptr);
    Reply auth(static_cast<redisReply*>(redisCommand(c.get(), "AUTH secret")));
    Reply r(static_cast<redisReply*>(
        redisCommand(c.get(), "CONFIG SET port %d", static_cast<int>(port))));
    ASSERT_TRUE(r != nullptr && r->type == REDIS_REPLY_STATUS);
  }
  auto sink = CreateSink(Options(port));
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 2; ++i) {
    const absl::Status s = (*sink)->Send("x");
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("NOAUTH"));
  }
  EXPECT_EQ(Count("replyError", "error"), 2);
  EXPECT_EQ(Count("Publish", "error"), 2);
  EXPECT_EQ(Count("connect", "count"), 1);
}

TEST_F(ValkeySinkTest, BadAddressIsOneLineNamingTheSyntax) {
  for (const char* dest : {"valkey", "valkey:", "valkey:host", "valkey:host:0", "valkey:[::1",
                           "valkey:a:b:c", "valkey:host:99999"}) {
    SinkOptions o;
    o.dest = dest;
    auto s = CreateSink(o);
    ASSERT_FALSE(s.ok()) << dest;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << dest;
    const std::string msg(s.status().message());
    EXPECT_THAT(msg, HasSubstr("(want valkey:host:port)")) << dest;
    EXPECT_THAT(msg, HasSubstr(std::string("\"") + dest + "\" for flag -dest")) << dest;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace xtcp
