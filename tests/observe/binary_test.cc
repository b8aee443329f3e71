// Binary-level tests: exec build/xtcp2 (flags, -v, -conf, -help, -healthcheck, the capability
// check) and the observe_harness (the daemon's HTTP stack in its own process) the way an operator
// would: curl, google-pprof, go tool pprof, setpriv.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observe/profiling.h"
#include "observe/subprocess.h"
#include "observe/test_server.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using xtcp::testing::BuildPath;
using xtcp::testing::Child;
using xtcp::testing::FindTool;
using xtcp::testing::kUnset;
using xtcp::testing::RunProgram;
using xtcp::testing::RunResult;

std::string Xtcp2() { return BuildPath("xtcp2"); }
std::string Harness() { return BuildPath("tests/observe/observe_harness"); }

RunResult RunXtcp2(std::vector<std::string> args, const xtcp::testing::EnvChanges& env = {}) {
  args.insert(args.begin(), Xtcp2());
  return RunProgram(args, env, absl::Seconds(30));
}

int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/xtcp2-bin-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A running observe_harness and its port.
struct RunningHarness {
  std::unique_ptr<Child> child;
  uint16_t port = 0;
  bool heap_sampling = false;
};

RunningHarness StartHarness(std::vector<std::string> args, xtcp::testing::EnvChanges env = {},
                            const std::string& cwd = "") {
  RunningHarness h;
  args.insert(args.begin(), Harness());
  args.insert(args.end(), {"-promListen", "127.0.0.1:0", "-d", "1"});
  if (!cwd.empty()) {
    std::string cmd = absl::StrCat("cd '", cwd, "' && exec");
    for (const auto& a : args) absl::StrAppend(&cmd, " '", a, "'");
    args = {"/bin/sh", "-c", cmd};
  }
  h.child = std::make_unique<Child>(args, env);
  const std::string line = h.child->ReadLine(absl::Seconds(30));
  int port = 0;
  std::vector<std::string> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 2 || !absl::StartsWith(parts[0], "port=") ||
      !absl::SimpleAtoi(parts[0].substr(5), &port)) {
    ADD_FAILURE() << "harness did not start: '" << line << "' " << h.child->DrainStderr();
    return h;
  }
  h.port = static_cast<uint16_t>(port);
  h.heap_sampling = parts[1] == "heap_sampling=1";
  return h;
}

// ---- command line ----

struct BadFlag {
  std::vector<std::string> args;
  std::string names;  // text the one error line must contain
};

