#pragma once
// The 13 attribute deserializers and the `-deserializers` vocabulary.
//
// kDeserializers below is the one visible table: key (the flag word), the INET_DIAG attribute it
// decodes, the minimum payload it needs, and the function. Everything else (flag parsing, the
// request's idiag_ext bits, dispatch in the walker) is derived from it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "decode/kernel_layout.h"
#include "record/flat_record.h"

namespace xtcp::decode {

// Decodes one attribute payload of at least `min_len` bytes into `out`. Returns true when the
// payload had to be repaired to be stored (a string that was not valid UTF-8; counted by the
// walker as Problem::kInvalidUtf8), false otherwise.
using DeserializeFn = bool (*)(const uint8_t* payload, size_t len, record::RecordPayload* out);

struct DeserializerInfo {
  std::string_view key;
  uint16_t attr;
  uint16_t min_len;
  DeserializeFn fn;
};

bool DecodeMeminfo(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeTcpInfo(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeVegasInfo(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeCong(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeTos(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeTclass(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeSkmeminfo(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeShutdown(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeDctcpInfo(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeBbrInfo(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeClassId(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeCgroupId(const uint8_t* p, size_t n, record::RecordPayload* out);
bool DecodeSockopt(const uint8_t* p, size_t n, record::RecordPayload* out);

inline constexpr std::array<DeserializerInfo, 13> kDeserializers = {{
    {"meminfo", kAttrMeminfo, 16, &DecodeMeminfo},
    {"info", kAttrInfo, kTcpInfoMinLen, &DecodeTcpInfo},
    {"vegas", kAttrVegasInfo, 16, &DecodeVegasInfo},
    {"cong", kAttrCong, 1, &DecodeCong},
    {"tos", kAttrTos, 1, &DecodeTos},
    {"tc", kAttrTclass, 1, &DecodeTclass},
    {"skmem", kAttrSkmeminfo, 36, &DecodeSkmeminfo},
    {"shut", kAttrShutdown, 1, &DecodeShutdown},
    {"dctcp", kAttrDctcpInfo, 16, &DecodeDctcpInfo},
    {"bbr", kAttrBbrInfo, 20, &DecodeBbrInfo},
    {"classid", kAttrClassId, 4, &DecodeClassId},
    {"cgroup", kAttrCgroupId, 8, &DecodeCgroupId},
    {"sockopt", kAttrSockopt, 2, &DecodeSockopt},
}};

// A set of enabled deserializers: bit i = kDeserializers[i].
class DeserializerSet {
 public:
  constexpr DeserializerSet() = default;
  static constexpr DeserializerSet All() {
    return DeserializerSet((1u << kDeserializers.size()) - 1);
  }
  // Everything but meminfo (the upstream default).
  static constexpr DeserializerSet Default() { return DeserializerSet(All().bits_ & ~1u); }

  constexpr bool Has(size_t index) const { return (bits_ >> index) & 1u; }
  constexpr void Add(size_t index) { bits_ |= 1u << index; }
  constexpr uint32_t bits() const { return bits_; }
  bool empty() const { return bits_ == 0; }
  friend bool operator==(DeserializerSet a, DeserializerSet b) { return a.bits_ == b.bits_; }

  // The inet_diag_req_v2.idiag_ext byte asking the kernel for exactly these attributes:
  // attributes 1..8 map to bit (attr-1); vegas/dctcp/bbr share the VEGASINFO bit; classid needs
  // the TCLASS bit (the kernel emits CLASS_ID only when that bit is set).
  uint8_t IdiagExt() const;

  // Comma-separated keys, in table order ("" when empty).
  std::string ToString() const;

 private:
  constexpr explicit DeserializerSet(uint32_t bits) : bits_(bits) {}
  uint32_t bits_ = 0;
};

// Parses the -deserializers value: "default", "all", "" (none) or a comma list of keys (spaces
// around keys ignored). An unknown key is an InvalidArgument error naming it and the valid keys.
absl::StatusOr<DeserializerSet> ParseDeserializers(std::string_view spec);

}  // namespace xtcp::decode
