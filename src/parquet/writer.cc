#include "parquet/writer.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "parquet/rle.h"
#include "parquet/thrift_compact.h"

namespace xtcp::parquet {
namespace {

// parquet.thrift enum values.
constexpr int32_t kPageData = 0;
constexpr int32_t kPageDictionary = 2;
constexpr int32_t kEncodingPlain = 0;
constexpr int32_t kEncodingRle = 3;
constexpr int32_t kEncodingRleDictionary = 8;
constexpr int32_t kRepRequired = 0;
constexpr int32_t kRepOptional = 1;
constexpr int32_t kConvertedUtf8 = 0;
constexpr int32_t kConvertedDate = 6;
constexpr int32_t kConvertedTimestampMicros = 10;
constexpr size_t kMaxDictionary = 1 << 16;
// BYTE_ARRAY bytes per column and row group.
constexpr size_t kMaxChunkBytes = size_t{1} << 30;

template <typename T>
void AppendLe(T v, std::string* out) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and aarch64 Linux are little-endian
  out->append(b, sizeof(T));
}

// Bool and int values in PLAIN, as statistics hold them.
std::string PlainInt(const Column& c, int64_t v) {
  std::string s;
  if (c.type == PhysicalType::kBoolean) {
    s.push_back(static_cast<char>(v != 0));
  } else if (c.type == PhysicalType::kInt32) {
    AppendLe(static_cast<int32_t>(v), &s);
  } else {
    AppendLe(v, &s);
  }
  return s;
}

// Orders values as the column's logical type does (unsigned INT annotations compare unsigned).
bool IntLess(const Column& c, int64_t a, int64_t b) {
  if (c.logical == Logical::kInt && !c.is_signed) {
    if (c.type == PhysicalType::kInt32) {
      return static_cast<uint32_t>(a) < static_cast<uint32_t>(b);
    }
    return static_cast<uint64_t>(a) < static_cast<uint64_t>(b);
  }
  return a < b;
}

}  // namespace

// ---- ColumnBuffer ----

void ColumnBuffer::AppendBool(bool v) {
  if (column_->type != PhysicalType::kBoolean) {
    type_error_ = true;
    return;
  }
  if (column_->optional) def_levels_.push_back(1);
  ints_.push_back(v ? 1 : 0);
  ++rows_;
}

void ColumnBuffer::AppendInt32(int32_t v) {
  if (column_->type != PhysicalType::kInt32) {
    type_error_ = true;
    return;
  }
  if (column_->optional) def_levels_.push_back(1);
  ints_.push_back(v);
  ++rows_;
}

void ColumnBuffer::AppendInt64(int64_t v) {
  if (column_->type != PhysicalType::kInt64) {
    type_error_ = true;
    return;
  }
  if (column_->optional) def_levels_.push_back(1);
  ints_.push_back(v);
  ++rows_;
}

void ColumnBuffer::AppendDouble(double v) {
  if (column_->type != PhysicalType::kDouble) {
    type_error_ = true;
    return;
  }
  if (column_->optional) def_levels_.push_back(1);
  doubles_.push_back(v);
  ++rows_;
}

void ColumnBuffer::AppendBytes(std::string_view v) {
  if (column_->type != PhysicalType::kByteArray) {
    type_error_ = true;
    return;
  }
  // Offsets are 32-bit and a page body must stay below 2 GiB: refuse a bigger row group.
  if (bytes_.size() + v.size() > kMaxChunkBytes) {
    type_error_ = true;
    return;
  }
  if (column_->optional) def_levels_.push_back(1);
  bytes_.append(v);
  ends_.push_back(static_cast<uint32_t>(bytes_.size()));
  ++rows_;
}

void ColumnBuffer::AppendNull() {
  if (!column_->optional) {
    type_error_ = true;
    return;
  }
  def_levels_.push_back(0);
  ++rows_;
}

void ColumnBuffer::Clear() {
  rows_ = 0;
  def_levels_.clear();
  ints_.clear();
  doubles_.clear();
  bytes_.clear();
  ends_.clear();
  type_error_ = false;
}

// ---- FileWriter ----

