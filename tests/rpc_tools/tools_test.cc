// build/xtcp2ctl and build/xtcp2client against an in-test gRPC server with the daemon's services
// (fake_daemon.h), over loopback: what each command sends, what it prints, its errors and exit
// codes, the record stream byte for byte against our marshallers, TLS and mutual TLS.
#include <google/protobuf/util/message_differencer.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/test_records.h"
#include "rpc_tools/fake_daemon.h"
#include "support/process.h"
#include "tools/config_edit.h"
#include "xtcp/marshaller.h"

namespace xtcp::testing {
namespace {

namespace cfg = ::xtcp_config::v1;
namespace rec = ::xtcp_flat_record::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kRunLimit = absl::Seconds(30);

RunResult Tool(const std::string& tool, std::vector<std::string> args,
               const std::string& stdin_text = "") {
  args.insert(args.begin(), BuildPath(tool));
  return Run(args, kRunLimit, stdin_text);
}

// `xtcp2ctl <command> -target 127.0.0.1 -port P <rest...>`.
RunResult Ctl(const FakeDaemon& d, const std::string& command, std::vector<std::string> rest = {},
              const std::string& stdin_text = "") {
  std::vector<std::string> args = {command, "-target", "127.0.0.1", "-port",
                                   absl::StrCat(d.port())};
  args.insert(args.end(), rest.begin(), rest.end());
  return Tool("xtcp2ctl", args, stdin_text);
}

RunResult Client(const FakeDaemon& d, std::vector<std::string> rest) {
  std::vector<std::string> args = {"-target", "127.0.0.1", "-port", absl::StrCat(d.port())};
  args.insert(args.end(), rest.begin(), rest.end());
  return Tool("xtcp2client", args);
}

google::protobuf::Duration Pb(int64_t seconds) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  return d;
}

// The config the fake daemon starts with.
cfg::XtcpConfig RunningConfig() {
  cfg::XtcpConfig c;
  *c.mutable_poll_frequency() = Pb(10);
  *c.mutable_poll_timeout() = Pb(5);
  c.set_netlinkers(4);
  c.set_label("lab");
  c.set_dest("kafka:broker:9092");
  c.set_max_loops(0);
  return c;
}

// A loopback port nothing listens on (bound, read and closed).
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/xtcp2-tools-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- xtcp2ctl ----

TEST(CtlTest, GetPrintsTheDaemonsConfigAsOneJsonObject) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "get");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, tools::ConfigToJson(RunningConfig(), false) + "\n");
  EXPECT_THAT(r.out, HasSubstr("\"pollFrequency\":\"10s\""));
  EXPECT_EQ(d->requests().gets, 1);
  EXPECT_EQ(r.err, "");
}

TEST(CtlTest, GetPrettyRoundTripsThroughTheJsonParser) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "get", {"-pretty"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  cfg::XtcpConfig back;
  ASSERT_TRUE(tools::ParseConfigJson(r.out, &back).ok());
  EXPECT_EQ(back.SerializeAsString(), RunningConfig().SerializeAsString());
}

