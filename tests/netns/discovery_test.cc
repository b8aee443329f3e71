#include "netns/discovery.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace xtcp::netns {
namespace {

TEST(NsLink, Parses) {
  uint64_t ino = 0;
  EXPECT_TRUE(ParseNsLink("net:[4026531840]", &ino));
  EXPECT_EQ(ino, 4026531840u);
  EXPECT_FALSE(ParseNsLink("mnt:[4026531840]", &ino));
  EXPECT_FALSE(ParseNsLink("net:[]", &ino));
  EXPECT_FALSE(ParseNsLink("net:[12x]", &ino));
  EXPECT_FALSE(ParseNsLink("net:[12", &ino));
}

TEST(ContainerId, FirstRunOf64Hex) {
  const std::string id(64, 'a');
  EXPECT_EQ(FindContainerId("0::/system.slice/docker-" + id + ".scope\n"), id);
  EXPECT_EQ(FindContainerId("0::/kubepods/pod1/" + id + "ff\n"), id);  // longer run: first 64
  EXPECT_EQ(FindContainerId("0::/user.slice/user-1000.slice\n"), "");
  EXPECT_EQ(FindContainerId(std::string(63, 'b')), "");
  EXPECT_EQ(FindContainerId(std::string(64, 'A')), "");  // uppercase is not a container id
}

// A fake /proc: <pid>/ns/net symlinks (readlink works on any target) and <pid>/cgroup files.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/xtcp-fakeproc-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }
  void AddProcess(int pid, uint64_t inode, const std::string& cgroup) {
    const std::string dir = root_ + "/" + std::to_string(pid);
    std::filesystem::create_directories(dir + "/ns");
    std::filesystem::create_symlink("net:[" + std::to_string(inode) + "]", dir + "/ns/net");
    std::ofstream(dir + "/cgroup") << cgroup;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(Discoverer, OneEntryPerInodeNamedByCgroupOrInode) {
  FakeProc proc;
  const std::string id(64, 'c');
  proc.AddProcess(10, 100, "0::/init.scope\n");  // self namespace
  proc.AddProcess(20, 200, "0::/system.slice/docker-" + id + ".scope\n");
  proc.AddProcess(21, 200, "0::/whatever\n");  // same namespace, later pid
  proc.AddProcess(30, 300, "0::/user.slice\n");
  std::filesystem::create_directories(proc.root() + "/self");  // not a pid: ignored
  Discoverer d({proc.root(), {proc.root() + "/no-such-dir"}});
  DiscoveryStats stats;
  const auto found = d.Discover(100, &stats);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_TRUE(found[0].self);
  EXPECT_EQ(found[0].name, "default");
  std::map<uint64_t, NamespaceInfo> by_inode;
  for (const auto& f : found) by_inode[f.inode] = f;
  EXPECT_EQ(by_inode[200].name, id);
  EXPECT_EQ(by_inode[200].pid, 20);
  EXPECT_EQ(by_inode[200].handle, proc.root() + "/20/ns/net");
  EXPECT_EQ(by_inode[300].name, "netns:[300]");
  EXPECT_EQ(stats.found, 3u);
  EXPECT_EQ(stats.from_proc, 2u);
}

TEST(Discoverer, PlainFilesInTheBindDirectoryAreNotNamespaces) {
  FakeProc proc;
  const std::string dir = proc.root() + "/netns";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/fake") << "x";
  Discoverer d({proc.root(), {dir}});
  DiscoveryStats stats;
  const auto found = d.Discover(1, &stats);
  EXPECT_EQ(found.size(), 1u);
  EXPECT_EQ(stats.not_namespace, 1u);
  ASSERT_EQ(stats.not_namespace_paths.size(), 1u);
  EXPECT_EQ(stats.not_namespace_paths[0], dir + "/fake");
}

// A bind-mounted namespace whose file name is not UTF-8 is kept, its name repaired and counted.
// Root: mounts in a private mount namespace of this test process.
TEST(Discoverer, InvalidUtf8BindMountNameIsRepairedAndCounted) {
  if (::geteuid() != 0 || ::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    GTEST_SKIP() << "needs root (private mount namespace)";
  }
  FakeProc proc;
  const std::string dir = proc.root() + "/netns";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/ns-\xff\xfe";
  std::ofstream(path).put('\0');
  ASSERT_EQ(::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr), 0);
  Discoverer d({proc.root(), {dir}});
  DiscoveryStats stats;
  const auto found = d.Discover(1, &stats);
  ::umount2(path.c_str(), MNT_DETACH);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[1].name, "ns-\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(found[1].handle, path);
  EXPECT_EQ(stats.invalid_utf8_names, 1u);
}

TEST(Discoverer, RealSelfNamespaceIsAnNsfsFile) {
  uint64_t inode = 0;
  EXPECT_TRUE(IsNamespaceFile("/proc/self/ns/net", &inode));
  Discoverer d;
  auto current = d.CurrentInode();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(*current, inode);
  EXPECT_FALSE(IsNamespaceFile("/etc/hostname", &inode));
}

}  // namespace
}  // namespace xtcp::netns
