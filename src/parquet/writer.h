// A Parquet file writer for flat schemas (no nesting, no repetition), in memory.
//
// File layout written by Finish() (Apache Parquet format, data page v1):
//
//   "PAR1"
//   row group 0:  column chunk 0: [dictionary page] data page ... data page
//                 column chunk 1: ...
//   row group 1:  ...
//   FileMetaData  (Thrift compact: schema, row groups with per-chunk ColumnMetaData and
//                  Statistics, created_by, column_orders)
//   footer:       int32 LE length of FileMetaData, "PAR1"
//
// Each page is a Thrift PageHeader followed by its body (compressed as a whole with the codec):
//
//   data page body:  [def levels: int32 LE byte length, RLE hybrid, bit width 1]  (OPTIONAL only)
//                    values of the non-null rows: PLAIN, or for dictionary chunks one bit-width
//                    byte and the RLE-hybrid dictionary indices
//   dictionary page: the distinct values, PLAIN
//
// Use: build a Schema, append each column's values for the rows of the current row group through
// column(i) (every column must get the same number of rows, nulls included), call EndRowGroup()
// whenever a row group is complete (Finish() ends a pending one), then Finish() for the bytes.
// Values of INT32 columns annotated unsigned are passed as their uint32 bit pattern. An append
// that does not fit the column (wrong type, null in a REQUIRED column, more than 1 GiB of
// BYTE_ARRAY data in one column of one row group) is dropped and makes EndRowGroup()/Finish() fail.
//
// Not thread-safe. Memory: the encoded row groups plus the current row group's raw values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xtcp::parquet {

enum class PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kDouble = 5,
  kByteArray = 6,
};

enum class Logical {
  kNone,
  kString,           // BYTE_ARRAY, UTF8
  kInt,              // INT32/INT64 with IntType(bit width, signedness)
  kTimestampNanos,   // INT64, TIMESTAMP(isAdjustedToUTC, NANOS)
  kTimestampMicros,  // INT64, TIMESTAMP(isAdjustedToUTC, MICROS)
  kDate,             // INT32 days since 1970-01-01
};

enum class Codec : int32_t { kUncompressed = 0, kZstd = 6 };

struct Column {
  std::string name;
  PhysicalType type = PhysicalType::kInt64;
  Logical logical = Logical::kNone;
  bool optional = false;
  // kInt: the IntType; kInt with is_signed=false compares statistics unsigned.
  int bit_width = 64;
  bool is_signed = true;
  // kTimestamp*: isAdjustedToUTC.
  bool utc = true;
  // BYTE_ARRAY only: dictionary-encode a chunk when that is smaller than PLAIN.
  bool allow_dictionary = true;
};

using Schema = std::vector<Column>;

struct WriterOptions {
  Codec codec = Codec::kZstd;
  int zstd_level = 3;
  // Rows per data page (a chunk has ceil(rows / page_rows) data pages).
  uint32_t page_rows = 16384;
  std::string created_by = "xtcp2";
};

// Buffered values of one column for the current row group.
class ColumnBuffer {
 public:
  void AppendBool(bool v);
  void AppendInt32(int32_t v);
  void AppendUInt32(uint32_t v) { AppendInt32(static_cast<int32_t>(v)); }
  void AppendInt64(int64_t v);
  void AppendUInt64(uint64_t v) { AppendInt64(static_cast<int64_t>(v)); }
  void AppendDouble(double v);
  void AppendBytes(std::string_view v);
  // OPTIONAL columns only.
  void AppendNull();

  uint64_t rows() const { return rows_; }

 private:
  friend class FileWriter;
  void Clear();

  const Column* column_ = nullptr;
  uint64_t rows_ = 0;
  std::vector<uint32_t> def_levels_;  // OPTIONAL columns: 1 present, 0 null, one per row
  std::vector<int64_t> ints_;         // BOOLEAN (0/1), INT32 (as int32), INT64
  std::vector<double> doubles_;
  std::string bytes_;           // BYTE_ARRAY values, concatenated
  std::vector<uint32_t> ends_;  // end offset of each BYTE_ARRAY value in bytes_
  bool type_error_ = false;     // an Append* that does not fit the column
};

class FileWriter {
 public:
  static absl::StatusOr<std::unique_ptr<FileWriter>> Create(Schema schema,
                                                            WriterOptions options = {});
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  const Schema& schema() const { return schema_; }
  ColumnBuffer& column(size_t i) { return buffers_[i]; }
  // Rows appended to the current (unfinished) row group, by column 0.
  uint64_t pending_rows() const { return buffers_.empty() ? 0 : buffers_[0].rows(); }

  // Encodes the pending rows as one row group (nothing when there are none).
  absl::Status EndRowGroup();
  // Ends the pending row group and returns the whole file. The writer is spent afterwards.
  absl::StatusOr<std::string> Finish();

  size_t encoded_bytes() const { return out_.size(); }

 private:
  struct ChunkMeta {
    int64_t file_offset = 0;
    int64_t data_page_offset = 0;
    std::optional<int64_t> dictionary_page_offset;
    int64_t num_values = 0;
    int64_t uncompressed_size = 0;  // page headers included, as the format counts it
    int64_t compressed_size = 0;
    int64_t null_count = 0;
    std::optional<std::string> min_value, max_value;  // PLAIN bytes of the extreme values
    bool dictionary = false;
  };
  struct RowGroupMeta {
    std::vector<ChunkMeta> chunks;
    int64_t num_rows = 0;
    int64_t file_offset = 0;
  };
  FileWriter(Schema schema, WriterOptions options);
  absl::Status WriteChunk(size_t index, RowGroupMeta* group);
  void AppendPage(int32_t page_type, std::string_view body, uint32_t num_values, bool dictionary,
                  ChunkMeta* chunk);
  std::string Compress(std::string_view body) const;
  void WriteFileMetaData(std::string* out) const;

  const Schema schema_;
  const WriterOptions options_;
  std::vector<ColumnBuffer> buffers_;
  std::vector<RowGroupMeta> groups_;
  std::string out_;
  uint64_t total_rows_ = 0;
  bool finished_ = false;
};

}  // namespace xtcp::parquet
