// The C++ field tables (flat_record.h) and the .proto must describe the same 156 fields.
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "record/flat_record.h"
#include "record/record_codec.h"

namespace xtcp::record {
namespace {

using google::protobuf::FieldDescriptor;

struct Expected {
  int number;
  const char* name;
  FieldDescriptor::Type type;
};

#define XTCP_PTYPE_U32 FieldDescriptor::TYPE_UINT32
#define XTCP_PTYPE_U64 FieldDescriptor::TYPE_UINT64
#define XTCP_PTYPE_I64 FieldDescriptor::TYPE_INT64
#define XTCP_PTYPE_ENUM FieldDescriptor::TYPE_ENUM
#define XTCP_PTYPE_STR FieldDescriptor::TYPE_STRING
#define XTCP_PTYPE_NAME FieldDescriptor::TYPE_STRING
#define XTCP_PTYPE_ADDR FieldDescriptor::TYPE_BYTES
#define XTCP_EXPECT(num, name, kind) {num, #name, XTCP_PTYPE_##kind},
const Expected kTable[] = {XTCP_META_FIELDS(XTCP_EXPECT) XTCP_PAYLOAD_FIELDS(XTCP_EXPECT)};
#undef XTCP_EXPECT

TEST(RecordFields, DescriptorHas156FieldsInDeclarationOrder) {
  const auto* d = ProtoRecord::descriptor();
  ASSERT_EQ(d->field_count(), 156);
  ASSERT_EQ(std::size(kTable), 156u);
  for (int i = 0; i < d->field_count(); ++i) {
    SCOPED_TRACE(d->field(i)->name());
    EXPECT_EQ(d->field(i)->number(), kTable[i].number);
    EXPECT_EQ(d->field(i)->name(), kTable[i].name);
    EXPECT_EQ(d->field(i)->type(), kTable[i].type);
    EXPECT_FALSE(d->field(i)->is_repeated());
  }
}

TEST(RecordFields, NumbersAscendAndAreUnique) {
  std::set<int> seen;
  int last = 0;
  for (const Expected& e : kTable) {
    EXPECT_GT(e.number, last) << e.name;
    last = e.number;
    EXPECT_TRUE(seen.insert(e.number).second) << e.name;
  }
}

TEST(RecordFields, PackageAndEnvelope) {
  EXPECT_EQ(ProtoRecord::descriptor()->full_name(), "xtcp_flat_record.v1.XtcpFlatRecord");
  const auto* env = ProtoEnvelope::descriptor();
  EXPECT_EQ(env->full_name(), "xtcp_flat_record.v1.Envelope");
  ASSERT_EQ(env->field_count(), 1);
  EXPECT_EQ(env->field(0)->name(), "row");
  EXPECT_EQ(env->field(0)->number(), 10);
  EXPECT_TRUE(env->field(0)->is_repeated());
}

TEST(RecordFields, CongestionEnumValues) {
  const auto* e =
      ProtoRecord::descriptor()->FindFieldByName("congestion_algorithm_enum")->enum_type();
  ASSERT_NE(e, nullptr);
  const std::pair<const char*, int> want[] = {
      {"CONGESTION_ALGORITHM_UNSPECIFIED", 0}, {"CONGESTION_ALGORITHM_CUBIC", 1},
      {"CONGESTION_ALGORITHM_DCTCP", 2},       {"CONGESTION_ALGORITHM_VEGAS", 3},
      {"CONGESTION_ALGORITHM_PRAGUE", 4},      {"CONGESTION_ALGORITHM_BBR1", 5},
      {"CONGESTION_ALGORITHM_BBR2", 6},        {"CONGESTION_ALGORITHM_BBR3", 7}};
  ASSERT_EQ(e->value_count(), 8);
  for (const auto& [name, number] : want) {
    ASSERT_NE(e->FindValueByName(name), nullptr) << name;
    EXPECT_EQ(e->FindValueByName(name)->number(), number);
  }
}

TEST(RecordFields, JsonNamesAreLowerCamelCase) {
  const auto* d = ProtoRecord::descriptor();
  EXPECT_EQ(d->FindFieldByName("c_group")->json_name(), "cGroup");
  EXPECT_EQ(d->FindFieldByName("inet_diag_msg_socket_source_port")->json_name(),
            "inetDiagMsgSocketSourcePort");
  EXPECT_EQ(d->FindFieldByName("tcp_info_rtt")->json_name(), "tcpInfoRtt");
}

}  // namespace
}  // namespace xtcp::record
