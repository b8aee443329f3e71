// The real daemon under its least-privilege setup (docs/security.md): the capability sets,
// no_new_privs and seccomp mode of every thread, and that collection (a namespace made after
// start-up, -ioUring), every kind of sink, and a CPU profile over HTTP still work with nothing
// blocked.
#include <civetweb.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "observe/http_get.h"
#include "observe/proc_status.h"
#include "sink/kafka_mock.h"
#include "sink/peers.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

constexpr uint64_t kCollect =
    (1ull << CAP_NET_ADMIN) | (1ull << CAP_SYS_ADMIN) | (1ull << CAP_SYS_PTRACE);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The daemon with -dest `dest`, started and waited for until its seccomp policy is in place.
class LockedDaemon {
 public:
  explicit LockedDaemon(const std::string& dest, std::vector<std::string> extra = {})
      : child_(Child::Start(Argv(dest, extra), err_path_)) {
    static const std::regex kListening(R"(http: listening on 127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 400 && !locked_; ++i) {
      const std::string log = ReadFile(err_path_);
      std::smatch m;
      if (port_ == 0 && std::regex_search(log, m, kListening)) port_ = std::stoi(m[1]);
      locked_ = log.find("system calls allowed") != std::string::npos;
      if (!locked_) absl::SleepFor(absl::Milliseconds(25));
    }
  }
  ~LockedDaemon() {
    child_.Finish(absl::Seconds(20));
    ::unlink(err_path_.c_str());
  }
  bool locked() const { return locked_; }
  pid_t pid() const { return child_.pid(); }
  std::string log() const { return ReadFile(err_path_); }
  observe::HttpResponse Get(const std::string& path, absl::Duration timeout) const {
    auto r = observe::HttpGet("127.0.0.1", port_, path, timeout);
    return r.ok() ? *r : observe::HttpResponse{};
  }
  // SIGTERM; the exit code of a clean shutdown is 0.
  int Stop() {
    child_.Signal(SIGTERM);
    return child_.Wait(absl::Seconds(20));
  }

 private:
  static std::vector<std::string> Argv(const std::string& dest, std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        BuildPath("xtcp2"), "-promListen", "127.0.0.1:0",    "-dest", dest, "-frequency", "200ms",
        "-timeout",         "150ms",       "-pollJitterPct", "0",     "-d", "111"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::string err_path_ = TempPath("privs-daemon-err");
  Child child_;
  uint16_t port_ = 0;
  bool locked_ = false;
};

class PrivilegesDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = NetnsUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << "needs root and namespaces: " << why;
  }
  // Nothing was blocked during the run, and the daemon stopped cleanly. `may_lose`: the test took
  // the peer away, so rows may have been lost, which the exit status must then say (3).
  static void ExpectCleanRun(LockedDaemon& d, bool may_lose = false) {
    const int rc = d.Stop();
    const std::string log = d.log();
    if (may_lose) {
      EXPECT_TRUE(rc == 0 || rc == 3) << rc << "\n" << log;
      EXPECT_EQ(rc == 3, log.find("rows lost") != std::string::npos &&
                             log.find(" 0 rows lost") == std::string::npos)
          << log;
    } else {
      EXPECT_EQ(rc, 0) << log;
    }
    EXPECT_EQ(log.find("seccomp: blocked"), std::string::npos) << log;
  }
};

TEST_F(PrivilegesDaemonTest, EveryThreadKeepsOnlyTheCollectionSetUnderSeccomp) {
  LockedDaemon d("null");
  ASSERT_TRUE(d.locked()) << d.log();
  int threads = 0;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", d.pid(), "/task"))) {
    auto f = ReadStatusFields(task.path().string() + "/status");
    if (f.empty() || f["CapEff"].empty()) continue;  // the thread just ended
    ++threads;
    EXPECT_EQ(CapMask(f["CapEff"]), kCollect) << task.path() << " " << f["Name"];
    EXPECT_EQ(CapMask(f["CapPrm"]), kCollect) << task.path();
    EXPECT_EQ(CapMask(f["CapBnd"]), kCollect) << task.path();
    EXPECT_EQ(CapMask(f["CapAmb"]), 0u) << task.path();
    EXPECT_EQ(f["NoNewPrivs"], "1") << task.path();
    EXPECT_EQ(f["Seccomp"], "2") << task.path();
  }
  EXPECT_GT(threads, 2);
  const std::string metrics = d.Get("/metrics", absl::Seconds(10)).body;
  EXPECT_NE(metrics.find(R"(xtcp_counts{function="seccomp",type="count",variable="blocked"} 0)"),
            std::string::npos)
      << metrics;
  ExpectCleanRun(d);
}

TEST_F(PrivilegesDaemonTest, NamespaceMadeAfterStartUpIsCollectedIntoAFile) {
  const std::string out = TempPath("privs-file");
  LockedDaemon d("file:" + out, {"-marshal", "protobufList"});
  ASSERT_TRUE(d.locked()) << d.log();
  auto ns = TestNetns::Create("xtcpt-privs");
  ASSERT_TRUE(ns);
  Child farm = Child::Start(ns->Exec({BuildPath("tests/tools/sockfarm"), "-n", "3"}));
  ASSERT_EQ(farm.ReadLine(absl::Seconds(30)).rfind("ready ", 0), 0u);
  absl::SleepFor(absl::Milliseconds(1500));  // several polls after the reconcile
  ExpectCleanRun(d);
  farm.Finish();
  size_t from_ns = 0;
  for (const auto& r : ReadProtobufList(out)) from_ns += r.netns() == ns->name();
  EXPECT_GE(from_ns, 6u) << "3 connections = 6 sockets, polled several times";
  ::unlink(out.c_str());
}

