// NamespaceSet with a fake host: discovery, deletion, renames, enter-failure backoff, -maxThreads.
#include "pipeline/namespace_set.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pipeline/engine_harness.h"

namespace xtcp::testing {
namespace {

// The namespaces the fake host has, a fake kernel for each, and what opening one does.
struct FakeHost {
  std::vector<netns::NamespaceInfo> live;
  std::map<uint64_t, std::unique_ptr<FakeKernel>> kernels;
  std::map<uint64_t, absl::Status> open_error;
  std::vector<uint64_t> forgotten;
  std::map<uint64_t, netns::SocketHashInfo> hash;  // what each namespace's probe reports
  size_t threads = 10;
  int opens = 0;

  void Add(uint64_t inode, std::string name) {
    live.push_back({.inode = inode, .name = std::move(name), .handle = "/fake"});
    kernels[inode] = std::make_unique<FakeKernel>();
  }
  pipeline::NamespaceHooks Hooks() {
    pipeline::NamespaceHooks h;
    h.discover = [this](netns::DiscoveryStats*) { return live; };
    h.open = [this](const netns::NamespaceInfo& info) -> absl::StatusOr<pipeline::OpenedNamespace> {
      ++opens;
      if (auto e = open_error.find(info.inode); e != open_error.end()) return e->second;
      pipeline::OpenedNamespace o{.socket = kernels.at(info.inode)->Socket()};
      if (auto k = hash.find(info.inode); k != hash.end()) o.socket_hash = k->second;
      return o;
    };
    h.process_threads = [this] { return threads; };
    return h;
  }
};

struct SetHarness {
  explicit SetHarness(pipeline::NamespaceSetOptions o = {}) {
    self.Add(1, "default");
    h.Pool();
    set = std::make_unique<pipeline::NamespaceSet>(
        o, &h.ctx, &h.metrics, host.Hooks(), [this](uint64_t i) { host.forgotten.push_back(i); });
    EXPECT_TRUE(set->AddSelf(1, self.kernels[1]->Socket()).ok());
  }
  FinishLog log;
  CollectorHarness h{&log};
  FakeHost self, host;
  std::unique_ptr<pipeline::NamespaceSet> set;
};

TEST(NamespaceSet, AddsAndDeletesNamespaces) {
  SetHarness s;
  s.host.Add(2, "blue");
  s.host.Add(3, "red");
  s.set->Reconcile();
  EXPECT_EQ(s.set->Names(),
            (std::map<uint64_t, std::string>{{1, "default"}, {2, "blue"}, {3, "red"}}));
  s.host.live.erase(s.host.live.begin());  // blue is gone
  s.set->Reconcile();
  EXPECT_EQ(s.set->Collectors().size(), 2u);
  EXPECT_EQ(s.host.forgotten, std::vector<uint64_t>{2});
  EXPECT_EQ(s.h.Count("delete", "delete", "counter"), 1);
}

TEST(NamespaceSet, RenameReachesLaterRecords) {
  SetHarness s;
  s.host.Add(2, "netns:[2]");
  s.set->Reconcile();
  s.host.live[0].name = "blue";
  s.set->Reconcile();
  EXPECT_EQ(s.set->Names().at(2), "blue");
}

TEST(NamespaceSet, EnterFailureBacksOff) {
  SetHarness s;
  s.host.Add(2, "blue");
  s.host.open_error[2] = absl::PermissionDeniedError("setns: EPERM");
  s.set->Reconcile();
  s.set->Reconcile();  // within the 1s backoff: not tried again
  EXPECT_EQ(s.host.opens, 1);
  EXPECT_EQ(s.set->stats().enter_failures, 1u);
  EXPECT_EQ(s.h.Count("netNamespaceInstance", "Setns", "error"), 1);
}

TEST(NamespaceSet, RetriesAfterTheBackoff) {
  pipeline::NamespaceSetOptions o;
  o.enter_backoff_first = absl::ZeroDuration();
  SetHarness s(o);
  s.host.Add(2, "blue");
  s.host.open_error[2] = absl::PermissionDeniedError("setns: EPERM");
  s.set->Reconcile();
  s.host.open_error.clear();
  s.set->Reconcile();
  EXPECT_EQ(s.set->Names().count(2), 1u);
}

TEST(NamespaceSet, VanishedProcessIsNotAFailure) {
  SetHarness s;
  s.host.Add(2, "netns:[2]");
  s.host.live[0].pid = 1234;
  s.host.open_error[2] = absl::UnavailableError("process gone");
  s.set->Reconcile();
  EXPECT_EQ(s.set->stats().enter_failures, 0u);
  EXPECT_EQ(s.h.Count("netNamespaceInstance", "handleVanished", "count"), 1);
}

// Which hash each namespace uses is counted; the advice is logged once, when enough share the
// host's, and names the sysctl.
TEST(NamespaceSet, CountsNamespacesOnTheSharedSocketHashAndAdvisesOnce) {
  SetHarness s;
  const uint64_t shared_n = pipeline::kSharedHashAdviceAt;
  for (uint64_t i = 0; i < shared_n + 2; ++i) {
    const uint64_t inode = 10 + i;
    s.host.Add(inode, absl::StrCat("ns", i));
    if (i == 0) continue;  // unknown (a kernel without the sysctl)
    s.host.hash[inode] = i <= shared_n ? netns::SocketHashInfo{netns::SocketHash::kShared, 4096}
                                       : netns::SocketHashInfo{netns::SocketHash::kOwn, 128};
  }
  auto& gauge = s.h.metrics.Gauge("Engine", "sharedSocketHashNamespaces", "gauge");
  // One namespace fewer than the threshold first: counted, no advice.
  const auto last_shared = s.host.live.begin() + static_cast<ptrdiff_t>(shared_n);
  const netns::NamespaceInfo held = *last_shared;
  s.host.live.erase(last_shared);
  ::testing::internal::CaptureStderr();
  s.set->Reconcile();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.set->stats().shared_hash, shared_n - 1);
  EXPECT_EQ(s.set->stats().own_hash, 1u);
  EXPECT_EQ(gauge.Value(), static_cast<double>(shared_n - 1));
  EXPECT_EQ(err.find("tcp_child_ehash_entries"), std::string::npos) << err;

