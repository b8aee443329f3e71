// NamespaceCollector against a fake kernel: dumps, sequence numbers, errors, modulus, stop,
// -writeFiles captures.
#include "pipeline/collector.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>

#include "decode/request.h"
#include "decode/walker.h"
#include "gtest/gtest.h"
#include "pipeline/capture_file.h"
#include "pipeline/engine_harness.h"
#include "pipeline/uplink_tree.h"

namespace xtcp::testing {
namespace {

using Finished = std::vector<std::pair<uint64_t, uint64_t>>;

// Request types the kernel received, oldest first.
std::vector<uint16_t> Types(const FakeKernel& k) {
  std::vector<uint16_t> t;
  for (const FakeRequest& r : k.requests()) t.push_back(r.type);
  return t;
}

// (family, source port) of every record, sorted: what both request kinds must agree on.
std::vector<std::pair<uint32_t, uint32_t>> FamilyPorts(const std::vector<record::ProtoRecord>& rs) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const auto& r : rs) {
    out.emplace_back(r.inet_diag_msg_family(), r.inet_diag_msg_socket_source_port());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void SetBothFamilies(FakeKernel* k) {
  k->SetDump(AF_INET, {Sockets({1, 2})});
  k->SetDump(AF_INET6, {Sockets({3}, false, 1, AF_INET6), Sockets({4}, true, 1, AF_INET6)});
}

pipeline::CollectorOptions V2Pair() {
  auto o = FakeCollectorOptions();
  o.compat_dump = false;
  return o;
}

constexpr uint16_t kV1 = decode::kTcpDiagGetSock, kV2 = decode::kSockDiagByFamily;

TEST(Collector, DumpsEveryFamilyAndReportsOnce) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  SetBothFamilies(&k);
  auto c = h.Collector(&k, 77, "blue");
  ASSERT_TRUE(c->StartPoll(5));
  EXPECT_EQ(log.WaitFor(1), (Finished{{5, 77}}));
  c->Stop();  // joins the readers: every datagram read is appended
  h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = h.consumer.Records();
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].netns(), "blue");
  EXPECT_EQ(rs[0].hostname(), "test-host");
  EXPECT_EQ(Types(k), std::vector<uint16_t>{kV1});  // both families in one walk
  EXPECT_FALSE(c->busy());
}

TEST(Collector, ForcedV2PairGivesTheSameRecordsAsTheOneWalk) {
  FinishLog log1, log2;
  CollectorHarness compat(&log1), v2(&log2, V2Pair());
  FakeKernel k1, k2;
  SetBothFamilies(&k1);
  SetBothFamilies(&k2);
  auto c1 = compat.Collector(&k1, 1);
  auto c2 = v2.Collector(&k2, 1);
  ASSERT_TRUE(c1->StartPoll(1) && c2->StartPoll(1));
  log1.WaitFor(1);
  log2.WaitFor(1);
  c1->Stop();
  c2->Stop();
  compat.batcher.Flush(FlushReason::kPollEnd);
  v2.batcher.Flush(FlushReason::kPollEnd);
  EXPECT_EQ(Types(k2), (std::vector<uint16_t>{kV2, kV2}));
  EXPECT_EQ(k2.requests()[1].family, AF_INET6);
  EXPECT_EQ(FamilyPorts(compat.consumer.Records()), FamilyPorts(v2.consumer.Records()));
  EXPECT_EQ(FamilyPorts(compat.consumer.Records()).size(), 4u);
}

TEST(Collector, OneFamilyKeepsTheV2Request) {
  FinishLog log;
  auto o = FakeCollectorOptions();
  o.families = {AF_INET6};
  CollectorHarness h(&log, o);
  FakeKernel k;
  SetBothFamilies(&k);
  auto c = h.Collector(&k, 1);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  EXPECT_EQ(Types(k), std::vector<uint16_t>{kV2});
  EXPECT_EQ(k.requests()[0].family, AF_INET6);
}