TEST(CtlTest, SetAppliesFieldValuesOnTopOfTheCurrentConfig) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r =
      Ctl(*d, "set",
          {"pollFrequency=30s", "label=rack 7", "max_loops=3", "ioUring=true",
           "enabledDeserializers.info=true", "enabledDeserializers.enabled.vegas=false",
           "uplinkInterfaces=eth0, eth1", "poll_timeout=1.5s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Requests q = d->requests();
  EXPECT_EQ(q.gets, 1);
  ASSERT_EQ(q.sets.size(), 1u);
  const cfg::XtcpConfig& sent = q.sets[0];
  EXPECT_EQ(sent.poll_frequency().seconds(), 30);
  EXPECT_EQ(sent.poll_timeout().seconds(), 1);
  EXPECT_EQ(sent.poll_timeout().nanos(), 500000000);
  EXPECT_EQ(sent.label(), "rack 7");
  EXPECT_EQ(sent.max_loops(), 3u);
  EXPECT_TRUE(sent.io_uring());
  EXPECT_EQ(sent.enabled_deserializers().enabled().at("info"), true);
  EXPECT_EQ(sent.enabled_deserializers().enabled().at("vegas"), false);
  EXPECT_THAT(sent.uplink_interfaces(), ::testing::ElementsAre("eth0", "eth1"));
  // Untouched fields come from Get.
  EXPECT_EQ(sent.netlinkers(), 4u);
  EXPECT_EQ(sent.dest(), "kafka:broker:9092");
  // The answer is the config now in force (map order in JSON is not fixed: compare messages).
  cfg::XtcpConfig answer;
  ASSERT_TRUE(tools::ParseConfigJson(r.out, &answer).ok()) << r.out;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(answer, d->config()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(answer, sent));
}

TEST(CtlTest, SetFromAFileSendsThatConfigWithoutAGet) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const std::string path = TempDir() + "/config.json";
  std::ofstream(path) << R"({"netlinkers": 2, "dest": "file:/tmp/x", "poll_frequency": "20s"})";
  const RunResult r = Ctl(*d, "set", {"-file", path, "label=fromfile"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Requests q = d->requests();
  EXPECT_EQ(q.gets, 0);
  ASSERT_EQ(q.sets.size(), 1u);
  cfg::XtcpConfig want;
  want.set_netlinkers(2);
  want.set_dest("file:/tmp/x");
  *want.mutable_poll_frequency() = Pb(20);
  want.set_label("fromfile");
  EXPECT_EQ(q.sets[0].SerializeAsString(), want.SerializeAsString()) << q.sets[0].DebugString();
}

TEST(CtlTest, SetFromStdinAndUpstreamsReconfigure) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const std::string json = R"({"netlinkers": 8, "label": "stdin"})";
  EXPECT_EQ(Ctl(*d, "set", {"-file", "-"}, json).exit_code, 0);
  // reconfigure reads standard input by default, as upstream's.
  const RunResult r = Ctl(*d, "reconfigure", {}, R"({"netlinkers": 9})");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const Requests q = d->requests();
  ASSERT_EQ(q.sets.size(), 2u);
  EXPECT_EQ(q.sets[0].netlinkers(), 8u);
  EXPECT_EQ(q.sets[0].label(), "stdin");
  EXPECT_EQ(q.sets[1].netlinkers(), 9u);
  EXPECT_EQ(q.gets, 0);
}

TEST(CtlTest, SetRefusedByTheServerPrintsItsTextAndExits3) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "set", {"netlinkers=0"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err,
            "xtcp2ctl: set: rejected by the server (INVALID_ARGUMENT): invalid value \"0\" for "
            "field netlinkers: must be in [1, 100]\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(d->config().netlinkers(), 4u);
}

TEST(CtlTest, BadAssignmentsAreUsageErrorsAndSendNothing) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"nosuchField=1"},
                                             {"netlinkers=-1"},
                                             {"netlinkers=4294967296"},
                                             {"pollFrequency=10"},
                                             {"ioUring=yes"},
                                             {"novalue"},
                                             {"enabledDeserializers=x"}}) {
    const RunResult r = Ctl(*d, "set", args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(args[0].substr(0, args[0].find('=')))) << r.err;
  }
  const RunResult none = Ctl(*d, "set");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("set needs -file"));
  const RunResult bad_json = Ctl(*d, "set", {"-file", "-"}, "{\"nope\": 1}");
  EXPECT_EQ(bad_json.exit_code, 2);
  EXPECT_THAT(bad_json.err, HasSubstr("not an XtcpConfig"));
  const Requests q = d->requests();
  EXPECT_EQ(q.gets, 0);
  EXPECT_TRUE(q.sets.empty());
}