  s.host.live.push_back(held);
  ::testing::internal::CaptureStderr();
  s.set->Reconcile();
  s.set->Reconcile();
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.set->stats().shared_hash, shared_n);
  EXPECT_EQ(gauge.Value(), static_cast<double>(shared_n));
  const size_t at = err.find("net.ipv4.tcp_child_ehash_entries");
  ASSERT_NE(at, std::string::npos) << err;
  EXPECT_NE(err.find(absl::StrCat(shared_n, " of ", shared_n + 2, " namespaces share")),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("net.ipv4.tcp_child_ehash_entries", at + 1), std::string::npos) << err;

  // Namespaces that go stop counting.
  s.host.live.resize(3);  // ns0 (unknown), ns1 and ns2 (shared)
  s.set->Reconcile();
  EXPECT_EQ(s.set->stats().shared_hash, 2u);
  EXPECT_EQ(s.set->stats().own_hash, 0u);
  EXPECT_EQ(gauge.Value(), 2.0);
}

TEST(NamespaceSet, MaxThreadsRefusesAdmission) {
  pipeline::NamespaceSetOptions o;
  o.max_threads = 10;  // 10 threads now + the setns helper > 10 (namespaces add no reader)
  SetHarness s(o);
  s.host.Add(2, "blue");
  s.set->Reconcile();
  EXPECT_EQ(s.set->Collectors().size(), 1u);
  EXPECT_EQ(s.set->stats().refused_for_threads, 1u);
  EXPECT_EQ(s.host.opens, 0);
  s.host.threads = 9;  // 9 + the helper fits
  s.set->Reconcile();
  EXPECT_EQ(s.set->Collectors().size(), 2u);
}

// The pool is shared: a hundred namespaces add no thread, and their collectors all dump through
// it; after they go, the pool has no source left and the fds are back.
TEST(NamespaceSet, AHundredNamespacesAddNoThreads) {
  SetHarness s;
  const size_t threads = pipeline::ProcessThreads();
  for (uint64_t i = 0; i < 100; ++i) {
    s.host.Add(100 + i, "ns" + std::to_string(i));
    s.host.kernels[100 + i]->SetDump(AF_INET, {Sockets({static_cast<uint16_t>(1000 + i)})});
  }
  s.set->Reconcile();
  ASSERT_EQ(s.set->Collectors().size(), 101u);
  EXPECT_EQ(s.h.Pool()->sources(), 101u);
  EXPECT_EQ(pipeline::ProcessThreads(), threads);
  uint64_t poll = 1;
  for (pipeline::NamespaceCollector* c : s.set->Collectors()) EXPECT_TRUE(c->StartPoll(poll));
  EXPECT_EQ(s.log.WaitFor(101).size(), 101u);
  EXPECT_EQ(pipeline::ProcessThreads(), threads);
  s.h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = s.h.consumer.Records();
  EXPECT_EQ(rs.size(), 100u);
  std::set<std::string> names;
  for (const auto& r : rs) names.insert(r.netns());
  EXPECT_EQ(names.size(), 100u);  // every record stamped with its own namespace
  s.host.live.clear();
  s.set->Reconcile();
  EXPECT_EQ(s.set->Collectors().size(), 1u);
  EXPECT_EQ(s.h.Pool()->sources(), 1u);
  EXPECT_EQ(pipeline::ProcessThreads(), threads);
}

}  // namespace
}  // namespace xtcp::testing
