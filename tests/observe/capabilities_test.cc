#include "observe/capabilities.h"

#include <linux/capability.h>

#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr CapabilityMask Bit(int cap) { return CapabilityMask{1} << cap; }
constexpr CapabilityMask kAllFour =
    Bit(CAP_NET_ADMIN) | Bit(CAP_SYS_ADMIN) | Bit(CAP_SYS_PTRACE) | Bit(CAP_SYS_RESOURCE);

TEST(CapabilitiesTest, AllPresentIsSilent) {
  const CapabilityVerdict v = EvaluateCapabilities(kAllFour, /*io_uring=*/true);
  EXPECT_TRUE(v.status.ok());
  EXPECT_TRUE(v.warnings.empty());
}

TEST(CapabilitiesTest, MissingFatalCapabilitiesAreListedWithRemedies) {
  const CapabilityVerdict v = EvaluateCapabilities(0, /*io_uring=*/true);
  ASSERT_EQ(v.status.code(), absl::StatusCode::kFailedPrecondition);
  const std::string msg(v.status.message());
  EXPECT_THAT(msg, StartsWith("cannot start: missing required capabilities CAP_NET_ADMIN, "
                              "CAP_SYS_ADMIN\n"));
  EXPECT_THAT(msg, HasSubstr("AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SYS_PTRACE "
                             "CAP_SYS_RESOURCE\n"));
  EXPECT_THAT(msg, HasSubstr("CapabilityBoundingSet=CAP_NET_ADMIN"));
  EXPECT_THAT(msg, HasSubstr("--cap-add NET_ADMIN --cap-add SYS_ADMIN"));
  EXPECT_THAT(msg, HasSubstr("setcap cap_net_admin,cap_sys_admin"));
  EXPECT_THAT(msg, HasSubstr("run xtcp2 as root"));
  EXPECT_EQ(v.warnings.size(), 2u);
}

TEST(CapabilitiesTest, SysResourceMattersOnlyWithIoUring) {
  const CapabilityVerdict v = EvaluateCapabilities(0, /*io_uring=*/false);
  EXPECT_THAT(std::string(v.status.message()),
              HasSubstr("AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SYS_PTRACE\n"));
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_THAT(v.warnings[0], StartsWith("missing capability CAP_SYS_PTRACE: "));
}

TEST(CapabilitiesTest, NetRawIsNeitherCheckedNorGranted) {
  const CapabilityVerdict v = EvaluateCapabilities(Bit(CAP_NET_RAW), /*io_uring=*/true);
  EXPECT_THAT(std::string(v.status.message()), Not(HasSubstr("NET_RAW")));
  for (const std::string& w : v.warnings) EXPECT_THAT(w, Not(HasSubstr("NET_RAW")));
  EXPECT_TRUE(EvaluateCapabilities(kAllFour, /*io_uring=*/true).warnings.empty());
}

TEST(CapabilitiesTest, OnlyTheMissingFatalOneIsNamed) {
  const CapabilityVerdict v = EvaluateCapabilities(kAllFour & ~Bit(CAP_SYS_ADMIN), true);
  ASSERT_FALSE(v.status.ok());
  const std::string first_line(v.status.message().substr(0, v.status.message().find('\n')));
  EXPECT_EQ(first_line, "cannot start: missing required capabilities CAP_SYS_ADMIN");
  EXPECT_THAT(std::string(v.status.message()), HasSubstr("  - CAP_SYS_ADMIN: needed for setns"));
  EXPECT_THAT(std::string(v.status.message()), Not(HasSubstr("  - CAP_NET_ADMIN")));
  EXPECT_TRUE(v.warnings.empty());
}

TEST(CapabilitiesTest, MissingOptionalCapabilitiesWarnOnceEach) {
  const CapabilityVerdict v =
      EvaluateCapabilities(Bit(CAP_NET_ADMIN) | Bit(CAP_SYS_ADMIN), /*io_uring=*/true);
  EXPECT_TRUE(v.status.ok());
  ASSERT_EQ(v.warnings.size(), 2u);
  EXPECT_THAT(v.warnings[0], StartsWith("missing capability CAP_SYS_PTRACE: "));
  EXPECT_THAT(v.warnings[1], StartsWith("missing capability CAP_SYS_RESOURCE: "));
}

TEST(CapabilitiesTest, HighBitsAreIrrelevant) {
  EXPECT_TRUE(EvaluateCapabilities(kAllFour | (CapabilityMask{1} << 40), true).status.ok());
}

TEST(CapabilitiesTest, ReadsTheSameSetAsProcStatus) {
  auto mask = ReadEffectiveCapabilities();
  ASSERT_TRUE(mask.ok()) << mask.status();
  std::ifstream in("/proc/self/status");
  std::string line;
  uint64_t want = 0;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "CapEff:")) {
      ASSERT_TRUE(absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line.substr(7)), &want));
    }
  }
  EXPECT_EQ(*mask, want);
}

}  // namespace
}  // namespace xtcp::observe
