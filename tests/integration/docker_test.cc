// -enrichContainer end to end: build/xtcp2 against FakeDockerEngine (tests/fakes/fake_docker.h).
//
// A real Docker engine cannot run a container on the test machines (docker.io has no image to
// start and no registry is reachable), so the test serves the Engine API's documented replies
// from a Unix socket. What the replies name is real: each "container" is a process the test starts
// in a network namespace it makes (`ip netns add`), listening on a TCP socket there; one is found
// through its State.Pid (/proc/<pid>/ns/net), the other through its SandboxKey (the namespace's
// bind mount, as Docker's /run/docker/netns/<id>). The daemon collects both namespaces, and their
// records must carry the container's id, name, image and runtime.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fakes/fake_docker.h"
#include "gtest/gtest.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

const std::string kIdA = std::string(60, 'a') + "0a0a";
const std::string kIdB = std::string(60, 'b') + "0b0b";

// A listener in `ns` that stays until destroyed (python3 in `ip netns exec`, which execs in
// place: the child's pid is the listener's).
Child ListenIn(const TestNetns& ns) {
  return Child::Start(
      ns.Exec({"/usr/bin/python3", "-c",
               "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n"
               "print(s.getsockname()[1],flush=True)\ntime.sleep(120)"}));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> DaemonArgs(const std::string& out, const std::string& sock, int loops) {
  return {BuildPath("xtcp2"),
          "-promListen",
          "127.0.0.1:0",
          "-dest",
          "file:" + out,
          "-marshal",
          "protobufList",
          "-maxLoops",
          std::to_string(loops),
          "-pollJitterPct",
          "0",
          "-frequency",
          "1s",
          "-timeout",
          "900ms",
          "-enrichContainer",
          "-dockerSocket",
          sock};
}

std::vector<record::ProtoRecord> Of(const std::vector<record::ProtoRecord>& recs,
                                    const std::string& netns) {
  std::vector<record::ProtoRecord> out;
  for (const auto& r : recs) {
    if (r.netns() == netns) out.push_back(r);
  }
  return out;
}

class EnrichContainer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = NetnsUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    a_ = TestNetns::Create("xdock");
    b_ = TestNetns::Create("xdock");
    ASSERT_TRUE(a_ && b_);
    la_ = std::make_unique<Child>(ListenIn(*a_));
    lb_ = std::make_unique<Child>(ListenIn(*b_));
    ASSERT_NE(la_->ReadLine(absl::Seconds(10)), "");
    ASSERT_NE(lb_->ReadLine(absl::Seconds(10)), "");
    struct stat st {};
    ASSERT_EQ(::stat(absl::StrCat("/proc/", la_->pid(), "/ns/net").c_str(), &st), 0);
    ASSERT_EQ(st.st_ino, a_->inode()) << "the listener is not in its namespace";
    sock_ = absl::StrCat("/tmp/xtcp-docker-it-", ::getpid(), ".sock");
    engine_ = std::make_unique<FakeDockerEngine>(sock_, "1.45", "1.24");
    engine_->SetContainers({{.id = kIdA, .name = "web", .image = "nginx:1.27", .pid = la_->pid()},
                            {.id = kIdB,
                             .name = "db",
                             .image = "postgres:16",
                             .sandbox_key = "/run/netns/" + b_->name()}});
    out_ = TempPath("docker-records");
    err_ = TempPath("docker-err");
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    if (la_) la_->Signal(SIGKILL);
    if (lb_) lb_->Signal(SIGKILL);
    ::unlink(out_.c_str());
    ::unlink(err_.c_str());
  }
  // The records of the namespace's last poll.
  std::vector<record::ProtoRecord> LastPoll(const std::vector<record::ProtoRecord>& recs,
                                            const TestNetns& ns) {
    int64_t last = 0;
    for (const auto& r : Of(recs, ns.name())) last = std::max(last, r.timestamp_ns());
    std::vector<record::ProtoRecord> out;
    for (const auto& r : Of(recs, ns.name())) {
      if (r.timestamp_ns() == last) out.push_back(r);
    }
    return out;
  }
  std::set<int64_t> Polls(const std::vector<record::ProtoRecord>& recs, const TestNetns& ns) {
    std::set<int64_t> polls;
    for (const auto& r : Of(recs, ns.name())) polls.insert(r.timestamp_ns());
    return polls;
  }

  std::unique_ptr<TestNetns> a_, b_;
  std::unique_ptr<Child> la_, lb_;
  std::string sock_, out_, err_;
  std::unique_ptr<FakeDockerEngine> engine_;
};

