#include "support/ss_text.h"

#include <netinet/in.h>

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `ss -tinmea --tos` on 4.19 (two-line form), as printed.
constexpr char kTwoLine[] =
    "State  Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process\n"
    "LISTEN 0      128               0.0.0.0:22               0.0.0.0:*      "
    "     ino:20742 sk:16 <-> tos:0 class_id:0\n"
    "\t skmem:(r0,rb1000000,t0,tb1000000,f0,w0,o0,bl0,d0) cubic cwnd:10      \n"
    "ESTAB  0      0               127.0.0.1:45191          127.0.0.1:4002  "
    "users:((\"tcp client\",pid=2831,fd=8))  timer:(keepalive,10sec,0) uid:1000 ino:27458 sk:1a "
    "<-> tos:0x2 class_id:0\n"
    "\t skmem:(r0,rb1000000,t0,tb2626560,f4096,w0,o0,bl0,d0) ts sack ecn ecnseen cubic "
    "wscale:9,7 rto:201 rtt:0.048/0.014 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 "
    "cwnd:10 bytes_sent:1570 bytes_acked:1571 bytes_received:1570 segs_out:316 segs_in:159 "
    "data_segs_out:157 data_segs_in:157 send 54613333333bps lastsnd:208 lastrcv:209 lastack:210 "
    "delivery_rate 29127111104bps delivered:158 app_limited busy:8ms rcv_space:65535 "
    "rcv_ssthresh:65535 minrtt:0.009   \n";

SsListing Parse(const std::string& text) {
  absl::StatusOr<SsListing> l = ParseSsText(text);
  EXPECT_TRUE(l.ok()) << l.status();
  return l.ok() ? *std::move(l) : SsListing{};
}

TEST(SsText, TwoLineListing) {
  const SsListing l = Parse(kTwoLine);
  EXPECT_EQ(l.header_lines, 1);
  ASSERT_EQ(l.sockets.size(), 2u);
  const SsSocket& listen = l.sockets[0];
  EXPECT_EQ(listen.line, 2);
  EXPECT_EQ(listen.state, "LISTEN");
  EXPECT_EQ(listen.send_q, 128);
  EXPECT_EQ(listen.local.family, AF_INET);
  EXPECT_EQ(listen.local.port, 22);
  EXPECT_EQ(listen.peer.port, 0);
  EXPECT_EQ(listen.sk, 0x16u);
  EXPECT_EQ(listen.cong, "cubic");
  EXPECT_EQ(listen.cwnd, 10u);
  EXPECT_FALSE(listen.rtt.has_value());
  EXPECT_TRUE(listen.unknown.empty());
}

TEST(SsText, EstablishedSocketFields) {
  const SsSocket s = Parse(kTwoLine).sockets.at(1);
  EXPECT_EQ(s.process, "((\"tcp client\",pid=2831,fd=8))");
  ASSERT_TRUE(s.timer.has_value());
  EXPECT_EQ(s.timer->name, "keepalive");
  EXPECT_EQ(s.timer->expiry, "10sec");
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(s.sk, 0x1au);
  EXPECT_EQ(s.shutdown, "<->");
  EXPECT_EQ(s.tos, 2u);
  EXPECT_THAT(*s.skmem, ElementsAre(0, 1000000, 0, 2626560, 4096, 0, 0, 0, 0));
  EXPECT_TRUE(s.ts && s.sack && s.ecn && s.ecnseen && s.app_limited && !s.fastopen);
  EXPECT_EQ(s.wscale, std::make_pair(9u, 7u));
  EXPECT_EQ(s.rtt, "0.048");
  EXPECT_EQ(s.rttvar, "0.014");
  EXPECT_EQ(s.send, "54613333333");
  EXPECT_EQ(s.delivery_rate, "29127111104");
  EXPECT_EQ(s.lastrcv, 209u);
  EXPECT_EQ(s.bytes_acked, 1571u);
  EXPECT_EQ(s.busy_ms, 8u);
  EXPECT_EQ(s.minrtt, "0.009");
  EXPECT_TRUE(s.unknown.empty());
}

TEST(SsText, OneLineFormIsTheSame) {
  const SsListing two = Parse(kTwoLine);
  std::string one;
  for (char c : std::string(kTwoLine)) one += c == '\t' ? ' ' : c;
  // -O: continuation joined onto the first line, no header (-H).
  absl::StrReplaceAll({{"\n  skmem", " skmem"}}, &one);
  one = one.substr(one.find('\n') + 1);
  const SsListing l = Parse(one);
  ASSERT_EQ(l.sockets.size(), 2u);
  EXPECT_EQ(l.header_lines, 0);
  EXPECT_EQ(l.sockets[1].keys, two.sockets[1].keys);
  EXPECT_EQ(l.sockets[1].skmem, two.sockets[1].skmem);
}

