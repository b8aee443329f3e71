// nats: against real nats-server processes each test starts on loopback, with a libnats subscriber.
// Rows sent, rows the subscriber got and rows the daemon reports lost agree, across a server
// restart too; flushes above the server's max_payload are split on row boundaries.
//
// Core NATS keeps nothing for a subject nobody subscribes to, so the subscriber must be back
// before the sink reconnects. The sink therefore reaches the server through a Gate (a TCP relay
// the test opens and closes): the gate closes with the server and opens only after the
// subscriber has re-subscribed on the restarted server.
#include <nats/nats.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
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

constexpr char kSubject[] = "xtcp.test";

uint16_t FreePort() {
  const int fd = testing::BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const uint16_t port = testing::LocalPort(fd);
  ::close(fd);
  return port;
}

bool Accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// One nats-server child on 127.0.0.1:port.
class NatsServer {
 public:
  NatsServer(TempDir& dir, uint16_t port, const std::string& config = "")
      : port_(port), log_(dir.File("nats.log")), conf_(dir.File("nats.conf")), config_(config) {}
  ~NatsServer() { Stop(); }

  bool Start() {
    std::vector<std::string> argv = {"nats-server",         "-a", "127.0.0.1", "-p",
                                     std::to_string(port_), "-l", log_};
    if (!config_.empty()) {
      std::ofstream(conf_) << config_;
      argv.insert(argv.end(), {"-c", conf_});
    }
    child_ = std::make_unique<testing::Child>(testing::Child::Start(argv));
    return child_->ok() && WaitFor([&] { return Accepts(port_); });
  }
  void Stop() {
    if (child_ == nullptr) return;
    child_->Signal(SIGTERM);
    if (child_->Wait(absl::Seconds(5)) == -1000) child_->Finish(absl::Seconds(1));
    child_.reset();
  }
  uint16_t port() const { return port_; }

 private:
  const uint16_t port_;
  const std::string log_, conf_, config_;
  std::unique_ptr<testing::Child> child_;
};

// A TCP relay from `port` to the server: Open() listens, Close() stops listening and cuts every
// relayed connection (the sink sees its server go away).
class Gate {
 public:
  explicit Gate(uint16_t upstream) : port_(FreePort()), upstream_(upstream) {}
  ~Gate() { Close(); }
  uint16_t port() const { return port_; }

  bool Open() {
    listen_fd_ = testing::BindSocket(AF_INET, SOCK_STREAM, port_, "");
    if (listen_fd_ < 0 || ::listen(listen_fd_, 8) != 0) return false;
    stop_ = false;
    thread_ = std::thread([this] { Relay(); });
    return true;
  }
  void Close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  void Relay() {
    std::vector<std::pair<int, int>> pairs;  // (client, server)
    while (!stop_) {
      std::vector<pollfd> p = {{listen_fd_, POLLIN, 0}};
      for (auto [c, s] : pairs) p.insert(p.end(), {{c, POLLIN, 0}, {s, POLLIN, 0}});
      if (::poll(p.data(), p.size(), 20) <= 0) continue;
      const size_t polled = pairs.size();  // Accept() may add one
      if (p[0].revents & POLLIN) Accept(&pairs);
      for (size_t i = 0; i < polled; ++i) {
        const short rc = p[1 + 2 * i].revents, rs = p[2 + 2 * i].revents;
        auto& [c, s] = pairs[i];
        if ((rc && !Pump(c, s)) || (rs && !Pump(s, c))) {
          ::close(c);
          ::close(s);
          c = s = -1;
        }
      }
      std::erase_if(pairs, [](const auto& cs) { return cs.first < 0; });
    }
    for (auto [c, s] : pairs) {
      ::close(c);
      ::close(s);
    }
  }
  void Accept(std::vector<std::pair<int, int>>* pairs) {
    const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(upstream_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(c);
      ::close(s);
      return;
    }
    pairs->emplace_back(c, s);
  }
  // Moves what `from` has to `to`; false on EOF or error.
  static bool Pump(int from, int to) {
    char buf[65536];
    const ssize_t n = ::recv(from, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) return false;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::send(to, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) return false;
      done += w;
    }
    return true;
  }

  const uint16_t port_, upstream_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Subscribes to kSubject with libnats (reconnecting and re-subscribing on its own) and records
