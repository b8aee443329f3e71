// Schema registration (-kafkaSchemaUrl, -xtcpProtoFile) against a registry the test runs on
// loopback: what is sent, what comes back, and a registry that is down, slow or refusing.
#include "sink/schema_registry.h"

#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sink/peers.h"
#include "sink/registry_server.h"

namespace xtcp::sink {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using xtcp::testing::FakeSchemaRegistry;
using xtcp::testing::RegistryRequest;

// Quotes, a backslash, control characters, markup and non-ASCII: all must arrive unchanged.
constexpr char kProto[] =
    "syntax = \"proto3\";\n// a \\ b\t<tag> & \"q\" caf\xc3\xa9 \xe2\x80\xa8\n"
    "package t.v1;\nmessage M { string s = 1; }\n";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A loopback port nothing listens on.
int ClosedPort() {
  const int fd = xtcp::testing::BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const int port = xtcp::testing::LocalPort(fd);
  ::close(fd);
  return port;
}

// One registry for the suite: stopping civetweb takes ~2 s.
class SchemaRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { registry_ = new FakeSchemaRegistry(); }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(registry_->port(), 0);
    registry_->Reset();
    first_ = registry_->requests().size();
    proto_ = dir_.File("record.proto");
    std::ofstream(proto_, std::ios::binary) << kProto;
  }
  std::vector<RegistryRequest> Requests() {
    auto all = registry_->requests();
    return std::vector<RegistryRequest>(all.begin() + static_cast<ptrdiff_t>(first_), all.end());
  }
  SchemaRegistryOptions Options(const std::string& url = "") {
    return {.url = url.empty() ? registry_->Url() : url,
            .subject = "xtcp-value",
            .schema_path = proto_,
            .metrics = &metrics_};
  }
  double Count(std::string_view variable, std::string_view type) {
    return metrics_.CountValue("destKafka", variable, type);
  }
  double SchemaIdGauge() { return metrics_.Gauge("destKafka", "schemaId", "gauge").Value(); }

  static FakeSchemaRegistry* registry_;
  xtcp::testing::TempDir dir_;
  std::string proto_;
  size_t first_ = 0;
  Metrics metrics_;
};
FakeSchemaRegistry* SchemaRegistryTest::registry_ = nullptr;

TEST_F(SchemaRegistryTest, PostsTheProtoTextUnderTheSubjectThenReadsTheLatestId) {
  auto r = RegisterSchema(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, 7);
  EXPECT_EQ(r->latest_id.value_or(-1), 7);
  const auto req = Requests();
  ASSERT_EQ(req.size(), 2u);
  EXPECT_EQ(req[0].method, "POST");
  EXPECT_EQ(req[0].uri, "/subjects/xtcp-value/versions");
  EXPECT_EQ(req[0].content_type, "application/vnd.schemaregistry.v1+json");
  EXPECT_THAT(req[0].accept, HasSubstr("application/vnd.schemaregistry.v1+json"));
  ASSERT_TRUE(req[0].json_ok) << req[0].body;
  EXPECT_EQ(req[0].schema_type, "PROTOBUF");
  EXPECT_EQ(req[0].schema, kProto);
  EXPECT_EQ(req[1].method, "GET");
  EXPECT_EQ(req[1].uri, "/subjects/xtcp-value/versions/latest");
}

TEST_F(SchemaRegistryTest, RegistersTheRecordProtoByteForByte) {
  const std::string path = std::string(XTCP_SOURCE_DIR) +
                           "/proto/xtcp_flat_record/v1/"
                           "xtcp_flat_record.proto";
  SchemaRegistryOptions o = Options();
  o.schema_path = path;
  ASSERT_TRUE(RegisterSchema(o).ok());
  const auto req = Requests();
  ASSERT_FALSE(req.empty());
  EXPECT_EQ(req[0].schema, ReadAll(path));
  EXPECT_GT(req[0].schema.size(), 5000u);
}

TEST_F(SchemaRegistryTest, SameSchemaAgainKeepsItsId) {
  const auto first = RegisterSchema(Options());
  const auto again = RegisterSchema(Options());
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->id, again->id);
  EXPECT_EQ(again->latest_id.value_or(-1), first->id);
  EXPECT_EQ(Requests().size(), 4u);
}

TEST_F(SchemaRegistryTest, PathPrefixAndTrailingSlashesAreKept) {
  ASSERT_TRUE(RegisterSchema(Options(registry_->Url("/registry//"))).ok());
  const auto req = Requests();
  ASSERT_EQ(req.size(), 2u);
  EXPECT_EQ(req[0].uri, "/registry/subjects/xtcp-value/versions");
  EXPECT_EQ(req[1].uri, "/registry/subjects/xtcp-value/versions/latest");
}