TEST(CtlTest, FrequencySendsBothDurationsAndPrintsTheConfig) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "frequency", {"-frequency", "30s", "-timeout=2500ms"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Requests q = d->requests();
  ASSERT_EQ(q.frequencies.size(), 1u);
  EXPECT_EQ(q.frequencies[0].poll_frequency().seconds(), 30);
  EXPECT_EQ(q.frequencies[0].poll_timeout().seconds(), 2);
  EXPECT_EQ(q.frequencies[0].poll_timeout().nanos(), 500000000);
  EXPECT_EQ(r.out, tools::ConfigToJson(d->config(), false) + "\n");
  EXPECT_THAT(r.out, HasSubstr("\"pollTimeout\":\"2.500s\""));
}

TEST(CtlTest, FrequencyTimeoutAboveFrequencyIsRefused) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  // Upstream's name, and -timeout as the poll timeout as there.
  const RunResult r = Ctl(*d, "set-poll-frequency", {"-frequency", "5s", "-timeout", "5s"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT): poll_timeout must be less than poll_frequency"));
  const RunResult missing = Ctl(*d, "frequency", {"-frequency", "5s"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("needs -frequency and -timeout"));
  EXPECT_EQ(d->requests().frequencies.size(), 1u);
}

TEST(CtlTest, PollAndTriggerPoll) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "poll");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{}\n");
  EXPECT_EQ(Ctl(*d, "trigger-poll").exit_code, 0);
  EXPECT_EQ(d->requests().polls, 2);
}

TEST(CtlTest, BurstSendsCountAndInterval) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "burst", {"-count", "3", "-interval", "6s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"count\":3,\"interval\":\"6s\"}\n");
  EXPECT_EQ(Ctl(*d, "poll-burst").exit_code, 0);  // upstream's defaults: 6 polls, 10 s apart
  const Requests q = d->requests();
  ASSERT_EQ(q.bursts.size(), 2u);
  EXPECT_EQ(q.bursts[0].count(), 3u);
  EXPECT_EQ(q.bursts[0].interval().seconds(), 6);
  EXPECT_EQ(q.bursts[1].count(), 6u);
  EXPECT_EQ(q.bursts[1].interval().seconds(), 10);
}

TEST(CtlTest, BurstOutOfRangeIsRejectedWithTheServersText) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "burst", {"-count", "0"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err,
            "xtcp2ctl: burst: rejected by the server (INVALID_ARGUMENT): count 0 is not in "
            "1..1000\n");
  const RunResult slow = Ctl(*d, "burst", {"-count", "2", "-interval", "5s"});
  EXPECT_EQ(slow.exit_code, 3);
  EXPECT_THAT(slow.err, HasSubstr("interval must exceed the poll timeout"));
}

TEST(CtlTest, S3SendsOnlyWhatIsGivenAndReportsFailedPrecondition) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "s3", {"-flushInterval", "5s"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err,
            "xtcp2ctl: s3: rejected by the server (FAILED_PRECONDITION): dest is "
            "\"kafka:broker:9092\", not s3parquet\n");
  const RunResult upstream = Ctl(*d, "set-s3", {"-threshold-bytes", "1000"});
  EXPECT_EQ(upstream.exit_code, 3);
  const Requests q = d->requests();
  ASSERT_EQ(q.s3.size(), 2u);
  EXPECT_TRUE(q.s3[0].has_s3_flush_interval());
  EXPECT_EQ(q.s3[0].s3_flush_interval().seconds(), 5);
  EXPECT_EQ(q.s3[0].s3_parquet_flush_threshold_bytes(), 0u);
  EXPECT_FALSE(q.s3[1].has_s3_flush_interval());
  EXPECT_EQ(q.s3[1].s3_parquet_flush_threshold_bytes(), 1000u);
  EXPECT_EQ(Ctl(*d, "s3").exit_code, 2);
}

