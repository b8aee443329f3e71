#pragma once
// UTF-8 repair for strings that come from the kernel or the filesystem (congestion-control names,
// namespace file names). Protobuf `string` fields must hold valid UTF-8: a parser rejects the
// whole message otherwise, and text marshallers refuse the row. So such strings are made valid at
// the source — each byte that does not start a well-formed sequence (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF) becomes U+FFFD — and the caller counts the repair.
//
// Pure functions; thread-safe; no allocation except the std::string overload's appends.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace xtcp {

inline constexpr std::string_view kReplacementChar = "\xef\xbf\xbd";  // U+FFFD

// Length (1..4) of the well-formed UTF-8 sequence at the start of `s`, 0 if its first byte does
// not start one. `s` must not be empty.
inline size_t Utf8SequenceLen(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if (b(i) < 0x80 || b(i) > 0xbf) return 0;
  }
  return len;
}

inline bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    const size_t n = Utf8SequenceLen(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

// Copies `in` into `out` (capacity `cap`) with every invalid byte replaced by U+FFFD, stopping
// before the first character that does not fit whole. Returns the bytes written; `*replaced`
// (if not null) receives the number of invalid bytes seen in all of `in`.
inline size_t CopyValidUtf8(std::string_view in, char* out, size_t cap, size_t* replaced) {
  size_t written = 0, bad = 0;
  bool full = false;
  while (!in.empty()) {
    const size_t n = Utf8SequenceLen(in);
    const std::string_view piece = n == 0 ? kReplacementChar : in.substr(0, n);
    if (n == 0) ++bad;
    if (!full && piece.size() <= cap - written) {
      for (char ch : piece) out[written++] = ch;
    } else {
      full = true;
    }
    in.remove_prefix(n == 0 ? 1 : n);
  }
  if (replaced != nullptr) *replaced = bad;
  return written;
}

// Replaces every invalid byte of `*s` by U+FFFD in place; returns the number replaced (0:
// unchanged).
inline size_t MakeValidUtf8(std::string* s) {
  if (IsValidUtf8(*s)) return 0;
  std::string out;
  out.resize(s->size() * kReplacementChar.size());
  size_t bad = 0;
  out.resize(CopyValidUtf8(*s, out.data(), out.size(), &bad));
  *s = std::move(out);
  return bad;
}

}  // namespace xtcp
