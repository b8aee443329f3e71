// The daemon against real kernel objects: namespaces made with `ip netns add`, loopback TCP
// connections opened inside them, build/xtcp2 run as a process, its protobufList output compared
// with what `ss` lists in each namespace.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "support/netns.h"
#include "support/process.h"
#include "support/ss_compare.h"
#include "support/ss_text.h"

namespace xtcp::testing {
namespace {

#define SKIP_WITHOUT_NETNS()                                                \
  do {                                                                      \
    const std::string why = NetnsUnavailableReason();                       \
    if (!why.empty()) GTEST_SKIP() << "namespace tests need root: " << why; \
  } while (0)

// Opens `args` connections in `ns` with sockfarm; waits until they are all open.
Child StartFarm(const TestNetns& ns, std::vector<std::string> args, int* sockets) {
  std::vector<std::string> cmd = {BuildPath("tests/tools/sockfarm")};
  cmd.insert(cmd.end(), args.begin(), args.end());
  Child c = Child::Start(ns.Exec(cmd));
  const std::string line = c.ReadLine(absl::Seconds(60));
  EXPECT_EQ(line.rfind("ready ", 0), 0u) << "sockfarm in " << ns.name() << " said: " << line;
  if (sockets && line.size() > 6) *sockets += std::stoi(line.substr(6));
  return c;
}

struct DaemonOutput {
  int exit_code = -1;
  std::string err;
  std::vector<record::ProtoRecord> records;
  size_t envelopes = 0;
};

// How a poll asks for both families: the one TCPDIAG_GETSOCK walk (the default) or, forced, the
// SOCK_DIAG_BY_FAMILY pair.
enum class DumpMode { kCompat, kV2Pair };

DaemonOutput RunOnce(std::vector<std::string> extra, DumpMode mode = DumpMode::kCompat) {
  const std::string out = TempPath("records");
  std::vector<std::string> argv = {BuildPath("xtcp2"),
                                   "-promListen",
                                   "127.0.0.1:0",
                                   "-dest",
                                   "file:" + out,
                                   "-marshal",
                                   "protobufList",
                                   "-maxLoops",
                                   "1",
                                   "-pollJitterPct",
                                   "0",
                                   "-frequency",
                                   "5s",
                                   "-timeout",
                                   "4s",
                                   "-d",
                                   "200"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (mode == DumpMode::kV2Pair) argv.push_back("-compatDump=false");
  const RunResult r = testing::Run(argv, absl::Seconds(120));
  DaemonOutput d;
  d.exit_code = r.exit_code;
  d.err = r.err;
  d.records = ReadProtobufList(out, &d.envelopes);
  ::unlink(out.c_str());
  return d;
}

// Cookie -> number of records per netns name.
std::map<std::string, std::map<uint64_t, int>> CookiesByNetns(
    const std::vector<record::ProtoRecord>& recs) {
  std::map<std::string, std::map<uint64_t, int>> out;
  for (const auto& r : recs) ++out[r.netns()][r.inet_diag_msg_socket_cookie()];
  return out;
}

void ExpectExactlyWhatSsLists(const DaemonOutput& d, const TestNetns& ns) {
  const std::set<uint64_t> want = SsCookies(ns.name());
  const auto got = CookiesByNetns(d.records);
  ASSERT_TRUE(got.count(ns.name())) << "no records for " << ns.name() << "\n" << d.err;
  const auto& mine = got.at(ns.name());
  std::set<uint64_t> have;
  for (const auto& [cookie, n] : mine) {
    EXPECT_EQ(n, 1) << "cookie " << cookie << " reported " << n << " times in " << ns.name();
    have.insert(cookie);
  }
  EXPECT_EQ(have, want) << ns.name();
  for (const auto& r : d.records) {
    if (r.netns() == ns.name()) {
      ASSERT_EQ(r.netns_inode(), ns.inode()) << ns.name();
    }
  }
}

// Every record of `ns` compared field by field with what ss prints for the same sockets (ss run
// right after the daemon: idle sockets, so only the "time since" fields may move).
void ExpectFieldsEqualSs(const DaemonOutput& d, const TestNetns& ns) {
  const RunResult ss = Run(ns.Exec({"ss", "-tinmea", "--tos", "--inet-sockopt"}));
  ASSERT_EQ(ss.exit_code, 0) << ss.err;
  auto listing = ParseSsText(ss.out);
  ASSERT_TRUE(listing.ok()) << listing.status();
  CompareOptions opts;
  ASSERT_TRUE(SsDialect::FromVersionText(Run({"ss", "-V"}).out, &opts.dialect));
  opts.time_tolerance_ms = 5000;
  opts.ifname = [](uint32_t index) {
    return index == 1 ? std::string("lo") : std::to_string(index);
  };
  std::vector<record::ProtoRecord> mine;
  for (const auto& r : d.records) {
    if (r.netns() == ns.name()) mine.push_back(r);
  }
  std::vector<record::RecordPayload> payloads(mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    record::FlatRecord flat;
    record::FromProto(mine[i], &flat);
    payloads[i] = flat.payload;
  }
  const ListingReport report = CompareListing(payloads, listing->sockets, opts);
  EXPECT_TRUE(report.ok()) << ns.name() << ": " << report.Summary();
  EXPECT_EQ(report.matched, mine.size());
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_NETNS(); }
};

// Both namespaces dumped by one daemon run in `mode`: exactly what ss lists, field by field.
void ExpectEveryNamespaceEverySocket(DumpMode mode, const TestNetns& a_ns, int sockets_a,
                                     const TestNetns& b_ns, int sockets_b) {
  const TestNetns* a = &a_ns;
  const TestNetns* b = &b_ns;
  const DaemonOutput d = RunOnce({}, mode);
  EXPECT_NE(d.err.find(mode == DumpMode::kCompat ? "one TCPDIAG_GETSOCK dump"
                                                 : "SOCK_DIAG_BY_FAMILY dumps"),
            std::string::npos)
      << d.err;
  ASSERT_EQ(d.exit_code, 0) << d.err;
  ExpectExactlyWhatSsLists(d, *a);
  ExpectExactlyWhatSsLists(d, *b);
  ExpectFieldsEqualSs(d, *a);
  ExpectFieldsEqualSs(d, *b);
  const auto by_ns = CookiesByNetns(d.records);
  EXPECT_EQ(by_ns.at(a->name()).size(), static_cast<size_t>(sockets_a));
  EXPECT_EQ(by_ns.at(b->name()).size(), static_cast<size_t>(sockets_b));

  // Both families, both algorithms, TOS and TCLASS, all as opened.
  std::map<std::string, int> seen;
  for (const auto& r : d.records) {
    if (r.netns() != a->name() && r.netns() != b->name()) continue;
    ++seen[absl::StrCat("family", r.inet_diag_msg_family())];
    ++seen[r.congestion_algorithm_string()];
    if (r.inet_diag_msg_family() == 10 && r.congestion_algorithm_string() == "bbr") {
      EXPECT_EQ(r.traffic_class(), 32u);
      EXPECT_EQ(r.congestion_algorithm_enum(), record::ProtoRecord::CONGESTION_ALGORITHM_BBR1);
    }
    if (r.inet_diag_msg_family() == 2 && r.congestion_algorithm_string() == "bbr") {
      EXPECT_EQ(r.type_of_service(), 16u);
    }
    EXPECT_EQ(r.schema_version(), 1u);
    EXPECT_GT(r.timestamp_ns(), 0);
    EXPECT_GT(r.record_counter(), 0u);
  }
  EXPECT_GT(seen["family2"], 0);
  EXPECT_GT(seen["family10"], 0);
  EXPECT_GT(seen["bbr"], 0);
  EXPECT_GT(seen["cubic"], 0);
}

TEST_F(EngineTest, EveryNamespaceEverySocketOnceWithItsName) {
  auto a = TestNetns::Create("xtcpt-a");
  auto b = TestNetns::Create("xtcpt-b");
  ASSERT_TRUE(a && b);
  int sockets_a = 0, sockets_b = 0;
  Child fa1 = StartFarm(*a, {"-n", "5", "-cc", "cubic"}, &sockets_a);
  Child fa2 = StartFarm(*a, {"-n", "5", "-6", "-cc", "bbr", "-tos", "32"}, &sockets_a);
  Child fb1 = StartFarm(*b, {"-n", "3", "-cc", "bbr", "-tos", "16"}, &sockets_b);
  Child fb2 = StartFarm(*b, {"-n", "4", "-6", "-cc", "cubic"}, &sockets_b);

  for (const DumpMode mode : {DumpMode::kCompat, DumpMode::kV2Pair}) {
    SCOPED_TRACE(mode == DumpMode::kCompat ? "one TCPDIAG_GETSOCK walk" : "forced v2 pair");
    ExpectEveryNamespaceEverySocket(mode, *a, sockets_a, *b, sockets_b);
  }
}

TEST_F(EngineTest, ReaderVariantsSeeIdenticalSockets) {
  auto ns = TestNetns::Create("xtcpt-v");
  ASSERT_TRUE(ns);
  Child f1 = StartFarm(*ns, {"-n", "200"}, nullptr);
  Child f2 = StartFarm(*ns, {"-n", "200", "-6", "-cc", "bbr"}, nullptr);
  std::set<uint64_t> reference;
  for (const auto& variant :
       std::vector<std::vector<std::string>>{{"-netlinkers", "1"},
                                             {"-netlinkers", "8"},
                                             {"-ioUring"},
                                             {"-ioUring", "-netlinkers", "1"}}) {
    SCOPED_TRACE(absl::StrJoin(variant, " "));
    const DaemonOutput d = RunOnce(variant);
    ASSERT_EQ(d.exit_code, 0) << d.err;
    ExpectExactlyWhatSsLists(d, *ns);
    ExpectFieldsEqualSs(d, *ns);
    std::set<uint64_t> got;
    const auto by_ns = CookiesByNetns(d.records);
    for (const auto& [cookie, n] : by_ns.at(ns->name())) got.insert(cookie);
    if (reference.empty()) reference = got;
    EXPECT_EQ(got, reference);
    EXPECT_EQ(got.size(), 802u);  // 2 x (1 listener + 200 x 2)
  }
}

TEST_F(EngineTest, TwentyThousandSocketsAcrossManyEnvelopesLoseNothing) {
  auto ns = TestNetns::Create("xtcpt-big");
  ASSERT_TRUE(ns);
  int sockets = 0;
  Child f1 = StartFarm(*ns, {"-n", "5000", "-listeners", "4"}, &sockets);
  Child f2 = StartFarm(*ns, {"-n", "5000", "-6", "-listeners", "4"}, &sockets);
  ASSERT_EQ(sockets, 20008);
  const DaemonOutput d = RunOnce({"-envelopeFlushRows", "1000"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const auto by_ns = CookiesByNetns(d.records);
  ASSERT_TRUE(by_ns.count(ns->name()));
  EXPECT_EQ(by_ns.at(ns->name()).size(), static_cast<size_t>(sockets));
  for (const auto& [cookie, n] : by_ns.at(ns->name())) ASSERT_EQ(n, 1) << cookie;
  EXPECT_GE(d.envelopes, 20u);
  // record_counter: unique per process, no gaps.
  std::set<uint64_t> counters;
  for (const auto& r : d.records) counters.insert(r.record_counter());
  EXPECT_EQ(counters.size(), d.records.size());
  EXPECT_EQ(*counters.rbegin() - *counters.begin() + 1, d.records.size());
}

size_t CountDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return 0;
  size_t n = 0;
  while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

// Readers are one shared pool: namespaces coming and going never change the thread count (a
// short-lived setns helper aside), and every fd a namespace took (its socket) is given back.
TEST_F(EngineTest, ChurnKeepsThreadsFlatAndReturnsFdsToBaseline) {
  for (const bool uring : {false, true}) {
    SCOPED_TRACE(uring ? "-ioUring" : "syscall readers");
    const std::string out = TempPath("churn");
    const std::string err = TempPath("churn-err");
    std::vector<std::string> argv = {BuildPath("xtcp2"),
                                     "-promListen",
                                     "127.0.0.1:0",
                                     "-dest",
                                     "file:" + out,
                                     "-marshal",
                                     "protobufList",
                                     "-frequency",
                                     "200ms",
                                     "-timeout",
                                     "100ms",
                                     "-pollJitterPct",
                                     "0",
                                     "-d",
                                     "200"};
    if (uring) argv.push_back("-ioUring");
    Child daemon = Child::Start(argv, err);
    ASSERT_TRUE(daemon.ok());
    absl::SleepFor(absl::Seconds(1));
    const std::string proc = absl::StrCat("/proc/", daemon.pid());
    const size_t base_threads = CountDir(proc + "/task");
    const size_t base_fds = CountDir(proc + "/fd");
    ASSERT_GT(base_threads, 0u);

    std::set<std::string> wave_names;
    size_t peak_threads = base_threads;
    size_t peak_fds = base_fds;
    for (int wave = 0; wave < 5; ++wave) {
      std::vector<std::unique_ptr<TestNetns>> nss;
      std::vector<Child> farms;
      for (int i = 0; i < 4; ++i) {
        nss.push_back(TestNetns::Create(absl::StrCat("xtcpt-churn", wave)));
        ASSERT_TRUE(nss.back());
        wave_names.insert(nss.back()->name());
        farms.push_back(StartFarm(*nss.back(), {"-n", "2"}, nullptr));
      }
      for (int i = 0; i < 7; ++i) {
        absl::SleepFor(absl::Milliseconds(100));
        peak_threads = std::max(peak_threads, CountDir(proc + "/task"));
        peak_fds = std::max(peak_fds, CountDir(proc + "/fd"));
      }
      for (auto& f : farms) f.Finish();
      nss.clear();  // ip netns del
      absl::SleepFor(absl::Milliseconds(500));
    }
    // Bounded wait for the last deletions to be reconciled.
    for (int i = 0; i < 50 && CountDir(proc + "/fd") != base_fds; ++i)
      absl::SleepFor(absl::Milliseconds(100));
    EXPECT_EQ(CountDir(proc + "/task"), base_threads);
    EXPECT_EQ(CountDir(proc + "/fd"), base_fds);
    EXPECT_LE(peak_threads, base_threads + 1) << "at most the short-lived setns helper";
    EXPECT_GE(peak_fds, base_fds + 4) << "the waves' namespaces never got a socket";

    daemon.Signal(SIGTERM);
    EXPECT_EQ(daemon.Wait(absl::Seconds(15)), 0);
    const auto recs = ReadProtobufList(out);
    std::set<std::string> seen;
    for (const auto& r : recs) {
      if (wave_names.count(r.netns())) seen.insert(r.netns());
    }
    // Every wave's namespaces were polled (each lived for several 200 ms polls).
    EXPECT_EQ(seen, wave_names) << "daemon log: " << err;
    ::unlink(out.c_str());
    if (!HasFailure()) ::unlink(err.c_str());
  }
}

// A hundred namespaces cost a hundred sockets and no thread.
TEST_F(EngineTest, AHundredNamespacesAddNoThreads) {
  const std::string out = TempPath("hundred");
  const std::string err = TempPath("hundred-err");
  Child daemon = Child::Start({BuildPath("xtcp2"), "-promListen", "127.0.0.1:0", "-dest",
                               "file:" + out, "-marshal", "protobufList", "-frequency", "500ms",
                               "-timeout", "400ms", "-pollJitterPct", "0", "-d", "200"},
                              err);
  ASSERT_TRUE(daemon.ok());
  absl::SleepFor(absl::Seconds(1));
  const std::string proc = absl::StrCat("/proc/", daemon.pid());
  const size_t base_threads = CountDir(proc + "/task");
  const size_t base_fds = CountDir(proc + "/fd");
  std::vector<std::unique_ptr<TestNetns>> nss;
  for (int i = 0; i < 100; ++i) {
    nss.push_back(TestNetns::Create("xtcpt-100"));
    ASSERT_TRUE(nss.back());
  }
  // Bounded wait until every namespace has its socket.
  for (int i = 0; i < 200 && CountDir(proc + "/fd") < base_fds + 100; ++i)
    absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(CountDir(proc + "/fd"), base_fds + 100);
  absl::SleepFor(absl::Seconds(1));  // a few polls over all of them
  EXPECT_EQ(CountDir(proc + "/task"), base_threads);
  nss.clear();
  for (int i = 0; i < 200 && CountDir(proc + "/fd") != base_fds; ++i)
    absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(CountDir(proc + "/fd"), base_fds);
  EXPECT_EQ(CountDir(proc + "/task"), base_threads);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(absl::Seconds(15)), 0);
  ::unlink(out.c_str());
  if (!HasFailure()) ::unlink(err.c_str());
}

TEST_F(EngineTest, BindMountThatIsNotANamespaceIsReportedAndSkipped) {
  ::mkdir("/run/netns", 0755);
  const std::string name = absl::StrCat("xtcpt-bogus-", ::getpid());
  const std::string path = "/run/netns/" + name;
  { std::ofstream(path).put('x'); }
  ASSERT_EQ(::mount("/etc/hostname", path.c_str(), nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);
  const DaemonOutput d = RunOnce({});
  ::umount(path.c_str());
  ::unlink(path.c_str());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find(path + ": not a network namespace"), std::string::npos) << d.err;
  for (const auto& r : d.records) EXPECT_NE(r.netns(), name);
  EXPECT_FALSE(d.records.empty());
}

TEST_F(EngineTest, ModulusEmitsEveryNthSocket) {
  auto ns = TestNetns::Create("xtcpt-mod");
  ASSERT_TRUE(ns);
  int sockets = 0;
  Child f = StartFarm(*ns, {"-n", "300"}, &sockets);
  const DaemonOutput d = RunOnce({"-modulus", "3", "-families", "4"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const auto by_ns = CookiesByNetns(d.records);
  const size_t got = by_ns.count(ns->name()) ? by_ns.at(ns->name()).size() : 0;
  EXPECT_EQ(got, static_cast<size_t>((sockets + 2) / 3));
}

TEST_F(EngineTest, WriteFilesCapturesWhatReplayDecodes) {
  auto ns = TestNetns::Create("xtcpt-cap");
  ASSERT_TRUE(ns);
  Child f = StartFarm(*ns, {"-n", "50"}, nullptr);
  char dir_tmpl[] = "/tmp/xtcp-capture-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  const std::string dir = dir_tmpl;
  const DaemonOutput live =
      RunOnce({"-writeFiles", "1000", "-capturePath", dir + "/", "-netlinkers", "1"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  const std::string replayed = TempPath("replayed");
  const RunResult r = testing::Run({BuildPath("xtcp2"), "-replay", dir, "-dest", "file:" + replayed,
                                    "-marshal", "protobufList", "-d", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto recs = ReadProtobufList(replayed);
  std::set<uint64_t> live_cookies, replay_cookies;
  for (const auto& x : live.records) live_cookies.insert(x.inet_diag_msg_socket_cookie());
  for (const auto& x : recs) replay_cookies.insert(x.inet_diag_msg_socket_cookie());
  EXPECT_EQ(replay_cookies, live_cookies);
  testing::Run({"rm", "-rf", dir});
  ::unlink(replayed.c_str());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(EngineTest, SigtermFlushesDrainsAndExitsZero) {
  auto ns = TestNetns::Create("xtcpt-term");
  ASSERT_TRUE(ns);
  int sockets = 0;
  Child f = StartFarm(*ns, {"-n", "20"}, &sockets);
  const std::string out = TempPath("term");
  const std::string err = TempPath("term-err");
  Child daemon = Child::Start(
      {BuildPath("xtcp2"), "-promListen", "127.0.0.1:0", "-dest", "file:" + out, "-marshal",
       "protobufList", "-frequency", "30s", "-timeout", "5s", "-pollJitterPct", "0", "-d", "111"},
      err);
  // Bounded wait for the first poll's log line.
  for (int i = 0; i < 100 && ReadFile(err).find("poll 1:") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_NE(ReadFile(err).find("poll 1:"), std::string::npos) << ReadFile(err);
  const absl::Time t0 = absl::Now();
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(absl::Seconds(12)), 0) << ReadFile(err);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(5)) << "shutdown should not wait for -shutdownTimeout";
  const auto recs = ReadProtobufList(out);
  size_t mine = 0;
  for (const auto& r : recs) mine += r.netns() == ns->name();
  EXPECT_EQ(mine, static_cast<size_t>(sockets));
  EXPECT_NE(ReadFile(err).find("signal 15 caught"), std::string::npos);
  ::unlink(out.c_str());
  ::unlink(err.c_str());
}

// Namespaces add no threads, so -maxThreads refuses them only while the process is at the cap:
// here the cap is below the daemon's own threads, so every namespace is refused.
TEST_F(EngineTest, MaxThreadsRefusesNamespacesAtTheCap) {
  std::vector<std::unique_ptr<TestNetns>> nss;
  std::vector<Child> farms;
  for (int i = 0; i < 3; ++i) {
    nss.push_back(TestNetns::Create("xtcpt-thr"));
    ASSERT_TRUE(nss.back());
    farms.push_back(StartFarm(*nss.back(), {"-n", "2"}, nullptr));
  }
  const std::string out = TempPath("thr");
  const std::string err = TempPath("thr-err");
  const int max_threads = 5;
  Child daemon = Child::Start({BuildPath("xtcp2"),
                               "-promListen",
                               "127.0.0.1:0",
                               "-dest",
                               "file:" + out,
                               "-marshal",
                               "protobufList",
                               "-frequency",
                               "300ms",
                               "-timeout",
                               "200ms",
                               "-pollJitterPct",
                               "0",
                               "-maxLoops",
                               "3",
                               "-netlinkers",
                               "10",
                               "-maxThreads",
                               std::to_string(max_threads),
                               "-d",
                               "111"},
                              err);
  const std::string task = absl::StrCat("/proc/", daemon.pid(), "/task");
  size_t peak = 0;
  int status = -1000;
  for (int i = 0; i < 1000 && status == -1000; ++i) {
    peak = std::max(peak, CountDir(task));
    status = daemon.Wait(absl::Milliseconds(5));
  }
  ASSERT_EQ(status, 0) << ReadFile(err);
  EXPECT_GT(peak, static_cast<size_t>(max_threads));  // the daemon's own threads
  const std::string log = ReadFile(err);
  EXPECT_NE(log.find("would exceed -maxThreads 5"), std::string::npos) << log;
  std::set<std::string> collected;
  for (const auto& r : ReadProtobufList(out)) collected.insert(r.netns());
  size_t admitted = 0;
  for (const auto& n : nss) admitted += collected.count(n->name());
  EXPECT_EQ(admitted, 0u);
  EXPECT_FALSE(collected.empty());  // the daemon's own namespace is always collected
  ::unlink(out.c_str());
  ::unlink(err.c_str());
}

// -populateNsid: records carry the nsid the daemon's namespace has for theirs (`ip netns set`), 0
// where none is assigned; without the flag the column stays 0.
TEST_F(EngineTest, PopulateNsidLabelsRecordsWithTheAssignedNsid) {
  auto a = TestNetns::Create("xtcpt-nsid");
  auto b = TestNetns::Create("xtcpt-nsid");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(std::system(("ip netns set " + a->name() + " 4242").c_str()), 0);
  Child fa = StartFarm(*a, {"-n", "3"}, nullptr);
  Child fb = StartFarm(*b, {"-n", "3"}, nullptr);
  for (const bool populate : {true, false}) {
    SCOPED_TRACE(populate ? "-populateNsid" : "default");
    const DaemonOutput d =
        RunOnce(populate ? std::vector<std::string>{"-populateNsid"} : std::vector<std::string>{});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    size_t in_a = 0, in_b = 0;
    for (const auto& r : d.records) {
      if (r.netns() == a->name()) {
        ++in_a;
        EXPECT_EQ(r.nsid(), populate ? 4242u : 0u);
      } else if (r.netns() == b->name()) {
        ++in_b;
        EXPECT_EQ(r.nsid(), 0u);
      }
    }
    EXPECT_GT(in_a, 0u);
    EXPECT_GT(in_b, 0u);
  }
}

// Ten namespaces on the host's socket hash give the advice naming the sysctl; one with a hash of
// its own (created with net.ipv4.tcp_child_ehash_entries set) is collected exactly as ss lists
// it, in both request modes.
TEST_F(EngineTest, SharedSocketHashIsAdvisedAndOwnHashCollectsTheSame) {
  const char* knob = "/proc/sys/net/ipv4/tcp_child_ehash_entries";
  const std::string before = ReadFile(knob);
  if (before.empty()) GTEST_SKIP() << "this kernel has no " << knob << " (before 6.1)";
  std::vector<std::unique_ptr<TestNetns>> shared;
  for (int i = 0; i < 10; ++i) {  // pipeline::kSharedHashAdviceAt
    shared.push_back(TestNetns::Create("xtcpt-shash"));
    ASSERT_TRUE(shared.back());
  }
  std::unique_ptr<TestNetns> own;
  { std::ofstream(knob) << "256"; }
  own = TestNetns::Create("xtcpt-ohash");
  { std::ofstream(knob) << before; }
  ASSERT_TRUE(own);
  ASSERT_EQ(testing::Run(own->Exec({"cat", "/proc/sys/net/ipv4/tcp_ehash_entries"})).out, "256\n");
  Child farm = StartFarm(*own, {"-n", "20"}, nullptr);
  Child farm6 = StartFarm(*own, {"-n", "20", "-6"}, nullptr);
  for (const DumpMode mode : {DumpMode::kCompat, DumpMode::kV2Pair}) {
    SCOPED_TRACE(mode == DumpMode::kCompat ? "TCPDIAG_GETSOCK" : "v2 pair");
    const DaemonOutput d = RunOnce({}, mode);
    ASSERT_EQ(d.exit_code, 0) << d.err;
    ExpectExactlyWhatSsLists(d, *own);
    EXPECT_NE(d.err.find("share the host's TCP socket hash"), std::string::npos) << d.err;
    EXPECT_NE(d.err.find("net.ipv4.tcp_child_ehash_entries"), std::string::npos) << d.err;
  }
}

// -enrichNic inside a namespace whose default route leaves through a veth: every record names it,
// with ethtool's driver and sysfs's speed.
TEST_F(EngineTest, EnrichNicDescribesTheDefaultRouteInterface) {
  auto a = TestNetns::Create("xtcpt-nic");
  auto b = TestNetns::Create("xtcpt-nic");
  ASSERT_TRUE(a && b);
  for (const std::string& cmd :
       {"ip -n " + a->name() + " link add xv0 type veth peer name xv1 netns " + b->name(),
        "ip -n " + a->name() + " addr add 10.99.7.1/24 dev xv0",
        "ip -n " + a->name() + " link set xv0 up", "ip -n " + b->name() + " link set xv1 up",
        "ip -n " + a->name() + " route add default via 10.99.7.2 dev xv0"}) {
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const std::string out = TempPath("nic");
  const std::string err = TempPath("nic-err");
  Child daemon = Child::Start(
      a->Exec({BuildPath("xtcp2"), "-enrichNic", "-promListen", "127.0.0.1:0", "-dest",
               "file:" + out, "-marshal", "protobufList", "-maxLoops", "1", "-pollJitterPct", "0"}),
      err);
  ASSERT_EQ(daemon.Wait(absl::Seconds(30)), 0) << ReadFile(err);
  const auto recs = ReadProtobufList(out);
  size_t own = 0;
  for (const auto& r : recs) {
    if (r.netns_inode() != a->inode()) continue;
    ++own;
    EXPECT_EQ(r.uplink1_ifname(), "xv0");
    EXPECT_EQ(r.uplink1_nic_driver(), "veth");
    EXPECT_EQ(r.uplink1_nic_speed_mbps(), 10000u);
    EXPECT_EQ(r.uplink2_ifname(), "");
  }
  EXPECT_GT(own, 0u) << "the daemon's listener is in its own namespace";
  EXPECT_NE(ReadFile(err).find("-enrichNic: uplinks from default route: xv0 (veth"),
            std::string::npos)
      << ReadFile(err);
  ::unlink(out.c_str());
  ::unlink(err.c_str());
}

// -enrichLldp against Debian's lldpd: one namespace plays the switch (lldpd announcing a chassis
// name, a port description and a management address over a veth), the daemon runs in the other
// with its own lldpd and reads the neighbour through liblldpctl.
TEST_F(EngineTest, EnrichLldpReportsTheNeighbourOnTheUplink) {
  if (std::system("command -v lldpd >/dev/null && command -v lldpcli >/dev/null") != 0) {
    GTEST_SKIP() << "lldpd is not installed (scripts/install-deps.sh test installs it)";
  }
  auto host = TestNetns::Create("xtcpt-lldp");
  auto sw = TestNetns::Create("xtcpt-lldp");
  ASSERT_TRUE(host && sw);
  const std::string h = host->name(), w = sw->name();
  for (const std::string& cmd :
       {"ip -n " + h + " link add xl0 type veth peer name xl1 netns " + w,
        "ip -n " + w + " addr add 10.99.9.2/24 dev xl1", "ip -n " + h + " link set xl0 up",
        "ip -n " + h + " link set lo up", "ip -n " + w + " link set xl1 up"}) {
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const std::string sock_h = TempPath("lldpd-host.sock"), sock_w = TempPath("lldpd-switch.sock");
  Child lldpd_w = Child::Start(
      sw->Exec({"lldpd", "-d", "-u", sock_w, "-I", "xl1", "-m", "10.99.9.2", "-S", "test switch"}),
      TempPath("lldpd-switch.log"));
  Child lldpd_h = Child::Start(host->Exec({"lldpd", "-d", "-u", sock_h, "-I", "xl0"}),
                               TempPath("lldpd-host.log"));
  auto lldpcli = [](const std::string& sock, const std::string& args) {
    return std::system(("lldpcli -u " + sock + " " + args + " >/dev/null 2>&1").c_str());
  };
  // Bounded: lldpd takes a moment to create its socket.
  bool configured = false;
  for (int i = 0; i < 100 && !configured; ++i) {
    configured = lldpcli(sock_w, "configure system hostname xtcp-test-switch") == 0;
    if (!configured) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(configured);
  ASSERT_EQ(lldpcli(sock_w, "configure ports xl1 lldp portdescription uplink-port-7"), 0);
  ASSERT_EQ(lldpcli(sock_w, "update"), 0);
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    seen =
        std::system(("lldpcli -u " + sock_h + " show neighbors 2>/dev/null | grep -q uplink-port-7")
                        .c_str()) == 0;
    if (!seen) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(seen) << "the host-side lldpd never saw the switch";

  const std::string out = TempPath("lldp");
  const std::string err = TempPath("lldp-err");
  Child daemon = Child::Start(
      host->Exec({BuildPath("xtcp2"), "-enrichLldp", "-uplinkInterfaces", "xl0", "-lldpdSocket",
                  sock_h, "-promListen", "127.0.0.1:0", "-dest", "file:" + out, "-marshal",
                  "protobufList", "-maxLoops", "1", "-pollJitterPct", "0"}),
      err);
  ASSERT_EQ(daemon.Wait(absl::Seconds(30)), 0) << ReadFile(err);
  size_t own = 0;
  for (const auto& r : ReadProtobufList(out)) {
    if (r.netns_inode() != host->inode()) continue;
    ++own;
    EXPECT_EQ(r.uplink1_ifname(), "xl0");
    EXPECT_EQ(r.uplink1_lldp_chassis_name(), "xtcp-test-switch");
    EXPECT_EQ(r.uplink1_lldp_port_descr(), "uplink-port-7");
    EXPECT_EQ(r.uplink1_lldp_mgmt_ip(), "10.99.9.2");
    EXPECT_FALSE(r.uplink1_lldp_chassis_id().empty());
    EXPECT_FALSE(r.uplink1_lldp_port_id().empty());
  }
  EXPECT_GT(own, 0u);
  lldpd_h.Signal(SIGTERM);
  lldpd_w.Signal(SIGTERM);
  lldpd_h.Wait(absl::Seconds(5));
  lldpd_w.Wait(absl::Seconds(5));
  // lldpd unreachable: a warning, empty columns, the run still succeeds.
  const DaemonOutput d = RunOnce({"-enrichLldp", "-lldpdSocket", sock_h + ".absent"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("-enrichLldp: lldpd at"), std::string::npos) << d.err;
  for (const auto& r : d.records) EXPECT_EQ(r.uplink1_lldp_chassis_name(), "");
  ::unlink(out.c_str());
  ::unlink(err.c_str());
}

TEST_F(EngineTest, IoUringUnavailableIsAClearStartupError) {
  const char* knob = "/proc/sys/kernel/io_uring_disabled";
  const std::string before = ReadFile(knob);
  if (before.empty()) GTEST_SKIP() << "this kernel has no " << knob;
  { std::ofstream(knob) << "2"; }
  const DaemonOutput d = RunOnce({"-ioUring"});
  { std::ofstream(knob) << before; }
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("-ioUring"), std::string::npos) << d.err;
  EXPECT_TRUE(d.records.empty());
}

TEST_F(EngineTest, PollTimeoutFlushesAndLateRecordsStillArrive) {
  auto ns = TestNetns::Create("xtcpt-slow");
  ASSERT_TRUE(ns);
  int sockets = 0;
  Child f1 = StartFarm(*ns, {"-n", "5000", "-listeners", "4"}, &sockets);
  Child f2 = StartFarm(*ns, {"-n", "5000", "-6", "-listeners", "4"}, &sockets);
  const DaemonOutput d = RunOnce({"-timeout", "1ms", "-frequency", "700ms", "-maxLoops", "3"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("TIMED OUT"), std::string::npos) << d.err;
  std::set<uint64_t> cookies;
  for (const auto& r : d.records) {
    if (r.netns() == ns->name()) cookies.insert(r.inet_diag_msg_socket_cookie());
  }
  EXPECT_EQ(cookies.size(), static_cast<size_t>(sockets)) << d.err;
}

}  // namespace
}  // namespace xtcp::testing
