// msgpack must be what the Go daemon's vmihailenco/msgpack/v5 encoding of its Go struct is.
#include <google/protobuf/descriptor.h>

#include <msgpack.hpp>
#include <string>

#include "gtest/gtest.h"
#include "marshal/formats.h"
#include "marshal/test_records.h"
#include "xtcp/marshaller.h"

namespace xtcp {
namespace {

std::string Pack(std::initializer_list<record::FlatRecord> records) {
  auto m = CreateMarshaller({"msgpack", ""});
  EXPECT_TRUE(m.ok());
  std::string out;
  EXPECT_TRUE((*m)->Marshal(testing::MakeEnvelope(records).view(), &out).ok());
  return out;
}

std::string Hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += "0123456789abcdef"[c >> 4], out += "0123456789abcdef"[c & 15];
  return out;
}

TEST(GoFieldName, DerivedLikeProtocGenGo) {
  EXPECT_EQ(marshal::GoFieldName("schema_version"), "SchemaVersion");
  EXPECT_EQ(marshal::GoFieldName("c_group"), "CGroup");
  EXPECT_EQ(marshal::GoFieldName("uplink1_nic_driver"), "Uplink1NicDriver");
  EXPECT_EQ(marshal::GoFieldName("tcp_info_rtt_var"), "TcpInfoRttVar");
  EXPECT_EQ(marshal::GoFieldName("inet_diag_msg_socket_source"), "InetDiagMsgSocketSource");
  EXPECT_EQ(marshal::GoFieldName("_x"), "XX");
}

TEST(Msgpack, FixedWidthIntsAndGoNamesByteForByte) {
  record::FlatRecord r;  // all zero: strings empty, bytes nil
  r.meta.schema_version = 1;
  r.meta.timestamp_ns = -2;
  const std::string out = Pack({r});
  // {"Row": [ {"SchemaVersion": uint32 1, "DaemonVersion": "", "TimestampNs": int64 -2, ...
  EXPECT_EQ(Hex(out.substr(0, 64)),
            "81a3526f7791de009c"                            // map1 "Row" array1 map16(156)
            "ad536368656d6156657273696f6ece00000001"        // "SchemaVersion" uint32 1
            "ad4461656d6f6e56657273696f6ea0"                // "DaemonVersion" ""
            "ab54696d657374616d704e73d3fffffffffffffffe");  // "TimestampNs" int64 -2
}

TEST(Msgpack, EmptyBytesAreNilLikeAGoNilSlice) {
  const std::string out = Pack({record::FlatRecord{}});
  const std::string key = "\xb7InetDiagMsgSocketSource";
  const size_t at = out.find(key);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(static_cast<uint8_t>(out[at + key.size()]), 0xc0);
}

// Decodes the msgpack and checks every field of every row against the record it came from.
TEST(Msgpack, All156FieldsInDeclarationOrderWithTheirValues) {
  const record::FlatRecord full = testing::FullRecord();
  const std::string out = Pack({full, testing::Ipv4Record()});
  msgpack::object_handle oh = msgpack::unpack(out.data(), out.size());
  const msgpack::object& root = oh.get();
  ASSERT_EQ(root.type, msgpack::type::MAP);
  ASSERT_EQ(root.via.map.size, 1u);
  EXPECT_EQ(root.via.map.ptr[0].key.as<std::string>(), "Row");
  const msgpack::object& rows = root.via.map.ptr[0].val;
  ASSERT_EQ(rows.type, msgpack::type::ARRAY);
  ASSERT_EQ(rows.via.array.size, 2u);

  record::ProtoRecord want;
  record::ToProto(full, &want);
  const auto* desc = record::ProtoRecord::descriptor();
  const auto* refl = want.GetReflection();
  const msgpack::object& m = rows.via.array.ptr[0];
  ASSERT_EQ(m.type, msgpack::type::MAP);
  ASSERT_EQ(m.via.map.size, 156u);
  using FD = google::protobuf::FieldDescriptor;
  for (int i = 0; i < 156; ++i) {
    const FD* f = desc->field(i);
    const msgpack::object_kv& kv = m.via.map.ptr[i];
    ASSERT_EQ(kv.key.as<std::string>(), marshal::GoFieldName(f->name()));
    switch (f->cpp_type()) {
      case FD::CPPTYPE_UINT32:
        EXPECT_EQ(kv.val.as<uint32_t>(), refl->GetUInt32(want, f)) << f->name();
        break;
      case FD::CPPTYPE_UINT64:
        EXPECT_EQ(kv.val.as<uint64_t>(), refl->GetUInt64(want, f)) << f->name();
        break;
      case FD::CPPTYPE_INT64:
        EXPECT_EQ(kv.val.as<int64_t>(), refl->GetInt64(want, f)) << f->name();
        break;
      case FD::CPPTYPE_ENUM:
        EXPECT_EQ(kv.val.as<int>(), 7) << f->name();  // BBR3 as an integer
        break;
      case FD::CPPTYPE_STRING:
        EXPECT_EQ(kv.val.type,
                  f->type() == FD::TYPE_BYTES ? msgpack::type::BIN : msgpack::type::STR);
        EXPECT_EQ(kv.val.as<std::string>(), refl->GetString(want, f)) << f->name();
        break;
      default:
        ADD_FAILURE() << "unexpected field kind " << f->name();
    }
  }
  EXPECT_EQ(m.via.map.ptr[155].key.as<std::string>(), "CGroup");
}

}  // namespace
}  // namespace xtcp
