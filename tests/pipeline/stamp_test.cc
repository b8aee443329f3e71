#include "pipeline/stamp.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pipeline/uplink_tree.h"

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

namespace xtcp::testing {
namespace {

using pipeline::UplinkSource;

TEST(UplinkRefresh, AChangedSpeedIsANewSnapshot) {
  UplinkTree tree("speed");
  UplinkSource source(tree.Options());
  EXPECT_EQ(source.Current()->uplinks.at(0).speed_mbps, 1000u);
  std::string change;
  EXPECT_FALSE(source.Refresh(&change));  // nothing changed: same snapshot, same generation
  EXPECT_EQ(source.generation(), 0u);
  tree.SetSpeed("eth9", 25000);
  ASSERT_TRUE(source.Refresh(&change));
  EXPECT_EQ(change, "eth9 (?, 1000 Mb/s) -> eth9 (?, 25000 Mb/s)");
  EXPECT_EQ(source.generation(), 1u);
  record::RecordMeta meta;
  source.Current()->Apply(&meta);
  EXPECT_EQ(meta.uplink1_ifname, "eth9");
  EXPECT_EQ(meta.uplink1_nic_speed_mbps, 25000u);
  EXPECT_EQ(meta.uplink2_ifname, "");
}

TEST(UplinkRefresh, TheThreadInstallsChangesAndStopsAtOnce) {
  UplinkTree tree("thread");
  UplinkSource source(tree.Options());
  source.StartRefresh(absl::Milliseconds(20));
  tree.SetSpeed("eth9", 100);
  for (int i = 0; i < 250 && source.generation() == 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(source.Current()->uplinks.at(0).speed_mbps, 100u);
  const absl::Time start = absl::Now();
  source.StopRefresh();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST(UplinkRefresh, WithoutEnrichmentNothingIsRead) {
  UplinkSource source(pipeline::StampOptions{});
  EXPECT_FALSE(source.enabled());
  EXPECT_TRUE(source.Current()->uplinks.empty());
  source.StartRefresh(absl::Milliseconds(1));  // no thread
  std::string change;
  EXPECT_FALSE(source.Refresh(&change));
}

}  // namespace
}  // namespace xtcp::testing
