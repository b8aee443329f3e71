// The xtcp2 binary with -dest kafka: (librdkafka's mock cluster) and -kafkaSchemaUrl: a registry
// that answers, refuses, is down or never answers. Registration never stops the daemon nor costs
// a row, and waits at most its 3 s budget. Needs root (the daemon's capabilities).
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "observe/http_get.h"
#include "observe/subprocess.h"
#include "sink/kafka_mock.h"
#include "sink/peers.h"
#include "sink/registry_server.h"

namespace xtcp::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string& ProtoPath() {
  static const std::string p = SourcePath("proto/xtcp_flat_record/v1/xtcp_flat_record.proto");
  return p;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ClosedPortUrl() {
  const int fd = BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const int port = LocalPort(fd);
  ::close(fd);
  return absl::StrCat("http://127.0.0.1:", port);
}

// Rows in protobufList messages.
int64_t RowsIn(const std::vector<std::string>& messages) {
  int64_t rows = 0;
  for (const std::string& m : messages) {
    std::vector<record::ProtoEnvelope> envs;
    EXPECT_TRUE(marshal::ParseProtobufList(m, &envs).ok());
    for (const auto& e : envs) rows += e.row_size();
  }
  return rows;
}

// "stopped: N rows accepted by the sink kafka, L rows lost": {N, L}, or {-1, -1}.
std::pair<int64_t, int64_t> ClosingLine(const std::string& log) {
  static const std::regex kLine(
      R"(stopped: (\d+) rows accepted by the sink kafka, (\d+) rows lost)");
  std::smatch m;
  if (!std::regex_search(log, m, kLine)) return {-1, -1};
  return {std::stoll(m[1]), std::stoll(m[2])};
}

class SchemaRegistryDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the daemon needs CAP_NET_ADMIN and CAP_SYS_ADMIN";
    ASSERT_TRUE(kafka_.ok());
    kafka_.CreateTopic("xtcp");
  }
  std::vector<std::string> Args(const std::string& registry, std::vector<std::string> extra) {
    std::vector<std::string> a = {BuildPath("xtcp2"),
                                  "-promListen",
                                  "127.0.0.1:0",
                                  "-dest",
                                  "kafka:" + kafka_.bootstraps(),
                                  "-kafkaSchemaUrl",
                                  registry,
                                  "-xtcpProtoFile",
                                  ProtoPath(),
                                  "-frequency",
                                  "300ms",
                                  "-timeout",
                                  "200ms",
                                  "-pollJitterPct",
                                  "0",
                                  "-d",
                                  "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Two polls to Kafka: the run must be clean and every accepted row must be in the topic.
  RunResult RunTwoPolls(const std::string& registry) {
    const RunResult r = RunProgram(Args(registry, {"-maxLoops", "2"}), {}, absl::Seconds(60));
    EXPECT_FALSE(r.timed_out) << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto [accepted, lost] = ClosingLine(r.err);
    EXPECT_GT(accepted, 0) << r.err;
    EXPECT_EQ(lost, 0) << r.err;
    int kcat_exit = -1;
    EXPECT_EQ(RowsIn(ConsumeWithKcat(kafka_.bootstraps(), "xtcp", &kcat_exit)), accepted);
    EXPECT_EQ(kcat_exit, 0);
    return r;
  }

  MockKafka kafka_;
};

TEST_F(SchemaRegistryDaemon, RegistryDownIsAWarningAndNothingIsLost) {
  const std::string url = ClosedPortUrl();
  const RunResult r = RunTwoPolls(url);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("WARN schema registry ", url,
                                            ", subject xtcp-value: not registered: ")));
  EXPECT_THAT(r.err, HasSubstr("(continuing: Kafka messages do not depend on it)"));
}

TEST_F(SchemaRegistryDaemon, OffAsksNoRegistryAndSaysNothing) {
  const RunResult r = RunTwoPolls("off");
  EXPECT_THAT(r.err, Not(HasSubstr("schema registry")));
  EXPECT_THAT(r.err, Not(HasSubstr("WARN")));
}

TEST_F(SchemaRegistryDaemon, RefusalIsAWarningWithTheRegistrysWords) {
  FakeSchemaRegistry registry;
  ASSERT_GT(registry.port(), 0);
  registry.FailWith(422, "Either the input schema or one of its references is invalid");
  const RunResult r = RunTwoPolls(registry.Url());
  EXPECT_THAT(r.err, HasSubstr("not registered: schema registry POST "));
  EXPECT_THAT(r.err, HasSubstr("status 422: Either the input schema"));
  EXPECT_EQ(registry.requests().size(), 1u);
}

TEST_F(SchemaRegistryDaemon, SilentRegistryHoldsStartUpForItsBudgetOnly) {
  StreamPeer silent(AF_INET);  // accepts, reads, never answers
  ASSERT_TRUE(silent.Start());
  const absl::Time start = absl::Now();
  const RunResult r = RunTwoPolls(absl::StrCat("http://127.0.0.1:", silent.port()));
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(r.err, HasSubstr("no answer within the registration's 3s"));
  EXPECT_GE(took, absl::Seconds(3));
  EXPECT_LT(took, absl::Seconds(12)) << r.err;  // 3 s + two polls + the drain, on a busy host
}

TEST_F(SchemaRegistryDaemon, RegistersTheProtoAndExportsTheIdAsAGauge) {
  FakeSchemaRegistry registry(41);
  ASSERT_GT(registry.port(), 0);
  Child d(Args(registry.Url(), {}));
  ASSERT_TRUE(d.started());
  std::string log;
  int port = 0;
  static const std::regex kListening(R"(http: listening on 127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(WaitFor(
      [&] {
        log += d.DrainStderr();
        std::smatch m;
        if (port == 0 && std::regex_search(log, m, kListening)) port = std::stoi(m[1]);
        return port != 0 && log.find("schema id") != std::string::npos;
      },
      absl::Seconds(20)))
      << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat("INFO schema registry ", registry.Url(),
                                          ", subject xtcp-value: registered ", ProtoPath(),
                                          " as schema id 41 (the latest version)")));
  const auto metrics =
      observe::HttpGet("127.0.0.1", static_cast<uint16_t>(port), "/metrics", absl::Seconds(5));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(
      metrics->body,
      HasSubstr("xtcp_gauges{function=\"destKafka\",type=\"gauge\",variable=\"schemaId\"} 41"));
  EXPECT_THAT(metrics->body, HasSubstr("xtcp_counts{function=\"destKafka\",type=\"count\","
                                       "variable=\"schemaRegister\"} 1"));
  EXPECT_EQ(d.Stop(SIGTERM, absl::Seconds(20)), 0);
  const auto req = registry.requests();
  ASSERT_EQ(req.size(), 2u);
  EXPECT_EQ(req[0].schema_type, "PROTOBUF");
  EXPECT_EQ(req[0].schema, ReadAll(ProtoPath()));
  EXPECT_THAT(log + d.DrainStderr(), Not(HasSubstr("WARN schema registry")));
}

}  // namespace
}  // namespace xtcp::testing
