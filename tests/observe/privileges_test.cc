// Privileges::Drop and the seccomp policy in a forked child (they cannot be undone in the test
// process): the sets /proc/self/status shows afterwards, and a blocked call that is reported and
// fails with EPERM while the process carries on. Needs root (label privileged).
#include "observe/privileges.h"

#include <linux/capability.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "observe/proc_status.h"

namespace xtcp::observe {
namespace {

constexpr CapabilityMask kCollect =
    (1ull << CAP_NET_ADMIN) | (1ull << CAP_SYS_ADMIN) | (1ull << CAP_SYS_PTRACE);

struct ChildResult {
  int exit_code = -1;
  std::string out;  // what `body` printed to stdout
  std::string err;  // its stderr (the daemon's log lines)
};

// Runs `body` in a forked child with stdout and stderr captured; its return value is the exit code.
ChildResult InChild(const std::function<int()>& body) {
  char out_tmpl[] = "/tmp/privs-out-XXXXXX", err_tmpl[] = "/tmp/privs-err-XXXXXX";
  const int out = mkstemp(out_tmpl), err = mkstemp(err_tmpl);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(err, 2);
    const int rc = body();
    fflush(stdout);
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ChildResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    ::unlink(path);
    return ss.str();
  };
  r.out = slurp(out_tmpl);
  r.err = slurp(err_tmpl);
  close(out);
  close(err);
  return r;
}

int PrintStatus() {
  std::ifstream in("/proc/self/status");
  std::stringstream ss;
  ss << in.rdbuf();
  std::fputs(ss.str().c_str(), stdout);
  return 0;
}

using ::xtcp::testing::CapMask;
using ::xtcp::testing::ReadStatusFields;
using ::xtcp::testing::StatusFields;

bool IsRoot() { return geteuid() == 0; }

TEST(PrivilegeOptions, KeepsWhatCollectionNeedsAndTheOptionalOnes) {
  EXPECT_EQ(KeptCapabilities({}), kCollect);
  EXPECT_EQ(KeptCapabilities({.io_uring = true}), kCollect | (1ull << CAP_SYS_RESOURCE));
  EXPECT_EQ(KeptCapabilities({.bind_low_port = true}), kCollect | (1ull << CAP_NET_BIND_SERVICE));
  EXPECT_EQ(CapabilityNames(kCollect), "CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_SYS_ADMIN");
  EXPECT_EQ(CapabilityNames(0), "none");
}

TEST(PrivilegeOptions, LowPortsNeedBindService) {
  EXPECT_TRUE(ListenNeedsBindService(":80"));
  EXPECT_TRUE(ListenNeedsBindService("[::1]:443"));
  EXPECT_FALSE(ListenNeedsBindService(":9088"));
  EXPECT_FALSE(ListenNeedsBindService("127.0.0.1:0"));
  EXPECT_FALSE(ListenNeedsBindService("nonsense"));
}

TEST(Privileges, DropLeavesOnlyTheCollectionSetAndNoNewPrivs) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r = InChild([] {
    auto p = Privileges::Drop({});
    return p.ok() ? PrintStatus() : 3;
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = StatusFields(r.out);
  EXPECT_EQ(CapMask(f["CapEff"]), kCollect);
  EXPECT_EQ(CapMask(f["CapPrm"]), kCollect);
  EXPECT_EQ(CapMask(f["CapBnd"]), kCollect);
  EXPECT_EQ(CapMask(f["CapInh"]), 0u);
  EXPECT_EQ(CapMask(f["CapAmb"]), 0u);
  EXPECT_EQ(f["NoNewPrivs"], "1");
  EXPECT_EQ(f["Seccomp"], "0");  // only LockDown() installs it
  EXPECT_NE(r.err.find("keeping CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_SYS_ADMIN"), std::string::npos)
      << r.err;
}

TEST(Privileges, IoUringKeepsSysResource) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r =
      InChild([] { return Privileges::Drop({.io_uring = true}).ok() ? PrintStatus() : 3; });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Kept only if held: some containers withhold CAP_SYS_RESOURCE even from root.
  const uint64_t held = CapMask(ReadStatusFields("/proc/self/status")["CapPrm"]);
  EXPECT_EQ(CapMask(StatusFields(r.out)["CapEff"]), (kCollect | (1ull << CAP_SYS_RESOURCE)) & held);
}

TEST(Privileges, WithoutTheCapabilitiesKeepsWhatThereIs) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r = InChild([] {
    if (setresuid(65534, 65534, 65534) != 0) return 4;  // an ordinary user: no capabilities
    return Privileges::Drop({}).ok() ? PrintStatus() : 3;
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = StatusFields(r.out);
  EXPECT_EQ(CapMask(f["CapEff"]), 0u);
  EXPECT_EQ(f["NoNewPrivs"], "1");
  EXPECT_NE(r.err.find("privileges: keeping none"), std::string::npos) << r.err;
}

// A system call outside the allow-list that is harmless if it ran: personality(2) query.
long Blocked() { return syscall(SYS_personality, 0xffffffffUL); }

TEST(Seccomp, BlockedCallIsReportedFailsWithEpermAndTheProcessGoesOn) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r = InChild([] {
    auto p = Privileges::Drop({});
    if (!p.ok() || !(*p)->LockDown(nullptr).ok()) return 3;
    const long rc = Blocked();
    std::printf("rc=%ld errno=%d blocked=%llu\n", rc, errno,
                static_cast<unsigned long long>((*p)->blocked_calls()));
    return PrintStatus();
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(absl::StrCat("rc=-1 errno=", EPERM, " blocked=1\n")), std::string::npos)
      << r.out;
  EXPECT_NE(
      r.err.find(absl::StrCat("seccomp: blocked system call ", SYS_personality, " (personality)")),
      std::string::npos)
      << r.err;
  EXPECT_EQ(StatusFields(r.out)["Seccomp"], "2");  // filter mode
}

// librdkafka's threads block every signal; SIGSYS (SCMP_ACT_TRAP) would kill the process there.
// The thread also predates LockDown(): TSYNC confines it too.
TEST(Seccomp, ThreadThatBlocksAllSignalsAndPredatesThePolicyIsCoveredAndSurvives) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r = InChild([] {
    auto p = Privileges::Drop({});
    if (!p.ok()) return 3;
    std::atomic<bool> go{false};
    long rc = 0;
    std::thread t([&] {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, nullptr);
      while (!go.load()) std::this_thread::yield();
      rc = Blocked();
    });
    const bool locked = (*p)->LockDown(nullptr).ok();
    go.store(true);
    t.join();
    std::printf("locked=%d rc=%ld blocked=%llu\n", locked, rc,
                static_cast<unsigned long long>((*p)->blocked_calls()));
    return 0;
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "locked=1 rc=-1 blocked=1\n") << r.err;
}

TEST(Seccomp, LogsTheFirstFewAndCountsTheRest) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r = InChild([] {
    auto p = Privileges::Drop({});
    if (!p.ok() || !(*p)->LockDown(nullptr).ok()) return 3;
    for (int i = 0; i < 20; ++i) Blocked();
    std::printf("blocked=%llu\n", static_cast<unsigned long long>((*p)->blocked_calls()));
    return 0;
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "blocked=20\n");
  size_t lines = 0;
  for (size_t at = 0; (at = r.err.find("seccomp: blocked", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, static_cast<size_t>(SeccompPolicy::kLoggedCalls));
}

TEST(Seccomp, DisabledInstallsNothing) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  const ChildResult r = InChild([] {
    auto p = Privileges::Drop({.seccomp = false});
    if (!p.ok() || !(*p)->LockDown(nullptr).ok()) return 3;
    return PrintStatus();
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(StatusFields(r.out)["Seccomp"], "0");
}

}  // namespace
}  // namespace xtcp::observe
