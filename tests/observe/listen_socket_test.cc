#include "observe/listen_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;

TEST(ListenAddressTest, AcceptsGoForms) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  } cases[] = {
      {":9088", "", 9088},
      {"0.0.0.0:80", "0.0.0.0", 80},
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"[::1]:9088", "::1", 9088},
      {"[::]:1", "::", 1},
      {"localhost:65535", "localhost", 65535},
  };
  for (const Case& c : cases) {
    auto a = ParseListenAddress(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.status();
    EXPECT_EQ(a->host, c.host) << c.text;
    EXPECT_EQ(a->port, c.port) << c.text;
  }
}

TEST(ListenAddressTest, RejectsWithAReason) {
  for (const char* bad : {"", "9088", ":", ":http", ":65536", ":-1", "::1:80", "[::1:80", "::1]:80",
                          "a b:80", ":+80", ":123456"}) {
    auto a = ParseListenAddress(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_THAT(a.status().message(), HasSubstr("want [host]:port")) << bad;
  }
}

TEST(ListenSocketTest, PortZeroGetsAPortAndTtl) {
  SocketOptions opts;
  opts.ipv4_ttl = 3;
  auto socks = OpenListenSockets({"127.0.0.1", 0}, opts);
  ASSERT_TRUE(socks.ok()) << socks.status();
  ASSERT_EQ(socks->size(), 1u);
  EXPECT_NE((*socks)[0].port, 0);
  int ttl = 0;
  socklen_t len = sizeof(ttl);
  ASSERT_EQ(getsockopt((*socks)[0].fd.get(), IPPROTO_IP, IP_TTL, &ttl, &len), 0);
  EXPECT_EQ(ttl, 3);
}

TEST(ListenSocketTest, UnresolvableHostIsAnError) {
  auto socks = OpenListenSockets({"no-such-host.invalid", 0}, {});
  ASSERT_FALSE(socks.ok());
  EXPECT_THAT(socks.status().message(), HasSubstr("no-such-host.invalid"));
}

}  // namespace
}  // namespace xtcp::observe
