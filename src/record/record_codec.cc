#include "record/record_codec.h"

#include <cstring>

#include "record/wire.h"

namespace xtcp::record {
namespace {

using wire::kLengthDelimited;
using wire::kVarint;
using wire::MakeTag;
using wire::PutTag;

constexpr size_t TagSize(uint32_t field) { return wire::VarintSize(MakeTag(field, kVarint)); }

// Largest encoding of one field of each kind (tag included); STR is the fixed part only.
#define XTCP_BOUND_U32(num) (TagSize(num) + 5)
#define XTCP_BOUND_U64(num) (TagSize(num) + 10)
#define XTCP_BOUND_I64(num) (TagSize(num) + 10)
#define XTCP_BOUND_ENUM(num) (TagSize(num) + 10)
#define XTCP_BOUND_STR(num) (TagSize(num) + 5)
#define XTCP_BOUND_NAME(num) (TagSize(num) + 1 + 16)
#define XTCP_BOUND_ADDR(num) (TagSize(num) + 1 + 16)
#define XTCP_BOUND_FIELD(num, name, kind) +XTCP_BOUND_##kind(num)
constexpr size_t kMetaFixedBound = 0 XTCP_META_FIELDS(XTCP_BOUND_FIELD);
constexpr size_t kPayloadBound = 0 XTCP_PAYLOAD_FIELDS(XTCP_BOUND_FIELD);
#undef XTCP_BOUND_FIELD

#define XTCP_ENC_U32(num, v)                            \
  if ((v) != 0) {                                       \
    p = PutTag<MakeTag(num, kVarint)>(p);               \
    p = wire::PutVarint(p, static_cast<uint32_t>((v))); \
  }
#define XTCP_ENC_U64(num, v)                            \
  if ((v) != 0) {                                       \
    p = PutTag<MakeTag(num, kVarint)>(p);               \
    p = wire::PutVarint(p, static_cast<uint64_t>((v))); \
  }
#define XTCP_ENC_I64(num, v) XTCP_ENC_U64(num, v)
// Enums are int32 on the wire: negative values would be sign-extended to 10 bytes.
#define XTCP_ENC_ENUM(num, v)                                                                    \
  if ((v) != 0) {                                                                                \
    p = PutTag<MakeTag(num, kVarint)>(p);                                                        \
    p = wire::PutVarint(p,                                                                       \
                        static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>((v))))); \
  }
#define XTCP_ENC_STR(num, v)                       \
  if (!(v).empty()) {                              \
    p = PutTag<MakeTag(num, kLengthDelimited)>(p); \
    p = wire::PutBytes(p, (v).data(), (v).size()); \
  }
#define XTCP_ENC_NAME(num, v)                      \
  if ((v).len != 0) {                              \
    p = PutTag<MakeTag(num, kLengthDelimited)>(p); \
    p = wire::PutBytes(p, (v).data, (v).len);      \
  }
#define XTCP_ENC_ADDR(num, v) XTCP_ENC_NAME(num, v)

}  // namespace

CongestionAlgorithm CongestionFromName(std::string_view name) {
  if (name == "cubic") return kCongCubic;
  if (name == "bbr") return kCongBbr1;
  if (name == "bbr2") return kCongBbr2;
  if (name == "bbr3") return kCongBbr3;
  if (name == "dctcp") return kCongDctcp;
  if (name == "vegas") return kCongVegas;
  if (name == "prague") return kCongPrague;
  return kCongUnspecified;
}

size_t EncodedSizeBound(const RecordMeta& meta) {
  size_t strings = 0;
#define XTCP_STRLEN_U32(v)
#define XTCP_STRLEN_U64(v)
#define XTCP_STRLEN_I64(v)
#define XTCP_STRLEN_STR(v) strings += (v).size();
#define XTCP_STRLEN_FIELD(num, name, kind) XTCP_STRLEN_##kind(meta.name)
  XTCP_META_FIELDS(XTCP_STRLEN_FIELD)
#undef XTCP_STRLEN_FIELD
  return kMetaFixedBound + strings + kPayloadBound;
}

