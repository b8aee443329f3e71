// Container identity from cgroup paths: the path parser for every runtime's naming, the mountinfo
// reader, and the map built by walking a directory tree made in a temporary directory (a
// directory's inode is its key there as in cgroupfs). The real cgroup2 tree is exercised in
// tests/integration/cgroup_test.cc.
#include "enrich/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/metrics.h"
#include "gtest/gtest.h"

namespace xtcp::enrich {
namespace {

namespace fs = std::filesystem;

const std::string kId = "4f1c3a5e9b2d7f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";
const std::string kId2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// "runtime id" of a path, "" when it names no container.
std::string Parsed(const std::string& path) {
  const ContainerRef c = ParseContainerPath(path);
  if (c.empty()) return "";
  return std::string(c.runtime) + " " + std::string(c.id);
}

TEST(ParseContainerPath, SystemdDriverScopesOfEveryRuntime) {
  EXPECT_EQ(Parsed("/system.slice/docker-" + kId + ".scope"), "docker " + kId);
  EXPECT_EQ(Parsed("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
                   "cri-containerd-" +
                   kId + ".scope"),
            "containerd " + kId);
  EXPECT_EQ(Parsed("/kubepods.slice/kubepods-pod9.slice/crio-" + kId + ".scope"), "crio " + kId);
  EXPECT_EQ(Parsed("/machine.slice/libpod-" + kId + ".scope"), "podman " + kId);
}

TEST(ParseContainerPath, CgroupfsDriverPaths) {
  EXPECT_EQ(Parsed("/docker/" + kId), "docker " + kId);
  EXPECT_EQ(Parsed("/kubepods/besteffort/pod0f9e8d7c-1111-2222-3333-444455556666/" + kId),
            "cgroupfs " + kId);
  EXPECT_EQ(Parsed("/kubepods/" + kId), "cgroupfs " + kId);
  EXPECT_EQ(Parsed("/libpod_parent/libpod-" + kId), "podman " + kId);
}

TEST(ParseContainerPath, SubCgroupsBelongToTheirContainerAndTheDeepestWins) {
  EXPECT_EQ(Parsed("/system.slice/docker-" + kId + ".scope/init"), "docker " + kId);
  EXPECT_EQ(Parsed("/machine.slice/libpod-" + kId + ".scope/container/"), "podman " + kId);
  EXPECT_EQ(Parsed("/docker/" + kId + "/docker/" + kId2), "docker " + kId2);  // docker in docker
}

TEST(ParseContainerPath, HostCgroupsNameNoContainer) {
  for (const std::string& p : std::vector<std::string>{
           "", "/", "/init.scope", "/system.slice/ssh.service", "/user.slice/user-1000.slice",
           "/kubepods.slice/kubepods-burstable.slice",
           "/machine.slice/libpod-conmon-" + kId + ".scope",
           "/kubepods.slice/crio-conmon-" + kId + ".scope", "/docker"}) {
    EXPECT_EQ(Parsed(p), "") << p;
  }
}

TEST(ParseContainerPath, MalformedIdsAreRefused) {
  const std::string upper = "4F1C3A5E9B2D7F60A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718";
  for (const std::string& p : std::vector<std::string>{
           "/system.slice/docker-" + kId.substr(1) + ".scope",       // 63 digits
           "/system.slice/docker-" + kId + "0.scope",                // 65
           "/system.slice/docker-" + upper + ".scope",               // upper case
           "/system.slice/docker-" + kId.substr(0, 63) + "g.scope",  // not hex
           "/system.slice/docker-" + kId + ".scope.bak", "/system.slice/docker-" + kId,
           "/system.slice/rkt-" + kId + ".scope", "/docker/" + kId.substr(0, 12),
           "/system.slice/docker-.scope"}) {
    EXPECT_EQ(Parsed(p), "") << p;
  }
}

TEST(FindCgroup2Mount, HybridAndUnifiedHosts) {
  const std::string hybrid =
      "25 31 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
      "26 25 0:23 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory\n"
      "41 25 0:38 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw\n";
  auto m = FindCgroup2Mount(hybrid);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m->root, "/");
  auto u =
      FindCgroup2Mount("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->mount_point, "/sys/fs/cgroup");
}

TEST(FindCgroup2Mount, SubtreeMountsAndEscapesAndNone) {
  auto m = FindCgroup2Mount("7 6 0:26 /docker/" + kId +
                            " /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->root, "/docker/" + kId);
  EXPECT_EQ(m->mount_point, "/sys/fs/my cgroup");
  EXPECT_FALSE(
      FindCgroup2Mount("26 25 0:23 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n").ok());
  EXPECT_FALSE(FindCgroup2Mount("").ok());
}

// A cgroup-shaped directory tree in a temporary directory.
class FakeCgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("xtcp-cgroup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  uint64_t Mkdir(const std::string& rel) {
    fs::create_directories(root_ / rel);
    return Inode(rel);
  }
  uint64_t Inode(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::stat((root_ / rel).c_str(), &st), 0) << rel;
    return st.st_ino;
  }
  Cgroup2Mount Mount() const { return {.mount_point = root_.string(), .root = "/"}; }
  fs::path root_;
};

TEST_F(FakeCgroupTree, EveryDirectoryIsKeyedByItsInode) {
  const uint64_t host = Mkdir("system.slice/ssh.service");
  const uint64_t docker = Mkdir("system.slice/docker-" + kId + ".scope");
  const uint64_t init = Mkdir("system.slice/docker-" + kId + ".scope/init");
  const uint64_t crio = Mkdir("kubepods.slice/crio-" + kId2 + ".scope");
  auto map = BuildCgroupMap(Mount());
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ((*map)->cgroups(), 7u);  // the root, two slices, four leaves
  EXPECT_EQ((*map)->containers(), 2u);
  const CgroupHit h = (*map)->Find(host);
  EXPECT_TRUE(h.known);
  EXPECT_EQ(h.container, nullptr);
  const CgroupHit d = (*map)->Find(docker);
  ASSERT_NE(d.container, nullptr);
  EXPECT_EQ(d.container->id, kId);
  EXPECT_EQ(d.container->runtime, "docker");
  EXPECT_EQ((*map)->Find(init).container, d.container);  // one identity per container
  ASSERT_NE((*map)->Find(crio).container, nullptr);
  EXPECT_EQ((*map)->Find(crio).container->runtime, "crio");
  EXPECT_FALSE((*map)->Find(1).known);
}

TEST_F(FakeCgroupTree, TheWalkIsBoundedAndSkipsSymlinks) {
  for (int i = 0; i < 20; ++i) Mkdir("a/" + std::to_string(i));
  fs::create_directory_symlink(root_ / "a", root_ / "loop");
  auto all = BuildCgroupMap(Mount());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)->cgroups(), 22u);
  EXPECT_FALSE((*all)->truncated());
  auto capped = BuildCgroupMap(Mount(), 5);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ((*capped)->cgroups(), 5u);
  EXPECT_TRUE((*capped)->truncated());
}