TEST(Collector, RefusedCompatFallsBackToTheV2PairForGood) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  SetBothFamilies(&k);
  k.RefuseCompat(-EINVAL);
  auto c = h.Collector(&k, 9);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  ASSERT_TRUE(c->StartPoll(2));
  EXPECT_EQ(log.WaitFor(2), (Finished{{1, 9}, {2, 9}}));
  c->Stop();
  EXPECT_EQ(Types(k), (std::vector<uint16_t>{kV1, kV2, kV2, kV2, kV2}));
  EXPECT_EQ(h.Count("Netlinker", "compatRefused", "count"), 1);
  EXPECT_EQ(h.Count("Poller", "dumpError", "error"), 0);
  h.batcher.Flush(FlushReason::kPollEnd);
  EXPECT_EQ(h.consumer.Records().size(), 8u);  // the refused poll lost nothing
}

TEST(Collector, RefusalSwitchesEveryCollectorOfTheProcess) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k1, k2;
  k1.RefuseCompat(-EOPNOTSUPP);
  auto c1 = h.Collector(&k1, 1);
  auto c2 = h.Collector(&k2, 2);
  ASSERT_TRUE(c1->StartPoll(1));
  log.WaitFor(1);
  ASSERT_TRUE(c2->StartPoll(1));
  log.WaitFor(2);
  EXPECT_EQ(Types(k2), (std::vector<uint16_t>{kV2, kV2}));
  EXPECT_EQ(h.Count("Netlinker", "compatRefused", "count"), 1);
}

TEST(Collector, OtherCompatErrorRetriesThatDumpOnlyWithTheV2Pair) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  SetBothFamilies(&k);
  k.RefuseCompat(-ENOMEM);
  auto c = h.Collector(&k, 9);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  k.RefuseCompat(0);
  ASSERT_TRUE(c->StartPoll(2));
  log.WaitFor(2);
  EXPECT_EQ(Types(k), (std::vector<uint16_t>{kV1, kV2, kV2, kV1}));
  EXPECT_EQ(h.Count("Netlinker", "compatRefused", "count"), 0);
  EXPECT_EQ(h.Count("Poller", "dumpError", "error"), 1);
}

TEST(Collector, CompatDumpHasOneSeqAndOneTimestamp) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  SetBothFamilies(&k);
  auto c = h.Collector(&k, 1);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  c->Stop();
  h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = h.consumer.Records();
  ASSERT_EQ(rs.size(), 4u);
  for (const auto& r : rs) EXPECT_EQ(r.timestamp_ns(), rs[0].timestamp_ns());
  EXPECT_EQ(h.Count("Deserialize", "staleReply", "count"), 0);
}

TEST(FakeKernel, AnswersTheCompatRequestWithBothFamiliesRetyped) {
  FakeKernel k;
  SetBothFamilies(&k);
  auto sock = k.Socket();
  ASSERT_TRUE(sock->Send(decode::BuildCompatDumpRequest(0xfe, 7)).ok());
  std::vector<uint8_t> buf(1 << 16);
  uint32_t sockets = 0;
  std::vector<uint16_t> first_types;
  for (int i = 0; i < 10 && k.queued() > 0; ++i) {
    size_t len = 0;
    int err = 0;
    ASSERT_EQ(sock->TryReceive(buf, &len, &err), netlink::RecvResult::kData);
    sockets += decode::CountSocketMessages(std::span(buf.data(), len), 7);
    first_types.push_back(decode::Load<uint16_t>(buf.data() + 4));
  }
  EXPECT_EQ(sockets, 4u);
  EXPECT_EQ(first_types, (std::vector<uint16_t>{kV1, kV1, kV1, decode::kNlmsgDone}));
}

