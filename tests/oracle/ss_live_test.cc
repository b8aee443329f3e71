// The loopback oracle against this machine's kernel, now: make_captures.sh builds the scenario
// in a fresh network namespace of its own (deleted afterwards), lists it with `ss -O` (the
// one-line form, where the committed capture has the two-line one) and captures it with
// nl_capture; the result must pass the same checks as the committed capture.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "oracle/loopback_checks.h"

namespace xtcp::testing {
namespace {

constexpr uint32_t kToleranceMs = 250;

int Shell(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(SsLiveOracle, FreshNamespaceMatchesSs) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace";
  if (Shell("command -v ip >/dev/null && command -v ss >/dev/null") != 0) {
    GTEST_SKIP() << "iproute2 (ip, ss) is not installed";
  }
  const std::string probe = absl::StrCat("xtcp-probe-", getpid());
  if (Shell(absl::StrCat("ip netns add ", probe, " 2>/dev/null && ip netns del ", probe)) != 0) {
    GTEST_SKIP() << "this machine cannot create network namespaces (ip netns add failed)";
  }
  char dir_template[] = "/tmp/xtcp-live-oracle-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() { std::filesystem::remove_all(path); }
  } remove_on_exit{dir};
  ASSERT_EQ(
      Shell(absl::StrCat(XTCP_SOURCE_DIR, "/tests/testdata/make_captures.sh --oneline", " --out ",
                         dir, " --name live --tools ", XTCP_BINARY_DIR, "/tests/tools")),
      0);
  CheckLoopbackCapture(dir + "/live", kToleranceMs);
}

}  // namespace
}  // namespace xtcp::testing
