// deploy/clickhouse/*.sql against our record schema, without a ClickHouse (Debian's 18.16 predates
// ProtobufList). The generated format schema, parsed by protoc at build time (the parser ClickHouse
// embeds) into a descriptor set, is resolved the way ClickHouse resolves kafka_schema (the file's
// top-level Envelope, then its nested XtcpFlatRecord), and compared
// field by field with the XtcpFlatRecord the daemon serializes; the Kafka table must have a column
// of a matching type for every field (ClickHouse matches columns to fields by name) and the
// MergeTree table must hold every column the materialized view moves.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.pb.h"

namespace xtcp::testing {
namespace {

namespace pb = ::google::protobuf;
using ::testing::HasSubstr;

// protoc --descriptor_set_out of build/deploy/clickhouse/format_schemas/xtcp_flat_record.proto.
constexpr char kSchemaDescriptorSet[] = XTCP_BINARY_DIR "/tests/deploy/format_schema.desc";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sql(const std::string& name) {
  return ReadFile(absl::StrCat(XTCP_SOURCE_DIR, "/deploy/clickhouse/", name));
}

// Column name -> type of `CREATE TABLE ... <table> ( ... )`: one column per line, comments and
// CODEC(...) dropped, ALIAS columns skipped (they are computed, never inserted).
std::map<std::string, std::string> Columns(const std::string& sql, const std::string& table) {
  std::map<std::string, std::string> out;
  const size_t create = sql.find(absl::StrCat("CREATE TABLE IF NOT EXISTS ", table, "\n("));
  if (create == std::string::npos) return out;
  const size_t end = sql.find("\n)", create);
  const std::string body = sql.substr(create, end - create);
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    line = absl::StripAsciiWhitespace(line.substr(0, line.find("--")));
    absl::ConsumeSuffix(&line, ",");
    const size_t space = line.find(' ');
    if (line.empty() || line[0] == '(' || absl::StartsWith(line, "CREATE") ||
        space == std::string::npos) {
      continue;
    }
    const absl::string_view name = line.substr(0, space);
    // Continuation lines of a multi-line expression do not start with a column name.
    if (!std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_'; })) {
      continue;
    }
    std::string type(absl::StripAsciiWhitespace(line.substr(space)));
    if (absl::StartsWith(type, "ALIAS ")) continue;
    if (const size_t codec = type.find(" CODEC("); codec != std::string::npos) type.resize(codec);
    out[std::string(name)] = type;
  }
  return out;
}

// Value -> name of an Enum8('A' = 0, 'B' = 1) type.
std::map<int, std::string> EnumValues(absl::string_view type) {
  std::map<int, std::string> out;
  if (!absl::ConsumePrefix(&type, "Enum8(") || !absl::ConsumeSuffix(&type, ")")) return out;
  for (absl::string_view item : absl::StrSplit(type, ',')) {
    std::vector<std::string> kv = absl::StrSplit(item, '=');
    int value = -1;
    if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &value)) {
      out[value] = std::string(absl::StripAsciiWhitespace(kv[0]));
    }
  }
  return out;
}

// The ClickHouse type a column must have to receive this proto field.
std::string KafkaType(const pb::FieldDescriptor& f) {
  switch (f.type()) {
    case pb::FieldDescriptor::TYPE_UINT32:
      return "UInt32";
    case pb::FieldDescriptor::TYPE_UINT64:
      return "UInt64";
    case pb::FieldDescriptor::TYPE_INT64:
      return "Int64";
    case pb::FieldDescriptor::TYPE_STRING:
    case pb::FieldDescriptor::TYPE_BYTES:
      return "String";
    case pb::FieldDescriptor::TYPE_ENUM:
      return "Enum8";
    default:
      return absl::StrCat("unsupported proto type ", f.type_name());
  }
}

const pb::Descriptor& Record() { return *xtcp_flat_record::v1::XtcpFlatRecord::descriptor(); }

TEST(ClickHouseFormatSchemaTest, ResolvesLikeProtobufListAndMatchesOurRecord) {
  const std::string sql = Sql("030_xtcp_flat_records_kafka.sql");
  ASSERT_THAT(sql, HasSubstr("kafka_format = 'ProtobufList'"));
  const std::string key = "kafka_schema = '";
  const size_t at = sql.find(key);
  ASSERT_NE(at, std::string::npos);
  const std::string schema =
      sql.substr(at + key.size(), sql.find('\'', at + key.size()) - at - key.size());
  const std::vector<std::string> parts = absl::StrSplit(schema, ':');
  ASSERT_EQ(parts.size(), 2u) << schema;

  pb::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(ReadFile(kSchemaDescriptorSet))) << kSchemaDescriptorSet;
  ASSERT_EQ(set.file_size(), 1);
  EXPECT_EQ(set.file(0).name(), parts[0]);  // the name kafka_schema gives, in format_schema_path
  pb::DescriptorPool pool;
  const pb::FileDescriptor* file = pool.BuildFile(set.file(0));
  ASSERT_NE(file, nullptr);
  const pb::Descriptor* envelope = file->FindMessageTypeByName("Envelope");
  ASSERT_NE(envelope, nullptr);
  const pb::Descriptor* row = envelope->FindNestedTypeByName(parts[1]);
  ASSERT_NE(row, nullptr) << "ProtobufList finds " << parts[1] << " only nested in Envelope";
  // The daemon's Envelope carries rows as field 10; so does the derived one.
  ASSERT_EQ(envelope->field_count(), 1);
  EXPECT_EQ(envelope->field(0)->number(),
            xtcp_flat_record::v1::Envelope::descriptor()->FindFieldByName("row")->number());

  ASSERT_EQ(row->field_count(), Record().field_count());
  for (int i = 0; i < Record().field_count(); ++i) {
    const pb::FieldDescriptor& ours = *Record().field(i);
    const pb::FieldDescriptor* theirs = row->FindFieldByName(ours.name());
    ASSERT_NE(theirs, nullptr) << ours.name();
    EXPECT_EQ(theirs->number(), ours.number()) << ours.name();
    EXPECT_EQ(theirs->type(), ours.type()) << ours.name();
    EXPECT_EQ(theirs->is_repeated(), ours.is_repeated()) << ours.name();
  }
}

