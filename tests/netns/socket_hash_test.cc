// Which TCP socket hash a namespace uses: the sysctl's parsing, and the probe run by the helper
// thread that enters a namespace, on real namespaces made with and without
// net.ipv4.tcp_child_ehash_entries.
#include "netns/socket_hash.h"

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "netns/enter.h"
#include "support/netns.h"

namespace xtcp::netns {
namespace {

TEST(SocketHash, ParsesOwnSharedAndUnknown) {
  SocketHashInfo own = ParseEhashEntries("262144\n");
  EXPECT_EQ(own.kind, SocketHash::kOwn);
  EXPECT_EQ(own.buckets, 262144u);
  SocketHashInfo shared = ParseEhashEntries("-65536\n");
  EXPECT_EQ(shared.kind, SocketHash::kShared);
  EXPECT_EQ(shared.buckets, 65536u);
  for (const char* bad : {"", "\n", "0", "abc", "12x", "99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseEhashEntries(bad).kind, SocketHash::kUnknown);
    EXPECT_EQ(ParseEhashEntries(bad).buckets, 0u);
  }
}

constexpr char kChild[] = "/proc/sys/net/ipv4/tcp_child_ehash_entries";

std::string ReadLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool WriteLine(const char* path, const std::string& value) {
  std::ofstream out(path);
  out << value << "\n";
  out.close();
  return out.good();
}

// Restores the sysctl whatever the test does.
struct ChildEhash {
  explicit ChildEhash(std::string v) : before(ReadLine(kChild)) { ok = WriteLine(kChild, v); }
  ~ChildEhash() { WriteLine(kChild, before); }
  std::string before;
  bool ok = false;
};

TEST(SocketHash, EnteringANamespaceTellsSharedFromOwn) {
  if (const std::string why = testing::NetnsUnavailableReason(); !why.empty()) {
    GTEST_SKIP() << "namespace tests need root: " << why;
  }
  const SocketHashInfo host = ReadSocketHash();
  if (host.kind == SocketHash::kUnknown) GTEST_SKIP() << "kernel before 6.1: no tcp_ehash_entries";
  EXPECT_EQ(host.kind, SocketHash::kOwn);
  EXPECT_GT(host.buckets, 0u);

  std::unique_ptr<testing::TestNetns> shared_ns, own_ns;
  {
    ChildEhash zero("0");
    ASSERT_TRUE(zero.ok);
    shared_ns = testing::TestNetns::Create("xtcpt-hash");
  }
  {
    ChildEhash sized("128");
    ASSERT_TRUE(sized.ok);
    own_ns = testing::TestNetns::Create("xtcpt-hash");
  }
  ASSERT_TRUE(shared_ns && own_ns);

  auto shared = OpenSocketInNamespace("/run/netns/" + shared_ns->name(), shared_ns->inode());
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(shared->socket_hash.kind, SocketHash::kShared);
  EXPECT_EQ(shared->socket_hash.buckets, host.buckets);

  auto own = OpenSocketInNamespace("/run/netns/" + own_ns->name(), own_ns->inode());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->socket_hash.kind, SocketHash::kOwn);
  EXPECT_EQ(own->socket_hash.buckets, 128u);

  // The probe ran inside: the caller's own namespace still reads as the host's.
  EXPECT_EQ(ReadSocketHash().buckets, host.buckets);
}

}  // namespace
}  // namespace xtcp::netns