TEST_F(PrivilegesDaemonTest, IoUringCollectionWorks) {
  const std::string out = TempPath("privs-uring");
  LockedDaemon d("file:" + out, {"-marshal", "protobufList", "-ioUring"});
  ASSERT_TRUE(d.locked()) << d.log();
  absl::SleepFor(absl::Milliseconds(800));
  ExpectCleanRun(d);
  EXPECT_FALSE(ReadProtobufList(out).empty()) << d.log();
  ::unlink(out.c_str());
}

TEST_F(PrivilegesDaemonTest, TcpSinkReceives) {
  StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  LockedDaemon d(absl::StrCat("tcp:127.0.0.1:", peer.port()));
  ASSERT_TRUE(d.locked()) << d.log();
  EXPECT_TRUE(peer.WaitForBytes(1));
  ExpectCleanRun(d);
}

// The sink reconnects after the policy is in place, resolving the name again (NSS, /etc/hosts).
TEST_F(PrivilegesDaemonTest, TcpSinkByNameReconnectsUnderThePolicy) {
  StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  LockedDaemon d(absl::StrCat("tcp:localhost:", peer.port()));
  ASSERT_TRUE(d.locked()) << d.log();
  ASSERT_TRUE(peer.WaitForBytes(1));
  peer.Stop();  // the sink sees the connection close
  absl::SleepFor(absl::Milliseconds(500));
  const size_t before = peer.bytes().size();
  ASSERT_TRUE(peer.Start());
  EXPECT_TRUE(WaitFor([&] { return peer.connections() >= 2 && peer.bytes().size() > before; },
                      absl::Seconds(20)))
      << d.log();
  ExpectCleanRun(d, /*may_lose=*/true);
}

TEST_F(PrivilegesDaemonTest, UdpSinkReceives) {
  DatagramPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  LockedDaemon d(absl::StrCat("udp:127.0.0.1:", peer.port()));
  ASSERT_TRUE(d.locked()) << d.log();
  EXPECT_TRUE(peer.WaitForCount(1));
  ExpectCleanRun(d);
}

TEST_F(PrivilegesDaemonTest, UnixSinkReceives) {
  TempDir dir;
  const std::string path = dir.File("xtcp.sock");
  StreamPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  LockedDaemon d("unix:" + path);
  ASSERT_TRUE(d.locked()) << d.log();
  EXPECT_TRUE(peer.WaitForBytes(1));
  ExpectCleanRun(d);
}

// A real HTTP server (civetweb) that answers 200 and counts the POSTs it read.
class CountingHttpServer {
 public:
  CountingHttpServer() {
    const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "2", nullptr};
    ctx_ = mg_start(nullptr, nullptr, options);
    if (ctx_ == nullptr) return;
    mg_set_request_handler(ctx_, "/ingest", &CountingHttpServer::Handle, this);
    mg_server_port ports[1];
    if (mg_get_server_ports(ctx_, 1, ports) == 1) port_ = ports[0].port;
  }
  ~CountingHttpServer() {
    if (ctx_ != nullptr) mg_stop(ctx_);
  }
  int port() const { return port_; }
  int posts() const { return posts_.load(); }

 private:
  static int Handle(mg_connection* conn, void* self) {
    char buf[4096];
    size_t body = 0;
    for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) body += static_cast<size_t>(n);
    const bool post = std::string(mg_get_request_info(conn)->request_method) == "POST";
    if (post && body > 0) static_cast<CountingHttpServer*>(self)->posts_.fetch_add(1);
    mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    return 200;
  }
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::atomic<int> posts_{0};
};

TEST_F(PrivilegesDaemonTest, HttpSinkPosts) {
  CountingHttpServer server;
  ASSERT_GT(server.port(), 0);
  LockedDaemon d(absl::StrCat("http://127.0.0.1:", server.port(), "/ingest"));
  ASSERT_TRUE(d.locked()) << d.log();
  EXPECT_TRUE(WaitFor([&] { return server.posts() >= 1; }, absl::Seconds(20))) << d.log();
  ExpectCleanRun(d);
}

TEST_F(PrivilegesDaemonTest, KafkaSinkReachesTheMockCluster) {
  MockKafka kafka;
  ASSERT_TRUE(kafka.ok());
  kafka.CreateTopic("xtcp");
  LockedDaemon d("kafka:" + kafka.bootstraps());
  ASSERT_TRUE(d.locked()) << d.log();
  EXPECT_FALSE(ConsumeWithLibrdkafka(kafka.bootstraps(), "xtcp", 1).empty()) << d.log();
  ExpectCleanRun(d);
}

TEST_F(PrivilegesDaemonTest, CpuProfileOverHttp) {
  // Polls every 10ms: the one-second profile must catch some samples (an idle daemon's profile is
  // a bare header; one TCPDIAG_GETSOCK walk per poll left too little CPU at 200ms).
  LockedDaemon d("null", {"-frequency", "10ms", "-timeout", "8ms"});
  ASSERT_TRUE(d.locked()) << d.log();
  const observe::HttpResponse r = d.Get("/debug/pprof/profile?seconds=1", absl::Seconds(20));
  if (r.status == 501) GTEST_SKIP() << "built without the gperftools profiler";
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_GT(r.body.size(), 100u);
  ExpectCleanRun(d);
}

}  // namespace
}  // namespace xtcp::testing