TEST_F(SchemaRegistryTest, UserinfoIsSentAsBasicAuthAndNeverShown) {
  const std::string url = "http://reg:s3cret@127.0.0.1:" + std::to_string(registry_->port());
  ASSERT_TRUE(RegisterSchema(Options(url)).ok());
  ASSERT_FALSE(Requests().empty());
  EXPECT_EQ(Requests()[0].authorization, "Basic cmVnOnMzY3JldA==");  // base64("reg:s3cret")
  const auto down =
      RegisterSchema(Options("http://reg:s3cret@127.0.0.1:" + std::to_string(ClosedPort())));
  ASSERT_FALSE(down.ok());
  EXPECT_THAT(down.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_THAT(down.status().message(), HasSubstr("reg:***@127.0.0.1"));
}

TEST_F(SchemaRegistryTest, ErrorStatusCarriesTheRegistrysMessage) {
  registry_->FailWith(409, "Schema being registered is incompatible with an earlier schema");
  const auto r = RegisterSchema(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_THAT(r.status().message(),
              HasSubstr("status 409: Schema being registered is incompatible"));
  EXPECT_EQ(Requests().size(), 1u);  // no lookup after a refusal
}

TEST_F(SchemaRegistryTest, AnAnswerWithoutAnIdIsDataLoss) {
  registry_->FailWith(200, "nothing useful");
  const auto r = RegisterSchema(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("without an id"));
}

TEST_F(SchemaRegistryTest, RegistryDownFailsAtOnce) {
  const absl::Time start = absl::Now();
  const auto r = RegisterSchema(Options("http://127.0.0.1:" + std::to_string(ClosedPort())));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("POST http://127.0.0.1:"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

// A registry that accepts the connection and never answers: the budget bounds the wait.
TEST_F(SchemaRegistryTest, SilentRegistryIsCutOffAtTheBudget) {
  xtcp::testing::StreamPeer silent(AF_INET);
  ASSERT_TRUE(silent.Start());
  SchemaRegistryOptions o = Options("http://127.0.0.1:" + std::to_string(silent.port()));
  o.subject = "my topic/x-value";
  o.budget = absl::Milliseconds(400);
  const absl::Time start = absl::Now();
  const auto r = RegisterSchema(o);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("no answer within the registration's 400ms"));
  EXPECT_GE(took, absl::Milliseconds(350));
  EXPECT_LT(took, absl::Milliseconds(1500));
  // The subject is one path segment, percent-encoded.
  EXPECT_THAT(silent.bytes(), HasSubstr("POST /subjects/my%20topic%2Fx-value/versions HTTP/1.1"));
}

TEST_F(SchemaRegistryTest, MissingProtoFileFailsBeforeAnyRequest) {
  SchemaRegistryOptions o = Options();
  o.schema_path = dir_.File("absent.proto");
  const auto r = RegisterSchema(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("-xtcpProtoFile " + o.schema_path + ": No such"));
  EXPECT_TRUE(Requests().empty());
}

TEST_F(SchemaRegistryTest, ProtoFileThatIsNotUtf8IsRefused) {
  std::ofstream(proto_, std::ios::binary | std::ios::trunc) << "message M {} // \xff\xfe\n";
  const auto r = RegisterSchema(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not valid UTF-8"));
  EXPECT_TRUE(Requests().empty());
}

TEST_F(SchemaRegistryTest, StartupSetsTheGaugeAndCounts) {
  EXPECT_EQ(RegisterSchemaAtStartup(Options()), 7);
  EXPECT_EQ(SchemaIdGauge(), 7);
  EXPECT_EQ(Count("schemaRegister", "count"), 1);
  EXPECT_EQ(Count("schemaRegister", "error"), 0);
  EXPECT_EQ(Count("schemaLatest", "error"), 0);
}

TEST_F(SchemaRegistryTest, StartupCountsALatestVersionWithAnotherId) {
  registry_->SetLatestId(12);
  EXPECT_EQ(RegisterSchemaAtStartup(Options()), 7);
  EXPECT_EQ(SchemaIdGauge(), 7);  // ours, not the latest
  EXPECT_EQ(Count("schemaRegister", "count"), 1);
  EXPECT_EQ(Count("schemaLatest", "error"), 1);
}

TEST_F(SchemaRegistryTest, StartupWithTheRegistryDownLeavesZeroAndCountsTheError) {
  EXPECT_EQ(RegisterSchemaAtStartup(Options("http://127.0.0.1:" + std::to_string(ClosedPort()))),
            0);
  EXPECT_EQ(SchemaIdGauge(), 0);
  EXPECT_EQ(Count("schemaRegister", "count"), 0);
  EXPECT_EQ(Count("schemaRegister", "error"), 1);
}

TEST_F(SchemaRegistryTest, StartupWithARefusalCountsTheError) {
  registry_->FailWith(422, "Either the input schema or one of its references is invalid");
  EXPECT_EQ(RegisterSchemaAtStartup(Options()), 0);
  EXPECT_EQ(SchemaIdGauge(), 0);
  EXPECT_EQ(Count("schemaRegister", "error"), 1);
  EXPECT_EQ(Count("schemaLatest", "error"), 0);
}

}  // namespace
}  // namespace xtcp::sink
