// EncodeRecord/AppendEnvelopeRow must write exactly what protobuf's own serializer writes.
#include "record/record_codec.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xtcp::record {
namespace {

// Strings referenced by random records' metadata (string_views need stable storage).
struct StringPool {
  std::vector<std::string> strings;
  std::string_view Make(std::mt19937_64& rng, size_t max_len) {
    std::uniform_int_distribution<size_t> len(0, max_len);
    std::string s(len(rng), 'x');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    strings.push_back(std::move(s));
    return strings.back();
  }
  StringPool() { strings.reserve(100000); }
};

// Each field is zero with probability 1/3, else a random value of varying magnitude.
template <typename T>
T RandomInt(std::mt19937_64& rng) {
  if (rng() % 3 == 0) return 0;
  const int bits = static_cast<int>(rng() % (sizeof(T) * 8)) + 1;
  const uint64_t v = rng() & (bits >= 64 ? ~0ull : ((1ull << bits) - 1));
  return static_cast<T>(v);
}

FlatRecord RandomRecord(std::mt19937_64& rng, StringPool* pool, size_t max_str = 40) {
  FlatRecord r;
#define XTCP_RND_U32(dst) dst = RandomInt<uint32_t>(rng);
#define XTCP_RND_U64(dst) dst = RandomInt<uint64_t>(rng);
#define XTCP_RND_I64(dst) dst = RandomInt<int64_t>(rng);
#define XTCP_RND_ENUM(dst) dst = static_cast<uint32_t>(rng() % 8);
#define XTCP_RND_STR(dst) dst = (rng() % 3 == 0) ? std::string_view() : pool->Make(rng, max_str);
#define XTCP_RND_NAME(dst) dst.Assign(rng() % 3 == 0 ? std::string_view() : pool->Make(rng, 16));
#define XTCP_RND_ADDR(dst)                                 \
  dst.len = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : 16); \
  for (auto& b : dst.data) b = static_cast<uint8_t>(dst.len ? rng() : 0);
#define XTCP_RND_META(num, name, kind) XTCP_RND_##kind(r.meta.name)
#define XTCP_RND_PAYLOAD(num, name, kind) XTCP_RND_##kind(r.payload.name)
  XTCP_META_FIELDS(XTCP_RND_META)
  XTCP_PAYLOAD_FIELDS(XTCP_RND_PAYLOAD)
  return r;
}

