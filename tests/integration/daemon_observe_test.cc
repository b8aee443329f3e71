// The real daemon's HTTP side: /metrics after polls (checked by promtool, with the series a poll
// must move), /readyz before the first poll, while polling and while draining at shutdown, and a
// CPU profile read back by a pprof reader.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "observe/http_get.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A daemon listening on a kernel-chosen port; the port is read from its log.
std::vector<std::string> DaemonArgv(std::vector<std::string> extra) {
  std::vector<std::string> argv = {BuildPath("xtcp2"), "-promListen", "127.0.0.1:0", "-d", "111"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

struct Daemon {
  std::string err_path = TempPath("observe-err");
  Child child;
  uint16_t port = 0;

  explicit Daemon(std::vector<std::string> extra)
      : child(Child::Start(DaemonArgv(extra), err_path)) {
    static const std::regex kListening(R"(http: listening on 127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 200 && port == 0; ++i) {
      std::smatch m;
      const std::string log = ReadFile(err_path);
      if (std::regex_search(log, m, kListening)) port = static_cast<uint16_t>(std::stoi(m[1]));
      if (port == 0) absl::SleepFor(absl::Milliseconds(25));
    }
  }
  ~Daemon() {
    child.Finish(absl::Seconds(20));
    ::unlink(err_path.c_str());
  }
  observe::HttpResponse Get(const std::string& path,
                            absl::Duration timeout = absl::Seconds(10)) const {
    auto r = observe::HttpGet("127.0.0.1", port, path, timeout);
    return r.ok() ? *r : observe::HttpResponse{};
  }
};

// Value of the sample whose line starts with `series` (name and labels exactly as exposed).
double Sample(const std::string& body, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

std::string Counts(const std::string& function, const std::string& variable,
                   const std::string& type) {
  // prometheus-cpp writes labels in name order.
  return absl::StrCat("xtcp_counts{function=\"", function, "\",type=\"", type, "\",variable=\"",
                      variable, "\"}");
}

TEST(DaemonObserve, MetricsAfterPollsPassPromtoolAndMoved) {
  Daemon d({"-dest", "null", "-frequency", "200ms", "-timeout", "150ms", "-pollJitterPct", "0"});
  ASSERT_NE(d.port, 0) << ReadFile(d.err_path);
  // Bounded wait for three polls.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body = d.Get("/metrics").body;
    if (Sample(body, Counts("Poller", "pollingLoops", "count")) >= 3) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(Sample(body, Counts("Poller", "pollingLoops", "count")), 3);
  EXPECT_GE(Sample(body, Counts("Poller", "complete", "count")), 2);
  EXPECT_GE(Sample(body, Counts("Poller", "envelopeFlush", "poll_end")), 1);
  EXPECT_GT(Sample(body, Counts("Netlinker", "packets", "count")), 0);
  EXPECT_GT(Sample(body, Counts("Netlinker", "n", "count")), 0);
  // One dump request per namespace and poll (both families in one TCPDIAG_GETSOCK walk).
  EXPECT_GE(Sample(body, Counts("poller", "poll", "count")), 3);
  EXPECT_GE(Sample(body, Counts("reconcile", "start", "count")), 3);
  EXPECT_GE(Sample(body, Counts("destNull", "start", "count")), 1);
  EXPECT_GE(Sample(body, "xtcp_gauge"), 1);  // namespaces tracked
  EXPECT_GT(Sample(body, "process_resident_memory_bytes"), 0);

  const RunResult check = testing::Run({"promtool", "check", "metrics"}, absl::Seconds(30), body);
  ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 3) << check.err;
  // The only findings allowed are about upstream's family names, which we may not rename.
  for (absl::string_view line : absl::StrSplit(check.err, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(line == "xtcp_counts counter metrics should have \"_total\" suffix" ||
                line == "xtcp_config_grpc_counts counter metrics should have \"_total\" suffix" ||
                line == "xtcp_record_grpc_counts counter metrics should have \"_total\" suffix" ||
                line == "xtcp_gauge metric name should not include type 'gauge'")
        << line;
  }
  d.child.Signal(SIGTERM);
  EXPECT_EQ(d.child.Wait(absl::Seconds(15)), 0);
}

TEST(DaemonObserve, ReadyzFollowsPollingAndShutdown) {
  // 503 until the first poll starts (a random startup delay of up to -frequency), 200 while
  // polling, 503 again while the sink drains at shutdown (a Kafka broker that is not there keeps
  // it draining until -shutdownTimeout). The startup delay is random, so up to three daemons are
  // tried until one is caught before its first poll.
  bool saw_not_ready_first = false;
  for (int attempt = 0; attempt < 3 && !saw_not_ready_first; ++attempt) {
    Daemon d({"-dest", "kafka:127.0.0.1:1", "-frequency", "8s", "-timeout", "1s", "-pollJitterPct",
              "100", "-shutdownTimeout", "3s"});
    ASSERT_NE(d.port, 0) << ReadFile(d.err_path);
    EXPECT_EQ(d.Get("/healthz").status, 200);
    saw_not_ready_first = d.Get("/readyz").status == 503;
    int status = 0;
    for (int i = 0; i < 120 && status != 200; ++i) {
      status = d.Get("/readyz").status;
      if (status != 200) absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_EQ(status, 200) << ReadFile(d.err_path);
    d.child.Signal(SIGTERM);
    int during = 0;
    for (int i = 0; i < 50 && during != 503; ++i) {
      during = d.Get("/readyz", absl::Seconds(1)).status;
      if (during != 503) absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(during, 503) << "not-ready while draining";
    // The rows never reached the absent broker: counted lost at the deadline, exit 3.
    EXPECT_EQ(d.child.Wait(absl::Seconds(20)), 3) << ReadFile(d.err_path);
  }
  EXPECT_TRUE(saw_not_ready_first) << "three daemons were all polling before the first /readyz";
}

TEST(DaemonObserve, CpuProfileOfTheDaemonReadsBack) {
  if (testing::Run({"sh", "-c", "command -v go"}).exit_code != 0)
    GTEST_SKIP() << "go (golang-go) not installed";
  Daemon d({"-dest", "null", "-frequency", "100ms", "-timeout", "90ms", "-pollJitterPct", "0"});
  ASSERT_NE(d.port, 0);
  const observe::HttpResponse r = d.Get("/debug/pprof/profile?seconds=2", absl::Seconds(20));
  if (r.status == 501) GTEST_SKIP() << "built without the gperftools profiler (sanitizer build)";
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  const std::string path = TempPath("daemon-cpu.pprof");
  std::ofstream(path, std::ios::binary) << r.body;
  const RunResult top =
      testing::Run({"go", "tool", "pprof", "-top", BuildPath("xtcp2"), path}, absl::Seconds(120));
  ::unlink(path.c_str());
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("Type: cpu"), std::string::npos) << top.out;
}

TEST(DaemonObserve, ServedCommandLineAndLogsCarryNoSecret) {
  // What an attacker on the network would fetch: the command line of a daemon started with a
  // password in its -dest URL and an S3 secret key. Both are masked, the rest is served.
  Daemon d({"-dest", "http://admin:S3cretPW@127.0.0.1:1/ingest", "-s3SecretKey", "TOPSECRETKEY",
            "-frequency", "2s", "-timeout", "1s", "-pollJitterPct", "0"});
  ASSERT_NE(d.port, 0) << ReadFile(d.err_path);
  const observe::HttpResponse r = d.Get("/debug/pprof/cmdline");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("S3cretPW"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("TOPSECRETKEY"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("http://admin:***@127.0.0.1:1/ingest"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("-s3SecretKey"), std::string::npos) << r.body;
  d.child.Signal(SIGTERM);
  d.child.Wait(absl::Seconds(15));
  const std::string log = ReadFile(d.err_path);
  EXPECT_EQ(log.find("S3cretPW"), std::string::npos) << log;
  EXPECT_EQ(log.find("TOPSECRETKEY"), std::string::npos) << log;
}

}  // namespace
}  // namespace xtcp::testing
