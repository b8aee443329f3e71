// XtcpFlatRecord -> Parquet: one column per proto field, found by reflection over the descriptor
// (so a new proto field is a new column without an edit here), plus upstream's derived column.
//
//   proto type  -> Parquet column (all REQUIRED: proto3 scalars always have a value)
//   string      -> BYTE_ARRAY, STRING (UTF8)
//   bytes       -> BYTE_ARRAY
//   uint32      -> INT32, INT(32, unsigned)
//   uint64      -> INT64, INT(64, unsigned)
//   int32, enum -> INT32 (the enum number, as upstream's ParquetRow writes it)
//   int64       -> INT64 (timestamp_ns stays a plain int64, as upstream's)
//   bool/double/float -> BOOLEAN / DOUBLE
//   + event_date (after `location`, as upstream): BYTE_ARRAY STRING, UTC "YYYY-MM-DD" of
//     timestamp_ns
//
// Column names are the proto field names. Upstream's ParquetRow lacks 30 of the proto's columns
// (its bug 13); this mapping writes them all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "parquet/writer.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.pb.h"

namespace xtcp::parquet {

using ::xtcp_flat_record::v1::XtcpFlatRecord;

// The derived column's name.
inline constexpr char kEventDateColumn[] = "event_date";

// The schema RecordsToParquet writes (column i of the file is element i).
Schema FlatRecordSchema();

// UTC "YYYY-MM-DD" of a Unix nanosecond timestamp (negative ones included).
std::string EventDate(int64_t timestamp_ns);

// A whole file of `records`, in row groups of at most `row_group_rows` rows.
absl::StatusOr<std::string> RecordsToParquet(const std::vector<XtcpFlatRecord>& records,
                                             const WriterOptions& options = {},
                                             uint64_t row_group_rows = 1 << 20);

}  // namespace xtcp::parquet