// every message.
class Subscriber {
 public:
  ~Subscriber() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    if (opts_ != nullptr) natsOptions_Destroy(opts_);
  }
  bool Start(uint16_t port) {
    const std::string url = "nats://127.0.0.1:" + std::to_string(port);
    if (natsOptions_Create(&opts_) != NATS_OK ||
        natsOptions_SetURL(opts_, url.c_str()) != NATS_OK ||
        natsOptions_SetMaxReconnect(opts_, -1) != NATS_OK ||
        natsOptions_SetReconnectWait(opts_, 10) != NATS_OK ||
        natsConnection_Connect(&nc_, opts_) != NATS_OK ||
        natsConnection_SubscribeSync(&sub_, nc_, kSubject) != NATS_OK ||
        natsSubscription_SetPendingLimits(sub_, -1, -1) != NATS_OK || !Ready()) {
      return false;
    }
    thread_ = std::thread([this] { Read(); });
    return true;
  }
  // Connected, and the server has the subscription (a round trip after it).
  bool Ready() { return natsConnection_FlushTimeout(nc_, 1000) == NATS_OK; }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  void Read() {
    while (!stop_) {
      natsMsg* msg = nullptr;
      if (natsSubscription_NextMsg(&msg, sub_, 20) != NATS_OK) continue;
      std::lock_guard lock(mu_);
      messages_.emplace_back(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
      natsMsg_Destroy(msg);
    }
  }

  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  natsSubscription* sub_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> messages_;
};

class NatsSinkTest : public ::testing::Test {
 protected:
  SinkOptions Options(uint16_t port) {
    SinkOptions o;
    o.dest = "nats:127.0.0.1:" + std::to_string(port);
    o.topic = kSubject;
    o.metrics = &metrics_;
    o.io_timeout = absl::Seconds(2);
    o.reconnect_backoff_initial = absl::Milliseconds(20);
    o.reconnect_backoff_max = absl::Milliseconds(200);
    return o;
  }
  std::unique_ptr<pipeline::OutputStage> Stage(const SinkOptions& o, const std::string& format) {
    auto sink = CreateSink(o);
    EXPECT_TRUE(sink.ok()) << sink.status();
    pipeline::OutputOptions opts;
    opts.block_when_full = true;
    auto stage = std::make_unique<pipeline::OutputStage>(*CreateMarshaller({format, ""}),
                                                         std::move(*sink), &metrics_, opts);
    stage->Start();
    return stage;
  }
  double Count(std::string_view variable, std::string_view type) {
    return metrics_.CountValue("destNATS", variable, type);
  }

  TempDir dir_;
  Metrics metrics_;
};

TEST_F(NatsSinkTest, EveryFlushIsOneMessageAndDecodesToTheRowsSent) {
  NatsServer server(dir_, FreePort());
  ASSERT_TRUE(server.Start());
  Subscriber sub;
  ASSERT_TRUE(sub.Start(server.port()));
  auto stage = Stage(Options(server.port()), "protobufList");
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
  EXPECT_EQ(Count("buffered", "count"), 0);               // each confirmed by its round trip
  EXPECT_EQ(stage->sink().max_message_size(), 1u << 20);  // the server's default max_payload
}

