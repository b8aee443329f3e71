// gperftools profiles over HTTP and -profile.mode, read back with a real pprof reader.
// Needs tcmalloc and the CPU profiler: the sanitizer builds do not link them, so every test here
// skips there (and CMake labels this executable no_sanitizer).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observe/profiling.h"
#include "observe/subprocess.h"
#include "observe/test_server.h"
#include "perftools/profiles/profile.pb.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;
using xtcp::testing::Get;
using xtcp::testing::StartServer;

#define SKIP_WITHOUT_GPERFTOOLS() \
  if (!ProfilingAvailable())      \
  GTEST_SKIP() << "built without gperftools (sanitizer build): no CPU profiler or tcmalloc"

std::atomic<bool> g_spin{false};

// The function the CPU profile must show.
__attribute__((noinline)) uint64_t PprofTestBusyWork() {
  volatile uint64_t x = 0;
  while (g_spin.load(std::memory_order_relaxed)) {
    for (int i = 0; i < 100000; ++i) x = x * 31 + static_cast<uint64_t>(i);
  }
  return x;
}

struct Spinner {
  Spinner() {
    g_spin = true;
    thread = std::thread([] { PprofTestBusyWork(); });
  }
  ~Spinner() {
    g_spin = false;
    thread.join();
  }
  std::thread thread;
};

// Waits (bounded) until the server has taken `n` profile requests, then a little more so the
// last one holds the profiler.
void WaitForProfileRequests(xtcp::testing::TestServer& ts, int n) {
  for (int i = 0; i < 200; ++i) {
    if (ts.metrics.CountValue("HttpServer", "pprofProfile", "count") >= n) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(300));
}

std::string SelfExe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/xtcp2-pprof-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::string WriteTemp(const std::string& dir, const std::string& name, const std::string& data) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// google-pprof --text <binary> <profile>; stdout, or "" with a failure recorded.
std::string PprofText(const std::string& binary, const std::string& profile) {
  const std::string pprof = xtcp::testing::FindTool("google-pprof");
  if (pprof.empty()) {
    ADD_FAILURE() << "google-pprof not installed (Debian package google-perftools)";
    return "";
  }
  const auto r =
      xtcp::testing::RunProgram({pprof, "--text", binary, profile}, {}, absl::Seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(PprofTest, CpuProfileOverHttpShowsTheBusyFunction) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  Spinner spin;
  const HttpResponse r =
      Get(ts->port(), "/debug/pprof/profile?seconds=3&format=legacy", absl::Seconds(30));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.headers, HasSubstr("application/octet-stream"));
  const std::string dir = TempDir();
  const std::string text = PprofText(SelfExe(), WriteTemp(dir, "cpu.pprof", r.body));
  EXPECT_THAT(text, HasSubstr("PprofTestBusyWork"));
}

// The default reply is symbolized profile.proto: go tool pprof names our functions.
TEST(PprofTest, DefaultCpuProfileReadsInGoToolPprof) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string go = xtcp::testing::FindTool("go");
  if (go.empty()) GTEST_SKIP() << "go not installed (Debian package golang-go)";
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  Spinner spin;
  const HttpResponse r = Get(ts->port(), "/debug/pprof/profile?seconds=3", absl::Seconds(30));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string dir = TempDir();
  const auto top = xtcp::testing::RunProgram(
      {go, "tool", "pprof", "-top", SelfExe(), WriteTemp(dir, "cpu.pprof", r.body)},
      {{"HOME", dir}}, absl::Seconds(180));
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("PprofTestBusyWork"));
}

TEST(PprofTest, UnknownFormatIsRejected) {
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  EXPECT_EQ(Get(ts->port(), "/debug/pprof/profile?seconds=1&format=svg").status, 400);
  EXPECT_EQ(Get(ts->port(), "/debug/pprof/heap?format=svg").status, 400);
}

TEST(PprofTest, OneCpuProfileAtATime) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  HttpResponse first;
  std::thread t([&] { first = Get(ts->port(), "/debug/pprof/profile?seconds=3"); });
  WaitForProfileRequests(*ts, 1);
  const HttpResponse second = Get(ts->port(), "/debug/pprof/profile?seconds=1");
  t.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 409);
  EXPECT_THAT(second.body, HasSubstr("already"));
  EXPECT_EQ(Get(ts->port(), "/debug/pprof/profile?seconds=1").status, 200);  // free again
}

TEST(PprofTest, StopEndsAnInFlightProfile) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  HttpResponse r;
  std::thread t(
      [&] { r = Get(ts->port(), "/debug/pprof/profile?seconds=120", absl::Seconds(60)); });
  WaitForProfileRequests(*ts, 1);
  const absl::Time start = absl::Now();
  ts->server->Stop();
  t.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_NE(r.status, 200);
}

TEST(PprofTest, ScrapesContinueDuringAProfile) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  HttpResponse profile;
  std::thread t([&] { profile = Get(ts->port(), "/debug/pprof/profile?seconds=3"); });
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Get(ts->port(), "/metrics", absl::Seconds(5)).status, 200);
    absl::SleepFor(absl::Milliseconds(100));
  }
  t.join();
  EXPECT_EQ(profile.status, 200);
}