namespace {

// Metadata fields below `record_counter` (1..51) in two parts, before the container columns
// (1..39) and from them on (40..59), the counter itself, and the rest (61..999).
constexpr uint32_t kContainerIdField = 40;
uint8_t* EncodeMetaHeadBefore(const RecordMeta& meta, uint8_t* p) {
#define XTCP_ENC_HEAD(num, name, kind)     \
  if constexpr (num < kContainerIdField) { \
    XTCP_ENC_##kind(num, meta.name)        \
  }
  XTCP_META_FIELDS(XTCP_ENC_HEAD)
#undef XTCP_ENC_HEAD
  return p;
}

uint8_t* EncodeMetaHeadFrom(const RecordMeta& meta, uint8_t* p) {
#define XTCP_ENC_HEAD(num, name, kind)                  \
  if constexpr (num >= kContainerIdField && num < 60) { \
    XTCP_ENC_##kind(num, meta.name)                     \
  }
  XTCP_META_FIELDS(XTCP_ENC_HEAD)
#undef XTCP_ENC_HEAD
  return p;
}

uint8_t* EncodeMetaHead(const RecordMeta& meta, uint8_t* p) {
  return EncodeMetaHeadFrom(meta, EncodeMetaHeadBefore(meta, p));
}

uint8_t* EncodeCounter(uint64_t counter, uint8_t* p) {
  XTCP_ENC_U64(60, counter)
  return p;
}

uint8_t* EncodeMetaTail(const RecordMeta& meta, uint8_t* p) {
#define XTCP_ENC_TAIL(num, name, kind) \
  if constexpr (num > 60) {            \
    XTCP_ENC_##kind(num, meta.name)    \
  }
  XTCP_META_FIELDS(XTCP_ENC_TAIL)
#undef XTCP_ENC_TAIL
  return p;
}

uint8_t* EncodePayload(const RecordPayload& payload, uint8_t* p) {
#define XTCP_ENC_PAYLOAD(num, name, kind) XTCP_ENC_##kind(num, payload.name)
  XTCP_PAYLOAD_FIELDS(XTCP_ENC_PAYLOAD)
#undef XTCP_ENC_PAYLOAD
  return p;
}

// Writes 0x52 | varint(len) | body, where fill(body) writes the body and returns its end. The
// body goes after a 2-byte length slot and is moved when its length needs another size, so the
// varint is the canonical (shortest) one protobuf writes.
template <typename Fill>
void AppendRow(size_t bound, ByteBuffer* out, Fill fill) {
  constexpr size_t kSlot = 2;
  const size_t max_len_size = wire::VarintSize(bound) > kSlot ? wire::VarintSize(bound) : kSlot;
  uint8_t* base = out->Prepare(1 + max_len_size + bound);
  uint8_t* body = base + 1 + kSlot;
  const size_t len = static_cast<size_t>(fill(body) - body);
  const size_t len_size = wire::VarintSize(len);
  if (len_size != kSlot) std::memmove(base + 1 + len_size, body, len);
  base[0] = kEnvelopeRowTag;
  wire::PutVarint(base + 1, len);
  out->Commit(1 + len_size + len);
}

}  // namespace

uint8_t* EncodeRecord(const FlatRecord& rec, uint8_t* p) {
  p = EncodeMetaHead(rec.meta, p);
  p = EncodeCounter(rec.meta.record_counter, p);
  p = EncodeMetaTail(rec.meta, p);
  return EncodePayload(rec.payload, p);
}

bool ContainerColumns::Encode(std::string_view id, std::string_view runtime,
                              ContainerColumns* out) {
  *out = ContainerColumns{};
  // Tag (2 bytes) and length (1 byte while below 128) of each.
  if (id.size() + runtime.size() + 6 > kMax || id.size() > 127 || runtime.size() > 127) {
    return false;
  }
  uint8_t* p = out->bytes;
  XTCP_ENC_STR(40, id)
  XTCP_ENC_STR(41, runtime)
  out->size = static_cast<uint8_t>(p - out->bytes);
  return true;
}

void RowEncoder::SetMeta(const RecordMeta& meta) {
  const size_t bound = EncodedSizeBound(meta);
  head_.Clear();
  uint8_t* const head = head_.Prepare(bound);
  uint8_t* const split = EncodeMetaHeadBefore(meta, head);
  split_ = static_cast<size_t>(split - head);
  head_.CommitTo(EncodeMetaHeadFrom(meta, split));
  tail_.Clear();
  tail_.CommitTo(EncodeMetaTail(meta, tail_.Prepare(bound)));
  bound_ = head_.size() + tail_.size() + 3 + 10 + kPayloadBound;
  meta_container_ = !meta.container_id.empty() || !meta.container_runtime.empty();
}

void RowEncoder::Append(uint64_t record_counter, const RecordPayload& payload,
                        ByteBuffer* out) const {
  AppendRow(bound_, out, [&](uint8_t* p) {
    std::memcpy(p, head_.data(), head_.size());
    p = EncodeCounter(record_counter, p + head_.size());
    std::memcpy(p, tail_.data(), tail_.size());
    return EncodePayload(payload, p + tail_.size());
  });
}

