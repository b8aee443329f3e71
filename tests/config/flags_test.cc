#include <string>
#include <vector>

#include "config/config.h"
#include "config/test_vocabulary.h"
#include "gtest/gtest.h"

namespace xtcp::config {
namespace {

using testing::Parse;

TEST(Flags, DefaultsMatchUpstream) {
  const CliResult r = Parse({});
  ASSERT_EQ(r.action, CliResult::Action::kRun) << r.error;
  const Config& c = r.config;
  EXPECT_EQ(c.nl_timeout_ms, 1000u);
  EXPECT_EQ(c.poll_frequency, absl::Seconds(10));
  EXPECT_EQ(c.poll_timeout, absl::Seconds(5));
  EXPECT_EQ(c.netlinkers, 4u);
  EXPECT_EQ(c.nlmsg_seq, 666u);
  EXPECT_EQ(c.packet_size_mply, 8u);
  EXPECT_EQ(c.marshal, "protobufList");
  EXPECT_EQ(c.dest, "kafka:redpanda-0:9092");
  EXPECT_EQ(c.topic, "xtcp");
  EXPECT_EQ(c.poll_jitter_pct, 20u);
  EXPECT_EQ(c.reconcile_frequency, absl::Hours(6));
  EXPECT_TRUE(c.reconcile_before_poll);
  EXPECT_EQ(c.deserializers.size(), 12u);
  EXPECT_EQ(c.deserializers.front(), "info");
  EXPECT_EQ(c.prom_listen, ":9088");
  EXPECT_EQ(c.prom_path, "/metrics");
  EXPECT_EQ(c.debug_level, 111u);
  EXPECT_EQ(c.max_threads, 2000);
  EXPECT_EQ((std::vector<int>{4, 6}), c.families);
  EXPECT_EQ(c.EffectiveFlushRows(), 10000u);
  EXPECT_EQ(c.EffectiveFlushBytes(), 786432u);
}

TEST(Flags, GoSyntaxForms) {
  const CliResult r =
      Parse({"-netlinkers", "8", "--frequency=1m", "-ioUring", "-reconcileBeforePoll=false",
             "-dest", "stdout", "-marshal=jsonl", "-profile.mode", "cpu"});
  ASSERT_EQ(r.action, CliResult::Action::kRun) << r.error;
  EXPECT_EQ(r.config.netlinkers, 8u);
  EXPECT_EQ(r.config.poll_frequency, absl::Minutes(1));
  EXPECT_TRUE(r.config.io_uring);
  EXPECT_FALSE(r.config.reconcile_before_poll);
  EXPECT_EQ(r.config.dest, "stdout");
  EXPECT_EQ(r.config.marshal, "jsonl");
  EXPECT_EQ(r.config.profile_mode, "cpu");
}

TEST(Flags, ExplicitFlagsBeatEnvironment) {
  const CliResult r = Parse({"-netlinkers", "2"}, {{"NETLINKERS", "9"}, {"MARSHAL", "csv"}});
  ASSERT_EQ(r.action, CliResult::Action::kRun) << r.error;
  EXPECT_EQ(r.config.netlinkers, 2u);  // flag wins
  EXPECT_EQ(r.config.marshal, "csv");  // env applies where no flag was given
}

// A -maxLoops run may go on without HTTP only when -promListen is the default (daemon_mode.cc).
TEST(Flags, PromListenExplicitWhenGivenByFlagOrEnvironment) {
  EXPECT_FALSE(Parse({}).config.prom_listen_explicit);
  EXPECT_TRUE(Parse({"-promListen", ":9088"}).config.prom_listen_explicit);
  EXPECT_TRUE(Parse({}, {{"PROM_LISTEN", ":9100"}}).config.prom_listen_explicit);
}

TEST(Flags, EnvironmentNames) {
  const CliResult r = Parse({}, {{"NLTIMEOUTMS", "0"},
                                 {"NLMSQSEQ", "7"},
                                 {"XTCP_HOSTNAME", "h1"},
                                 {"HOSTNAME", "container-id"},
                                 {"POLL_FREQUENCY", "30s"},
                                 {"DEBUG_LEVEL", "5"},
                                 {"DESERIALIZERS", "all"},
                                 {"LABEL", ""}});
  ASSERT_EQ(r.action, CliResult::Action::kRun) << r.error;
  EXPECT_EQ(r.config.nl_timeout_ms, 0u);  // documented "0 = no timeout" is accepted
  EXPECT_EQ(r.config.nlmsg_seq, 7u);
  EXPECT_EQ(r.config.hostname, "h1");
  EXPECT_EQ(r.config.poll_frequency, absl::Seconds(30));
  EXPECT_EQ(r.config.debug_level, 5u);
  EXPECT_EQ(r.config.deserializers.size(), 13u);
}

struct BadCase {
  std::vector<std::string> args;
  std::string flag_named;
};

class BadFlags : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadFlags, ExitTwoWithOneLineNamingTheFlag) {
  const CliResult r = Parse(GetParam().args);
  EXPECT_EQ(r.action, CliResult::Action::kExit);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  EXPECT_NE(r.error.find(GetParam().flag_named), std::string::npos) << r.error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadFlags,
    ::testing::Values(
        BadCase{{"-netlinkers", "0"}, "-netlinkers"},
        BadCase{{"-netlinkers", "101"}, "-netlinkers"},
        BadCase{{"-netlinkers", "-3"}, "-netlinkers"},
        BadCase{{"-netlinkers", "four"}, "-netlinkers"},
        BadCase{{"-frequency", "10"}, "-frequency"}, BadCase{{"-frequency", "1x"}, "-frequency"},
        BadCase{{"-timeout", "20s"}, "-timeout"}, BadCase{{"-nosuchflag"}, "-nosuchflag"},
        BadCase{{"-marshal", "xml"}, "-marshal"}, BadCase{{"-dest", "ftp:x"}, "-dest"},
        BadCase{{"-dest", "s3parquet:bucket"}, "-dest"}, BadCase{{"-modulus", "0"}, "-modulus"},
        BadCase{{"-deserializers", "info,bogus"}, "-deserializers"},
        BadCase{{"-kafkaCompression", "brotli"}, "-kafkaCompression"},
        BadCase{{"-families", "5"}, "-families"},
        BadCase{{"-pollJitterPct", "101"}, "-pollJitterPct"},
        BadCase{{"-label", std::string(41, 'x')}, "-label"}, BadCase{{"-d", "1001"}, "-d"},
        BadCase{{"-topic", ""}, "-topic"}, BadCase{{"-ioUringRecvBatch", "0"}, "-ioUringRecvBatch"},
        BadCase{{"-maxThreads", "-1"}, "-maxThreads"},
        BadCase{{"-promPath", "metrics"}, "-promPath"},
        BadCase{{"-promListen", ":99999"}, "-promListen"},
        BadCase{{"-promListen", "localhost"}, "-promListen"},
        BadCase{{"-profile.mode", "gpu"}, "-profile.mode"}, BadCase{{"-dest"}, "-dest"},
        BadCase{{"-reconcileBeforePoll=maybe"}, "-reconcileBeforePoll"},
        BadCase{{"-shutdownTimeout", "0s"}, "-shutdownTimeout"},
        BadCase{{"-netlinkers", "4", "extra"}, "extra"}));

TEST(Flags, BadEnvironmentNamesTheVariable) {
  const CliResult r = Parse({}, {{"NETLINKERS", "lots"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.error.find("NETLINKERS"), std::string::npos) << r.error;
}

TEST(Flags, HelpVersionConf) {
  const CliResult h = Parse({"-help"});
  EXPECT_EQ(h.action, CliResult::Action::kExit);
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_EQ(h.error, "");
  EXPECT_NE(h.output.find("  -netlinkers uint\n"), std::string::npos);
  EXPECT_NE(h.output.find("(default 6h0m0s)"), std::string::npos);
  EXPECT_NE(h.output.find("  -profile.mode string"), std::string::npos);
  const CliResult v = Parse({"-v"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("xtcp commit:", 0), 0u);
  EXPECT_NE(v.output.find("\tversion:0.1.0"), std::string::npos);
  const CliResult c = Parse({"-conf", "-netlinkers", "7", "-s3SecretKey", "hunter2"});
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_NE(c.output.find("\"netlinkers\": 7"), std::string::npos) << c.output;
  EXPECT_EQ(c.output.find("hunter2"), std::string::npos);
}

TEST(Flags, ConfigJsonReplacesFlags) {
  const CliResult r =
      Parse({"-netlinkers", "2", "-dest", "stdout"},
            {{"XTCP_CONFIG_JSON",
              R"({"netlinkers": 9, "pollFrequency": "20s", "pollTimeout": "3s", "dest": "null",
                                  "marshalTo": "jsonl", "nlmsgSeq": 5, "modulus": "1", "topic": "t",
                                  "capturePath": "./", "xtcpProtoFile": "/p", "kafkaSchemaUrl": "u",
                                  "grpcPort": 1, "ioUringRecvBatchSize": 1, "ioUringCqeBatchSize": 1,
                                  "s3UploadMaxAttempts": 1, "debugLevel": 1})"}});
  ASSERT_EQ(r.action, CliResult::Action::kRun) << r.error;
  EXPECT_EQ(r.config.netlinkers, 9u);
  EXPECT_EQ(r.config.dest, "null");
  EXPECT_EQ(r.config.poll_frequency, absl::Seconds(20));
  const CliResult bad = Parse({}, {{"XTCP_CONFIG_JSON", "{not json"}});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.error.find("XTCP_CONFIG_JSON"), std::string::npos);
}

TEST(GoDuration, ParseAndFormat) {
  absl::Duration d;
  ASSERT_TRUE(ParseGoDuration("1h30m", &d));
  EXPECT_EQ(d, absl::Minutes(90));
  ASSERT_TRUE(ParseGoDuration("250ms", &d));
  EXPECT_EQ(d, absl::Milliseconds(250));
  ASSERT_TRUE(ParseGoDuration("1.5s", &d));
  EXPECT_EQ(d, absl::Milliseconds(1500));
  ASSERT_TRUE(ParseGoDuration("0", &d));
  EXPECT_EQ(d, absl::ZeroDuration());
  ASSERT_TRUE(ParseGoDuration("300us", &d));
  EXPECT_EQ(d, absl::Microseconds(300));
  EXPECT_FALSE(ParseGoDuration("10", &d));
  EXPECT_FALSE(ParseGoDuration("", &d));
  EXPECT_FALSE(ParseGoDuration("s", &d));
  EXPECT_FALSE(ParseGoDuration("5 s", &d));
  EXPECT_EQ(FormatGoDuration(absl::Hours(6)), "6h0m0s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(10)), "10s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(250)), "250ms");
  EXPECT_EQ(FormatGoDuration(absl::Minutes(90)), "1h30m0s");
  EXPECT_EQ(FormatGoDuration(absl::ZeroDuration()), "0s");
}

// ConfigService.Get/Set: what a client sees and what a round trip keeps.
TEST(GrpcConfig, PublicProtoHidesSecretsAndSetKeepsThem) {
  const CliResult r = Parse({"-dest", "http://admin:pw@127.0.0.1:8080/x", "-marshal", "jsonl"},
                            {{"S3_ACCESS_KEY", "AKID"}, {"S3_SECRET_KEY", "SECRET"}});
  ASSERT_EQ(r.exit_code, 0) << r.error;
  const Vocabulary v = testing::TestVocabulary();
  ::xtcp_config::v1::XtcpConfig shown = PublicProto(r.config, v);
  EXPECT_EQ(shown.s3_access_key(), "");
  EXPECT_EQ(shown.s3_secret_key(), "");
  EXPECT_EQ(shown.dest().find("pw"), std::string::npos) << shown.dest();
  EXPECT_NE(shown.dest().find("admin"), std::string::npos) << shown.dest();

  // Get -> change one field -> Set: the secrets survive, the change is taken.
  shown.set_netlinkers(3);
  Config next;
  ASSERT_TRUE(ApplyProto(shown, r.config, &next, v).ok());
  EXPECT_EQ(next.netlinkers, 3u);
  EXPECT_EQ(next.dest, "http://admin:pw@127.0.0.1:8080/x");
  EXPECT_EQ(next.s3_access_key, "AKID");
  EXPECT_EQ(next.s3_secret_key, "SECRET");
  EXPECT_EQ(next.deserializers_spec, r.config.deserializers_spec);  // "default" stays
  // Fields XtcpConfig does not carry keep their running values.
  EXPECT_EQ(next.shutdown_timeout, r.config.shutdown_timeout);

  // A new secret given in clear replaces the old one.
  shown.set_dest("http://admin:new@127.0.0.1:8080/x");
  ASSERT_TRUE(ApplyProto(shown, r.config, &next, v).ok());
  EXPECT_EQ(next.dest, "http://admin:new@127.0.0.1:8080/x");

  // Invalid: refused with the flag's own message, `next` untouched.
  Config untouched = next;
  shown.set_netlinkers(0);
  const absl::Status bad = ApplyProto(shown, r.config, &next, v);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("-netlinkers"), std::string::npos) << bad.message();
  EXPECT_EQ(next.dest, untouched.dest);
  shown.set_netlinkers(2);
  shown.set_marshal_to("xml");
  EXPECT_NE(ApplyProto(shown, r.config, &next, v).message().find("-marshal"), std::string::npos);
}

}  // namespace
}  // namespace xtcp::config