TEST(CtlTest, S3AgainstAnS3ParquetDaemonPrintsTheNewConfig) {
  cfg::XtcpConfig c = RunningConfig();
  c.set_dest("s3parquet:bucket");
  auto d = FakeDaemon::Start({}, c);
  ASSERT_NE(d, nullptr);
  const RunResult r = Ctl(*d, "s3", {"-flushInterval=7s", "-thresholdBytes=4096"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"s3FlushInterval\":\"7s\""));
  EXPECT_THAT(r.out, HasSubstr("\"s3ParquetFlushThresholdBytes\":4096"));
}

TEST(CtlTest, UnreachableDaemonIsOneLineAndExit1) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  const RunResult r = Tool("xtcp2ctl", {"get", "-port", absl::StrCat(port)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("xtcp2ctl: get: cannot reach localhost:", port, ": ")));
  EXPECT_THAT(r.err, HasSubstr("Connection refused"));
  EXPECT_THAT(r.err, Not(HasSubstr("TLS")));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CtlTest, SlowAnswerHitsTheTimeout) {
  FakeDaemonOptions o;
  o.get_delay = absl::Seconds(2);
  auto d = FakeDaemon::Start(o, RunningConfig());
  ASSERT_NE(d, nullptr);
  const absl::Time start = absl::Now();
  const RunResult r = Ctl(*d, "get", {"-timeout", "300ms"});
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, absl::StrCat("xtcp2ctl: get: no answer from 127.0.0.1:", d->port(),
                                " within 300ms (-timeout)\n"));
  // -timeout 0: no deadline.
  EXPECT_EQ(Ctl(*d, "get", {"-timeout", "0"}).exit_code, 0);
}

TEST(CtlTest, UsageErrorsExit2WithOneLineNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"get", "-bogus"},
            "xtcp2ctl: flag provided but not defined: -bogus (see xtcp2ctl get -h)\n"},
           {{"get", "-port", "0"},
            "xtcp2ctl: invalid value \"0\" for flag -port: out of range [1, 65535]\n"},
           {{"get", "-timeout"}, "xtcp2ctl: flag needs an argument: -timeout\n"},
           {{"burst", "-interval=soon"},
            "xtcp2ctl: invalid value \"soon\" for flag -interval: parse error (want a duration "
            "such as 10s)\n"},
           {{"get", "extra"},
            "xtcp2ctl: unexpected argument \"extra\" for get (see xtcp2ctl get -h)\n"},
           {{"frob"},
            "xtcp2ctl: unknown command \"frob\" (commands: get, set, frequency, poll, burst, "
            "s3)\n"},
           {{"-port", "1", "get"},
            "xtcp2ctl: the command comes first: xtcp2ctl <command> [flags] (commands: get, set, "
            "frequency, poll, burst, s3)\n"},
           {{"get", "-tlsCa", "/nonexistent/ca.pem"},
            "xtcp2ctl: cannot read the -tlsCa file /nonexistent/ca.pem: No such file or "
            "directory\n"},
           {{"get", "-tlsCert", "/nonexistent/c.pem"},
            "xtcp2ctl: -tlsCert and -tlsKey go together\n"},
       }) {
    const RunResult r = Tool("xtcp2ctl", c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_EQ(r.err, c.err);
  }
  EXPECT_EQ(Tool("xtcp2ctl", {}).exit_code, 2);
}

