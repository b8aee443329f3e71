// The humanized renderings used by csv, tsv and humanize (reference §6).
#include "marshal/humanize_fields.h"

#include <string>

#include "gtest/gtest.h"

namespace xtcp::marshal {
namespace {

std::string Bytes(std::initializer_list<uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(std::data(b)), b.size());
}

const std::string kV4In16 = Bytes({192, 168, 122, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});

TEST(IpString, FamilyChoosesTheRendering) {
  EXPECT_EQ(IpString(2, kV4In16), "192.168.122.1");  // not "c0a8:7a01::"
  EXPECT_EQ(IpString(10, kV4In16), "c0a8:7a01::");
  EXPECT_EQ(IpString(2, ""), "");
  EXPECT_EQ(IpString(10, ""), "");
  EXPECT_EQ(IpString(0, Bytes({10, 0, 0, 1})), "10.0.0.1");  // other family: net.IP of the slice
  EXPECT_EQ(IpString(2, Bytes({10, 0, 1})), "?0a0001");      // too short: Go's "?<hex>"
}

TEST(IpString, Ipv6FollowsRfc5952AndGoMappedRule) {
  EXPECT_EQ(IpString(10, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})), "::1");
  EXPECT_EQ(IpString(10, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3})),
            "10.1.2.3");  // v4-mapped prints as plain a.b.c.d
  EXPECT_EQ(IpString(10, Bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3})),
            "::a01:203");  // v4-compatible is not special
  EXPECT_EQ(IpString(10, Bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})),
            "2001:db8:0:1::1");  // longest zero run
  EXPECT_EQ(IpString(10, Bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1})),
            "2001:db8:0:1:1:1:1:1");  // a single zero group is not shortened
  EXPECT_EQ(IpString(10, Bytes({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 0, 0, 0, 0, 0})),
            "fe80::abcd:0:0:0");  // first of two runs when the first is longer
}

TEST(TcpStateName, SsNamesElseDecimal) {
  EXPECT_EQ(TcpStateName(1), "ESTABLISHED");
  EXPECT_EQ(TcpStateName(6), "TIME_WAIT");
  EXPECT_EQ(TcpStateName(10), "LISTEN");
  EXPECT_EQ(TcpStateName(12), "NEW_SYN_RECV");
  EXPECT_EQ(TcpStateName(0), "0");
  EXPECT_EQ(TcpStateName(13), "13");
}

TEST(CongestionShortName, EnumNameWithoutPrefix) {
  EXPECT_EQ(CongestionShortName(0), "");
  EXPECT_EQ(CongestionShortName(1), "CUBIC");
  EXPECT_EQ(CongestionShortName(4), "PRAGUE");
  EXPECT_EQ(CongestionShortName(7), "BBR3");
  EXPECT_EQ(CongestionShortName(42), "42");
}

TEST(TimestampRfc3339Nano, UtcTrimmedFraction) {
  EXPECT_EQ(TimestampRfc3339Nano(1700000000123456789), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(TimestampRfc3339Nano(1700000000120000000), "2023-11-14T22:13:20.12Z");
  EXPECT_EQ(TimestampRfc3339Nano(1700000000000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(TimestampRfc3339Nano(1), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(TimestampRfc3339Nano(0), "");
  EXPECT_EQ(TimestampRfc3339Nano(-5), "");
}

TEST(Base64, StandardPadded) {
  EXPECT_EQ(Base64(Bytes({127, 0, 0, 1})), "fwAAAQ==");
  EXPECT_EQ(Base64(""), "");
}

TEST(Columns, JsonNamesInDeclarationOrder) {
  const auto& all = AllColumns();
  ASSERT_EQ(all.size(), 156u);
  EXPECT_EQ(all[0].json_name, "schemaVersion");
  EXPECT_EQ(all[155].json_name, "cGroup");
  auto some = SelectColumns(" tcpInfoRtt ,, hostname");
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].json_name, "tcpInfoRtt");
  EXPECT_EQ((*some)[1].json_name, "hostname");
}

}  // namespace
}  // namespace xtcp::marshal