TEST(PprofTest, HeapEndpointExplainsWhenSamplingIsOff) {
  SKIP_WITHOUT_GPERFTOOLS();
  if (HeapSamplingEnabled()) GTEST_SKIP() << "TCMALLOC_SAMPLE_PARAMETER is set for this test";
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  const HttpResponse r = Get(ts->port(), "/debug/pprof/heap");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("TCMALLOC_SAMPLE_PARAMETER=524288"));
}

TEST(PprofTest, OneShotCpuProfileWritesCpuPprofAndHoldsTheProfiler) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string dir = TempDir();
  auto prof = OneShotProfile::Start("cpu", dir);
  ASSERT_TRUE(prof.ok()) << prof.status();
  ASSERT_NE(*prof, nullptr);
  {
    auto ts = StartServer();
    ASSERT_NE(ts, nullptr);
    EXPECT_EQ(Get(ts->port(), "/debug/pprof/profile?seconds=1").status, 409);
  }
  {
    Spinner spin;
    absl::SleepFor(absl::Seconds(2));
  }
  auto path = (*prof)->Stop();
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir + "/cpu.pprof");
  EXPECT_FALSE(ReadFile(*path).empty());
  EXPECT_THAT(PprofText(SelfExe(), dir + "/cpu.prof"), HasSubstr("PprofTestBusyWork"));
}

TEST(PprofTest, OneShotMemProfileWritesMemPprof) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string dir = TempDir();
  auto prof = OneShotProfile::Start("mem", dir);
  ASSERT_TRUE(prof.ok()) << prof.status();
  ASSERT_NE(*prof, nullptr);
  std::vector<std::unique_ptr<char[]>> held;
  for (int i = 0; i < 64; ++i) held.emplace_back(new char[64 * 1024]);
  auto path = (*prof)->Stop();
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir + "/mem.pprof");
  EXPECT_FALSE(ReadFile(*path).empty());
  EXPECT_THAT(ReadFile(dir + "/mem.prof"), ::testing::StartsWith("heap profile:"));
  EXPECT_FALSE(PprofText(SelfExe(), dir + "/mem.prof").empty());
}

// duration_nanos is the wall time the profile covered (not samples x period, which counts only
// the CPU time one busy thread spent).
TEST(PprofTest, ProfileDurationIsWallTime) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  const HttpResponse r = Get(ts->port(), "/debug/pprof/profile?seconds=2", absl::Seconds(30));
  ASSERT_EQ(r.status, 200) << r.body;
  perftools::profiles::Profile p;
  ASSERT_TRUE(p.ParseFromString(r.body));
  EXPECT_GE(p.duration_nanos(), 2'000'000'000);
  EXPECT_LT(p.duration_nanos(), 4'000'000'000);
  EXPECT_GT(p.time_nanos(), absl::ToUnixNanos(absl::Now() - absl::Minutes(1)));
  ASSERT_GT(p.string_table_size(), 0);
  EXPECT_EQ(p.string_table(0), "");
}

// The profile runs on a thread of its own: /healthz answers at once meanwhile.
TEST(PprofTest, HealthzAnswersAtOnceDuringAProfile) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto ts = StartServer();
  ASSERT_NE(ts, nullptr);
  HttpResponse profile;
  std::thread t([&] { profile = Get(ts->port(), "/debug/pprof/profile?seconds=2"); });
  WaitForProfileRequests(*ts, 1);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Get(ts->port(), "/healthz", absl::Seconds(5)).status, 200);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  t.join();
  EXPECT_EQ(profile.status, 200);
}

mode_t FileMode(const std::string& path) {
  struct stat st = {};
  return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

TEST(PprofTest, OneShotProfileFilesAreOwnerOnlyWhateverTheUmask) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string dir = TempDir();
  const mode_t old = umask(0);
  auto prof = OneShotProfile::Start("cpu", dir);
  ASSERT_TRUE(prof.ok()) << prof.status();
  ASSERT_TRUE((*prof)->Stop().ok());
  umask(old);
  EXPECT_EQ(FileMode(dir + "/cpu.pprof"), 0600u);
  EXPECT_EQ(FileMode(dir + "/cpu.prof"), 0600u);
}

TEST(PprofTest, OneShotProfileRefusesASymlink) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string dir = TempDir();
  const std::string victim = WriteTemp(dir, "victim", "keep me");
  ASSERT_EQ(symlink(victim.c_str(), (dir + "/cpu.pprof").c_str()), 0);
  auto prof = OneShotProfile::Start("cpu", dir);
  ASSERT_FALSE(prof.ok());
  EXPECT_EQ(prof.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(prof.status().message(), HasSubstr("symbolic link"));
  EXPECT_EQ(ReadFile(victim), "keep me");
  ASSERT_EQ(unlink((dir + "/cpu.pprof").c_str()), 0);
  auto again = OneShotProfile::Start("cpu", dir);  // the refusal left the profiler free
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)->Stop().ok());
}

TEST(PprofTest, GoOnlyModesAreIgnoredAndUnknownModesRejected) {
  for (const char* mode : {"", "mutex", "block", "trace", "goroutine"}) {
    auto p = OneShotProfile::Start(mode);
    ASSERT_TRUE(p.ok()) << mode;
    EXPECT_EQ(*p, nullptr) << mode;
  }
  EXPECT_EQ(OneShotProfile::Start("bogus").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace xtcp::observe
