#pragma once
// Encoding FlatRecords as protobuf wire bytes, and converting to/from the generated message.
//
// EncodeRecord() writes exactly the bytes that XtcpFlatRecord::SerializeToString() would write for
// the equivalent message (fields ascending, proto3 zero values omitted); record_codec_test.cc
// checks this byte for byte on random and real records. It is the only serializer on the hot path.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "common/byte_buffer.h"
#include "record/flat_record.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.pb.h"

namespace xtcp::record {

using ProtoRecord = ::xtcp_flat_record::v1::XtcpFlatRecord;
using ProtoEnvelope = ::xtcp_flat_record::v1::Envelope;

// Field number of Envelope.row, and its tag byte (0x52).
inline constexpr uint32_t kEnvelopeRowField = 10;
inline constexpr uint8_t kEnvelopeRowTag = 0x52;

// Upper bound of EncodeRecord()'s output for a record with this metadata (payload bound included).
size_t EncodedSizeBound(const RecordMeta& meta);

// Writes the serialized record at `out`, which must have EncodedSizeBound(rec.meta) bytes of room.
// Returns one past the last byte written.
uint8_t* EncodeRecord(const FlatRecord& rec, uint8_t* out);

// Appends one Envelope.row entry (tag 0x52, varint length, record bytes) to `out`. The bytes
// appended are exactly the growth of a serialized Envelope by this row.
void AppendEnvelopeRow(const FlatRecord& rec, ByteBuffer* out);

// A row's own container_id (40) and container_runtime (41), protobuf-encoded (empty ones left
// out), in a fixed-size array: RowEncoder copies all kMax bytes with a few vector moves and keeps
// `size` of them.
struct ContainerColumns {
  static constexpr size_t kMax = 96;  // a 64-character id and a runtime name of up to 24
  uint8_t size = 0;
  uint8_t bytes[kMax] = {};

  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), size}; }
  // False (and `out` left empty) when the two do not fit in kMax bytes.
  static bool Encode(std::string_view id, std::string_view runtime, ContainerColumns* out);
};

// Appends rows that share their metadata, re-encoding only record_counter per row: the metadata
// is encoded once by SetMeta() (per datagram, in the readers) instead of once per record.
// The bytes equal AppendEnvelopeRow() of the same record. Thread-compatible.
class RowEncoder {
 public:
  // Caches the encoding of every metadata field but record_counter. `meta`'s strings may change
  // afterwards (the cache holds bytes).
  void SetMeta(const RecordMeta& meta);
  void Append(uint64_t record_counter, const RecordPayload& payload, ByteBuffer* out) const;
  // The same with this row's own container columns (-resolveContainerId: rows of one datagram
  // differ there); null or empty: none. Ignored when the metadata of SetMeta() names a container
  // (container_id or container_runtime set): that one wins, as upstream's Docker index wins over
  // the cgroup.
  void Append(uint64_t record_counter, const RecordPayload& payload,
              const ContainerColumns* container, ByteBuffer* out) const;

 private:
  ByteBuffer head_;   // fields 1..59
  size_t split_ = 0;  // where in head_ field 40 (container_id) goes: fields 1..39 before it
  ByteBuffer tail_;   // fields 61..999
  size_t bound_ = 0;
  bool meta_container_ = false;  // SetMeta() saw container_id or container_runtime
};

// Calls `fn` with the serialized record of every row of a serialized Envelope (rows only, as
// AppendEnvelopeRow writes them). Returns false, after the rows before it, at the first malformed
// row. Unknown fields other than rows are not expected and make it return false.
bool ForEachEnvelopeRow(std::string_view envelope,
                        absl::FunctionRef<void(std::string_view record)> fn);

// Copies every field into `msg` (which is cleared first).
void ToProto(const FlatRecord& rec, ProtoRecord* msg);

// Copies every field from `msg`. The STR fields of `rec->meta` borrow from `msg`, which must
// outlive `rec`. Strings longer than an inline field's capacity are cut; returns false if any was.
bool FromProto(const ProtoRecord& msg, FlatRecord* rec);

}  // namespace xtcp::record
