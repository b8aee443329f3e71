#include "parquet/rle.h"

#include <cstddef>

namespace xtcp::parquet {
namespace {

constexpr size_t kMinRleRun = 8;

void AppendUleb(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t RunLength(std::span<const uint32_t> values, size_t at) {
  size_t end = at;
  while (end < values.size() && values[end] == values[at]) ++end;
  return end - at;
}

void AppendRleRun(uint32_t value, size_t count, int bit_width, std::string* out) {
  AppendUleb(static_cast<uint64_t>(count) << 1, out);
  for (int byte = 0; byte < (bit_width + 7) / 8; ++byte) {
    out->push_back(static_cast<char>((value >> (8 * byte)) & 0xff));
  }
}

// Values [begin, begin + groups * 8), zero-padded past the end of `values`.
void AppendBitPacked(std::span<const uint32_t> values, size_t begin, size_t groups, int bit_width,
                     std::string* out) {
  AppendUleb((static_cast<uint64_t>(groups) << 1) | 1, out);
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = begin; i < begin + groups * 8; ++i) {
    const uint64_t v = i < values.size() ? values[i] : 0;
    acc |= v << bits;
    bits += bit_width;
    while (bits >= 8) {
      out->push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  }
  // groups * 8 * bit_width is a multiple of 8 bits: nothing is left in acc.
}

}  // namespace

int BitWidthFor(uint32_t max_value) {
  int width = 0;
  while (width < 32 && (max_value >> width) != 0) ++width;
  return width;
}

void AppendRleHybrid(std::span<const uint32_t> values, int bit_width, std::string* out) {
  size_t i = 0;
  while (i < values.size()) {
    const size_t run = RunLength(values, i);
    if (run >= kMinRleRun) {
      AppendRleRun(values[i], run, bit_width, out);
      i += run;
      continue;
    }
    // Bit-pack groups of 8 until a long run starts at a group boundary (or the values end).
    size_t groups = 0;
    size_t at = i;
    while (at < values.size() && (groups == 0 || RunLength(values, at) < kMinRleRun)) {
      ++groups;
      at += 8;
    }
    AppendBitPacked(values, i, groups, bit_width, out);
    i = at < values.size() ? at : values.size();
  }
}

}  // namespace xtcp::parquet
