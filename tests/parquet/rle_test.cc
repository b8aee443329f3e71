// The RLE / bit-packed hybrid against the Parquet spec's examples and hand-packed bytes.
#include "parquet/rle.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::parquet {
namespace {

std::vector<uint8_t> Encode(const std::vector<uint32_t>& values, int bit_width) {
  std::string out;
  AppendRleHybrid(values, bit_width, &out);
  return {out.begin(), out.end()};
}

TEST(ParquetRleHybridTest, SpecBitPackedExample) {
  // Encodings.md: 0..7 at bit width 3 packs to 10001000 11000110 11111010.
  EXPECT_THAT(Encode({0, 1, 2, 3, 4, 5, 6, 7}, 3), testing::ElementsAre(0x03, 0x88, 0xc6, 0xfa));
}

TEST(ParquetRleHybridTest, LongRunIsRle) {
  // 100 ones at width 1: header 100 << 1 = 200 (varint c8 01), value in one byte.
  EXPECT_THAT(Encode(std::vector<uint32_t>(100, 1), 1), testing::ElementsAre(0xc8, 0x01, 0x01));
}

TEST(ParquetRleHybridTest, RunThenPaddedBitPackedTail) {
  std::vector<uint32_t> v(8, 5);
  v.push_back(1);
  v.push_back(2);
  // RLE 8 x 5 (header 0x10), then one padded group: 1 | 2 << 3 = 0x11, then zeros.
  EXPECT_THAT(Encode(v, 3), testing::ElementsAre(0x10, 0x05, 0x03, 0x11, 0x00, 0x00));
}

TEST(ParquetRleHybridTest, DefinitionLevels) {
  // present, null, present, present: bits 1,0,1,1 -> 0x0d in one padded group.
  EXPECT_THAT(Encode({1, 0, 1, 1}, 1), testing::ElementsAre(0x03, 0x0d));
}

TEST(ParquetRleHybridTest, WideRleValueIsTwoBytes) {
  EXPECT_THAT(Encode(std::vector<uint32_t>(10, 300), 9), testing::ElementsAre(0x14, 0x2c, 0x01));
}

TEST(ParquetRleHybridTest, BitPackedGroupsStopBeforeALongRun) {
  std::vector<uint32_t> v = {1, 0, 1, 0, 1, 0, 1, 0};  // one group: 0x55
  v.insert(v.end(), 9, 1);                             // then RLE 9 x 1
  EXPECT_THAT(Encode(v, 1), testing::ElementsAre(0x03, 0x55, 0x12, 0x01));
}

TEST(ParquetRleHybridTest, Empty) { EXPECT_TRUE(Encode({}, 1).empty()); }

TEST(ParquetRleHybridTest, BitWidthFor) {
  EXPECT_EQ(BitWidthFor(0), 0);
  EXPECT_EQ(BitWidthFor(1), 1);
  EXPECT_EQ(BitWidthFor(3), 2);
  EXPECT_EQ(BitWidthFor(255), 8);
  EXPECT_EQ(BitWidthFor(256), 9);
  EXPECT_EQ(BitWidthFor(UINT32_MAX), 32);
}

}  // namespace
}  // namespace xtcp::parquet