std::string Encode(const FlatRecord& r) {
  std::string out(EncodedSizeBound(r.meta), '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  out.resize(static_cast<size_t>(EncodeRecord(r, p) - p));
  return out;
}

std::string ProtobufBytes(const FlatRecord& r) {
  ProtoRecord msg;
  ToProto(r, &msg);
  std::string out;
  EXPECT_TRUE(msg.SerializeToString(&out));
  return out;
}

TEST(RecordCodec, EmptyRecordEncodesToNothing) {
  FlatRecord r;
  EXPECT_EQ(Encode(r), "");
  EXPECT_EQ(ProtobufBytes(r), "");
}

TEST(RecordCodec, RandomRecordsMatchProtobufByteForByte) {
  std::mt19937_64 rng(42);
  StringPool pool;
  for (int i = 0; i < 5000; ++i) {
    const FlatRecord r = RandomRecord(rng, &pool);
    ASSERT_EQ(Encode(r), ProtobufBytes(r)) << "record " << i;
  }
}

TEST(RecordCodec, SizeBoundHoldsForExtremeValues) {
  StringPool pool;
  std::mt19937_64 rng(7);
  FlatRecord r = RandomRecord(rng, &pool);
#define XTCP_MAX_U32(dst) dst = ~uint32_t{0};
#define XTCP_MAX_U64(dst) dst = ~uint64_t{0};
#define XTCP_MAX_I64(dst) dst = -1;
#define XTCP_MAX_ENUM(dst) dst = ~uint32_t{0};
#define XTCP_MAX_STR(dst)
#define XTCP_MAX_NAME(dst) dst.Assign("0123456789abcdef");
#define XTCP_MAX_ADDR(dst) dst.len = 16;
#define XTCP_MAX_META(num, name, kind) XTCP_MAX_##kind(r.meta.name)
#define XTCP_MAX_PAYLOAD(num, name, kind) XTCP_MAX_##kind(r.payload.name)
  XTCP_META_FIELDS(XTCP_MAX_META)
  XTCP_PAYLOAD_FIELDS(XTCP_MAX_PAYLOAD)
  const std::string bytes = Encode(r);
  EXPECT_LE(bytes.size(), EncodedSizeBound(r.meta));
  EXPECT_EQ(bytes, ProtobufBytes(r));
}

TEST(RecordCodec, EnvelopeRowsEqualSerializedEnvelope) {
  std::mt19937_64 rng(1);
  StringPool pool;
  ByteBuffer buf;
  ProtoEnvelope env;
  for (int i = 0; i < 300; ++i) {
    // Mix tiny rows (1-byte length), normal rows and rows over 16 KiB (3-byte length).
    FlatRecord r;
    if (i % 3 == 0) {
      r.meta.schema_version = 1;
    } else {
      r = RandomRecord(rng, &pool, i % 10 == 1 ? 9000 : 40);
    }
    AppendEnvelopeRow(r, &buf);
    ToProto(r, env.add_row());
    ASSERT_EQ(buf.size(), env.ByteSizeLong()) << "after row " << i;
  }
  EXPECT_EQ(buf.view(), env.SerializeAsString());
  ProtoEnvelope parsed;
  ASSERT_TRUE(parsed.ParseFromArray(buf.data(), static_cast<int>(buf.size())));
  EXPECT_EQ(parsed.row_size(), 300);
}

TEST(RecordCodec, FromProtoRoundTrips) {
  std::mt19937_64 rng(3);
  StringPool pool;
  for (int i = 0; i < 500; ++i) {
    const FlatRecord r = RandomRecord(rng, &pool);
    ProtoRecord msg;
    ToProto(r, &msg);
    FlatRecord back;
    ASSERT_TRUE(FromProto(msg, &back));
    EXPECT_EQ(Encode(back), Encode(r));
  }
}

TEST(RecordCodec, FromProtoReportsCutStrings) {
  ProtoRecord msg;
  msg.set_congestion_algorithm_string(std::string(40, 'c'));
  FlatRecord r;
  EXPECT_FALSE(FromProto(msg, &r));
  EXPECT_EQ(r.payload.congestion_algorithm_string.view(), std::string(16, 'c'));
}

TEST(RecordCodec, CongestionNamesMapByFullName) {
  EXPECT_EQ(CongestionFromName("cubic"), kCongCubic);
  EXPECT_EQ(CongestionFromName("bbr"), kCongBbr1);
  EXPECT_EQ(CongestionFromName("bbr2"), kCongBbr2);
  EXPECT_EQ(CongestionFromName("bbr3"), kCongBbr3);
  EXPECT_EQ(CongestionFromName("dctcp"), kCongDctcp);
  EXPECT_EQ(CongestionFromName("vegas"), kCongVegas);
  EXPECT_EQ(CongestionFromName("prague"), kCongPrague);
  EXPECT_EQ(CongestionFromName("reno"), kCongUnspecified);
  EXPECT_EQ(CongestionFromName("cubicle"),
            kCongUnspecified);  // upstream's 3-byte prefix said CUBIC
  EXPECT_EQ(CongestionFromName("bbrx"), kCongUnspecified);
  EXPECT_EQ(CongestionFromName(""), kCongUnspecified);
}

}  // namespace
}  // namespace xtcp::record