TEST(Collector, LateReplyOfAnOldDumpKeepsItsRecordsAndItsTime) {
  FinishLog log;
  CollectorHarness h(&log, [] {
    auto o = FakeCollectorOptions();
    o.families = {AF_INET};
    o.readers = 1;  // datagrams are handled in the order the kernel sent them
    return o;
  }());
  FakeKernel k;
  k.SetDump(AF_INET, {Sockets({1})});
  auto c = h.Collector(&k, 7);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  const uint32_t old_seq = k.requests()[0].seq;
  k.Hold();
  // A straggler of the first dump, DONE included, arrives during the second.
  k.Inject(Sockets({9}, true, old_seq));
  ASSERT_TRUE(c->StartPoll(2));
  k.Release();
  EXPECT_EQ(log.WaitFor(2), (Finished{{1, 7}, {2, 7}}));
  c->Stop();  // joins the readers: every datagram read is appended
  h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = h.consumer.Records();
  ASSERT_EQ(rs.size(), 3u);
  ASSERT_NE(WithPort(rs, 9), nullptr);
  EXPECT_EQ(WithPort(rs, 9)->timestamp_ns(), rs[0].timestamp_ns());  // stamped with dump 1's time
  EXPECT_EQ(k.requests().size(), 2u);  // its DONE started and ended nothing
}

TEST(Collector, ReplyOfAnUnknownSequenceIsCountedNotKept) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  auto c = h.Collector(&k, 7);
  k.Inject(Sockets({5}, true, 4242));
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  c->Stop();  // joins the readers: every datagram read is appended
  h.batcher.Flush(FlushReason::kPollEnd);
  EXPECT_EQ(h.consumer.Records().size(), 0u);
  EXPECT_EQ(h.Count("Deserialize", "staleReply", "count"), 1);
}

TEST(Collector, NlmsgErrorEndsTheFamilyAndIsCounted) {
  FinishLog log;
  CollectorHarness h(&log, V2Pair());
  FakeKernel k;
  NlBuilder err;
  err.BeginSocket(1).Msg({}).End();
  err.Error(1, -EPERM);
  k.SetDump(AF_INET, {err.Take()});
  k.SetDump(AF_INET6, {Sockets({6}, true, 1, AF_INET6)});
  auto c = h.Collector(&k, 3);
  ASSERT_TRUE(c->StartPoll(1));
  EXPECT_EQ(log.WaitFor(1), (Finished{{1, 3}}));
  c->Stop();  // joins the readers: every datagram read is appended
  EXPECT_EQ(h.Count("Poller", "dumpError", "error"), 1);
  EXPECT_EQ(k.requests().size(), 2u);  // the next family was still dumped
  h.batcher.Flush(FlushReason::kPollEnd);
  EXPECT_EQ(h.consumer.Records().size(), 2u);  // the record before the error is kept
}

TEST(Collector, ModulusKeepsEveryNthSocketAcrossDatagrams) {
  FinishLog log;
  auto o = FakeCollectorOptions();
  o.modulus = 3;
  o.families = {AF_INET};
  o.readers = 1;
  CollectorHarness h(&log, o);
  FakeKernel k;
  k.SetDump(AF_INET, {Sockets({10, 11, 12, 13}, false), Sockets({14, 15, 16})});
  auto c = h.Collector(&k, 3);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = h.consumer.Records();
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_NE(WithPort(rs, 10), nullptr);
  EXPECT_NE(WithPort(rs, 13), nullptr);
  EXPECT_NE(WithPort(rs, 16), nullptr);
  EXPECT_EQ(h.Count("Deserialize", "continue", "count"), 4);
}

TEST(Collector, SendFailureEndsTheDumpAtOnce) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  k.FailSends(true);
  auto c = h.Collector(&k, 3);
  ASSERT_TRUE(c->StartPoll(1));
  EXPECT_EQ(log.WaitFor(1), (Finished{{1, 3}}));
  EXPECT_EQ(h.Count("SendNetlinkDumpRequest", "Sendto", "error"), 1);  // the one compat request
  EXPECT_FALSE(c->busy());
}

TEST(Collector, SendFailureTriesEveryV2Family) {
  FinishLog log;
  CollectorHarness h(&log, V2Pair());
  FakeKernel k;
  k.FailSends(true);
  auto c = h.Collector(&k, 3);
  ASSERT_TRUE(c->StartPoll(1));
  EXPECT_EQ(log.WaitFor(1), (Finished{{1, 3}}));
  EXPECT_EQ(h.Count("SendNetlinkDumpRequest", "Sendto", "error"), 2);
}

