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

// The wire bytes of container_id (40) and container_runtime (41), empty ones left out: what
// RowEncoder::Append() takes as a row's own container columns.
std::string EncodeContainerColumns(std::string_view id, std::string_view runtime);

// Appends rows that share their metadata, re-encoding only record_counter per row: the metadata
// is encoded once by SetMeta() (per datagram, in the readers) instead of once per record.
// The bytes equal AppendEnvelopeRow() of the same record. Thread-compatible.
class RowEncoder {
 public:
  // Caches the encoding of every metadata field but record_counter. `meta`'s strings may change
  // afterwards (the cache holds bytes).
  void SetMeta(const RecordMeta& meta);
  // `container`: this row's container columns (EncodeContainerColumns()), for rows of one datagram
  // that differ there (-resolveContainerId). Ignored when the metadata of SetMeta() names a
  // container (container_id or container_runtime set): that one wins, as upstream's Docker index
  // wins over the cgroup.
  void Append(uint64_t record_counter, const RecordPayload& payload, ByteBuffer* out,
              std::string_view container = {}) const;

 private:
  ByteBuffer head_;  // fields 1..39
  ByteBuffer mid_;   // fields 40..59
  ByteBuffer tail_;  // fields 61..999
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
