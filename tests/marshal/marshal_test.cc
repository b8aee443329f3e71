// Golden tests of every marshaller on fixed records (tests/marshal/test_records.h).
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "marshal/test_records.h"
#include "xtcp/marshaller.h"

namespace xtcp {
namespace {

using ::testing::HasSubstr;
using testing::Ipv4Record;
using testing::Ipv6Record;
using testing::MakeEnvelope;
using testing::MappedRecord;

std::unique_ptr<Marshaller> Make(const std::string& name, const std::string& columns = "") {
  auto m = CreateMarshaller({name, columns});
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

std::string Encode(Marshaller& m, const testing::TestEnvelope& env) {
  std::string out;
  const absl::Status s = m.Marshal(env.view(), &out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::string Encode(const std::string& name, std::initializer_list<record::FlatRecord> records,
                   const std::string& columns = "") {
  auto m = Make(name, columns);
  return m ? Encode(*m, MakeEnvelope(records)) : "";
}

TEST(MarshallerTable, EveryFormatHasUpstreamNameContentTypeAndMetricOp) {
  struct Want {
    const char *name, *content_type, *op;
  };
  for (const Want& w :
       std::vector<Want>{{"protobufList", "application/octet-stream", "protobufListMarshal"},
                         {"protoJson", "application/json", "envelopeProtoJSONMarshal"},
                         {"protoText", "text/plain; charset=utf-8", "envelopeProtoTextMarshal"},
                         {"msgpack", "application/octet-stream", "envelopeMsgPackMarshal"},
                         {"jsonl", "application/x-ndjson", "envelopeJSONLMarshal"},
                         {"humanize", "application/octet-stream", "envelopeHumanizedJSONLMarshal"},
                         {"csv", "text/csv", "envelopeCSVMarshal"},
                         {"tsv", "text/tab-separated-values", "envelopeTSVMarshal"}}) {
    auto m = Make(w.name);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), w.name);
    EXPECT_EQ(m->content_type(), w.content_type) << w.name;
    EXPECT_EQ(m->metric_op(), w.op) << w.name;
  }
}

TEST(MarshallerTable, UnknownFormatListsTheValidOnes) {
  auto m = CreateMarshaller({"xml", ""});
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "invalid value \"xml\" for flag -marshal: must be one of protobufList, protoJson, "
            "protoText, msgpack, jsonl, csv, tsv, humanize");
}

TEST(Marshal, RowCountMismatchIsDataLoss) {
  auto m = Make("jsonl");
  auto env = MakeEnvelope({Ipv4Record()});
  std::string out;
  EXPECT_EQ(m->Marshal({env.bytes.view(), 2}, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(ProtobufList, IsOneLengthDelimitedEnvelopeReadableWithTheSchema) {
  const std::string out = Encode("protobufList", {Ipv4Record(), Ipv6Record(), MappedRecord()});
  google::protobuf::io::ArrayInputStream in(out.data(), static_cast<int>(out.size()));
  record::ProtoEnvelope env;
  bool clean_eof = false;
  ASSERT_TRUE(google::protobuf::util::ParseDelimitedFromZeroCopyStream(&env, &in, &clean_eof));
  ASSERT_EQ(env.row_size(), 3);
  record::ProtoRecord want;
  record::ToProto(MappedRecord(), &want);
  EXPECT_EQ(env.row(2).SerializeAsString(), want.SerializeAsString());
  EXPECT_FALSE(google::protobuf::util::ParseDelimitedFromZeroCopyStream(&env, &in, &clean_eof));
  EXPECT_TRUE(clean_eof);  // exactly one message, no trailing bytes
}

TEST(ProtoJson, OneEnvelopeObjectPerFlushWithNewline) {
  EXPECT_EQ(Encode("protoJson", {MappedRecord(), MappedRecord()}),
            R"({"row":[{"recordCounter":"9","inetDiagMsgFamily":10,"inetDiagMsgState":6,)"
            R"("inetDiagMsgSocketSource":"AAAAAAAAAAAAAP//wAACBw==",)"
            R"("inetDiagMsgSocketDestination":"IAENuAAAAAAAAQAAAAAAAQ==","tcpInfoState":99},)"
            R"({"recordCounter":"9","inetDiagMsgFamily":10,"inetDiagMsgState":6,)"
            R"("inetDiagMsgSocketSource":"AAAAAAAAAAAAAP//wAACBw==",)"
            R"("inetDiagMsgSocketDestination":"IAENuAAAAAAAAQAAAAAAAQ==","tcpInfoState":99}]})"
            "\n");
}

TEST(ProtoJson, CanonicalMappingOfEveryKind) {
  const std::string out = Encode("protoJson", {Ipv4Record()});
  EXPECT_THAT(out, HasSubstr(R"("timestampNs":"1700000000123456789")"));  // int64 as string
  EXPECT_THAT(out, HasSubstr(R"("tcpInfoRtt":1234)"));                    // uint32 as number
  EXPECT_THAT(out, HasSubstr(R"("tag":"say \"hi\"")"));                   // escaped by protobuf
  EXPECT_THAT(out, HasSubstr(R"("congestionAlgorithmEnum":"CONGESTION_ALGORITHM_CUBIC")"));
  EXPECT_THAT(out, HasSubstr(R"("cGroup":"12345"}]})"));  // json_name of c_group
}

TEST(ProtoText, TextFormatOfTheEnvelopeWithNewline) {
  EXPECT_EQ(Encode("protoText", {MappedRecord()}),
            "row {\n"
            "  record_counter: 9\n"
            "  inet_diag_msg_family: 10\n"
            "  inet_diag_msg_state: 6\n"
            "  inet_diag_msg_socket_source: "
            R"("\000\000\000\000\000\000\000\000\000\000\377\377\300\000\002\007")"
            "\n"
            "  inet_diag_msg_socket_destination: "
            R"(" \001\r\270\000\000\000\000\000\001\000\000\000\000\000\001")"
            "\n"
            "  tcp_info_state: 99\n"
            "}\n"
            "\n");
}

TEST(Jsonl, OneCanonicalJsonRecordPerLine) {
  EXPECT_EQ(
      Encode("jsonl", {MappedRecord(), Ipv6Record()}),
      R"({"recordCounter":"9","inetDiagMsgFamily":10,"inetDiagMsgState":6,)"
      R"("inetDiagMsgSocketSource":"AAAAAAAAAAAAAP//wAACBw==",)"
      R"("inetDiagMsgSocketDestination":"IAENuAAAAAAAAQAAAAAAAQ==","tcpInfoState":99})"
      "\n"
      R"({"schemaVersion":1,"timestampNs":"1700000000000000000","hostname":" host2",)"
      R"("label":"line\nbreak","recordCounter":"8","inetDiagMsgFamily":10,)"
      R"("inetDiagMsgState":10,"inetDiagMsgSocketSourcePort":443,)"
      R"("inetDiagMsgSocketSource":"IAENuAAAAAAAAAAAAAAAAQ==",)"
      R"("inetDiagMsgSocketDestination":"AAAAAAAAAAAAAAAAAAAAAA==","tcpInfoState":10,)"
      R"("congestionAlgorithmString":"bbr","congestionAlgorithmEnum":"CONGESTION_ALGORITHM_BBR1"})"
      "\n");
}

TEST(Humanize, ReadableValuesAndSortedKeys) {
  EXPECT_EQ(
      Encode("humanize", {Ipv4Record(), MappedRecord()}),
      R"({"cGroup":"12345","congestionAlgorithmEnum":"CUBIC","congestionAlgorithmString":"cubic",)"
      R"("daemonVersion":"v0.1.0","hostname":"host1","inetDiagMsgFamily":2,)"
      R"("inetDiagMsgSocketCookie":"42","inetDiagMsgSocketDestination":"10.1.2.3",)"
      R"("inetDiagMsgSocketDestinationPort":80,"inetDiagMsgSocketSource":"127.0.0.1",)"
      R"("inetDiagMsgSocketSourcePort":4009,"inetDiagMsgState":"ESTABLISHED","label":"a,b",)"
      R"("netns":"default","netnsInode":"4026531840","recordCounter":"7","schemaVersion":1,)"
      R"("tag":"say \"hi\"","tcpInfoPacingRate":"10000000000","tcpInfoRtt":1234,)"
      R"("tcpInfoState":"ESTABLISHED","timestampNs":"2023-11-14T22:13:20.123456789Z"})"
      "\n"
      R"({"inetDiagMsgFamily":10,"inetDiagMsgSocketDestination":"2001:db8::1:0:0:1",)"
      R"("inetDiagMsgSocketSource":"192.0.2.7","inetDiagMsgState":"TIME_WAIT",)"
      R"("recordCounter":"9","tcpInfoState":"99"})"
      "\n");
}

TEST(Humanize, Ipv6ZeroAddressAndWholeSecondTimestamp) {
  const std::string out = Encode("humanize", {Ipv6Record()});
  EXPECT_THAT(out, HasSubstr(R"("inetDiagMsgSocketDestination":"::")"));
  EXPECT_THAT(out, HasSubstr(R"("inetDiagMsgSocketSource":"2001:db8::1")"));
  EXPECT_THAT(out, HasSubstr(R"("congestionAlgorithmEnum":"BBR1")"));
  EXPECT_THAT(out, HasSubstr(R"("timestampNs":"2023-11-14T22:13:20Z")"));
  EXPECT_THAT(out, HasSubstr(R"("label":"line\nbreak")"));
}

constexpr char kColumns[] =
    " timestampNs,inetDiagMsgSocketSource, inetDiagMsgSocketDestination ,,inetDiagMsgState,"
    "tcpInfoState,congestionAlgorithmEnum,hostname,label,tag,cGroup ";

TEST(Csv, HumanizedCellsGoQuotingAndHeaderOnce) {
  auto m = Make("csv", kColumns);
  const auto env = MakeEnvelope({Ipv4Record(), Ipv6Record(), MappedRecord()});
  EXPECT_EQ(Encode(*m, env),
            "timestampNs,inetDiagMsgSocketSource,inetDiagMsgSocketDestination,inetDiagMsgState,"
            "tcpInfoState,congestionAlgorithmEnum,hostname,label,tag,cGroup\n"
            "2023-11-14T22:13:20.123456789Z,127.0.0.1,10.1.2.3,ESTABLISHED,ESTABLISHED,CUBIC,"
            "host1,\"a,b\",\"say \"\"hi\"\"\",12345\n"
            "2023-11-14T22:13:20Z,2001:db8::1,::,LISTEN,LISTEN,BBR1,\" host2\",\"line\nbreak\",,0\n"
            ",192.0.2.7,2001:db8::1:0:0:1,TIME_WAIT,99,,,,,0\n");
  // The header is written once per marshaller (the daemon has one per process).
  EXPECT_EQ(Encode(*m, MakeEnvelope({MappedRecord()})),
            ",192.0.2.7,2001:db8::1:0:0:1,TIME_WAIT,99,,,,,0\n");
}

TEST(Tsv, TabDelimitedSameCells) {
  EXPECT_EQ(
      Encode("tsv", {Ipv4Record(), Ipv6Record()}, kColumns),
      "timestampNs\tinetDiagMsgSocketSource\tinetDiagMsgSocketDestination\t"
      "inetDiagMsgState\ttcpInfoState\tcongestionAlgorithmEnum\thostname\tlabel\ttag\tcGroup\n"
      "2023-11-14T22:13:20.123456789Z\t127.0.0.1\t10.1.2.3\tESTABLISHED\tESTABLISHED\tCUBIC\t"
      "host1\ta,b\t\"say \"\"hi\"\"\"\t12345\n"
      "2023-11-14T22:13:20Z\t2001:db8::1\t::\tLISTEN\tLISTEN\tBBR1\t\" host2\"\t"
      "\"line\nbreak\"\t\t0\n");
}

TEST(Csv, QuotesLikeGoEncodingCsv) {
  record::FlatRecord r;
  r.meta.hostname = "\xc2\xa0nbsp";  // starts with U+00A0: unicode.IsSpace
  r.meta.label = "\\.";              // Go quotes exactly `\.`
  r.meta.tag = "cr\rhere";
  r.meta.location = "\tx";
  r.meta.netns = "plain space inside";
  r.meta.container_id = "\xe3\x80\x80wide";     // U+3000 ideographic space
  r.meta.container_name = "\xc3\xa9t\xc3\xa9";  // é: not space
  EXPECT_EQ(Encode("csv", {r}, "hostname,label,tag,location,netns,containerId,containerName"),
            "hostname,label,tag,location,netns,containerId,containerName\n"
            "\"\xc2\xa0nbsp\",\"\\.\",\"cr\rhere\",\"\tx\",plain space inside,"
            "\"\xe3\x80\x80wide\",\xc3\xa9t\xc3\xa9\n");
}

TEST(Csv, DefaultColumnsAreAll156JsonNamesInDeclarationOrder) {
  const std::string out = Encode("csv", {testing::FullRecord()});
  const std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_EQ(lines.size(), 3u);  // header, row, "" after the final newline
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  ASSERT_EQ(header.size(), 156u);
  EXPECT_EQ(header.front(), "schemaVersion");
  EXPECT_EQ(header[2], "timestampNs");
  EXPECT_EQ(header.back(), "cGroup");
  const std::vector<std::string> cells = absl::StrSplit(lines[1], ',');
  ASSERT_EQ(cells.size(), 156u);
  EXPECT_EQ(cells[1], "s2");                 // string raw
  EXPECT_EQ(cells.back(), "2103000014721");  // uint64 decimal (2103 * 1000000007)
}

TEST(Csv, UnknownColumnIsInvalidArgumentNamingIt) {
  auto m = CreateMarshaller({"csv", "hostname, tcpInfoRtt ,bogusName"});
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("-columns: unknown column \"bogusName\""));
  EXPECT_TRUE(CreateMarshaller({"tsv", " , ,"}).ok());         // only blanks: all columns
  EXPECT_TRUE(CreateMarshaller({"jsonl", "bogusName"}).ok());  // ignored by other formats
}

}  // namespace
}  // namespace xtcp