TEST(Xtcp2BinaryTest, EveryBadValueExitsTwoWithOneLineNamingTheFlag) {
  const std::vector<BadFlag> table = {
      {{"-nosuchflag"}, "-nosuchflag"},
      {{"-nltimeout", "100001"}, "-nltimeout"},
      {{"-nltimeout", "-1"}, "-nltimeout"},
      {{"-frequency", "abc"}, "-frequency"},
      {{"-frequency", "0s"}, "-frequency"},
      {{"-timeout", "20s"}, "-timeout"},
      {{"-maxLoops", "100001"}, "-maxLoops"},
      {{"-netlinkers", "0"}, "-netlinkers"},
      {{"-netlinkers", "101"}, "-netlinkers"},
      {{"-nlmsgSeq", "0"}, "-nlmsgSeq"},
      {{"-packetSize", "1000001"}, "-packetSize"},
      {{"-packetSizeMply", "101"}, "-packetSizeMply"},
      {{"-writeFiles", "1001"}, "-writeFiles"},
      {{"-capturePath", ""}, "-capturePath"},
      {{"-modulus", "0"}, "-modulus"},
      {{"-families", "5"}, "-families"},
      {{"-pollJitterPct", "101"}, "-pollJitterPct"},
      {{"-reconcileFrequency", "-1s"}, "-reconcileFrequency"},
      {{"-deserializers", "bogus"}, "-deserializers"},
      {{"-ioUringRecvBatch", "0"}, "-ioUringRecvBatch"},
      {{"-ioUringCqeBatch", "5000"}, "-ioUringCqeBatch"},
      {{"-maxThreads", "-1"}, "-maxThreads"},
      {{"-marshal", "xml"}, "-marshal"},
      {{"-dest", "nope:x"}, "-dest"},
      {{"-destWriteFiles", "1001"}, "-destWriteFiles"},
      {{"-topic", ""}, "-topic"},
      {{"-kafkaCompression", "brotli"}, "-kafkaCompression"},
      {{"-produceTimeout", "11m"}, "-produceTimeout"},
      {{"-shutdownTimeout", "0s"}, "-shutdownTimeout"},
      {{"-label", std::string(41, 'x')}, "-label"},
      {{"-uplinkCount", "3"}, "-uplinkCount"},
      {{"-s3UploadMaxAttempts", "0"}, "-s3UploadMaxAttempts"},
      {{"-promListen", "9088"}, "-promListen"},
      {{"-promPath", "metrics"}, "-promPath"},
      {{"-ipv4Ttl", "256"}, "-ipv4Ttl"},
      {{"-ipv6HopLimit", "256"}, "-ipv6HopLimit"},
      {{"-grpcPort", "70000"}, "-grpcPort"},
      {{"-grpcListen", "::1"}, "-grpcListen"},
      {{"-grpcListen", "127.0.0.1:http"}, "-grpcListen"},
      {{"-grpcTlsCert", "/etc/hostname"}, "-grpcTlsCert"},
      {{"-grpcClientBuffer", "10"}, "-grpcClientBuffer"},
      {{"-d", "1001"}, "-d"},
      {{"-profile.mode", "bogus"}, "-profile.mode"},
      {{"-v=maybe"}, "-v"},
      {{"-frequency"}, "-frequency"},
  };
  for (const BadFlag& bad : table) {
    const RunResult r = RunXtcp2(bad.args);
    const std::string what = absl::StrJoin(bad.args, " ");
    EXPECT_EQ(r.exit_code, 2) << what << "\n" << r.err;
    EXPECT_EQ(Lines(r.err), 1) << what << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(bad.names)) << what;
    EXPECT_EQ(r.out, "") << what;
  }
}