namespace xtcp::record {
namespace {

TEST(EnvelopeRows, IteratesAndRejectsGarbage) {
  ByteBuffer buf;
  FlatRecord r;
  for (uint32_t i = 1; i <= 3; ++i) {
    r.meta.record_counter = i;
    AppendEnvelopeRow(r, &buf);
  }
  std::vector<uint64_t> counters;
  EXPECT_TRUE(ForEachEnvelopeRow(buf.view(), [&](std::string_view rec) {
    ProtoRecord m;
    ASSERT_TRUE(m.ParseFromArray(rec.data(), static_cast<int>(rec.size())));
    counters.push_back(m.record_counter());
  }));
  EXPECT_EQ(counters, (std::vector<uint64_t>{1, 2, 3}));
  std::string bad(buf.view());
  bad.back() = static_cast<char>(0xff);
  bad.push_back(0x52);  // a row tag with no length
  int n = 0;
  EXPECT_FALSE(ForEachEnvelopeRow(bad, [&](std::string_view) { ++n; }));
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace xtcp::record

namespace xtcp::record {
namespace {

TEST(RowEncoder, SameBytesAsAppendEnvelopeRow) {
  std::mt19937_64 rng(11);
  StringPool pool;
  RowEncoder enc;
  for (int i = 0; i < 2000; ++i) {
    const FlatRecord r = RandomRecord(rng, &pool, i % 50 == 0 ? 9000 : 40);
    ByteBuffer want, got;
    AppendEnvelopeRow(r, &want);
    enc.SetMeta(r.meta);
    enc.Append(r.meta.record_counter, r.payload, &got);
    ASSERT_EQ(got.view(), want.view()) << "record " << i;
  }
}

// A row's own container columns (-resolveContainerId) land where a record with those metadata
// fields would have them: same bytes as the full encoder.
TEST(RowEncoder, PerRowContainerColumnsEqualMetadataOnes) {
  std::mt19937_64 rng(12);
  StringPool pool;
  RowEncoder enc;
  const std::string id(64, 'a');
  ContainerColumns columns;
  ASSERT_TRUE(ContainerColumns::Encode(id, "containerd", &columns));
  for (int i = 0; i < 200; ++i) {
    FlatRecord r = RandomRecord(rng, &pool, 40);
    r.meta.container_id = {};
    r.meta.container_runtime = {};
    enc.SetMeta(r.meta);
    r.meta.container_id = id;
    r.meta.container_runtime = "containerd";
    ByteBuffer want, got;
    AppendEnvelopeRow(r, &want);
    enc.Append(r.meta.record_counter, r.payload, &columns, &got);
    ASSERT_EQ(got.view(), want.view()) << "record " << i;
  }
}

// Metadata that names a container (Docker's, by namespace) wins over the row's columns.
TEST(RowEncoder, MetadataContainerWinsOverPerRowColumns) {
  std::mt19937_64 rng(13);
  StringPool pool;
  FlatRecord r = RandomRecord(rng, &pool, 40);
  r.meta.container_id = "from-docker";
  r.meta.container_runtime = "docker";
  RowEncoder enc;
  enc.SetMeta(r.meta);
  ByteBuffer want, got;
  AppendEnvelopeRow(r, &want);
  ContainerColumns other;
  ASSERT_TRUE(ContainerColumns::Encode("other", "crio", &other));
  enc.Append(r.meta.record_counter, r.payload, &other, &got);
  EXPECT_EQ(got.view(), want.view());
}

TEST(ContainerColumns, AreTheProtobufEncodingOfBothFields) {
  ProtoRecord msg;
  msg.set_container_id(std::string(64, 'f'));
  msg.set_container_runtime("containerd");
  ContainerColumns c;
  ASSERT_TRUE(ContainerColumns::Encode(std::string(64, 'f'), "containerd", &c));
  EXPECT_EQ(c.view(), msg.SerializeAsString());
  ASSERT_TRUE(ContainerColumns::Encode("", "", &c));
  EXPECT_EQ(c.view(), "");
  EXPECT_FALSE(ContainerColumns::Encode(std::string(90, 'f'), "containerd", &c));
  EXPECT_EQ(c.size, 0);
}

}  // namespace
}  // namespace xtcp::record