TEST_F(NatsSinkTest, ServerRestartMidRunBufferedArrivesRefusedIsCountedLost) {
  NatsServer server(dir_, FreePort());
  ASSERT_TRUE(server.Start());
  auto sub = std::make_unique<Subscriber>();
  ASSERT_TRUE(sub->Start(server.port()));
  Gate gate(server.port());
  ASSERT_TRUE(gate.Open());
  SinkOptions o = Options(gate.port());
  o.nats_reconnect_buffer_bytes = 16 * 1024;  // a few flushes: the outage overflows it
  auto stage = Stage(o, "protobufList");
  constexpr uint64_t kRows = 10, kMaxFlushes = 1000;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> submitted{0};
  std::thread submitter([&] {
    for (uint64_t i = 0; i < kMaxFlushes && !done; ++i) {
      stage->Submit(testing::NumberedRows(1 + i * kRows, kRows), FlushReason::kPollEnd);
      submitted = i + 1;
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return sub->messages().size() >= 20; }));
  gate.Close();  // the sink's server goes away …
  server.Stop();
  absl::SleepFor(absl::Seconds(3));  // … for 3 s: the buffer fills, then sends are refused
  ASSERT_TRUE(server.Start());
  ASSERT_TRUE(WaitFor([&] { return sub->Ready(); }));  // re-subscribed on the new server
  ASSERT_TRUE(gate.Open());
  const double reconnects_before = Count("reconnect", "count");
  ASSERT_TRUE(WaitFor([&] { return Count("reconnect", "count") > reconnects_before; }));
  absl::SleepFor(absl::Milliseconds(300));  // some flushes after the reconnect
  done = true;
  submitter.join();
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  const uint64_t total = submitted * kRows, sent = stage->rows_sent(), lost = stage->rows_lost();
  ASSERT_TRUE(WaitFor([&] {
    const auto got = Counters(sub->messages());
    return std::set<uint64_t>(got.begin(), got.end()).size() >= sent;
  }));
  const std::multiset<uint64_t> got = Counters(sub->messages());
  const std::set<uint64_t> distinct(got.begin(), got.end());

  EXPECT_EQ(sent + lost, total);
  EXPECT_EQ(distinct.size(), sent);  // every row sent arrived (a retry may repeat one) …
  EXPECT_GT(lost, 0u);               // … and the refused ones are counted
  EXPECT_EQ(metrics_.CountValue("Poller", "envelopeRowsLost", "error"), static_cast<double>(lost));
  EXPECT_GT(Count("buffered", "count"), 0);  // held during the outage, delivered after it
  EXPECT_GT(Count("bufferFull", "error"), 0);
  EXPECT_EQ(Count("FlushOnClose", "error"), 0);
  EXPECT_EQ(Count("bufferLost", "error"), 0);
  EXPECT_GE(Count("disconnect", "count"), 1);
  EXPECT_EQ(distinct.count(total), 1u);  // the last flush, after the restart
}

TEST_F(NatsSinkTest, FlushAboveMaxPayloadIsSplitOnRowBoundaries) {
  NatsServer server(dir_, FreePort(), "max_payload: 16384\n");
  ASSERT_TRUE(server.Start());
  Subscriber sub;
  ASSERT_TRUE(sub.Start(server.port()));
  auto stage = Stage(Options(server.port()), "jsonl");
  ASSERT_TRUE(WaitFor([&] { return stage->sink().max_message_size() == 16384; }));
  stage->Submit(testing::NumberedRows(1, 300), FlushReason::kSizeCap);
  ASSERT_TRUE(stage->Stop(absl::Seconds(10)).ok());
  EXPECT_EQ(stage->rows_sent(), 300u);
  const auto produced = static_cast<size_t>(Count("Publish", "count"));
  ASSERT_GT(produced, 1u);
  ASSERT_TRUE(WaitFor([&] { return sub.messages().size() >= produced; }));
  size_t lines = 0;
  for (const std::string& m : sub.messages()) {
    EXPECT_LE(m.size(), 16384u);
    EXPECT_EQ(m.back(), '\n');  // cut on row boundaries
    lines += static_cast<size_t>(std::count(m.begin(), m.end(), '\n'));
  }
  EXPECT_EQ(lines, 300u);
  EXPECT_EQ(metrics_.CountValue("Output", "splitFlush", "count"), 1);
  EXPECT_EQ(Count("tooLarge", "error"), 0);
}

