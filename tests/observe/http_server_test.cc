// HttpServer over real loopback sockets: endpoints, metrics exposition checked by promtool,
// readiness transitions, listening options, and listen failures.
#include "observe/http_server.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observe/subprocess.h"
#include "observe/test_server.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using xtcp::testing::Get;
using xtcp::testing::LoopbackOptions;
using xtcp::testing::StartServer;

bool HaveIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa = {};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  close(fd);
  return ok;
}

// The listening socket of this process on `port` (as the kernel sees it), or -1.
int FindListener(uint16_t port) {
  DIR* d = opendir("/proc/self/fd");
  int found = -1;
  while (dirent* e = readdir(d)) {
    int fd = -1, listening = 0;
    socklen_t len = sizeof(listening);
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd == dirfd(d)) continue;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage ss = {};
    len = sizeof(ss);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    const uint16_t p = ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&ss)->sin_port;
    if (ntohs(p) == port) found = fd;
  }
  closedir(d);
  return found;
}

TEST(HttpServerTest, HealthzAnswersOk) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  const HttpResponse r = Get(ts->port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(ts->metrics.CountValue("HttpServer", "healthz", "count"), 1);
}

TEST(HttpServerTest, ReadyzFollowsReadiness) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(Get(ts->port(), "/readyz").status, 503);
  EXPECT_EQ(Get(ts->port(), "/readyz").body, "not ready\n");
  ts->readiness.Set(true);
  EXPECT_EQ(Get(ts->port(), "/readyz").status, 200);
  EXPECT_EQ(Get(ts->port(), "/readyz").body, "ready\n");
  ts->readiness.Set(false);  // shutdown begins
  EXPECT_EQ(Get(ts->port(), "/readyz").status, 503);
}

TEST(HttpServerTest, MetricsCarryUpstreamFamiliesAndProcessMetrics) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  ts->metrics.Count("Poller", "pollingLoops", "count").Increment(3);
  ts->metrics.Summary("Poller", "pollToDoneDuration", "count").Observe(0.25);
  ts->metrics.NamespaceGauge().Set(4);
  ts->metrics.Gauge("Netlinker", "threads", "count").Set(8);
  const HttpResponse r = Get(ts->port(), "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.headers, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(
      r.body,
      HasSubstr("xtcp_counts{function=\"Poller\",type=\"count\",variable=\"pollingLoops\"} 3"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE xtcp_histograms summary"));
  EXPECT_THAT(r.body, HasSubstr("xtcp_gauge 4"));
  EXPECT_THAT(r.body, HasSubstr("xtcp_gauges{function=\"Netlinker\""));
  for (const char* family : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                             "process_start_time_seconds", "process_threads", "xtcp2_build_info"}) {
    EXPECT_THAT(r.body, HasSubstr(absl::StrCat("\n", family))) << family;
  }
}

// The value of an unlabelled sample in a text exposition, or -1.
double SampleValue(const std::string& body, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (absl::StartsWith(line, name + " ")) {
      double v = -1;
      if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
    }
  }
  return -1;
}

