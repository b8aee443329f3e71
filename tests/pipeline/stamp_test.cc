#include "pipeline/stamp.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace xtcp::pipeline {
namespace {

TEST(Stamps, FlagValuesAreKeptAsGiven) {
  auto s = Stamps::Create(
      {.daemon_version = "v1", .hostname = "h", .location = "l", .label = "lab", .tag = "t"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->hostname, "h");
  EXPECT_EQ(s->label, "lab");
  EXPECT_FALSE(s->hostname_repaired);
}

TEST(Stamps, AKernelHostnameThatIsNotUtf8IsRepaired) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a UTS namespace of its own";
  // In a child with its own UTS namespace, so the machine's hostname is untouched.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const char bad[] = "node-\xff\xfe";
    if (unshare(CLONE_NEWUTS) != 0 || sethostname(bad, std::strlen(bad)) != 0) _exit(10);
    auto s = Stamps::Create({});
    if (!s.ok()) _exit(11);
    if (!s->hostname_repaired) _exit(12);
    _exit(s->hostname == "node-\xef\xbf\xbd\xef\xbf\xbd" ? 0 : 13);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setup, 11 Create failed, 12 not flagged, 13 wrong text";
}

}  // namespace
}  // namespace xtcp::pipeline