TEST(Xtcp2BinaryTest, BadEnvironmentValueExitsTwoNamingTheVariable) {
  const RunResult r = RunXtcp2({}, {{"NETLINKERS", "many"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("NETLINKERS"));
}

TEST(Xtcp2BinaryTest, VersionLine) {
  const RunResult r = RunXtcp2({"-v"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, MatchesRegex("xtcp commit:[^\t]+\tdate\\(UTC\\):[^\t]+\tversion:[0-9.]+\n"));
}

TEST(Xtcp2BinaryTest, ConfPrintsJsonWithoutSecrets) {
  const RunResult r = RunXtcp2({"-conf", "-promListen", ":9123"}, {{"S3_SECRET_KEY", "hunter2"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "{")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"poll_frequency\""));
  EXPECT_THAT(r.out, HasSubstr("\"dest\""));
  EXPECT_THAT(r.out, Not(HasSubstr("hunter2")));
}

TEST(Xtcp2BinaryTest, HelpListsEveryOperationsFlagOnStdout) {
  const RunResult r = RunXtcp2({"-help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(absl::StartsWith(r.out, "Usage of xtcp2:")) << r.out.substr(0, 100);
  for (const char* flag : {"-promListen", "-promPath", "-ipv4Ttl", "-ipv6HopLimit", "-healthcheck",
                           "-profile.mode", "-d uint", "-v\n", "-conf\n", "-goMaxProcs"}) {
    EXPECT_THAT(r.out, HasSubstr(flag)) << flag;
  }
  EXPECT_THAT(r.out, HasSubstr("[env PROM_LISTEN]"));
}

// ---- capability check ----

TEST(Xtcp2BinaryTest, MissingRequiredCapabilitiesAreFatalWithTheList) {
  const std::string setpriv = FindTool("setpriv");
  if (setpriv.empty()) GTEST_SKIP() << "setpriv not installed (util-linux)";
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop capabilities from a full set";
  const RunResult r = RunProgram({setpriv, "--inh-caps=-all",
                                  "--bounding-set=-sys_admin,-net_admin", Xtcp2(), "-dest", "null"},
                                 {}, absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(
      r.err, HasSubstr("cannot start: missing required capabilities CAP_NET_ADMIN, CAP_SYS_ADMIN"));
  EXPECT_THAT(r.err, HasSubstr("AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_ADMIN"));
  EXPECT_THAT(r.err, HasSubstr("--cap-add NET_ADMIN"));
  EXPECT_THAT(r.err, HasSubstr("run xtcp2 as root"));
}

TEST(Xtcp2BinaryTest, MissingOptionalCapabilityWarnsAndGoesOn) {
  const std::string setpriv = FindTool("setpriv");
  if (setpriv.empty()) GTEST_SKIP() << "setpriv not installed (util-linux)";
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop capabilities from a full set";
  const RunResult r = RunProgram(
      {setpriv, "--inh-caps=-all", "--bounding-set=-sys_ptrace", Xtcp2(), "-dest", "null"}, {},
      absl::Seconds(30));
  EXPECT_THAT(r.err, HasSubstr("WARN missing capability CAP_SYS_PTRACE: "));
  EXPECT_THAT(r.err, Not(HasSubstr("cannot start")));
}

// ---- the process name ----

// The heap-sampling re-exec goes through /proc/self/exe; ps/top/pkill must still see "xtcp2".
TEST(Xtcp2BinaryTest, KeepsItsNameAfterTheHeapSamplingReExec) {
  if (!ProfilingAvailable()) GTEST_SKIP() << "built without gperftools: no re-exec";
  if (geteuid() != 0) GTEST_SKIP() << "the daemon needs CAP_NET_ADMIN and CAP_SYS_ADMIN";
  Child d({Xtcp2(), "-dest", "null", "-promListen", "127.0.0.1:0"}, {{kHeapSampleEnv, kUnset}});
  ASSERT_TRUE(d.started());
  const std::string proc = absl::StrCat("/proc/", d.pid());
  bool reexeced = false;
  std::string comm;
  for (int i = 0; i < 200 && comm != "xtcp2\n"; ++i) {  // up to 10 s
    absl::SleepFor(absl::Milliseconds(50));
    reexeced = reexeced || absl::StrContains(ReadFile(proc + "/environ"), kHeapSampleEnv);
    if (reexeced) comm = ReadFile(proc + "/comm");
  }
  EXPECT_TRUE(reexeced) << d.DrainStderr();
  EXPECT_EQ(comm, "xtcp2\n");
  EXPECT_EQ(d.Stop(SIGTERM, absl::Seconds(20)), 0) << d.DrainStderr();
}

// ---- -maxLoops next to a running service ----

// A listening IPv4 TCP socket on `port` (0 = the kernel's choice); fd -1 when the port is taken.
struct HeldPort {
  int fd = -1;
  uint16_t port = 0;
  explicit HeldPort(uint16_t want) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(want);
    socklen_t len = sizeof(a);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(fd);
      fd = -1;
      return;
    }
    port = ntohs(a.sin_port);
  }
  ~HeldPort() {
    if (fd >= 0) close(fd);
  }
};

TEST(Xtcp2BinaryTest, MaxLoopsOnTheDefaultPortRunsWithoutHttpWhenItIsTaken) {
  if (geteuid() != 0) GTEST_SKIP() << "the daemon needs CAP_NET_ADMIN and CAP_SYS_ADMIN";
  HeldPort held(9088);  // fd -1: someone else (a running xtcp2?) holds it, just as good
  const RunResult r = RunXtcp2({"-dest", "null", "-maxLoops", "1"}, {{"PROM_LISTEN", kUnset}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("WARN -maxLoops 1: running without metrics and pprof: "));
}

TEST(Xtcp2BinaryTest, AnAskedForPromListenMustBindEvenWithMaxLoops) {
  if (geteuid() != 0) GTEST_SKIP() << "the daemon needs CAP_NET_ADMIN and CAP_SYS_ADMIN";
  HeldPort held(0);
  ASSERT_GE(held.fd, 0);
  const std::string addr = absl::StrCat("127.0.0.1:", held.port);
  const RunResult flag = RunXtcp2({"-dest", "null", "-maxLoops", "1", "-promListen", addr});
  EXPECT_EQ(flag.exit_code, 1) << flag.err;
  EXPECT_THAT(flag.err, HasSubstr("Address already in use"));
  // PROM_LISTEN counts as asked for too (docs/operations.md).
  const RunResult env = RunXtcp2({"-dest", "null", "-maxLoops", "1"}, {{"PROM_LISTEN", addr}});
  EXPECT_EQ(env.exit_code, 1) << env.err;
  EXPECT_THAT(env.err, HasSubstr("Address already in use"));
}

TEST(Xtcp2BinaryTest, ReplayStartsNoHttpServer) {
  HeldPort held(0);
  ASSERT_GE(held.fd, 0);
  const std::string empty = TempDir() + "/empty.cap";
  std::ofstream{empty};
  const RunResult r = RunXtcp2(
      {"-replay", empty, "-dest", "null", "-promListen", absl::StrCat("127.0.0.1:", held.port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("Address already in use")));
}

// ---- systemd Type=notify ----

// An abstract AF_UNIX datagram socket standing in for systemd's notify socket.
struct NotifyReceiver {
  NotifyReceiver() : name(absl::StrCat("xtcp2-binary-notify-", getpid())) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) ADD_FAILURE() << "bind";
  }
  ~NotifyReceiver() { close(fd); }
  // The next datagram within `timeout`, or "".
  std::string Next(absl::Duration timeout) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1) return "";
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  std::string name;
  int fd = -1;
};

TEST(Xtcp2BinaryTest, SystemdNotifyReadyWatchdogAndStopping) {
  if (geteuid() != 0) GTEST_SKIP() << "the daemon needs CAP_NET_ADMIN and CAP_SYS_ADMIN";
  NotifyReceiver rx;
  // WatchdogSec=200ms: a ping every 100 ms from the poll loop, though polls are 1 s apart.
  Child d({Xtcp2(), "-promListen", "127.0.0.1:0", "-dest", "null", "-frequency", "1s",
           "-pollJitterPct", "0", "-d", "0"},
          {{"NOTIFY_SOCKET", "@" + rx.name}, {"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(d.started());
  bool ready = false;
  std::vector<absl::Time> pings;
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while ((!ready || pings.size() < 15) && absl::Now() < until) {
    const std::string m = rx.Next(absl::Seconds(1));
    if (absl::StartsWith(m, "READY=1\nSTATUS=polling ")) ready = true;
    if (m == "WATCHDOG=1") pings.push_back(absl::Now());
  }
  EXPECT_TRUE(ready);
  ASSERT_GE(pings.size(), 15u) << d.DrainStderr();
  // About every 100 ms: never a flood, never a gap near the 200 ms the watchdog allows.
  const absl::Duration span = pings.back() - pings[1];
  EXPECT_GE(span, absl::Milliseconds(13 * 80));
  EXPECT_LE(span, absl::Milliseconds(13 * 150));
  EXPECT_EQ(d.Stop(SIGTERM, absl::Seconds(20)), 0);
  std::string m;
  for (int i = 0; i < 20 && !absl::StartsWith(m, "STOPPING=1"); ++i) m = rx.Next(absl::Seconds(1));
  EXPECT_EQ(m, "STOPPING=1\nSTATUS=signal 15: flushing and draining the sink");
}

// ---- -healthcheck ----

TEST(Xtcp2BinaryTest, HealthcheckFollowsReadyz) {
  auto ready = StartHarness({});
  ASSERT_NE(ready.port, 0);
  const std::string addr = absl::StrCat("127.0.0.1:", ready.port);
  EXPECT_EQ(RunXtcp2({"-healthcheck", "-promListen", addr}).exit_code, 0);
  EXPECT_EQ(RunXtcp2({"-healthcheck"}, {{"PROM_LISTEN", addr}}).exit_code, 0);
  // Healthcheck reads -promListen only: other (even invalid) settings do not matter.
  EXPECT_EQ(RunXtcp2({"-healthcheck", "-promListen", addr, "-frequency", "1s", "-timeout", "5s"})
                .exit_code,
            0);
  // A flag beats PROM_LISTEN (our precedence rule, SPEC §3.10).
  EXPECT_EQ(
      RunXtcp2({"-healthcheck", "-promListen", addr}, {{"PROM_LISTEN", "127.0.0.1:1"}}).exit_code,
      0);
  auto not_ready = StartHarness({}, {{"XTCP_HARNESS_NOT_READY", "1"}});
  ASSERT_NE(not_ready.port, 0);
  const RunResult r = RunXtcp2({"-healthcheck", "-promListen", absl::StrCat(":", not_ready.port)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("503"));
}

TEST(Xtcp2BinaryTest, HealthcheckOnADeadPortFails) {
  auto h = StartHarness({});
  ASSERT_NE(h.port, 0);
  const uint16_t port = h.port;
  EXPECT_EQ(h.child->Stop(SIGTERM, absl::Seconds(20)), 0);
  const absl::Time start = absl::Now();
  const RunResult r = RunXtcp2({"-healthcheck", "-promListen", absl::StrCat(":", port)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("healthcheck"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  const RunResult garbage = RunXtcp2({"-healthcheck"}, {{"PROM_LISTEN", "garbage"}});
  EXPECT_TRUE(garbage.exit_code == 0 || garbage.exit_code == 1) << garbage.err;  // probes :9088
}

// ---- profiles from a running process, read by real pprof tools ----

#define SKIP_WITHOUT_GPERFTOOLS() \
  if (!ProfilingAvailable())      \
  GTEST_SKIP() << "built without gperftools (sanitizer build): no CPU profiler or tcmalloc"

TEST(HarnessBinaryTest, HeapSamplingWorksOutOfTheBox) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto h = StartHarness({}, {{kHeapSampleEnv, kUnset}});
  ASSERT_NE(h.port, 0);
  EXPECT_TRUE(h.heap_sampling) << "the re-exec did not turn sampling on";
  const HttpResponse r = xtcp::testing::Get(h.port, "/debug/pprof/heap?format=legacy");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StartsWith(r.body, "heap profile:")) << r.body.substr(0, 80);
  const std::string dir = TempDir();
  std::ofstream(dir + "/heap.prof", std::ios::binary) << r.body;
  const RunResult text = RunProgram(
      {FindTool("google-pprof"), "--text", Harness(), dir + "/heap.prof"}, {}, absl::Seconds(120));
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("HarnessHoldMemory"));
  if (const std::string go = FindTool("go"); !go.empty()) {
    const HttpResponse proto = xtcp::testing::Get(h.port, "/debug/pprof/heap");
    ASSERT_EQ(proto.status, 200);
    std::ofstream(dir + "/heap.pprof", std::ios::binary) << proto.body;
    const RunResult top = RunProgram({go, "tool", "pprof", "-top", Harness(), dir + "/heap.pprof"},
                                     {{"HOME", dir}}, absl::Seconds(180));
    EXPECT_EQ(top.exit_code, 0) << top.err;
    EXPECT_THAT(top.out, HasSubstr("HarnessHoldMemory"));
  }
}

TEST(HarnessBinaryTest, HeapSamplingOptOut) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto h = StartHarness({}, {{kHeapSampleEnv, "0"}});
  ASSERT_NE(h.port, 0);
  EXPECT_FALSE(h.heap_sampling);
  EXPECT_EQ(xtcp::testing::Get(h.port, "/debug/pprof/heap").status, 503);
}

// The documented operator workflow, verbatim: a 45 s profile with curl, read by go tool pprof
// (google-pprof when Go is not installed). The server keeps answering meanwhile.
TEST(HarnessBinaryTest, CurlFortyFiveSecondProfileThenGoToolPprof) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string curl = FindTool("curl");
  if (curl.empty()) GTEST_SKIP() << "curl not installed";
  auto h = StartHarness({});
  ASSERT_NE(h.port, 0);
  const std::string dir = TempDir();
  // Without Go, fall back to google-pprof, which needs gperftools' own format.
  const std::string go = FindTool("go");
  const std::string format = go.empty() ? "&format=legacy" : "";
  RunResult fetched;
  std::thread fetch([&] {
    fetched = RunProgram({"/bin/sh", "-c",
                          absl::StrCat("cd '", dir, "' && ", curl, " -s 'http://127.0.0.1:", h.port,
                                       "/debug/pprof/profile?seconds=45", format, "' > cpu.pprof")},
                         {}, absl::Seconds(120));
  });
  for (int i = 0; i < 20; ++i) {
    absl::SleepFor(absl::Seconds(2));
    EXPECT_EQ(xtcp::testing::Get(h.port, "/metrics").status, 200);
  }
  fetch.join();
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  // A profile.proto of a short busy loop can be under 1 KB: what matters is that a reader
  // parses it and finds the busy function, checked below.
  ASSERT_GT(ReadFile(dir + "/cpu.pprof").size(), 100u);
  const RunResult top =
      go.empty() ? RunProgram({FindTool("google-pprof"), "--text", Harness(), dir + "/cpu.pprof"},
                              {}, absl::Seconds(120))
                 : RunProgram({go, "tool", "pprof", "-top", Harness(), dir + "/cpu.pprof"},
                              {{"HOME", dir}}, absl::Seconds(180));
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("HarnessBusyLoop"));
}

// gperftools prints "PROFILE: interrupts/evictions/bytes = ..." to stderr when the profiler stops:
// not a line of ours, so it must not reach the log stream; the daemon's own lines still do.
TEST(HarnessBinaryTest, CpuProfileLeavesNoGperftoolsLineInTheLog) {
  SKIP_WITHOUT_GPERFTOOLS();
  auto h = StartHarness({});
  ASSERT_NE(h.port, 0);
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r = xtcp::testing::Get(h.port, "/debug/pprof/profile?seconds=1");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(h.child->Stop(SIGTERM, absl::Seconds(20)), 0);
  const std::string err = h.child->DrainStderr();
  EXPECT_THAT(err, Not(HasSubstr("PROFILE:")));
  EXPECT_THAT(err, HasSubstr("INFO"));
}

TEST(HarnessBinaryTest, ProfileModeCpuWritesCpuPprofAtExit) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string dir = TempDir();
  auto h = StartHarness({"-profile.mode", "cpu"}, {}, dir);
  ASSERT_NE(h.port, 0);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(xtcp::testing::Get(h.port, "/debug/pprof/profile?seconds=1").status, 409);
  EXPECT_EQ(h.child->Stop(SIGTERM, absl::Seconds(20)), 0);
  const RunResult text = RunProgram(
      {FindTool("google-pprof"), "--text", Harness(), dir + "/cpu.prof"}, {}, absl::Seconds(120));
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("HarnessBusyLoop"));
  if (const std::string go = FindTool("go"); !go.empty()) {
    const RunResult top = RunProgram({go, "tool", "pprof", "-top", Harness(), dir + "/cpu.pprof"},
                                     {{"HOME", dir}}, absl::Seconds(180));
    EXPECT_EQ(top.exit_code, 0) << top.err;
    EXPECT_THAT(top.out, HasSubstr("HarnessBusyLoop"));
  }
}

TEST(HarnessBinaryTest, ProfileModeMemWritesMemPprofAtExit) {
  SKIP_WITHOUT_GPERFTOOLS();
  const std::string dir = TempDir();
  auto h = StartHarness({"-profile.mode", "mem"}, {}, dir);
  ASSERT_NE(h.port, 0);
  EXPECT_EQ(h.child->Stop(SIGTERM, absl::Seconds(20)), 0);
  EXPECT_FALSE(ReadFile(dir + "/mem.pprof").empty());
  EXPECT_TRUE(absl::StartsWith(ReadFile(dir + "/mem.prof"), "heap profile:"));
  const RunResult text = RunProgram(
      {FindTool("google-pprof"), "--text", Harness(), dir + "/mem.prof"}, {}, absl::Seconds(120));
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("HarnessHoldMemory"));
}

TEST(HarnessBinaryTest, ProfileModeGoOnlyIsIgnoredWithAWarning) {
  auto h = StartHarness({"-profile.mode", "mutex"});
  ASSERT_NE(h.port, 0);
  EXPECT_EQ(h.child->Stop(SIGTERM, absl::Seconds(20)), 0);
  EXPECT_THAT(h.child->DrainStderr(), HasSubstr("-profile.mode mutex is a Go-runtime profile"));
}

}  // namespace
}  // namespace xtcp::observe