TEST(Collector, StopMidDumpLeavesThePoolAndEndsTheDump) {
  FinishLog log;
  CollectorHarness h(&log);
  FakeKernel k;
  k.Hold();
  auto c = h.Collector(&k, 3);
  EXPECT_EQ(h.Pool()->sources(), 1u);
  ASSERT_TRUE(c->StartPoll(1));
  EXPECT_TRUE(c->busy());
  EXPECT_FALSE(c->StartPoll(2));  // one dump per socket
  c->Stop();
  EXPECT_EQ(h.Pool()->sources(), 0u);
  EXPECT_FALSE(c->busy());
  EXPECT_FALSE(c->StartPoll(3));
  k.Release();  // the reply is no longer read by anyone
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(k.queued(), 1u);
  EXPECT_TRUE(log.WaitFor(0).empty());
}

TEST(Collector, IoUringNeedsAKernelSocket) {
  FinishLog log;
  auto o = FakeCollectorOptions();
  o.io_uring = true;
  CollectorHarness h(&log, o);
  FakeKernel k;
  h.Pool();  // may fail to start where io_uring is unavailable: then Add() fails all the same
  pipeline::NamespaceCollector c(3, "ns", k.Socket(), &h.ctx);
  const absl::Status s = c.Start();
  EXPECT_FALSE(s.ok());
  if (h.pool->threads() > 0) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("kernel socket"), std::string::npos) << s;
  }
}

std::string TempDir() {
  std::string t = (std::filesystem::temp_directory_path() /
                   ("xtcp-capture-" + std::to_string(::getpid()) + "-XXXXXX"))
                      .string();
  EXPECT_NE(::mkdtemp(t.data()), nullptr);
  return t + "/";
}

TEST(Collector, WriteFilesCreatesPrivateFiles) {
  FinishLog log;
  auto o = FakeCollectorOptions();
  o.write_files = 1;
  o.readers = 1;
  o.capture_path = TempDir();
  CollectorHarness h(&log, o);
  FakeKernel k;
  auto c = h.Collector(&k, 3);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(o.capture_path)) {
    struct stat st {};
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_GT(st.st_size, 0);
    ++files;
  }
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(o.capture_path);
}

TEST(CaptureFile, RefusesASymlinkSayingSo) {
  const std::string dir = TempDir();
  ASSERT_EQ(::symlink((dir + "elsewhere").c_str(), (dir + "cap").c_str()), 0);
  const uint8_t bytes[] = {1, 2, 3};
  auto w = pipeline::WriteCaptureFile(dir + "cap", bytes);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("symlink"), std::string::npos) << w.status();
  EXPECT_FALSE(std::filesystem::exists(dir + "elsewhere"));
  std::filesystem::remove_all(dir);
}

TEST(CaptureFile, ANameTakenByAFileMovesToTheNext) {
  const std::string dir = TempDir();
  const uint8_t bytes[] = {1, 2, 3};
  ASSERT_TRUE(pipeline::WriteCaptureFile(dir + "cap", bytes).ok());
  auto w = pipeline::WriteCaptureFile(dir + "cap", bytes);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, dir + "cap.1");
  EXPECT_EQ(std::filesystem::file_size(dir + "cap"), 3u);  // never truncated
  std::filesystem::remove_all(dir);
}

TEST(Collector, WriteFilesFailureIsCountedOnce) {
  FinishLog log;
  auto o = FakeCollectorOptions();
  o.write_files = 5;
  o.readers = 1;
  o.capture_path = "/nonexistent-dir-of-xtcp-tests/";
  CollectorHarness h(&log, o);
  FakeKernel k;
  k.SetDump(AF_INET, {Sockets({1}, false), Sockets({2})});
  auto c = h.Collector(&k, 3);
  ASSERT_TRUE(c->StartPoll(1));
  log.WaitFor(1);
  EXPECT_EQ(h.Count("Netlinker", "WriteFile", "error"), 1);
  h.batcher.Flush(FlushReason::kPollEnd);
  EXPECT_EQ(h.consumer.Records().size(), 2u);  // captures failing lose no record
}

