#pragma once
// Minimal protobuf wire-format writers used by the hand-rolled record encoder. Callers guarantee
// the output has room (see record_codec.h for the bounds).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/varint.h"

namespace xtcp::record::wire {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

constexpr uint32_t MakeTag(uint32_t field, WireType type) { return (field << 3) | type; }

// The varint writer is common/varint.h's (one for the tree; it also frames unix: sink messages).
using ::xtcp::PutVarint;
using ::xtcp::VarintSize;

// Writes a compile-time tag; the compiler folds it into one or two constant stores.
template <uint32_t kTag>
inline uint8_t* PutTag(uint8_t* p) {
  if constexpr (kTag < (1u << 7)) {
    *p = static_cast<uint8_t>(kTag);
    return p + 1;
  } else if constexpr (kTag < (1u << 14)) {
    p[0] = static_cast<uint8_t>(kTag | 0x80);
    p[1] = static_cast<uint8_t>(kTag >> 7);
    return p + 2;
  } else {
    static_assert(kTag < (1u << 21), "field numbers above 262143 are not used");
    p[0] = static_cast<uint8_t>(kTag | 0x80);
    p[1] = static_cast<uint8_t>((kTag >> 7) | 0x80);
    p[2] = static_cast<uint8_t>(kTag >> 14);
    return p + 3;
  }
}

inline uint8_t* PutBytes(uint8_t* p, const void* data, size_t n) {
  p = PutVarint(p, n);
  if (n != 0) std::memcpy(p, data, n);
  return p + n;
}

// Reads a varint from [p, end); returns nullptr on truncation or overlong encodings.
inline const uint8_t* GetVarint(const uint8_t* p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *out = v;
      return p;
    }
  }
  return nullptr;
}

}  // namespace xtcp::record::wire
