// PutVarint / VarintSize: the encodings protobuf and Go's binary.PutUvarint produce.
#include "common/varint.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace xtcp {
namespace {

template <typename U>
std::string Encode(U v) {
  uint8_t buf[kMaxVarintBytes];
  const uint8_t* end = PutVarint(buf, v);
  EXPECT_EQ(static_cast<size_t>(end - buf), VarintSize(v));
  return std::string(reinterpret_cast<const char*>(buf), static_cast<size_t>(end - buf));
}

TEST(Varint, SmallValuesAreOneByte) {
  EXPECT_EQ(Encode(uint64_t{0}), std::string(1, '\0'));
  EXPECT_EQ(Encode(uint64_t{1}), "\x01");
  EXPECT_EQ(Encode(uint64_t{127}), "\x7f");
}

TEST(Varint, SevenBitsPerByteLeastSignificantFirst) {
  EXPECT_EQ(Encode(uint64_t{128}), "\x80\x01");
  EXPECT_EQ(Encode(uint64_t{300}), "\xac\x02");
  EXPECT_EQ(Encode(uint64_t{16384}), std::string("\x80\x80\x01", 3));
}

TEST(Varint, ExtremesTakeFiveAndTenBytes) {
  EXPECT_EQ(Encode(std::numeric_limits<uint32_t>::max()), "\xff\xff\xff\xff\x0f");
  EXPECT_EQ(Encode(std::numeric_limits<uint64_t>::max()),
            "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
  EXPECT_EQ(VarintSize(std::numeric_limits<uint64_t>::max()), kMaxVarintBytes);
}

TEST(Varint, WidthOfTheArgumentDoesNotChangeTheBytes) {
  for (uint32_t v : {0u, 127u, 128u, 300u, 1u << 21, 0xdeadbeefu}) {
    EXPECT_EQ(Encode(v), Encode(static_cast<uint64_t>(v))) << v;
  }
}

}  // namespace
}  // namespace xtcp
