// Writes Parquet files from random data, each with a JSON of the values a reader must find:
//   records_<seed>.parquet / .json  random XtcpFlatRecords through RecordsToParquet
//   types_<seed>.parquet / .json    a hand-made schema with every type, OPTIONAL columns and nulls
// readers_test.mjs reads them with hyparquet and DuckDB.
//
// Usage: parquet_roundtrip_gen <out dir> <seed>...
// Expected JSON: {"rows": n, "columns": [{"name", "values": [...]}]}, integers as decimal
// strings (signed or unsigned as the column declares), BYTE_ARRAY without STRING as hex, DOUBLE as
// %.17g strings, null for nulls.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"
#include "parquet/flat_record_parquet.h"
#include "parquet/writer.h"

namespace xtcp::parquet {
namespace {

using ::google::protobuf::FieldDescriptor;

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::string Hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += absl::StrFormat("%02x", c);
  return JsonString(out);
}

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t U64() {
    switch (rng_() % 4) {
      case 0:
        return 0;
      case 1:
        return std::numeric_limits<uint64_t>::max();
      default:
        return rng_();
    }
  }
  uint32_t U32() { return static_cast<uint32_t>(U64()); }
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  // Empty, one of a few (so dictionaries pay), or random printable ASCII and UTF-8.
  std::string Text() {
    static const char* const kFew[] = {"cubic", "bbr", "default", "ns-1", "\xc3\xa9t\xc3\xa9"};
    switch (rng_() % 4) {
      case 0:
        return "";
      case 1:
      case 2:
        return kFew[rng_() % 5];
      default: {
        std::string s(rng_() % 40, ' ');
        for (char& c : s) c = static_cast<char>(' ' + rng_() % 95);
        return s;
      }
    }
  }
  std::string Binary() {
    std::string s(rng_() % 2 ? 16 : rng_() % 5, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  return f.good();
}

// The declared type as readers_test.mjs spells it from a reader's schema.
std::string Declared(const Column& c) {
  static const char* const kPhysical[] = {"BOOLEAN", "INT32",  "INT64",     "",
                                          "",        "DOUBLE", "BYTE_ARRAY"};
  std::string s = kPhysical[static_cast<int>(c.type)];
  switch (c.logical) {
    case Logical::kNone:
      break;
    case Logical::kString:
      s += " STRING";
      break;
    case Logical::kInt:
      absl::StrAppend(&s, " INT(", c.bit_width, ",", c.is_signed ? "signed" : "unsigned", ")");
      break;
    case Logical::kTimestampNanos:
    case Logical::kTimestampMicros:
      absl::StrAppend(&s, " TIMESTAMP(", c.logical == Logical::kTimestampNanos ? "NANOS" : "MICROS",
                      ",", c.utc ? "utc" : "local", ")");
      break;
    case Logical::kDate:
      s += " DATE";
      break;
  }
  return s + (c.optional ? " OPTIONAL" : " REQUIRED");
}

std::string ColumnsJson(uint64_t rows, Codec codec, const Schema& schema,
                        const std::vector<std::vector<std::string>>& values) {
  std::string json =
      absl::StrCat("{\"rows\":", rows, ",\"codec\":\"",
                   codec == Codec::kZstd ? "ZSTD" : "UNCOMPRESSED", "\",\"columns\":[");
  for (size_t c = 0; c < schema.size(); ++c) {
    absl::StrAppend(&json, c ? "," : "", "{\"name\":", JsonString(schema[c].name),
                    ",\"declared\":", JsonString(Declared(schema[c])), ",\"values\":[");
    for (size_t r = 0; r < values[c].size(); ++r)
      absl::StrAppend(&json, r ? "," : "", values[c][r]);
    json += "]}";
  }
  return json + "]}\n";
}

// Random records; the expected JSON is built from the records through the same reflection the
// columns come from, so a forgotten or shifted column shows up as a mismatch.
bool Records(const std::string& dir, uint64_t seed) {
  Gen g(seed);
  const size_t n = 200 + g.rng()() % 1800;
  std::vector<XtcpFlatRecord> records(n);
  const auto* d = XtcpFlatRecord::descriptor();
  const auto* refl = XtcpFlatRecord::GetReflection();
  for (XtcpFlatRecord& r : records) {
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          refl->SetString(&r, f, f->type() == FieldDescriptor::TYPE_BYTES ? g.Binary() : g.Text());
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          refl->SetUInt32(&r, f, g.U32());
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          refl->SetUInt64(&r, f, g.U64());
          break;
        case FieldDescriptor::CPPTYPE_INT32:
          refl->SetInt32(&r, f, static_cast<int32_t>(g.U32()));
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          refl->SetEnumValue(&r, f, static_cast<int>(g.rng()() % 8));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          refl->SetInt64(&r, f, static_cast<int64_t>(g.U64()));
          break;
        default:
          break;
      }
    }
    // Plausible times too, so event_date takes few values in most rows.
    if (g.Chance(70))
      r.set_timestamp_ns(1700000000'000000000 +
                         static_cast<int64_t>(g.rng()() % 400000000'000000ull));
  }
  WriterOptions options;
  options.codec = seed % 2 ? Codec::kZstd : Codec::kUncompressed;
  options.page_rows = 300;
  auto file = RecordsToParquet(records, options, 700);
  if (!file.ok()) {
    std::fprintf(stderr, "RecordsToParquet: %s\n", std::string(file.status().message()).c_str());
    return false;
  }
  const Schema schema = FlatRecordSchema();
  std::vector<std::vector<std::string>> values(schema.size());
  for (const XtcpFlatRecord& r : records) {
    size_t c = 0;
    for (int i = 0; i < d->field_count(); ++i, ++c) {
      if (schema[c].name == kEventDateColumn)
        values[c++].push_back(JsonString(EventDate(r.timestamp_ns())));
      const FieldDescriptor* f = d->field(i);
      std::string v;
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          v = f->type() == FieldDescriptor::TYPE_BYTES ? Hex(refl->GetString(r, f))
                                                       : JsonString(refl->GetString(r, f));
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          v = absl::StrCat("\"", refl->GetUInt32(r, f), "\"");
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          v = absl::StrCat("\"", refl->GetUInt64(r, f), "\"");
          break;
        case FieldDescriptor::CPPTYPE_INT32:
          v = absl::StrCat("\"", refl->GetInt32(r, f), "\"");
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          v = absl::StrCat("\"", refl->GetEnumValue(r, f), "\"");
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          v = absl::StrCat("\"", refl->GetInt64(r, f), "\"");
          break;
        default:
          v = "null";
          break;
      }
      values[c].push_back(v);
    }
  }
  const std::string base = absl::StrCat(dir, "/records_", seed);
  return WriteFile(base + ".parquet", *file) &&
         WriteFile(base + ".json", ColumnsJson(n, options.codec, schema, values));
}

Column Col(std::string name, PhysicalType type, Logical logical, bool optional) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  c.logical = logical;
  c.optional = optional;
  return c;
}