// -resolveContainerId: each socket's container columns come from its cgroup id (a directory
// inode in a tree made here); a host cgroup and a socket without cgroup leave them empty, and an
// unknown cgroup is a counted miss.
TEST(Collector, ContainerColumnsComeFromEachSocketsCgroup) {
  namespace fs = std::filesystem;
  const fs::path root =
      fs::temp_directory_path() / ("xtcp-collector-cg-" + std::to_string(::getpid()));
  const std::string id(64, '7');
  fs::create_directories(root / ("system.slice/docker-" + id + ".scope"));
  fs::create_directories(root / "system.slice/cron.service");
  auto inode = [&](const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::stat((root / rel).c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_ino);
  };
  const uint64_t docker = inode("system.slice/docker-" + id + ".scope");
  const uint64_t host = inode("system.slice/cron.service");
  auto resolver = enrich::CgroupResolver::Create(
      {.mount_point = root.string(), .rebuild_after_new = absl::Hours(1)}, nullptr);
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  const uint64_t unknown = (*resolver)->Current()->max_id() + 1000;

  FinishLog log;
  CollectorHarness h(&log);
  h.ctx.cgroups = resolver->get();
  NlBuilder b;
  const std::pair<uint16_t, uint64_t> sockets[] = {{1, docker}, {2, host},   {3, unknown},
                                                   {4, 0},      {5, docker}, {6, host}};
  for (const auto& [port, cgroup] : sockets) {
    FakeInetDiagMsg m;
    m.family = AF_INET;
    m.sport = port;
    m.cookie = port;
    b.BeginSocket(1).Msg(m);
    if (cgroup != 0) b.AttrOf<uint64_t>(decode::kAttrCgroupId, cgroup);
    b.End();
  }
  b.Done(1);
  FakeKernel k;
  k.SetDump(AF_INET, {b.Take()});
  auto c = h.Collector(&k, 77, "blue");
  ASSERT_TRUE(c->StartPoll(1));
  ASSERT_EQ(log.WaitFor(1).size(), 1u);
  c->Stop();
  h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = h.consumer.Records();
  ASSERT_EQ(rs.size(), 6u);
  for (const auto& [port, cgroup] : sockets) {
    const record::ProtoRecord* r = WithPort(rs, port);
    ASSERT_NE(r, nullptr) << port;
    EXPECT_EQ(r->container_id(), cgroup == docker ? id : "") << port;
    EXPECT_EQ(r->container_runtime(), cgroup == docker ? "docker" : "") << port;
    EXPECT_EQ(r->netns(), "blue");
    EXPECT_EQ(r->c_group(), cgroup);
  }
  EXPECT_EQ(h.Count("cgroupResolver", "miss", "count"), 1);
  fs::remove_all(root);
}

}  // namespace
}  // namespace xtcp::testing

namespace xtcp::testing {
namespace {

// -enrichRefresh: the uplink columns of the records change with the snapshot, from the next
// datagram on, without the collector being told.
TEST(Collector, RecordsAfterAnUplinkRefreshCarryTheNewValues) {
  UplinkTree tree("collector");
  FinishLog log;
  CollectorHarness h(&log);
  h.stamps.uplinks = std::make_shared<pipeline::UplinkSource>(tree.Options());
  FakeKernel k;
  SetBothFamilies(&k);
  auto c = h.Collector(&k, 77, "blue");
  ASSERT_TRUE(c->StartPoll(5));
  log.WaitFor(1);
  tree.SetSpeed("eth9", 40000);
  std::string change;
  ASSERT_TRUE(h.stamps.uplinks->Refresh(&change));
  ASSERT_TRUE(c->StartPoll(6));
  log.WaitFor(2);
  c->Stop();
  h.batcher.Flush(FlushReason::kPollEnd);
  const auto rs = h.consumer.Records();
  ASSERT_EQ(rs.size(), 8u);
  for (size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].uplink1_ifname(), "eth9");
    EXPECT_EQ(rs[i].uplink1_nic_speed_mbps(), i < 4 ? 1000u : 40000u) << i;
  }
}

}  // namespace
}  // namespace xtcp::testing
