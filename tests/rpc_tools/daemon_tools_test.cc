// The client tools against the real daemon (build/xtcp2 with -grpcListen on a free loopback
// port): xtcp2client -poll prints exactly the records the daemon's file sink wrote for the poll
// its request triggered, and xtcp2ctl reads and changes the running config.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/xtcp2-daemon-tools-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

// Waits until `path` is non-empty and has not grown for 500 ms (a poll's flush written); returns
// its content ("" after `limit`).
std::string SettledFile(const std::string& path, size_t after, absl::Duration limit) {
  const absl::Time until = absl::Now() + limit;
  std::string last = ReadFile(path);
  absl::Time changed = absl::Now();
  while (absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(50));
    const std::string now = ReadFile(path);
    if (now != last) {
      last = now;
      changed = absl::Now();
    } else if (last.size() > after && absl::Now() - changed >= absl::Milliseconds(500)) {
      return last;
    }
  }
  return "";
}

// The daemon with gRPC on 127.0.0.1:<free port>, records as jsonl into a file, one poll at start
// (no jitter) and then none for 10 minutes: later polls come from the tools.
class DaemonToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the daemon needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)";
    dir_ = TempDir();
    ASSERT_FALSE(dir_.empty());
    records_ = dir_ + "/records.jsonl";
    err_ = dir_ + "/daemon.err";
    daemon_ = std::make_unique<Child>(
        Child::Start({BuildPath("xtcp2"), "-promListen", "127.0.0.1:0", "-grpcListen", "127.0.0.1",
                      "-grpcPort", "0", "-dest", "file:" + records_, "-marshal", "jsonl",
                      "-frequency", "10m", "-pollJitterPct", "0", "-d", "111"},
                     err_));
    ASSERT_TRUE(daemon_->ok());
    static const std::regex kListening(R"(gRPC: .* on 127\.0\.0\.1:(\d+) \(plaintext\))");
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::smatch m;
      const std::string log = ReadFile(err_);
      if (std::regex_search(log, m, kListening)) port_ = std::stoi(m[1]);
      if (port_ == 0) absl::SleepFor(absl::Milliseconds(25));
    }
    ASSERT_GT(port_, 0) << ReadFile(err_);
  }
  void TearDown() override {
    if (daemon_ != nullptr) {
      daemon_->Signal(SIGTERM);
      EXPECT_EQ(daemon_->Wait(absl::Seconds(20)), 0) << ReadFile(err_);
    }
  }
  std::vector<std::string> At() const {
    return {"-target", "127.0.0.1", "-port", absl::StrCat(port_)};
  }

  std::string dir_, records_, err_;
  std::unique_ptr<Child> daemon_;
  int port_ = 0;
};

TEST_F(DaemonToolsTest, PollStreamEqualsTheFileSinkRecordsOfThatPoll) {
  // The startup poll, written before any client is there.
  const std::string first = SettledFile(records_, 0, absl::Seconds(30));
  ASSERT_FALSE(first.empty()) << ReadFile(err_);

  std::vector<std::string> argv = {BuildPath("xtcp2client"), "-poll", "-pollFrequency", "1h"};
  for (const std::string& a : At()) argv.push_back(a);
  Child client = Child::Start(argv, dir_ + "/client.err");
  ASSERT_TRUE(client.ok());
  // The one request's poll, as the file sink wrote it.
  const std::string both = SettledFile(records_, first.size(), absl::Seconds(30));
  ASSERT_GT(both.size(), first.size()) << ReadFile(err_);
  const std::vector<std::string> want =
      absl::StrSplit(both.substr(first.size()), '\n', absl::SkipEmpty());
  // At least the daemon's HTTP and gRPC listeners and both ends of the client's connection.
  ASSERT_GE(want.size(), 4u) << both.substr(first.size());
  std::vector<std::string> got;
  for (size_t i = 0; i < want.size(); ++i) {
    got.push_back(client.ReadLine(absl::Seconds(10)));
  }
  EXPECT_EQ(got, want);
  EXPECT_THAT(want[0], HasSubstr("\"inetDiagMsgFamily\""));
  client.Signal(SIGINT);
  EXPECT_EQ(client.Wait(absl::Seconds(10)), 0) << ReadFile(dir_ + "/client.err");
}

TEST_F(DaemonToolsTest, CtlReadsAndChangesTheRunningConfig) {
  std::vector<std::string> get = {BuildPath("xtcp2ctl"), "get"};
  for (const std::string& a : At()) get.push_back(a);
  const RunResult before = testing::Run(get, absl::Seconds(30));
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_THAT(before.out, HasSubstr("\"pollFrequency\":\"600s\""));
  EXPECT_THAT(before.out, HasSubstr("\"marshalTo\":\"jsonl\""));

  std::vector<std::string> freq = {
      BuildPath("xtcp2ctl"), "frequency", "-frequency", "5m", "-timeout", "20s"};
  for (const std::string& a : At()) freq.push_back(a);
  const RunResult changed = testing::Run(freq, absl::Seconds(30));
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_THAT(changed.out, HasSubstr("\"pollFrequency\":\"300s\""));
  EXPECT_THAT(changed.out, HasSubstr("\"pollTimeout\":\"20s\""));
  EXPECT_THAT(testing::Run(get, absl::Seconds(30)).out, HasSubstr("\"pollFrequency\":\"300s\""));

  // The daemon's own validation, as exit 3 with its text.
  std::vector<std::string> bad = {BuildPath("xtcp2ctl"), "burst", "-count", "0"};
  for (const std::string& a : At()) bad.push_back(a);
  const RunResult refused = testing::Run(bad, absl::Seconds(30));
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_THAT(refused.err,
              HasSubstr("xtcp2ctl: burst: rejected by the server (INVALID_ARGUMENT): "));
}

}  // namespace
}  // namespace xtcp::testing