TEST_F(FakeCgroupTree, SubtreeMountNamesPathsFromTheHierarchyRoot) {
  const uint64_t top = Inode("");
  const uint64_t child = Mkdir("init");
  auto map = BuildCgroupMap({.mount_point = root_.string(), .root = "/docker/" + kId});
  ASSERT_TRUE(map.ok());
  ASSERT_NE((*map)->Find(top).container, nullptr);
  EXPECT_EQ((*map)->Find(top).container->runtime, "docker");
  ASSERT_NE((*map)->Find(child).container, nullptr);
}

TEST_F(FakeCgroupTree, MissingMountIsAnError) {
  EXPECT_FALSE(BuildCgroupMap({.mount_point = (root_ / "absent").string()}).ok());
}

// A miss on a cgroup newer than the walk brings a rebuild within rebuild_after_new; a miss on an
// old one waits for rebuild_after_old.
TEST_F(FakeCgroupTree, ResolverRebuildsAfterAMissOnANewCgroup) {
  Metrics metrics;
  auto r = CgroupResolver::Create({.mount_point = root_.string(),
                                   .rebuild_after_new = absl::Milliseconds(50),
                                   .rebuild_after_old = absl::Hours(1)},
                                  &metrics);
  ASSERT_TRUE(r.ok()) << r.status();
  (*r)->Start();
  const uint64_t gen = (*r)->generation();
  const auto before = (*r)->Current();
  const uint64_t fresh = Mkdir("machine.slice/libpod-" + kId + ".scope");
  // kernfs numbers new cgroups upwards; a temporary file system need not, so the miss is told
  // as an id past the walk's largest.
  (*r)->NoteMiss(*before, before->max_id() + 1);
  for (int i = 0; i < 200 && (*r)->generation() == gen; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_NE((*r)->generation(), gen);
  const CgroupHit hit = (*r)->Current()->Find(fresh);
  ASSERT_NE(hit.container, nullptr);
  EXPECT_EQ(hit.container->runtime, "podman");
  EXPECT_GE(metrics.CountValue("cgroupResolver", "rebuild", "count"), 2);

  // An id below the walk's largest: no rebuild within the hour.
  const uint64_t gen2 = (*r)->generation();
  (*r)->NoteMiss(*(*r)->Current(), 1);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ((*r)->generation(), gen2);
  (*r)->Stop();
}

}  // namespace
}  // namespace xtcp::enrich