absl::StatusOr<std::unique_ptr<FileWriter>> FileWriter::Create(Schema schema,
                                                               WriterOptions options) {
  if (schema.empty()) return absl::InvalidArgumentError("parquet: empty schema");
  if (options.page_rows == 0) return absl::InvalidArgumentError("parquet: page_rows is 0");
  for (const Column& c : schema) {
    if (c.name.empty()) return absl::InvalidArgumentError("parquet: column without a name");
    const bool ok =
        c.logical == Logical::kNone ||
        (c.logical == Logical::kString && c.type == PhysicalType::kByteArray) ||
        (c.logical == Logical::kDate && c.type == PhysicalType::kInt32) ||
        ((c.logical == Logical::kTimestampNanos || c.logical == Logical::kTimestampMicros) &&
         c.type == PhysicalType::kInt64) ||
        (c.logical == Logical::kInt &&
         ((c.type == PhysicalType::kInt32 &&
           (c.bit_width == 8 || c.bit_width == 16 || c.bit_width == 32)) ||
          (c.type == PhysicalType::kInt64 && c.bit_width == 64)));
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("parquet: column ", c.name, ": logical type does not fit physical type"));
    }
  }
  return std::unique_ptr<FileWriter>(new FileWriter(std::move(schema), std::move(options)));
}

FileWriter::FileWriter(Schema schema, WriterOptions options)
    : schema_(std::move(schema)), options_(std::move(options)), buffers_(schema_.size()) {
  for (size_t i = 0; i < schema_.size(); ++i) buffers_[i].column_ = &schema_[i];
  out_ = "PAR1";
}

absl::Status FileWriter::EndRowGroup() {
  if (finished_) return absl::FailedPreconditionError("parquet: writer already finished");
  const uint64_t rows = buffers_[0].rows();
  for (size_t i = 0; i < buffers_.size(); ++i) {
    if (buffers_[i].type_error_) {
      return absl::InvalidArgumentError(
          absl::StrCat("parquet: column ", schema_[i].name,
                       ": value of the wrong type, null in a REQUIRED column, or over 1 GiB of "
                       "bytes in the row group"));
    }
    if (buffers_[i].rows() != rows) {
      return absl::InvalidArgumentError(absl::StrCat("parquet: column ", schema_[i].name, " has ",
                                                     buffers_[i].rows(), " rows, column ",
                                                     schema_[0].name, " ", rows));
    }
  }
  if (rows == 0) return absl::OkStatus();
  RowGroupMeta group;
  group.num_rows = static_cast<int64_t>(rows);
  group.file_offset = static_cast<int64_t>(out_.size());
  for (size_t i = 0; i < buffers_.size(); ++i) {
    if (absl::Status s = WriteChunk(i, &group); !s.ok()) return s;
    buffers_[i].Clear();
  }
  total_rows_ += rows;
  groups_.push_back(std::move(group));
  return absl::OkStatus();
}