TEST(HttpServerTest, ProcessMetricsArePlausible) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  const std::string body = Get(ts->port(), "/metrics").body;
  EXPECT_GE(SampleValue(body, "process_threads"), 2);   // us + the server loop
  EXPECT_GE(SampleValue(body, "process_open_fds"), 4);  // stdio + the listener
  EXPECT_GT(SampleValue(body, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(SampleValue(body, "process_max_fds"), SampleValue(body, "process_open_fds"));
  EXPECT_GT(SampleValue(body, "process_start_time_seconds"), 1.5e9);
  EXPECT_GE(SampleValue(body, "process_cpu_seconds_total"), 0);
}

TEST(HttpServerTest, MetricsPassPromtool) {
  const std::string promtool = xtcp::testing::FindTool("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  ts->metrics.Count("Netlinker", "packets", "count").Increment(7);
  ts->metrics.Summary("Netlinker", "Recvfrom", "count").Observe(0.001);
  ts->metrics.NamespaceGauge().Set(2);
  Get(ts->port(), "/healthz");
  const HttpResponse r = Get(ts->port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  const auto check =
      xtcp::testing::RunProgram({promtool, "check", "metrics"}, {}, absl::Seconds(30), r.body);
  // Exit 0 = clean, 3 = lint findings only. The findings we accept are about upstream's family
  // names, which the compatibility contract forbids renaming: the counter xtcp_counts has no
  // _total suffix and the gauge xtcp_gauge has "gauge" in its name.
  ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 3) << check.err;
  for (absl::string_view line : absl::StrSplit(check.err, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(line == "xtcp_counts counter metrics should have \"_total\" suffix" ||
                line == "xtcp_gauge metric name should not include type 'gauge'")
        << line;
  }
}

TEST(HttpServerTest, PromPathIsConfigurable) {
  auto cfg = LoopbackOptions();
  cfg.prom_path = "/custom/metrics";
  auto ts = StartServer(cfg);
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(Get(ts->port(), "/custom/metrics").status, 200);
  EXPECT_EQ(Get(ts->port(), "/metrics").status, 404);
}

TEST(HttpServerTest, UnknownPathsAndMethods) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(Get(ts->port(), "/nope").status, 404);
  EXPECT_EQ(Get(ts->port(), "/healthz/extra").status, 404);
  EXPECT_EQ(Get(ts->port(), "/%2e%2e/%2e%2e/etc/passwd").status, 404);
  const std::string post = xtcp::testing::Exchange(
      ts->port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
      absl::Seconds(10));
  EXPECT_TRUE(absl::StartsWith(post, "HTTP/1.1 405")) << post;
  const std::string head = xtcp::testing::Exchange(
      ts->port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", absl::Seconds(10));
  EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.1 200")) << head;
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << "HEAD must not carry a body: " << head;
}

TEST(HttpServerTest, PprofIndexAndCmdline) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  const HttpResponse index = Get(ts->port(), "/debug/pprof/");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("profile?seconds="));
  EXPECT_THAT(index.body, HasSubstr("heap"));
  EXPECT_EQ(Get(ts->port(), "/debug/pprof").status, 200);
  const HttpResponse cmdline = Get(ts->port(), "/debug/pprof/cmdline");
  EXPECT_EQ(cmdline.status, 200);
  EXPECT_THAT(cmdline.body, HasSubstr("observe_test"));
}

TEST(HttpServerTest, ProfileSecondsAreBounded) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  for (const char* bad : {"0", "301", "-5", "abc", "1.5", "99999999999999999999"}) {
    const HttpResponse r = Get(ts->port(), absl::StrCat("/debug/pprof/profile?seconds=", bad));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(r.body, HasSubstr("from 1 to 300")) << bad;
  }
}

TEST(HttpServerTest, ListensOnIpv6Loopback) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
  auto cfg = LoopbackOptions();
  cfg.listen = "[::1]:0";
  auto ts = StartServer(cfg);
  ASSERT_NE(ts, nullptr);
  auto r = HttpGet("::1", ts->port(), "/healthz", absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(ts->server->addresses().front(), absl::StrCat("[::1]:", ts->port()));
}

TEST(HttpServerTest, AllAddressesMeansBothFamilies) {
  auto cfg = LoopbackOptions();
  cfg.listen = ":0";
  auto ts = StartServer(cfg);
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(Get(ts->port(), "/healthz").status, 200);
  if (HaveIpv6Loopback()) {
    auto r = HttpGet("::1", ts->port(), "/healthz", absl::Seconds(10));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
  }
}

TEST(HttpServerTest, TtlAndHopLimitAreOnTheListeningSocket) {
  auto cfg = LoopbackOptions();
  cfg.listen = HaveIpv6Loopback() ? ":0" : "127.0.0.1:0";
  cfg.ipv4_ttl = 7;
  cfg.ipv6_hop_limit = 9;
  auto ts = StartServer(cfg);
  ASSERT_NE(ts, nullptr);
  const int fd = FindListener(ts->port());
  ASSERT_GE(fd, 0);
  int ttl = 0;
  socklen_t len = sizeof(ttl);
  ASSERT_EQ(getsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, &len), 0);
  EXPECT_EQ(ttl, 7);
  if (HaveIpv6Loopback()) {
    int hops = 0;
    len = sizeof(hops);
    ASSERT_EQ(getsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, &len), 0);
    EXPECT_EQ(hops, 9);
  }
  EXPECT_EQ(Get(ts->port(), "/healthz").status, 200);  // still served from that socket
}

