// -enrichRefresh end to end: build/xtcp2 runs inside a namespace the test makes, whose default
// route goes out of one veth (so -enrichNic chooses it as the uplink); while the daemon polls, the
// test moves the default route to another veth. The refresh thread must see it, log the change,
// and the records after it must name the new uplink.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `cmd` in `ns`; true when it exits 0.
bool In(const TestNetns& ns, std::vector<std::string> cmd) {
  return testing::Run(ns.Exec(std::move(cmd)), absl::Seconds(10)).exit_code == 0;
}

TEST(EnrichRefresh, AMovedDefaultRouteIsTheNewUplinkOfLaterRecords) {
  if (const std::string why = NetnsUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
  auto ns = TestNetns::Create("xrefr");
  ASSERT_TRUE(ns);
  // Two veth pairs, both ends inside the namespace; the default route out of xva first.
  for (const char* pair : {"xva:xvb", "xvc:xvd"}) {
    const std::string a(pair, 3), b(pair + 4, 3);
    ASSERT_TRUE(In(*ns, {"ip", "link", "add", a, "type", "veth", "peer", "name", b}));
    ASSERT_TRUE(In(*ns, {"ip", "link", "set", a, "up"}));
    ASSERT_TRUE(In(*ns, {"ip", "link", "set", b, "up"}));
  }
  ASSERT_TRUE(In(*ns, {"ip", "addr", "add", "10.201.1.1/24", "dev", "xva"}));
  ASSERT_TRUE(In(*ns, {"ip", "addr", "add", "10.201.2.1/24", "dev", "xvc"}));
  ASSERT_TRUE(In(*ns, {"ip", "route", "add", "default", "via", "10.201.1.2", "dev", "xva"}));

  const std::string out = TempPath("refresh-records"), err = TempPath("refresh-err");
  Child daemon = Child::Start(ns->Exec({BuildPath("xtcp2"),
                                        "-promListen",
                                        "127.0.0.1:0",
                                        "-dest",
                                        "file:" + out,
                                        "-marshal",
                                        "protobufList",
                                        "-maxLoops",
                                        "7",
                                        "-pollJitterPct",
                                        "0",
                                        "-frequency",
                                        "1s",
                                        "-timeout",
                                        "900ms",
                                        "-enrichNic",
                                        "-uplinkCount",
                                        "1",
                                        "-enrichRefresh",
                                        "1s"}),
                              err);
  ASSERT_TRUE(daemon.ok());
  std::string log;
  for (int i = 0; i < 200 && log.find("poll 2:") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    log = ReadFile(err);
  }
  ASSERT_NE(log.find("poll 2:"), std::string::npos) << log;
  ASSERT_TRUE(In(*ns, {"ip", "route", "replace", "default", "via", "10.201.2.2", "dev", "xvc"}));
  ASSERT_EQ(daemon.Wait(absl::Seconds(30)), 0) << ReadFile(err);
  log = ReadFile(err);
  EXPECT_NE(log.find("-enrichNic: uplinks from default route: xva (veth"), std::string::npos)
      << log;
  EXPECT_NE(log.find("-enrichRefresh: uplinks changed: xva (veth"), std::string::npos) << log;
  EXPECT_NE(log.find("-> xvc (veth"), std::string::npos) << log;

  const auto recs = ReadProtobufList(out);
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  ASSERT_FALSE(recs.empty());
  int64_t first = recs.front().timestamp_ns(), last = first;
  for (const auto& r : recs) {
    first = std::min(first, r.timestamp_ns());
    last = std::max(last, r.timestamp_ns());
  }
  for (const auto& r : recs) {
    if (r.timestamp_ns() == first) {
      EXPECT_EQ(r.uplink1_ifname(), "xva");
    }
    if (r.timestamp_ns() == last) {
      EXPECT_EQ(r.uplink1_ifname(), "xvc");
      EXPECT_EQ(r.uplink1_nic_driver(), "veth");
    }
  }
}

}  // namespace
}  // namespace xtcp::testing