TEST_F(EnrichContainer, RecordsOfAContainersNamespaceCarryItsNameImageAndRuntime) {
  ASSERT_TRUE(engine_->Start());
  const RunResult r = testing::Run(DaemonArgs(out_, sock_, 3), absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("-enrichContainer: 2 containers"), std::string::npos) << r.err;
  const auto recs = ReadProtobufList(out_);
  const auto web = LastPoll(recs, *a_);
  const auto db = LastPoll(recs, *b_);
  ASSERT_EQ(web.size(), 1u);  // the listener
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(web[0].container_id(), kIdA);
  EXPECT_EQ(web[0].container_name(), "web");
  EXPECT_EQ(web[0].container_image(), "nginx:1.27");
  EXPECT_EQ(web[0].container_runtime(), "docker");
  EXPECT_EQ(db[0].container_id(), kIdB);
  EXPECT_EQ(db[0].container_name(), "db");
  EXPECT_EQ(db[0].container_image(), "postgres:16");
  for (const auto& rec : Of(recs, "default")) EXPECT_EQ(rec.container_name(), "") << rec.netns();
  // Negotiated as upstream: the engine speaks 1.45, the daemon at most 1.44.
  bool versioned = false;
  for (const auto& req : engine_->Requests()) versioned |= req == "/v1.44/containers/json";
  EXPECT_TRUE(versioned);
}

TEST_F(EnrichContainer, ASlowEngineNeverDelaysAPoll) {
  engine_->SetDelay(absl::Seconds(60));
  ASSERT_TRUE(engine_->Start());
  const absl::Time start = absl::Now();
  const RunResult r = testing::Run(DaemonArgs(out_, sock_, 4), absl::Seconds(30));
  const absl::Duration took = absl::Now() - start;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Four polls a second apart, and a shutdown that does not wait for the engine.
  EXPECT_LT(took, absl::Seconds(8)) << r.err;
  const auto recs = ReadProtobufList(out_);
  EXPECT_EQ(Polls(recs, *a_).size(), 4u);
  for (const auto& rec : Of(recs, a_->name())) EXPECT_EQ(rec.container_name(), "");
  EXPECT_NE(r.err.find("-enrichContainer: list on " + sock_ + ": timed out"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("TIMED OUT"), std::string::npos) << r.err;
  // Each poll as quick as without the engine (its dumps of a few sockets take milliseconds).
  std::istringstream lines(r.err);
  int polls = 0;
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find(" done in ");
    if (line.find(" poll ") == std::string::npos || at == std::string::npos) continue;
    ++polls;
    EXPECT_LT(std::stod(line.substr(at + 9)), 500.0) << line;
  }
  EXPECT_EQ(polls, 4);
}

TEST_F(EnrichContainer, AnEngineThatGoesAwayLeavesTheLastNamesAndAWarning) {
  ASSERT_TRUE(engine_->Start());
  Child daemon = Child::Start(DaemonArgs(out_, sock_, 5), err_);
  ASSERT_TRUE(daemon.ok());
  std::string log;
  for (int i = 0; i < 200 && log.find("poll 2:") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    log = ReadFile(err_);
  }
  ASSERT_NE(log.find("poll 2:"), std::string::npos) << log;
  engine_->Stop();  // the event stream and the socket close
  ASSERT_EQ(daemon.Wait(absl::Seconds(20)), 0);
  log = ReadFile(err_);
  EXPECT_NE(log.find("WARN -enrichContainer: events on " + sock_), std::string::npos) << log;
  const auto recs = ReadProtobufList(out_);
  EXPECT_EQ(Polls(recs, *a_).size(), 5u);
  const auto web = LastPoll(recs, *a_);
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(web[0].container_name(), "web");  // the last list is kept
}

}  // namespace
}  // namespace xtcp::testing
