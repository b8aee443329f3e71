#include "observe/healthcheck.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "observe/listen_socket.h"
#include "observe/test_server.h"

namespace xtcp::observe {
namespace {

TEST(HealthcheckTargetTest, PortFromListenAddressElse9088) {
  struct Case {
    const char* listen;
    const char* host;
    uint16_t port;
  } cases[] = {
      {":9100", "127.0.0.1", 9100},     {"0.0.0.0:9101", "127.0.0.1", 9101},
      {"[::]:9102", "127.0.0.1", 9102}, {"127.0.0.2:9103", "127.0.0.2", 9103},
      {"[::1]:9104", "::1", 9104},      {"localhost:9105", "127.0.0.1", 9105},
      {"garbage", "127.0.0.1", 9088},   {"", "127.0.0.1", 9088},
      {":0", "127.0.0.1", 9088},        {":99999", "127.0.0.1", 9088},
  };
  for (const Case& c : cases) {
    const HealthcheckTarget t = ResolveHealthcheckTarget(c.listen);
    EXPECT_EQ(t.host, c.host) << c.listen;
    EXPECT_EQ(t.port, c.port) << c.listen;
  }
}

TEST(HealthcheckProbeTest, ZeroOnlyWhenReady) {
  auto ts = xtcp::testing::StartServer();
  ASSERT_NE(ts, nullptr);
  const HealthcheckTarget target{"127.0.0.1", ts->port()};
  EXPECT_EQ(ProbeReadyz(target), 1);
  ts->readiness.Set(true);
  EXPECT_EQ(ProbeReadyz(target), 0);
}

TEST(HealthcheckProbeTest, ProbesTheIpv6AddressTheDaemonListensOn) {
  auto cfg = xtcp::testing::LoopbackOptions();
  cfg.listen = "[::1]:0";
  Metrics metrics;
  Readiness readiness;
  auto server = HttpServer::Start(cfg, &metrics, &readiness);
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback: " << server.status();
  readiness.Set(true);
  const HealthcheckTarget t = ResolveHealthcheckTarget(absl::StrCat("[::1]:", (*server)->port()));
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(ProbeReadyz(t), 0);
}

TEST(HealthcheckProbeTest, DeadPortFailsFast) {
  // A port that was just free: bind port 0, note it, close.
  uint16_t port = 0;
  {
    auto s = OpenListenSockets({"127.0.0.1", 0}, {});
    ASSERT_TRUE(s.ok());
    port = (*s)[0].port;
  }
  const absl::Time start = absl::Now();
  EXPECT_EQ(ProbeReadyz({"127.0.0.1", port}), 1);
  EXPECT_LT(absl::Now() - start, kHealthcheckTimeout + absl::Seconds(1));
}

}  // namespace
}  // namespace xtcp::observe
