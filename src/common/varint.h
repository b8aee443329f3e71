#pragma once
// The one varint writer of the tree: unsigned LEB128, which is both protobuf's varint and Go's
// binary.PutUvarint (7 bits per byte, least significant group first, high bit = "more follows").
// Pure functions; callers guarantee room for VarintSize(v) bytes (at most kMaxVarintBytes).

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace xtcp {

inline constexpr size_t kMaxVarintBytes = 10;  // a uint64_t needs ceil(64 / 7) bytes

constexpr size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` at `p`; returns the end of what it wrote. A template so that 32-bit values keep
// 32-bit arithmetic in the record encoder's hot loop.
template <std::unsigned_integral U>
inline uint8_t* PutVarint(uint8_t* p, U v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

}  // namespace xtcp