Column IntCol(std::string name, PhysicalType type, int width, bool is_signed, bool optional) {
  Column c = Col(std::move(name), type, Logical::kInt, optional);
  c.bit_width = width;
  c.is_signed = is_signed;
  return c;
}

// Every physical and logical type, OPTIONAL columns with nulls (and one all null).
bool Types(const std::string& dir, uint64_t seed) {
  using P = PhysicalType;
  using L = Logical;
  Schema schema = {
      Col("b", P::kBoolean, L::kNone, true),
      Col("i32", P::kInt32, L::kNone, false),
      IntCol("i16", P::kInt32, 16, true, true),
      IntCol("u32", P::kInt32, 32, false, true),
      Col("i64", P::kInt64, L::kNone, true),
      IntCol("u64", P::kInt64, 64, false, true),
      Col("d", P::kDouble, L::kNone, true),
      Col("s_dict", P::kByteArray, L::kString, true),
      Col("s_plain", P::kByteArray, L::kString, false),
      Col("bin", P::kByteArray, L::kNone, true),
      Col("ts_ns", P::kInt64, L::kTimestampNanos, true),
      Col("ts_us", P::kInt64, L::kTimestampMicros, false),
      Col("ts_local_us", P::kInt64, L::kTimestampMicros, true),
      Col("day", P::kInt32, L::kDate, true),
      Col("all_null", P::kInt64, L::kNone, true),
  };
  schema[12].utc = false;
  Gen g(seed * 7919 + 1);
  const size_t n = 100 + g.rng()() % 2000;
  WriterOptions options;
  options.codec = seed % 2 ? Codec::kUncompressed : Codec::kZstd;
  options.page_rows = 256;
  auto writer = FileWriter::Create(schema, options);
  if (!writer.ok()) return false;
  FileWriter& w = **writer;
  std::vector<std::vector<std::string>> values(schema.size());
  const int null_percent = static_cast<int>(g.rng()() % 60);
  for (size_t row = 0; row < n; ++row) {
    for (size_t c = 0; c < schema.size(); ++c) {
      ColumnBuffer& col = w.column(c);
      if (schema[c].optional && (c == 14 || g.Chance(null_percent))) {
        col.AppendNull();
        values[c].push_back("null");
        continue;
      }
      const std::string name = schema[c].name;
      if (name == "b") {
        const bool v = g.Chance(50);
        col.AppendBool(v);
        values[c].push_back(v ? "true" : "false");
      } else if (name == "i32") {
        const int32_t v = static_cast<int32_t>(g.U32());
        col.AppendInt32(v);
        values[c].push_back(absl::StrCat("\"", v, "\""));
      } else if (name == "i16") {
        const int16_t v = static_cast<int16_t>(g.U32());
        col.AppendInt32(v);
        values[c].push_back(absl::StrCat("\"", v, "\""));
      } else if (name == "u32") {
        const uint32_t v = g.U32();
        col.AppendUInt32(v);
        values[c].push_back(absl::StrCat("\"", v, "\""));
      } else if (name == "i64") {
        const int64_t v = static_cast<int64_t>(g.U64());
        col.AppendInt64(v);
        values[c].push_back(absl::StrCat("\"", v, "\""));
      } else if (name == "u64") {
        const uint64_t v = g.U64();
        col.AppendUInt64(v);
        values[c].push_back(absl::StrCat("\"", v, "\""));
      } else if (name == "d") {
        const double v =
            std::uniform_real_distribution<double>(-1e9, 1e9)(g.rng()) * (g.Chance(10) ? 0 : 1);
        col.AppendDouble(v);
        values[c].push_back(absl::StrFormat("\"%.17g\"", v));
      } else if (name == "s_dict") {
        static const char* const kFew[] = {"", "a", "bb", "\xe2\x9c\x93"};
        const char* v = kFew[g.rng()() % 4];
        col.AppendBytes(v);
        values[c].push_back(JsonString(v));
      } else if (name == "s_plain") {
        const std::string v = absl::StrCat(row, "-", g.Text());
        col.AppendBytes(v);
        values[c].push_back(JsonString(v));
      } else if (name == "bin") {
        const std::string v = g.Binary();
        col.AppendBytes(v);
        values[c].push_back(Hex(v));
      } else if (name == "ts_ns" || name == "ts_us" || name == "ts_local_us") {
        // Within DuckDB's and JavaScript Date's ranges.
        const int64_t v =
            static_cast<int64_t>(g.rng()() % 4000000000'000000000ull) - 1000000000'000000000;
        const int64_t scaled = name == "ts_ns" ? v : v / 1000;
        col.AppendInt64(scaled);
        values[c].push_back(absl::StrCat("\"", scaled, "\""));
      } else if (name == "day") {
        const int32_t v = static_cast<int32_t>(g.rng()() % 100000) - 30000;
        col.AppendInt32(v);
        values[c].push_back(absl::StrCat("\"", v, "\""));
      }
    }
    if (w.pending_rows() == 500) {
      if (!w.EndRowGroup().ok()) return false;
    }
  }
  auto file = w.Finish();
  if (!file.ok()) return false;
  const std::string base = absl::StrCat(dir, "/types_", seed);
  return WriteFile(base + ".parquet", *file) &&
         WriteFile(base + ".json", ColumnsJson(n, options.codec, schema, values));
}

}  // namespace
}  // namespace xtcp::parquet

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <out dir> <seed>...\n", argv[0]);
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    const uint64_t seed = std::strtoull(argv[i], nullptr, 10);
    if (!xtcp::parquet::Records(argv[1], seed) || !xtcp::parquet::Types(argv[1], seed)) {
      std::fprintf(stderr, "seed %" PRIu64 ": writing failed\n", seed);
      return 1;
    }
  }
  return 0;
}