TEST(CtlTest, HelpAndVersionGoToStdout) {
  const RunResult help = Tool("xtcp2ctl", {"-h"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"get", "set", "frequency", "poll", "burst", "s3", "-tlsCa", "Exit"}) {
    EXPECT_THAT(help.out, HasSubstr(word));
  }
  const RunResult burst = Tool("xtcp2ctl", {"burst", "-h"});
  EXPECT_EQ(burst.exit_code, 0);
  EXPECT_THAT(burst.out, HasSubstr("-count"));
  const RunResult v = Tool("xtcp2ctl", {"-v"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_THAT(v.out, HasSubstr("xtcp2ctl commit:"));
  EXPECT_THAT(v.out, HasSubstr("version:"));
}

TEST(CtlTest, UnixSocketTarget) {
  const std::string sock = TempDir() + "/xtcp2.sock";
  FakeDaemonOptions o;
  o.address = "unix:" + sock;
  auto d = FakeDaemon::Start(o, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Tool("xtcp2ctl", {"get", "-target", "unix:" + sock});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, tools::ConfigToJson(RunningConfig(), false) + "\n");
}

// ---- xtcp2client ----

std::vector<record::FlatRecord> FlatRecords() {
  std::vector<record::FlatRecord> out = {Ipv4Record(), Ipv6Record(), MappedRecord(), FullRecord()};
  for (uint64_t n = 100; n < 104; ++n) out.push_back(NumberedRecord(n));
  return out;  // 8 records
}

std::vector<rec::XtcpFlatRecord> ProtoRecords() {
  std::vector<rec::XtcpFlatRecord> out;
  for (const record::FlatRecord& r : FlatRecords()) record::ToProto(r, &out.emplace_back());
  return out;
}

// What the daemon's marshaller `format` prints, in one Envelope, for `n` records: the first
// `period` of FlatRecords() (default all) over and over.
std::string Marshalled(const std::string& format, size_t n, const std::string& columns = "",
                       size_t period = 0) {
  const std::vector<record::FlatRecord> all = FlatRecords();
  if (period == 0) period = all.size();
  TestEnvelope env;
  for (size_t i = 0; i < n; ++i) env.Add(all[i % period]);
  auto m = CreateMarshaller(MarshalOptions{format, columns});
  EXPECT_TRUE(m.ok()) << m.status();
  std::string out;
  EXPECT_TRUE((*m)->Marshal(env.view(), &out).ok());
  return out;
}

FakeDaemonOptions Streaming() {
  FakeDaemonOptions o;
  o.records = ProtoRecords();
  return o;
}

TEST(ClientTest, FivePrintsExactlyFiveRecordsAsTheJsonlMarshaller) {
  auto d = FakeDaemon::Start(Streaming());
  ASSERT_NE(d, nullptr);
  const RunResult r = Client(*d, {"-n", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Marshalled("jsonl", 5));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(d->requests().flat_record_streams, 1);
}

TEST(ClientTest, EveryDaemonFormatPrintsWhatTheDaemonWould) {
  auto d = FakeDaemon::Start(Streaming());
  ASSERT_NE(d, nullptr);
  // Formats whose bytes for N one-row envelopes equal those for one N-row envelope.
  for (const char* format : {"jsonl", "humanize", "csv", "tsv"}) {
    const RunResult r = Client(*d, {"-n", "8", "-format", format});
    EXPECT_EQ(r.exit_code, 0) << format << r.err;
    EXPECT_EQ(r.out, Marshalled(format, 8)) << format;
  }
  const RunResult cols =
      Client(*d, {"-n", "3", "-format", "csv", "-columns", "inetDiagMsgSocketSource,tcpInfoRtt"});
  EXPECT_EQ(cols.out, Marshalled("csv", 3, "inetDiagMsgSocketSource,tcpInfoRtt"));
  EXPECT_EQ(cols.out,
            "inetDiagMsgSocketSource,tcpInfoRtt\n127.0.0.1,1234\n2001:db8::1,0\n192.0.2.7,0\n");
  // Upstream's json is jsonl; null prints nothing.
  EXPECT_EQ(Client(*d, {"-n", "2", "-format", "json"}).out, Marshalled("jsonl", 2));
  EXPECT_EQ(Client(*d, {"-n", "2", "-json"}).out, Marshalled("jsonl", 2));
  const RunResult null = Client(*d, {"-n", "2", "-format", "null"});
  EXPECT_EQ(null.exit_code, 0);
  EXPECT_EQ(null.out, "");
}

TEST(ClientTest, PerRecordFormatsPrintOneEnvelopePerRecord) {
  auto d = FakeDaemon::Start(Streaming());
  ASSERT_NE(d, nullptr);
  for (const char* format : {"protobufList", "protoJson", "protoText", "msgpack"}) {
    const RunResult r = Client(*d, {"-n", "3", "-format", format});
    EXPECT_EQ(r.exit_code, 0) << format << r.err;
    std::string want;
    const std::vector<record::FlatRecord> all = FlatRecords();
    auto m = CreateMarshaller(MarshalOptions{format, ""});
    ASSERT_TRUE(m.ok());
    for (size_t i = 0; i < 3; ++i) {
      TestEnvelope one;
      one.Add(all[i]);
      ASSERT_TRUE((*m)->Marshal(one.view(), &want).ok());
    }
    EXPECT_EQ(r.out, want) << format;
  }
}

TEST(ClientTest, PollSendsARequestAtOnceAndThenEveryPollFrequency) {
  auto d = FakeDaemon::Start(Streaming());
  ASSERT_NE(d, nullptr);
  // 8 records per request: 20 records need three requests, 200 ms apart.
  const absl::Time start = absl::Now();
  const RunResult r = Client(*d, {"-poll", "-pollFrequency", "200ms", "-n", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Marshalled("jsonl", 20));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(400));
  EXPECT_EQ(d->requests().poll_requests, 3);
  EXPECT_EQ(d->requests().flat_record_streams, 0);
}

TEST(ClientTest, PollFirstRequestDoesNotWaitForTheFrequency) {
  auto d = FakeDaemon::Start(Streaming());
  ASSERT_NE(d, nullptr);
  const absl::Time start = absl::Now();
  const RunResult r = Client(*d, {"-poll", "-pollFrequency", "1h", "-n", "8"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(r.out, Marshalled("jsonl", 8));
  EXPECT_EQ(d->requests().poll_requests, 1);
}

TEST(ClientTest, StreamEndedByTheDaemonBeforeNIsExit1) {
  FakeDaemonOptions o = Streaming();
  o.end_stream = true;
  auto d = FakeDaemon::Start(o);
  ASSERT_NE(d, nullptr);
  const RunResult r = Client(*d, {"-n", "10"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, Marshalled("jsonl", 8));
  EXPECT_EQ(r.err, "xtcp2client: the daemon ended the stream after 8 of 10 records\n");
  // Without -n the end of the stream is the end of the work.
  EXPECT_EQ(Client(*d, {}).exit_code, 0);
}

TEST(ClientTest, ReconnectResumesAfterTheStreamEnds) {
  FakeDaemonOptions o = Streaming();
  o.records.resize(3);
  o.end_stream = true;
  auto d = FakeDaemon::Start(o);
  ASSERT_NE(d, nullptr);
  const RunResult r = Client(*d, {"-reconnect", "-n", "7"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Marshalled("jsonl", 7, "", 3));
  EXPECT_EQ(d->requests().flat_record_streams, 3);
  EXPECT_THAT(r.err,
              HasSubstr("xtcp2client: stream: the daemon ended the stream; reconnecting in 1"));
}

TEST(ClientTest, UnreachableIsExit1AndCtrlCEndsARetryingClient) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  const RunResult r = Tool("xtcp2client", {"-port", absl::StrCat(port)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("xtcp2client: stream: cannot reach localhost:", port)));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  const std::string err_path = TempDir() + "/err";
  Child c =
      Child::Start({BuildPath("xtcp2client"), "-port", absl::StrCat(port), "-reconnect"}, err_path);
  ASSERT_TRUE(c.ok());
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(ReadFile(err_path), "reconnecting in") && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  c.Signal(SIGINT);
  EXPECT_EQ(c.Wait(absl::Seconds(5)), 0);
  EXPECT_THAT(ReadFile(err_path), HasSubstr("cannot reach"));
}

TEST(ClientTest, CtrlCEndsAnOpenStreamCleanly) {
  auto d = FakeDaemon::Start(Streaming());
  ASSERT_NE(d, nullptr);
  Child c = Child::Start(
      {BuildPath("xtcp2client"), "-target", "127.0.0.1", "-port", absl::StrCat(d->port())});
  ASSERT_TRUE(c.ok());
  std::string got;
  for (int i = 0; i < 8; ++i) got += c.ReadLine(absl::Seconds(10)) + "\n";
  EXPECT_EQ(got, Marshalled("jsonl", 8));
  c.Signal(SIGINT);
  EXPECT_EQ(c.Wait(absl::Seconds(5)), 0);
}

TEST(ClientTest, UsageErrors) {
  for (const auto& [args, err] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"-format", "xml"},
            "xtcp2client: invalid value \"xml\" for flag -format: must be one of protobufList, "
            "protoJson, protoText, msgpack, jsonl, csv, tsv, humanize, json (= jsonl), null\n"},
           {{"-format", "csv", "-columns", "nope"}, ""},
           {{"-n", "-1"},
            "xtcp2client: invalid value \"-1\" for flag -n: parse error (want an unsigned "
            "integer)\n"},
           {{"-pollFrequency", "0s"},
            "xtcp2client: invalid value \"0s\" for flag -pollFrequency: must be above zero\n"},
           {{"-workers", "3"},
            "xtcp2client: flag provided but not defined: -workers (see xtcp2client -h)\n"},
           {{"stray"}, "xtcp2client: unexpected argument \"stray\" (see xtcp2client -h)\n"},
       }) {
    const RunResult r = Tool("xtcp2client", args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    if (!err.empty()) {
      EXPECT_EQ(r.err, err);
    } else {
      EXPECT_THAT(r.err, HasSubstr("unknown column \"nope\""));
    }
  }
  EXPECT_EQ(Tool("xtcp2client", {"-h"}).exit_code, 0);
  EXPECT_THAT(Tool("xtcp2client", {"-v"}).out, HasSubstr("xtcp2client commit:"));
}

// ---- TLS ----

// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made by openssl
// in a temporary directory.
class Pki {
 public:
  static bool Make(Pki* p) {
    p->dir_ = TempDir();
    for (const std::string ca : {"ca", "other"}) {
      if (!Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", p->Path(ca + ".key"), "-out", p->Path(ca + ".crt"),
                    "-days", "2", "-subj", "/CN=xtcp2 test " + ca})) {
        return false;
      }
    }
    return p->Leaf("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1") &&
           p->Leaf("client", "/CN=xtcp2 test client", "extendedKeyUsage=clientAuth");
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Read(const std::string& name) const { return ReadFile(Path(name)); }

  std::shared_ptr<grpc::ServerCredentials> Server(bool require_client_cert) const {
    grpc::SslServerCredentialsOptions o(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    o.pem_key_cert_pairs.push_back({Read("server.key"), Read("server.crt")});
    if (require_client_cert) o.pem_root_certs = Read("ca.crt");
    return grpc::SslServerCredentials(o);
  }

 private:
  static bool Openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    const RunResult r = Run(args, absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0;
  }
  bool Leaf(const std::string& name, const std::string& subject, const std::string& ext) {
    return Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", Path(name + ".key"), "-out", Path(name + ".csr"), "-subj", subject,
                    "-addext", ext}) &&
           Openssl({"x509", "-req", "-in", Path(name + ".csr"), "-CA", Path("ca.crt"), "-CAkey",
                    Path("ca.key"), "-CAcreateserial", "-out", Path(name + ".crt"), "-days", "2",
                    "-copy_extensions", "copy"});
  }
  std::string dir_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::Run({"openssl", "version"}).exit_code != 0)
      GTEST_SKIP() << "openssl not installed";
    ASSERT_TRUE(Pki::Make(&pki_));
  }
  std::unique_ptr<FakeDaemon> StartTls(bool mtls) {
    FakeDaemonOptions o = Streaming();
    o.credentials = pki_.Server(mtls);
    return FakeDaemon::Start(o, RunningConfig());
  }
  RunResult Get(const FakeDaemon& d, std::vector<std::string> tls) {
    std::vector<std::string> args = {"get", "-port", absl::StrCat(d.port())};
    args.insert(args.end(), tls.begin(), tls.end());
    return Tool("xtcp2ctl", args);
  }
  Pki pki_;
};

