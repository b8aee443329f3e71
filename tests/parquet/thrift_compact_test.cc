// The compact protocol encoder against bytes worked out by hand from the Thrift compact spec.
#include "parquet/thrift_compact.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::parquet {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(ParquetThriftCompactTest, ZigZag) {
  EXPECT_EQ(CompactWriter::ZigZag(0), 0u);
  EXPECT_EQ(CompactWriter::ZigZag(-1), 1u);
  EXPECT_EQ(CompactWriter::ZigZag(1), 2u);
  EXPECT_EQ(CompactWriter::ZigZag(-2), 3u);
  EXPECT_EQ(CompactWriter::ZigZag(INT64_MAX), UINT64_MAX - 1);
  EXPECT_EQ(CompactWriter::ZigZag(INT64_MIN), UINT64_MAX);
}

TEST(ParquetThriftCompactTest, Varint) {
  std::string out;
  CompactWriter w(&out);
  w.Varint(1);
  w.Varint(127);
  w.Varint(300);
  EXPECT_THAT(Bytes(out), testing::ElementsAre(0x01, 0x7f, 0xac, 0x02));
}

TEST(ParquetThriftCompactTest, ShortAndLongFieldDeltas) {
  std::string out;
  CompactWriter w(&out);
  w.FieldI32(1, 1);    // delta 1, i32 (5): 0x15, zigzag(1) = 2
  w.FieldI32(17, -1);  // delta 16: type byte 0x05, zigzag(17) = 34, zigzag(-1) = 1
  w.FieldI64(18, 64);  // delta 1, i64 (6): 0x16, zigzag(64) = 128 = 0x80 0x01
  w.EndStruct();
  EXPECT_THAT(Bytes(out),
              testing::ElementsAre(0x15, 0x02, 0x05, 0x22, 0x01, 0x16, 0x80, 0x01, 0x00));
}

TEST(ParquetThriftCompactTest, BoolsBinaryAndI8) {
  std::string out;
  CompactWriter w(&out);
  w.FieldBool(1, true);    // 0x11
  w.FieldBool(2, false);   // 0x12
  w.FieldBinary(4, "ab");  // delta 2, binary (8): 0x28, length 2
  w.FieldI8(5, -3);        // 0x13, one raw byte
  EXPECT_THAT(Bytes(out), testing::ElementsAre(0x11, 0x12, 0x28, 0x02, 'a', 'b', 0x13, 0xfd));
}

TEST(ParquetThriftCompactTest, Lists) {
  std::string out;
  CompactWriter w(&out);
  w.FieldListBegin(1, CompactWriter::kI32, 3);  // 0x19, size 3 << 4 | 5 = 0x35
  w.ListI32(1);
  w.ListI32(2);
  w.ListI32(-3);
  w.FieldListBegin(2, CompactWriter::kBinary, 20);  // 0x19, 0xf8, varint 20
  EXPECT_THAT(Bytes(out), testing::ElementsAre(0x19, 0x35, 0x02, 0x04, 0x05, 0x19, 0xf8, 0x14));
}

TEST(ParquetThriftCompactTest, NestedStructRestartsDeltas) {
  std::string out;
  CompactWriter w(&out);
  w.FieldI32(1, 0);
  w.FieldStructBegin(5);  // delta 4, struct (12): 0x4c
  w.FieldI32(1, 7);       // delta from 0 inside: 0x15 0x0e
  w.EndStruct();
  w.FieldI32(6, 0);  // back in the outer struct: delta 1 from 5
  w.ListStructBegin();
  w.FieldI32(2, 1);  // a list element struct also starts at 0: delta 2
  w.EndStruct();
  w.EndStruct();
  EXPECT_THAT(Bytes(out), testing::ElementsAre(0x15, 0x00, 0x4c, 0x15, 0x0e, 0x00, 0x15, 0x00, 0x25,
                                               0x02, 0x00, 0x00));
}

TEST(ParquetThriftCompactTest, TopLevelStructsInARow) {
  std::string out;
  CompactWriter w(&out);
  w.FieldI32(3, 1);
  w.EndStruct();
  w.FieldI32(3, 1);  // a second top-level struct: delta from 0 again
  w.EndStruct();
  EXPECT_THAT(Bytes(out), testing::ElementsAre(0x35, 0x02, 0x00, 0x35, 0x02, 0x00));
}

}  // namespace
}  // namespace xtcp::parquet