void RowEncoder::Append(uint64_t record_counter, const RecordPayload& payload,
                        const ContainerColumns* container, ByteBuffer* out) const {
  if (container == nullptr || container->size == 0 || meta_container_) {
    Append(record_counter, payload, out);
    return;
  }
  AppendRow(bound_ + ContainerColumns::kMax, out, [&](uint8_t* p) {
    std::memcpy(p, head_.data(), split_);
    p += split_;
    // All kMax bytes (a fixed-size copy), of which `size` are kept: the room is in the bound.
    std::memcpy(p, container->bytes, ContainerColumns::kMax);
    p += container->size;
    if (const size_t rest = head_.size() - split_; rest != 0) {
      std::memcpy(p, head_.data() + split_, rest);
      p += rest;
    }
    p = EncodeCounter(record_counter, p);
    std::memcpy(p, tail_.data(), tail_.size());
    return EncodePayload(payload, p + tail_.size());
  });
}

void AppendEnvelopeRow(const FlatRecord& rec, ByteBuffer* out) {
  AppendRow(EncodedSizeBound(rec.meta), out, [&](uint8_t* p) { return EncodeRecord(rec, p); });
}

bool ForEachEnvelopeRow(std::string_view envelope, absl::FunctionRef<void(std::string_view)> fn) {
  const auto* p = reinterpret_cast<const uint8_t*>(envelope.data());
  const auto* end = p + envelope.size();
  while (p < end) {
    if (*p++ != kEnvelopeRowTag) return false;
    uint64_t len = 0;
    p = wire::GetVarint(p, end, &len);
    if (p == nullptr || len > static_cast<uint64_t>(end - p)) return false;
    fn(std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len)));
    p += len;
  }
  return true;
}

void ToProto(const FlatRecord& rec, ProtoRecord* msg) {
  msg->Clear();
#define XTCP_SET_U32(name, v) msg->set_##name(v);
#define XTCP_SET_U64(name, v) msg->set_##name(v);
#define XTCP_SET_I64(name, v) msg->set_##name(v);
#define XTCP_SET_ENUM(name, v) msg->set_##name(static_cast<ProtoRecord::CongestionAlgorithm>(v));
#define XTCP_SET_STR(name, v) \
  if (!(v).empty()) msg->set_##name((v).data(), (v).size());
#define XTCP_SET_NAME(name, v) \
  if ((v).len != 0) msg->set_##name((v).data, (v).len);
#define XTCP_SET_ADDR(name, v) \
  if ((v).len != 0) msg->set_##name(reinterpret_cast<const char*>((v).data), (v).len);
#define XTCP_SET_META(num, name, kind) XTCP_SET_##kind(name, rec.meta.name)
#define XTCP_SET_PAYLOAD(num, name, kind) XTCP_SET_##kind(name, rec.payload.name)
  XTCP_META_FIELDS(XTCP_SET_META)
  XTCP_PAYLOAD_FIELDS(XTCP_SET_PAYLOAD)
#undef XTCP_SET_META
#undef XTCP_SET_PAYLOAD
}

bool FromProto(const ProtoRecord& msg, FlatRecord* rec) {
  bool whole = true;
  *rec = FlatRecord{};
#define XTCP_GET_U32(name, dst) dst = msg.name();
#define XTCP_GET_U64(name, dst) dst = msg.name();
#define XTCP_GET_I64(name, dst) dst = msg.name();
#define XTCP_GET_ENUM(name, dst) dst = static_cast<uint32_t>(msg.name());
#define XTCP_GET_STR(name, dst) dst = std::string_view(msg.name());
#define XTCP_GET_NAME(name, dst) whole &= dst.Assign(msg.name());
#define XTCP_GET_ADDR(name, dst)                                                \
  {                                                                             \
    const std::string& s = msg.name();                                          \
    const size_t n = s.size() < sizeof(dst.data) ? s.size() : sizeof(dst.data); \
    std::memcpy(dst.data, s.data(), n);                                         \
    dst.len = static_cast<uint8_t>(n);                                          \
    whole &= (n == s.size());                                                   \
  }
#define XTCP_GET_META(num, name, kind) XTCP_GET_##kind(name, rec->meta.name)
#define XTCP_GET_PAYLOAD(num, name, kind) XTCP_GET_##kind(name, rec->payload.name)
  XTCP_META_FIELDS(XTCP_GET_META)
  XTCP_PAYLOAD_FIELDS(XTCP_GET_PAYLOAD)
#undef XTCP_GET_META
#undef XTCP_GET_PAYLOAD
  return whole;
}

}  // namespace xtcp::record