TEST_F(NatsSinkTest, ServerDownAtStartBuffersUntilItComes) {
  const uint16_t server_port = FreePort();
  Gate gate(server_port);
  auto sink = CreateSink(Options(gate.port()));  // nothing listens there yet: not fatal
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Send("early").ok());
  EXPECT_EQ(Count("buffered", "count"), 1);
  NatsServer server(dir_, server_port);
  ASSERT_TRUE(server.Start());
  Subscriber sub;
  ASSERT_TRUE(sub.Start(server.port()));
  ASSERT_TRUE(gate.Open());
  ASSERT_TRUE((*sink)->Drain(absl::Seconds(5)).ok());
  ASSERT_TRUE(WaitFor([&] { return !sub.messages().empty(); }));
  EXPECT_EQ(sub.messages(), std::vector<std::string>{"early"});
  EXPECT_EQ(Count("FlushOnClose", "error"), 0);
  EXPECT_EQ(Count("bufferLost", "error"), 0);  // one connection since it was buffered
}

TEST_F(NatsSinkTest, BufferedMessageIsNotConfirmedAcrossASecondReconnect) {
  NatsServer server(dir_, FreePort());
  ASSERT_TRUE(server.Start());
  Subscriber sub;
  ASSERT_TRUE(sub.Start(server.port()));
  Gate gate(server.port());
  auto sink = CreateSink(Options(gate.port()));
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::atomic<uint64_t> lost{0};
  (*sink)->SetLossCallback([&](uint64_t rows) { lost += rows; });
  const std::string_view a[] = {"a"}, b[] = {"b"};
  ASSERT_TRUE((*sink)->SendRows(a, 5).ok());  // buffered: no server yet
  ASSERT_TRUE(gate.Open());
  ASSERT_TRUE(WaitFor([&] { return Count("connect", "count") == 1; }));
  gate.Close();  // the first connection ends before any round trip confirmed "a"
  ASSERT_TRUE(WaitFor([&] { return Count("disconnect", "count") == 1; }));
  ASSERT_TRUE(gate.Open());
  ASSERT_TRUE(WaitFor([&] { return Count("reconnect", "count") == 1; }));
  ASSERT_TRUE((*sink)->SendRows(b, 7).ok());  // confirmed on the second connection
  EXPECT_EQ(lost.load(), 5u);                 // "a" may have arrived; it is not known to have
  EXPECT_EQ(Count("bufferLost", "error"), 1);
  EXPECT_EQ(Count("buffered", "count"), 1);
}

TEST_F(NatsSinkTest, UnreachableServerAtShutdownCountsTheBufferedRowsLost) {
  auto stage = Stage(Options(FreePort()), "protobufList");
  for (uint64_t i = 0; i < 3; ++i)
    stage->Submit(testing::NumberedRows(1 + i * 10, 10), FlushReason::kPollEnd);
  stage->WaitIdle();
  EXPECT_EQ(stage->rows_sent(), 30u);  // taken into the reconnect buffer
  const absl::Status s = stage->Stop(absl::Milliseconds(500));
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("3 buffered messages (30 rows) unconfirmed"));
  EXPECT_EQ(stage->rows_sent(), 0u);
  EXPECT_EQ(stage->rows_lost(), 30u);
  EXPECT_EQ(Count("FlushOnClose", "error"), 1);
  EXPECT_EQ(Count("buffered", "count"), 3);
}

TEST_F(NatsSinkTest, BadAddressIsOneLineNamingTheSyntax) {
  for (const char* dest : {"nats", "nats:", "nats:host", "nats:host:0", "nats:h:4222,",
                           "nats::4222", "nats:h:http", "nats:[::1", "nats:a:1,b"}) {
    SinkOptions o;
    o.dest = dest;
    auto s = CreateSink(o);
    ASSERT_FALSE(s.ok()) << dest;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << dest;
    const std::string msg(s.status().message());
    EXPECT_THAT(msg, HasSubstr("(want nats:host:port[,host:port...])")) << dest;
    EXPECT_THAT(msg, HasSubstr(std::string("\"") + dest + "\" for flag -dest")) << dest;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace xtcp