TEST_F(TlsTest, RightCaWorksForBothTools) {
  auto d = StartTls(false);
  ASSERT_NE(d, nullptr);
  const RunResult r = Get(*d, {"-tlsCa", pki_.Path("ca.crt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, tools::ConfigToJson(RunningConfig(), false) + "\n");
  // By address, naming the certificate's host.
  const RunResult by_ip =
      Tool("xtcp2client", {"-target", "127.0.0.1", "-port", absl::StrCat(d->port()), "-tlsCa",
                           pki_.Path("ca.crt"), "-tlsServerName", "localhost", "-n", "4"});
  EXPECT_EQ(by_ip.exit_code, 0) << by_ip.err;
  EXPECT_EQ(by_ip.out, Marshalled("jsonl", 4));
}

TEST_F(TlsTest, PlaintextClientAgainstATlsServerSaysSo) {
  auto d = StartTls(false);
  ASSERT_NE(d, nullptr);
  const RunResult r = Get(*d, {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("xtcp2ctl: get: cannot reach localhost:", d->port())));
  EXPECT_THAT(r.err, HasSubstr("-tlsCa"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(TlsTest, WrongCaIsATlsHandshakeFailure) {
  auto d = StartTls(false);
  ASSERT_NE(d, nullptr);
  const RunResult r = Get(*d, {"-tlsCa", pki_.Path("other.crt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                         "xtcp2ctl: get: TLS handshake with localhost:", d->port(), " failed: ")));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // A name the certificate does not carry.
  const RunResult name = Get(*d, {"-tlsCa", pki_.Path("ca.crt"), "-tlsServerName", "elsewhere"});
  EXPECT_EQ(name.exit_code, 1);
  EXPECT_THAT(name.err, HasSubstr("TLS handshake with"));
}

TEST_F(TlsTest, TlsClientAgainstAPlaintextServer) {
  auto d = FakeDaemon::Start({}, RunningConfig());
  ASSERT_NE(d, nullptr);
  const RunResult r = Get(*d, {"-tlsCa", pki_.Path("ca.crt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("TLS handshake with"));
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutCertificate) {
  auto d = StartTls(true);
  ASSERT_NE(d, nullptr);
  const RunResult without = Get(*d, {"-tlsCa", pki_.Path("ca.crt")});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_THAT(
      without.err,
      HasSubstr(absl::StrCat("xtcp2ctl: get: cannot reach localhost:", d->port(), " over TLS: ")));
  EXPECT_THAT(without.err, HasSubstr("pass -tlsCert/-tlsKey"));
  EXPECT_EQ(without.out, "");
  EXPECT_EQ(d->requests().gets, 0);
  const RunResult with = Get(*d, {"-tlsCa", pki_.Path("ca.crt"), "-tlsCert",
                                  pki_.Path("client.crt"), "-tlsKey", pki_.Path("client.key")});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(d->requests().gets, 1);
  const RunResult stream = Tool(
      "xtcp2client", {"-port", absl::StrCat(d->port()), "-tlsCa", pki_.Path("ca.crt"), "-tlsCert",
                      pki_.Path("client.crt"), "-tlsKey", pki_.Path("client.key"), "-n", "2"});
  EXPECT_EQ(stream.exit_code, 0) << stream.err;
  EXPECT_EQ(stream.out, Marshalled("jsonl", 2));
}

}  // namespace
}  // namespace xtcp::testing