TEST(ClickHouseKafkaTableTest, HasAColumnOfTheRightTypeForEveryField) {
  const std::map<std::string, std::string> columns =
      Columns(Sql("030_xtcp_flat_records_kafka.sql"), "xtcp.xtcp_flat_records_kafka");
  ASSERT_FALSE(columns.empty());
  EXPECT_EQ(columns.size(), static_cast<size_t>(Record().field_count()));
  for (int i = 0; i < Record().field_count(); ++i) {
    const pb::FieldDescriptor& f = *Record().field(i);
    auto it = columns.find(f.name());
    ASSERT_NE(it, columns.end()) << "no column for field " << f.name();
    EXPECT_TRUE(absl::StartsWith(it->second, KafkaType(f))) << f.name() << ": " << it->second;
  }
}

TEST(ClickHouseKafkaTableTest, EnumColumnsAgreeWithTheProtoEnums) {
  const std::map<std::string, std::string> kafka =
      Columns(Sql("030_xtcp_flat_records_kafka.sql"), "xtcp.xtcp_flat_records_kafka");
  const std::map<std::string, std::string> table =
      Columns(Sql("020_xtcp_flat_records.sql"), "xtcp.xtcp_flat_records");
  int enums = 0;
  for (int i = 0; i < Record().field_count(); ++i) {
    const pb::FieldDescriptor& f = *Record().field(i);
    if (f.type() != pb::FieldDescriptor::TYPE_ENUM) continue;
    ++enums;
    std::map<int, std::string> want;
    for (int v = 0; v < f.enum_type()->value_count(); ++v) {
      want[f.enum_type()->value(v)->number()] =
          absl::StrCat("'", f.enum_type()->value(v)->name(), "'");
    }
    EXPECT_EQ(EnumValues(kafka.at(f.name())), want) << f.name();
    EXPECT_EQ(EnumValues(table.at(f.name())), want) << f.name();
  }
  EXPECT_GE(enums, 1);
}

TEST(ClickHouseMergeTreeTest, StoresEveryFieldTheViewMoves) {
  const std::map<std::string, std::string> kafka =
      Columns(Sql("030_xtcp_flat_records_kafka.sql"), "xtcp.xtcp_flat_records_kafka");
  const std::map<std::string, std::string> table =
      Columns(Sql("020_xtcp_flat_records.sql"), "xtcp.xtcp_flat_records");
  ASSERT_EQ(table.size(), kafka.size());
  for (const auto& [name, type] : kafka) {
    auto it = table.find(name);
    ASSERT_NE(it, table.end()) << name;
    if (name == "timestamp_ns") {
      EXPECT_EQ(it->second, "DateTime64(9, 'UTC')");  // converted by the view
    } else if (type == "String") {
      EXPECT_THAT(it->second, ::testing::AnyOf("String", "LowCardinality(String)")) << name;
    } else {
      EXPECT_EQ(it->second, type) << name;
    }
  }
  const std::string mv = Sql("040_xtcp_flat_records_mv.sql");
  EXPECT_THAT(mv, HasSubstr("fromUnixTimestamp64Nano(timestamp_ns, 'UTC') AS timestamp_ns"));
  EXPECT_THAT(mv, HasSubstr("FROM xtcp.xtcp_flat_records_kafka\nWHERE length(_error) = 0"));
}

TEST(ClickHouseErrorsTest, BrokenMessagesAreStreamedToTheErrorsTable) {
  EXPECT_THAT(Sql("030_xtcp_flat_records_kafka.sql"),
              HasSubstr("kafka_handle_error_mode = 'stream'"));
  const std::string errors = Sql("050_xtcp_flat_records_errors.sql");
  EXPECT_THAT(errors, HasSubstr("_error AS error"));
  EXPECT_THAT(errors, HasSubstr("_raw_message AS raw_message"));
  EXPECT_THAT(errors, HasSubstr("WHERE length(_error) > 0"));
  EXPECT_FALSE(Columns(errors, "xtcp.xtcp_flat_records_errors").empty());
}

// The parser above is what the other tests trust: it must see a column that is there and not
// invent one that is not.
TEST(ClickHouseDdlParserTest, ReadsColumnsAndSkipsAliasesAndCodecs) {
  const std::string sql =
      "CREATE TABLE IF NOT EXISTS t.x\n(\n    a UInt32,  -- c\n    b String CODEC(ZSTD),\n"
      "    c ALIAS if(a = 2,\n        toString(a),\n        toString(b))\n)\nENGINE = Null;";
  const std::map<std::string, std::string> want = {{"a", "UInt32"}, {"b", "String"}};
  EXPECT_EQ(Columns(sql, "t.x"), want);
  EXPECT_TRUE(Columns(sql, "t.y").empty());
}

}  // namespace
}  // namespace xtcp::testing
