// The tools' flag parser, addresses and failure descriptions, and the field=value editor.
#include "tools/client_common.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/config_edit.h"

namespace xtcp::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::xtcp_config::v1::XtcpConfig;

struct Parsed {
  std::string target = "localhost";
  bool flag = false;
  absl::Duration d = absl::Seconds(10);
  uint64_t n = 0;
  std::vector<std::string> positional;
  std::string error;
};

Parsed ParseArgs(std::vector<std::string> args) {
  Parsed p;
  FlagSet f("prog");
  f.String({"target"}, &p.target, "");
  f.Bool({"flag"}, &p.flag, "");
  f.Duration({"d", "dur"}, &p.d, "");
  f.Uint({"n"}, &p.n, 0, 10, "");
  p.error = f.Parse(args, &p.positional);
  return p;
}

TEST(FlagSetTest, GoSyntaxAnywhereAmongArguments) {
  const Parsed p =
      ParseArgs({"a=1", "--target", "h", "-flag", "b=2", "-dur=1m30s", "-n", "7", "--", "-n"});
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.target, "h");
  EXPECT_TRUE(p.flag);
  EXPECT_EQ(p.d, absl::Seconds(90));
  EXPECT_EQ(p.n, 7u);
  EXPECT_THAT(p.positional, ElementsAre("a=1", "b=2", "-n"));
  EXPECT_FALSE(ParseArgs({"-flag=false"}).flag);
}

TEST(FlagSetTest, ErrorsNameTheFlag) {
  EXPECT_EQ(ParseArgs({"-x"}).error, "flag provided but not defined: -x (see prog -h)");
  EXPECT_EQ(ParseArgs({"-n"}).error, "flag needs an argument: -n");
  EXPECT_EQ(ParseArgs({"-n", "11"}).error,
            "invalid value \"11\" for flag -n: out of range [0, 10]");
  EXPECT_EQ(ParseArgs({"-d", "-1s"}).error,
            "invalid value \"-1s\" for flag -d: must not be negative");
  EXPECT_EQ(ParseArgs({"-flag=maybe"}).error,
            "invalid value \"maybe\" for flag -flag: parse error (want a bool)");
  EXPECT_EQ(ParseArgs({"---x"}).error, "bad flag syntax: ---x");
}

TEST(AddressTest, HostPortV6AndUnix) {
  ConnectionOptions o;
  EXPECT_EQ(Address(o), "localhost:8889");
  o.target = "::1";
  o.port = 9;
  EXPECT_EQ(Address(o), "[::1]:9");
  o.target = "[::1]";
  EXPECT_EQ(Address(o), "[::1]:9");
  o.target = "unix:/run/xtcp2.sock";
  EXPECT_EQ(Address(o), "unix:/run/xtcp2.sock");
}

TEST(DescribeFailureTest, ExitCodesByStatus) {
  ConnectionOptions o;
  const Failure bad = DescribeFailure(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "count 0\nis not in 1..1000"), "burst", o);
  EXPECT_EQ(bad.exit_code, kExitRejected);
  EXPECT_EQ(bad.line,
            "burst: rejected by the server (INVALID_ARGUMENT): count 0 is not in 1..1000");
  EXPECT_EQ(
      DescribeFailure(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "x"), "s3", o).exit_code,
      kExitRejected);
  EXPECT_EQ(
      DescribeFailure(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy"), "burst", o).line,
      "burst: rejected by the server (RESOURCE_EXHAUSTED): busy");
  EXPECT_EQ(DescribeFailure(grpc::Status(grpc::StatusCode::INTERNAL, "x"), "get", o).exit_code,
            kExitFailure);
  const Failure down =
      DescribeFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Connection refused"), "get", o);
  EXPECT_EQ(down.exit_code, kExitFailure);
  EXPECT_EQ(down.line, "get: cannot reach localhost:8889: Connection refused");
  EXPECT_EQ(DescribeFailure(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""), "get", o).line,
            "get: no answer from localhost:8889 within 10s (-timeout)");
}

TEST(ConfigEditTest, AssignmentsByType) {
  XtcpConfig c;
  for (const char* a : {"netlinkers=4", "nl_timeout_milliseconds=18446744073709551615", "ioUring=t",
                        "label=", "tag=a=b", "pollFrequency=1h2m", "pollTimeout=0",
                        "uplinkInterfaces=eth0,,eth1 ", "enabledDeserializers.info=1"}) {
    EXPECT_TRUE(ApplyAssignment(a, &c).ok()) << a;
  }
  EXPECT_EQ(c.netlinkers(), 4u);
  EXPECT_EQ(c.nl_timeout_milliseconds(), UINT64_MAX);
  EXPECT_TRUE(c.io_uring());
  EXPECT_EQ(c.tag(), "a=b");
  EXPECT_EQ(c.poll_frequency().seconds(), 3720);
  EXPECT_TRUE(c.has_poll_timeout());
  EXPECT_THAT(c.uplink_interfaces(), ElementsAre("eth0", "eth1"));
  EXPECT_TRUE(c.enabled_deserializers().enabled().at("info"));
  EXPECT_TRUE(ApplyAssignment("uplinkInterfaces=", &c).ok());
  EXPECT_EQ(c.uplink_interfaces_size(), 0);
}

TEST(ConfigEditTest, RefusalsNameTheField) {
  XtcpConfig c;
  EXPECT_THAT(std::string(ApplyAssignment("netlinkers=4294967296", &c).message()),
              HasSubstr("for field netlinkers"));
  EXPECT_THAT(std::string(ApplyAssignment("frequency=10s", &c).message()),
              HasSubstr("unknown field \"frequency\""));
  EXPECT_THAT(std::string(ApplyAssignment("enabledDeserializers.info=on", &c).message()),
              HasSubstr("enabledDeserializers.info"));
  EXPECT_FALSE(ApplyAssignment("=3", &c).ok());
  EXPECT_EQ(c.ByteSizeLong(), 0u);
}

TEST(ConfigEditTest, JsonInAndOut) {
  XtcpConfig c;
  ASSERT_TRUE(ParseConfigJson(R"({"max_loops": "5", "pollFrequency": "2.5s"})", &c).ok());
  EXPECT_EQ(c.max_loops(), 5u);
  EXPECT_EQ(ConfigToJson(c, false), R"({"pollFrequency":"2.500s","maxLoops":"5"})");
  EXPECT_FALSE(ParseConfigJson("{\"unknown\": 1}", &c).ok());
  EXPECT_EQ(c.max_loops(), 5u);  // unchanged on error
}

}  // namespace
}  // namespace xtcp::tools
