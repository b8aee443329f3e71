// The command line as an operator meets it: error lines, precedence, -help, inert flags, masking.
#include <string>
#include <vector>

#include "config/config.h"
#include "config/test_vocabulary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::config {
namespace {

using testing::Argv;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Parse;

// Expects exit 2 with one line containing every one of `parts`.
void ExpectRefused(const CliResult& r, std::vector<std::string> parts) {
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  for (const auto& p : parts) EXPECT_THAT(r.error, HasSubstr(p));
}

TEST(Cli, VersionSpellings) {
  for (const char* v : {"-v", "-version", "--version"}) {
    const CliResult r = Parse({v});
    EXPECT_EQ(r.exit_code, 0) << v;
    EXPECT_EQ(r.output.rfind("xtcp commit:", 0), 0u) << v;
  }
}

TEST(Cli, UnknownFlagPointsToHelp) { ExpectRefused(Parse({"-nosuch"}), {"-nosuch", "-help"}); }

TEST(Cli, FamiliesErrorShowsTheRealValue) {
  ExpectRefused(Parse({"-families", "5"}), {"\"5\"", "-families"});
  ExpectRefused(Parse({"-families", "4,x"}), {"\"4,x\"", "-families"});
}

TEST(Cli, ConfigJsonBlamesTheFieldItSets) {
  const CliResult r = Parse({}, {{"XTCP_CONFIG_JSON", R"({"netlinkers":100000})"}});
  ExpectRefused(r, {"-netlinkers", "100000", "XTCP_CONFIG_JSON"});
  EXPECT_THAT(r.error, Not(HasSubstr("frequency")));
}

TEST(Cli, ConfigJsonSyntaxErrorIsOneLine) {
  ExpectRefused(Parse({}, {{"XTCP_CONFIG_JSON", "{not json\n\n"}}), {"XTCP_CONFIG_JSON"});
}

TEST(Cli, ConfigJsonFieldsWinAndTheRestIsKept) {
  const CliResult r = Parse({"-netlinkers", "2", "-dest", "stdout"},
                            {{"XTCP_CONFIG_JSON", R"({"netlinkers": 9, "marshal_to": "jsonl"})"}});
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_EQ(r.config.netlinkers, 9u);
  EXPECT_EQ(r.config.marshal, "jsonl");
  EXPECT_EQ(r.config.dest, "stdout");
}

TEST(Cli, ShortFrequencyScalesTheDefaultTimeout) {
  const CliResult r = Parse({"-frequency", "5s"});
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_EQ(r.config.poll_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(Parse({"-frequency", "1m"}).config.poll_timeout, absl::Seconds(5));
}

TEST(Cli, TimeoutAgainstFrequencySaysWhichToChange) {
  ExpectRefused(Parse({"-timeout", "20s"}), {"-timeout", "must be less than -frequency (10s)"});
  ExpectRefused(Parse({"-frequency", "5s", "-timeout", "6s"}),
                {"\"6s\"", "-timeout", "lower -timeout or raise -frequency"});
}

TEST(Cli, InvalidUtf8IsRefused) {
  ExpectRefused(Parse({"-label", "a\xff"}), {"-label", "UTF-8"});
  ExpectRefused(Parse({"-label=\xc0\xaf"}), {"UTF-8"});
  ExpectRefused(Parse({}, {{"LABEL", "\xed\xa0\x80"}}), {"LABEL", "UTF-8"});
  EXPECT_EQ(Parse({"-label", "caf\xc3\xa9"}).exit_code, 0);
}

TEST(Cli, PrecedenceFlagOverEnvOverDefault) {
  const Environment env = {{"TOPIC", "from-env"}, {"LABEL", "env-label"}};
  const CliResult r = Parse({"-topic", "from-flag"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_EQ(r.config.topic, "from-flag");
  EXPECT_EQ(r.config.label, "env-label");
  EXPECT_EQ(r.config.location, "");
}

TEST(Cli, EnvironmentErrorNamesVariableAndFlag) {
  ExpectRefused(Parse({}, {{"NETLINKERS", "500"}}), {"NETLINKERS", "-netlinkers", "\"500\""});
}

TEST(Cli, UintWiderThanItsFieldIsARangeError) {
  ExpectRefused(Parse({"-netlinkers", "5000000000"}), {"\"5000000000\"", "between 1 and 100"});
}

TEST(Cli, NewFlags) {
  const CliResult r =
      Parse({"-logFormat", "json", "-pprofListen", "127.0.0.1:9089", "-seccomp=false"});
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_EQ(r.config.log_format, "json");
  EXPECT_EQ(r.config.pprof_listen, "127.0.0.1:9089");
  EXPECT_FALSE(r.config.seccomp);
  EXPECT_TRUE(Parse({}).config.seccomp);
  EXPECT_EQ(Parse({}, {{"PPROF_LISTEN", "off"}}).config.pprof_listen, "off");
  ExpectRefused(Parse({"-logFormat", "xml"}), {"-logFormat", "text or json"});
  ExpectRefused(Parse({"-pprofListen", "localhost"}), {"-pprofListen"});
  ExpectRefused(Parse({"-pprofListen", ":http"}), {"-pprofListen"});
}

TEST(Cli, GrpcListenerFlags) {
  const CliResult d = Parse({});
  EXPECT_EQ(d.config.grpc_listen, "localhost");  // loopback unless told otherwise
  EXPECT_EQ(d.config.grpc_port, 8889u);
  EXPECT_FALSE(d.config.grpc_explicit);
  for (const char* ok : {"off", "0.0.0.0", "[::]", "[::1]:9000", "127.0.0.1:0", "unix:/run/x.sock",
                         "localhost:8889"}) {
    const CliResult r = Parse({"-grpcListen", ok});
    EXPECT_EQ(r.exit_code, 0) << ok << ": " << r.error;
    EXPECT_EQ(r.config.grpc_listen, ok);
    EXPECT_TRUE(r.config.grpc_explicit) << ok;
  }
  EXPECT_TRUE(Parse({"-grpcPort", "9000"}).config.grpc_explicit);
  EXPECT_TRUE(Parse({}, {{"GRPC_LISTEN", "off"}}).config.grpc_explicit);
  ExpectRefused(Parse({"-grpcListen", "::1"}), {"-grpcListen", "brackets"});
  ExpectRefused(Parse({"-grpcListen", "unix:"}), {"-grpcListen"});
  ExpectRefused(Parse({"-grpcListen", ":9000"}), {"-grpcListen", "want a host"});
  ExpectRefused(Parse({"-grpcListen", "host:port"}), {"-grpcListen", "port"});
  ExpectRefused(Parse({"-grpcTlsCert", "/c.pem"}), {"-grpcTlsCert", "go together"});
  ExpectRefused(Parse({"-grpcClientCa", "/ca.pem"}), {"-grpcClientCa"});
  EXPECT_EQ(Parse({"-grpcTlsCert", "/c", "-grpcTlsKey", "/k", "-grpcClientCa", "/ca"}).exit_code,
            0);
}

TEST(Cli, HelpIsGroupedAndMarksInertFlags) {
  const CliResult h = Parse({"-help"});
  ASSERT_EQ(h.exit_code, 0);
  const std::string& u = h.output;
  EXPECT_LT(u.find("\nCollection:\n"), u.find("  -netlinkers uint"));
  EXPECT_LT(u.find("\ngRPC:\n"), u.find("  -grpcPort uint"));
  EXPECT_THAT(u, HasSubstr("  -goMaxProcs uint\n    \t(not built yet)"));
  EXPECT_THAT(u, Not(HasSubstr("  -grpcPort uint\n    \t(not built yet)")));
  EXPECT_THAT(u, HasSubstr("  -s3SecretKey string\n    \t(not built yet)"));
  EXPECT_THAT(u, Not(HasSubstr("  -netlinkers uint\n    \t(not built yet)")));
  EXPECT_THAT(u, HasSubstr("  -seccomp\n    \tInstall"));
}

TEST(Cli, InertFlagsSetAreListedForAWarning) {
  const CliResult r = Parse({"-goMaxProcs", "8", "-grpcPort", "9999"}, {{"S3_BUCKET", "b"}});
  ASSERT_EQ(r.exit_code, 0) << r.error;
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_THAT(r.warnings[0] + r.warnings[1], HasSubstr("-goMaxProcs"));
  EXPECT_THAT(r.warnings[0] + r.warnings[1], HasSubstr("-s3Bucket"));
  EXPECT_TRUE(Parse({"-netlinkers", "3"}).warnings.empty());
}

TEST(Masking, CommandLine) {
  const std::vector<std::string> args = {"xtcp2",
                                         "-dest",
                                         "http://admin:pw@host/x",
                                         "-s3SecretKey=abc",
                                         "--s3AccessKey",
                                         "AKIA",
                                         "-kafkaSchemaUrl=https://tok@reg:8081/",
                                         "-netlinkers",
                                         "2",
                                         "-label",
                                         "http://u:p@x/"};
  const auto argv = Argv(args);
  EXPECT_EQ(
      MaskedArguments(static_cast<int>(argv.size()), argv.data()),
      (std::vector<std::string>{"xtcp2", "-dest", "http://admin:***@host/x", "-s3SecretKey=***",
                                "--s3AccessKey", "***", "-kafkaSchemaUrl=https://***@reg:8081/",
                                "-netlinkers", "2", "-label", "http://u:***@x/"}));
  EXPECT_EQ(MaskedCommandLine(3, argv.data()),
            std::string("xtcp2\0-dest\0http://admin:***@host/x", 35));
}

TEST(Masking, UrlUserinfo) {
  EXPECT_EQ(MaskUrlUserinfo("https://u:secret@host:8443/p@x"), "https://u:***@host:8443/p@x");
  EXPECT_EQ(MaskUrlUserinfo("http://host/path"), "http://host/path");
  EXPECT_EQ(MaskUrlUserinfo("http://token@host/"), "http://***@host/");
  EXPECT_EQ(MaskUrlUserinfo("kafka:h:9092"), "kafka:h:9092");
}

TEST(Masking, ConfAndEnvironment) {
  const CliResult c =
      Parse({"-conf", "-dest", "https://u:hunter2@h/"}, {{"S3_ACCESS_KEY", "AKIA1"}});
  ASSERT_EQ(c.exit_code, 0);
  EXPECT_THAT(c.output, Not(HasSubstr("hunter2")));
  EXPECT_THAT(c.output, Not(HasSubstr("AKIA1")));
  EXPECT_THAT(c.output, HasSubstr("https://u:***@h/"));
  const Environment m = MaskedEnvironment(
      {{"S3_SECRET_KEY", "s"}, {"DEST", "http://a:b@h/"}, {"S3_SECRET_KEY_FILE", "/run/k"}});
  EXPECT_EQ(m.at("S3_SECRET_KEY"), "***");
  EXPECT_EQ(m.at("DEST"), "http://a:***@h/");
  EXPECT_EQ(m.at("S3_SECRET_KEY_FILE"), "/run/k");
}

}  // namespace
}  // namespace xtcp::config