TEST(SsText, Endpoints) {
  auto ep = [](const char* t) {
    absl::StatusOr<SsEndpoint> e = ParseSsEndpoint(t);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : SsEndpoint{};
  };
  const SsEndpoint mapped = ep("[::ffff:127.0.0.1]:4009");
  EXPECT_EQ(mapped.family, AF_INET6);
  EXPECT_EQ(mapped.port, 4009);
  EXPECT_EQ(mapped.addr[10], 0xff);
  EXPECT_EQ(mapped.addr[12], 127);
  const SsEndpoint wildcard = ep("*:22");
  EXPECT_EQ(wildcard.family, AF_INET6);
  EXPECT_EQ(wildcard.addr, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(ep("[::]:*").port, 0);
  EXPECT_EQ(ep("[fe80::1]%eth0:22").ifname, "eth0");
  const SsEndpoint lo = ep("127.0.0.1%lo:8080");
  EXPECT_EQ(lo.ifname, "lo");
  EXPECT_EQ(lo.family, AF_INET);
  EXPECT_EQ(lo.port, 8080);
}

TEST(SsText, ServiceNamesAndHostNamesAreRefused) {
  EXPECT_THAT(std::string(ParseSsEndpoint("0.0.0.0:ssh").status().message()), HasSubstr("-n"));
  EXPECT_FALSE(ParseSsEndpoint("localhost:22").ok());
}

TEST(SsText, NetidColumnAndCongestionDetails) {
  const SsSocket s =
      Parse(
          "tcp ESTAB 0 0 10.0.0.1:1 10.0.0.2:2\n"
          "\t inet-sockopt: ( is_icsk mc_loop mc_all)\n"
          "\t mem:(r1,w2,f3,t4) bbr wscale:7,7 bbr:(bw:1.5Mbps,mrtt:0.02,pacing_gain:2.88672) "
          "pacing_rate 1.2Gbps/2.5Gbps rwnd_limited:12ms(1.5%) retrans:0/3 reordering:5 "
          "dctcp:fallback_mode usec_ts md5keys:x\n")
          .sockets.at(0);
  EXPECT_EQ(s.netid, "tcp");
  EXPECT_THAT(*s.inet_sockopt, ElementsAre("is_icsk", "mc_loop", "mc_all"));
  EXPECT_EQ(*s.mem, (std::array<uint32_t, 4>{1, 2, 3, 4}));
  EXPECT_EQ(s.bbr->bw, "1.5M");
  EXPECT_EQ(s.bbr->pacing_gain, "2.88672");
  EXPECT_FALSE(s.bbr->cwnd_gain.has_value());
  EXPECT_EQ(s.pacing_rate, "1.2G");
  EXPECT_EQ(s.pacing_rate_max, "2.5G");
  EXPECT_EQ(s.rwnd_limited->ms, 12u);
  EXPECT_EQ(s.rwnd_limited->percent, "1.5");
  EXPECT_EQ(s.retrans, std::make_pair(0u, 3u));
  EXPECT_EQ(s.reordering, 5);
  EXPECT_TRUE(s.dctcp->fallback);
  EXPECT_TRUE(s.usec_ts);
  EXPECT_THAT(s.unknown, ElementsAre("md5keys:x"));
}

TEST(SsText, SingleStateListingHasNoStateColumn) {
  const SsListing l = Parse(
      "Netid Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
      "tcp   0      128          0.0.0.0:22        0.0.0.0:*\n"
      "Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
      "0      4096       [::1]:631          [::]:*\n");
  ASSERT_EQ(l.sockets.size(), 2u);
  EXPECT_EQ(l.header_lines, 2);
  EXPECT_EQ(l.sockets[0].netid, "tcp");
  EXPECT_EQ(l.sockets[0].state, "");
  EXPECT_EQ(l.sockets[0].send_q, 128);
  EXPECT_EQ(l.sockets[1].netid, "");
  EXPECT_EQ(l.sockets[1].send_q, 4096);
  EXPECT_EQ(l.sockets[1].local.port, 631);
}

TEST(SsText, MalformedValueNamesTheLine) {
  const absl::StatusOr<SsListing> l =
      ParseSsText("State Recv-Q Send-Q Local Peer\nESTAB 0 0 1.2.3.4:5 6.7.8.9:10\n\t rtt:abc\n");
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()), HasSubstr("line 2"));
  EXPECT_THAT(std::string(l.status().message()), HasSubstr("rtt"));
  EXPECT_FALSE(ParseSsText("ESTAB 0 0 1.2.3.4:5\n").ok());  // too few columns
}

TEST(SsText, StateNames) {
  EXPECT_EQ(SsStateName(1), "ESTAB");
  EXPECT_EQ(SsStateName(6), "TIME-WAIT");
  EXPECT_EQ(SsStateName(10), "LISTEN");
  EXPECT_EQ(SsStateName(200), "UNKNOWN");
}

}  // namespace
}  // namespace xtcp::testing