TEST(HttpServerTest, ListenFailureIsOneClearLine) {
  auto first = StartServer();
  ASSERT_NE(first, nullptr);
  auto cfg = LoopbackOptions();
  cfg.listen = absl::StrCat("127.0.0.1:", first->port());
  Metrics metrics;
  Readiness readiness;
  auto second = HttpServer::Start(cfg, &metrics, &readiness);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("Address already in use"));
  EXPECT_THAT(second.status().message(), HasSubstr(cfg.listen));
  EXPECT_THAT(second.status().message(), Not(HasSubstr("\n")));
}

TEST(HttpServerTest, BadListenAddressNamesTheFlag) {
  auto cfg = LoopbackOptions();
  Metrics metrics;
  Readiness readiness;
  for (const char* bad : {"9088", "127.0.0.1:http", "::1:9088", "[::1:9088", "1.2.3.4:70000"}) {
    cfg.listen = bad;
    auto s = HttpServer::Start(cfg, &metrics, &readiness);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("-promListen")) << bad;
  }
}

TEST(HttpServerTest, StopIsIdempotentAndClosesThePort) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  const uint16_t port = ts->port();
  ts->server->Stop();
  ts->server->Stop();
  EXPECT_EQ(Get(port, "/healthz", absl::Seconds(2)).status, 0);
}

TEST(HttpServerTest, ConcurrentScrapes) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (Get(ts->port(), "/metrics").status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(ts->metrics.CountValue("HttpServer", "metrics", "count"), 160);
}

}  // namespace
}  // namespace xtcp::observe

namespace xtcp::observe {
namespace {

using xtcp::testing::Get;
using xtcp::testing::LoopbackOptions;
using xtcp::testing::StartServer;

TEST(PprofListenTest, OffHidesTheProfileEndpoints) {
  auto opts = LoopbackOptions();
  opts.pprof_listen = "off";
  auto ts = StartServer(opts);
  ASSERT_NE(ts, nullptr);
  for (const char* path : {"/debug/pprof/", "/debug/pprof", "/debug/pprof/cmdline",
                           "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"}) {
    EXPECT_EQ(Get(ts->port(), path).status, 404) << path;
  }
  EXPECT_EQ(Get(ts->port(), "/healthz").status, 200);
  EXPECT_EQ(ts->server->pprof_port(), 0);
  EXPECT_EQ(ts->server->addresses().size(), 1u);
}

TEST(PprofListenTest, AnAddressIsAListenerOfItsOwn) {
  auto opts = LoopbackOptions();
  opts.pprof_listen = "127.0.0.1:0";
  auto ts = StartServer(opts);
  ASSERT_NE(ts, nullptr);
  const uint16_t pprof = ts->server->pprof_port();
  ASSERT_NE(pprof, 0);
  ASSERT_NE(pprof, ts->port());
  EXPECT_EQ(Get(ts->port(), "/debug/pprof/cmdline").status, 404);
  EXPECT_EQ(Get(ts->port(), "/debug/pprof/").status, 404);
  EXPECT_EQ(Get(ts->port(), "/metrics").status, 200);
  const HttpResponse cmdline = Get(pprof, "/debug/pprof/cmdline");
  EXPECT_EQ(cmdline.status, 200);
  EXPECT_THAT(cmdline.body, HasSubstr("observe_test"));
  EXPECT_EQ(Get(pprof, "/debug/pprof/").status, 200);
  for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
    EXPECT_EQ(Get(pprof, path).status, 404) << path;
  }
}

TEST(PprofListenTest, BadAddressNamesTheFlag) {
  auto opts = LoopbackOptions();
  opts.pprof_listen = "9089";
  Metrics metrics;
  Readiness readiness;
  auto s = HttpServer::Start(opts, &metrics, &readiness);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("-pprofListen"));
}

TEST(HttpServerTest, CmdlineIsTheOneGiven) {
  auto opts = LoopbackOptions();
  opts.cmdline = std::string("xtcp2\0-kafkaPassword\0<masked>", 29);
  auto ts = StartServer(opts);
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(Get(ts->port(), "/debug/pprof/cmdline").body, opts.cmdline);
}

}  // namespace
}  // namespace xtcp::observe