std::string FileWriter::Compress(std::string_view body) const {
  if (options_.codec == Codec::kUncompressed) return std::string(body);
  std::string out(ZSTD_compressBound(body.size()), '\0');
  const size_t n =
      ZSTD_compress(out.data(), out.size(), body.data(), body.size(), options_.zstd_level);
  // Cannot fail with a ZSTD_compressBound-sized destination and a valid level.
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

void FileWriter::AppendPage(int32_t page_type, std::string_view body, uint32_t num_values,
                            bool dictionary, ChunkMeta* chunk) {
  const std::string compressed = Compress(body);
  std::string header;
  CompactWriter w(&header);
  w.FieldI32(1, page_type);
  w.FieldI32(2, static_cast<int32_t>(body.size()));
  w.FieldI32(3, static_cast<int32_t>(compressed.size()));
  if (page_type == kPageData) {
    w.FieldStructBegin(5);  // DataPageHeader
    w.FieldI32(1, static_cast<int32_t>(num_values));
    w.FieldI32(2, dictionary ? kEncodingRleDictionary : kEncodingPlain);
    w.FieldI32(3, kEncodingRle);  // definition levels
    w.FieldI32(4, kEncodingRle);  // repetition levels (none: flat schema)
    w.EndStruct();
  } else {
    w.FieldStructBegin(7);  // DictionaryPageHeader
    w.FieldI32(1, static_cast<int32_t>(num_values));
    w.FieldI32(2, kEncodingPlain);
    w.EndStruct();
  }
  w.EndStruct();
  out_.append(header);
  out_.append(compressed);
  chunk->uncompressed_size += static_cast<int64_t>(header.size() + body.size());
  chunk->compressed_size += static_cast<int64_t>(header.size() + compressed.size());
}

absl::Status FileWriter::WriteChunk(size_t index, RowGroupMeta* group) {
  const Column& c = schema_[index];
  const ColumnBuffer& b = buffers_[index];
  const size_t rows = b.rows();
  ChunkMeta chunk;
  chunk.file_offset = static_cast<int64_t>(out_.size());
  chunk.num_values = static_cast<int64_t>(rows);
  size_t present = rows;
  if (c.optional) {
    present = 0;
    for (uint32_t d : b.def_levels_) present += d;
  }
  chunk.null_count = static_cast<int64_t>(rows - present);

  auto bytes_at = [&b](size_t v) {
    const uint32_t begin = v == 0 ? 0 : b.ends_[v - 1];
    return std::string_view(b.bytes_).substr(begin, b.ends_[v] - begin);
  };

  // Statistics over the present values.
  if (present > 0) {
    if (c.type == PhysicalType::kByteArray) {
      std::string_view lo = bytes_at(0), hi = lo;
      for (size_t v = 1; v < present; ++v) {
        const std::string_view s = bytes_at(v);
        if (s < lo) lo = s;
        if (s > hi) hi = s;
      }
      chunk.min_value = std::string(lo);
      chunk.max_value = std::string(hi);
    } else if (c.type == PhysicalType::kDouble) {
      bool any = false;
      double lo = 0, hi = 0;
      for (double d : b.doubles_) {
        if (std::isnan(d)) continue;
        if (!any || d < lo) lo = d;
        if (!any || d > hi) hi = d;
        any = true;
      }
      if (any) {
        chunk.min_value.emplace();
        chunk.max_value.emplace();
        AppendLe(lo, &*chunk.min_value);
        AppendLe(hi, &*chunk.max_value);
      }
    } else {
      int64_t lo = b.ints_[0], hi = lo;
      for (int64_t v : b.ints_) {
        if (IntLess(c, v, lo)) lo = v;
        if (IntLess(c, hi, v)) hi = v;
      }
      chunk.min_value = PlainInt(c, lo);
      chunk.max_value = PlainInt(c, hi);
    }
  }

  // Dictionary for BYTE_ARRAY chunks when it is smaller than PLAIN.
  std::vector<uint32_t> indices;
  std::vector<std::string_view> dict;
  if (c.type == PhysicalType::kByteArray && c.allow_dictionary && present > 0) {
    absl::flat_hash_map<std::string_view, uint32_t> ids;
    indices.reserve(present);
    size_t dict_bytes = 0;
    for (size_t v = 0; v < present && dict.size() <= kMaxDictionary; ++v) {
      const std::string_view s = bytes_at(v);
      auto [it, inserted] = ids.try_emplace(s, static_cast<uint32_t>(dict.size()));
      if (inserted) {
        dict.push_back(s);
        dict_bytes += 4 + s.size();
      }
      indices.push_back(it->second);
    }
    const int width = std::max(1, BitWidthFor(static_cast<uint32_t>(dict.size() - 1)));
    const size_t plain_bytes = b.bytes_.size() + 4 * present;
    const size_t dict_total = dict_bytes + (present * static_cast<size_t>(width) + 7) / 8;
    if (dict.size() > kMaxDictionary || dict_total >= plain_bytes) {
      dict.clear();
      indices.clear();
    }
  }
  chunk.dictionary = !dict.empty();
  const int index_width =
      chunk.dictionary ? std::max(1, BitWidthFor(static_cast<uint32_t>(dict.size() - 1))) : 0;

  if (chunk.dictionary) {
    chunk.dictionary_page_offset = static_cast<int64_t>(out_.size());
    std::string body;
    for (std::string_view s : dict) {
      AppendLe(static_cast<uint32_t>(s.size()), &body);
      body.append(s);
    }
    AppendPage(kPageDictionary, body, static_cast<uint32_t>(dict.size()), false, &chunk);
  }
  chunk.data_page_offset = static_cast<int64_t>(out_.size());

  std::string body;
  size_t value = 0;  // first present value of the page
  for (size_t row = 0; row < rows; row += options_.page_rows) {
    const size_t end = std::min<size_t>(rows, row + options_.page_rows);
    body.clear();
    size_t values_in_page = end - row;
    if (c.optional) {
      const std::span<const uint32_t> levels(b.def_levels_.data() + row, end - row);
      values_in_page = 0;
      for (uint32_t d : levels) values_in_page += d;
      body.resize(4);
      AppendRleHybrid(levels, 1, &body);
      const uint32_t len = static_cast<uint32_t>(body.size() - 4);
      std::memcpy(body.data(), &len, 4);
    }
    const size_t value_end = value + values_in_page;
    if (chunk.dictionary) {
      body.push_back(static_cast<char>(index_width));
      AppendRleHybrid(std::span<const uint32_t>(indices.data() + value, values_in_page),
                      index_width, &body);
    } else if (c.type == PhysicalType::kByteArray) {
      for (size_t v = value; v < value_end; ++v) {
        const std::string_view s = bytes_at(v);
        AppendLe(static_cast<uint32_t>(s.size()), &body);
        body.append(s);
      }
    } else if (c.type == PhysicalType::kDouble) {
      for (size_t v = value; v < value_end; ++v) AppendLe(b.doubles_[v], &body);
    } else if (c.type == PhysicalType::kBoolean) {
      uint8_t acc = 0;
      for (size_t v = value; v < value_end; ++v) {
        if (b.ints_[v] != 0) acc |= static_cast<uint8_t>(1u << ((v - value) % 8));
        if ((v - value) % 8 == 7 || v + 1 == value_end) {
          body.push_back(static_cast<char>(acc));
          acc = 0;
        }
      }
    } else if (c.type == PhysicalType::kInt32) {
      for (size_t v = value; v < value_end; ++v) AppendLe(static_cast<int32_t>(b.ints_[v]), &body);
    } else {
      for (size_t v = value; v < value_end; ++v) AppendLe(b.ints_[v], &body);
    }
    AppendPage(kPageData, body, static_cast<uint32_t>(end - row), chunk.dictionary, &chunk);
    value = value_end;
  }
  group->chunks.push_back(std::move(chunk));
  return absl::OkStatus();
}

void FileWriter::WriteFileMetaData(std::string* out) const {
  CompactWriter w(out);
  w.FieldI32(1, 2);  // version
  w.FieldListBegin(2, CompactWriter::kStruct, static_cast<uint32_t>(schema_.size() + 1));
  w.ListStructBegin();  // the root: a group of all columns
  w.FieldBinary(4, "schema");
  w.FieldI32(5, static_cast<int32_t>(schema_.size()));
  w.EndStruct();
  for (const Column& c : schema_) {
    w.ListStructBegin();
    w.FieldI32(1, static_cast<int32_t>(c.type));
    w.FieldI32(3, c.optional ? kRepOptional : kRepRequired);
    w.FieldBinary(4, c.name);
    switch (c.logical) {
      case Logical::kNone:
        break;
      case Logical::kString:
        w.FieldI32(6, kConvertedUtf8);
        w.FieldStructBegin(10);
        w.FieldStructBegin(1);  // StringType
        w.EndStruct();
        w.EndStruct();
        break;
      case Logical::kDate:
        w.FieldI32(6, kConvertedDate);
        w.FieldStructBegin(10);
        w.FieldStructBegin(6);  // DateType
        w.EndStruct();
        w.EndStruct();
        break;
      case Logical::kTimestampNanos:
      case Logical::kTimestampMicros: {
        const bool micros = c.logical == Logical::kTimestampMicros;
        // TIMESTAMP_MICROS as a converted type means UTC-adjusted; NANOS has none.
        if (micros && c.utc) w.FieldI32(6, kConvertedTimestampMicros);
        w.FieldStructBegin(10);
        w.FieldStructBegin(8);  // TimestampType
        w.FieldBool(1, c.utc);
        w.FieldStructBegin(2);               // TimeUnit
        w.FieldStructBegin(micros ? 2 : 3);  // MicroSeconds / NanoSeconds
        w.EndStruct();
        w.EndStruct();
        w.EndStruct();
        w.EndStruct();
        break;
      }
      case Logical::kInt: {
        // UINT_8..UINT_64 are 11..14, INT_8..INT_64 are 15..18.
        const int step = c.bit_width == 8 ? 0 : c.bit_width == 16 ? 1 : c.bit_width == 32 ? 2 : 3;
        w.FieldI32(6, (c.is_signed ? 15 : 11) + step);
        w.FieldStructBegin(10);
        w.FieldStructBegin(10);  // IntType
        w.FieldI8(1, static_cast<int8_t>(c.bit_width));
        w.FieldBool(2, c.is_signed);
        w.EndStruct();
        w.EndStruct();
        break;
      }
    }
    w.EndStruct();
  }
  w.FieldI64(3, static_cast<int64_t>(total_rows_));
  w.FieldListBegin(4, CompactWriter::kStruct, static_cast<uint32_t>(groups_.size()));
  for (size_t g = 0; g < groups_.size(); ++g) {
    const RowGroupMeta& group = groups_[g];
    int64_t uncompressed = 0, compressed = 0;
    w.ListStructBegin();
    w.FieldListBegin(1, CompactWriter::kStruct, static_cast<uint32_t>(group.chunks.size()));
    for (size_t i = 0; i < group.chunks.size(); ++i) {
      const ChunkMeta& m = group.chunks[i];
      const Column& c = schema_[i];
      uncompressed += m.uncompressed_size;
      compressed += m.compressed_size;
      w.ListStructBegin();  // ColumnChunk
      w.FieldI64(2, m.file_offset);
      w.FieldStructBegin(3);  // ColumnMetaData
      w.FieldI32(1, static_cast<int32_t>(c.type));
      w.FieldListBegin(2, CompactWriter::kI32, m.dictionary ? 3 : 2);
      w.ListI32(kEncodingPlain);
      w.ListI32(kEncodingRle);
      if (m.dictionary) w.ListI32(kEncodingRleDictionary);
      w.FieldListBegin(3, CompactWriter::kBinary, 1);
      w.ListBinary(c.name);
      w.FieldI32(4, static_cast<int32_t>(options_.codec));
      w.FieldI64(5, m.num_values);
      w.FieldI64(6, m.uncompressed_size);
      w.FieldI64(7, m.compressed_size);
      w.FieldI64(9, m.data_page_offset);
      if (m.dictionary_page_offset) w.FieldI64(11, *m.dictionary_page_offset);
      w.FieldStructBegin(12);  // Statistics
      w.FieldI64(3, m.null_count);
      if (m.max_value) w.FieldBinary(5, *m.max_value);
      if (m.min_value) w.FieldBinary(6, *m.min_value);
      w.EndStruct();
      w.EndStruct();  // ColumnMetaData
      w.EndStruct();  // ColumnChunk
    }
    w.FieldI64(2, uncompressed);
    w.FieldI64(3, group.num_rows);
    w.FieldI64(5, group.file_offset);
    w.FieldI64(6, compressed);
    w.FieldI16(7, static_cast<int16_t>(g));
    w.EndStruct();
  }
  w.FieldBinary(6, options_.created_by);
  w.FieldListBegin(7, CompactWriter::kStruct, static_cast<uint32_t>(schema_.size()));
  for (size_t i = 0; i < schema_.size(); ++i) {
    w.ListStructBegin();    // ColumnOrder
    w.FieldStructBegin(1);  // TypeDefinedOrder
    w.EndStruct();
    w.EndStruct();
  }
  w.EndStruct();
}

absl::StatusOr<std::string> FileWriter::Finish() {
  if (absl::Status s = EndRowGroup(); !s.ok()) return s;
  finished_ = true;
  std::string meta;
  WriteFileMetaData(&meta);
  std::string file = std::move(out_);
  file.append(meta);
  AppendLe(static_cast<uint32_t>(meta.size()), &file);
  file.append("PAR1");
  return file;
}

}  // namespace xtcp::parquet
