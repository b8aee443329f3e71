#include "parquet/flat_record_parquet.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"

namespace xtcp::parquet {
namespace {

using ::google::protobuf::FieldDescriptor;

constexpr int64_t kNsPerDay = int64_t{86400} * 1000 * 1000 * 1000;
constexpr char kEventDateAfter[] = "location";

// One column of the file: a proto field, or (field == nullptr) the derived event_date.
struct Slot {
  const FieldDescriptor* field;
};

std::vector<Slot> Slots() {
  std::vector<Slot> slots;
  const auto* d = XtcpFlatRecord::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    slots.push_back({d->field(i)});
    if (d->field(i)->name() == kEventDateAfter) slots.push_back({nullptr});
  }
  if (std::none_of(slots.begin(), slots.end(), [](const Slot& s) { return s.field == nullptr; })) {
    slots.push_back({nullptr});
  }
  return slots;
}

Column ColumnFor(const FieldDescriptor* f) {
  Column c;
  c.name = std::string(f->name());
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      c.type = PhysicalType::kByteArray;
      if (f->type() == FieldDescriptor::TYPE_STRING) c.logical = Logical::kString;
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      c.type = PhysicalType::kInt32;
      c.logical = Logical::kInt;
      c.bit_width = 32;
      c.is_signed = false;
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      c.type = PhysicalType::kInt64;
      c.logical = Logical::kInt;
      c.bit_width = 64;
      c.is_signed = false;
      break;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_ENUM:
      c.type = PhysicalType::kInt32;
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      c.type = PhysicalType::kInt64;
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      c.type = PhysicalType::kBoolean;
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      c.type = PhysicalType::kDouble;
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;  // none in XtcpFlatRecord; RecordsToParquet refuses them
  }
  return c;
}

}  // namespace

Schema FlatRecordSchema() {
  Schema schema;
  for (const Slot& s : Slots()) {
    if (s.field != nullptr) {
      schema.push_back(ColumnFor(s.field));
    } else {
      Column c;
      c.name = kEventDateColumn;
      c.type = PhysicalType::kByteArray;
      c.logical = Logical::kString;
      schema.push_back(c);
    }
  }
  return schema;
}

std::string EventDate(int64_t timestamp_ns) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixNanos(timestamp_ns), absl::UTCTimeZone());
}

absl::StatusOr<std::string> RecordsToParquet(const std::vector<XtcpFlatRecord>& records,
                                             const WriterOptions& options,
                                             uint64_t row_group_rows) {
  const std::vector<Slot> slots = Slots();
  for (const Slot& s : slots) {
    if (s.field != nullptr &&
        (s.field->is_repeated() || s.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parquet: field ", s.field->name(), " is not a flat scalar"));
    }
  }
  absl::StatusOr<std::unique_ptr<FileWriter>> writer =
      FileWriter::Create(FlatRecordSchema(), options);
  if (!writer.ok()) return writer.status();
  FileWriter& w = **writer;
  const auto* refl = XtcpFlatRecord::GetReflection();
  std::string scratch;
  int64_t cached_day = INT64_MIN;
  std::string cached_date;
  for (const XtcpFlatRecord& r : records) {
    for (size_t i = 0; i < slots.size(); ++i) {
      const FieldDescriptor* f = slots[i].field;
      ColumnBuffer& col = w.column(i);
      if (f == nullptr) {
        const int64_t ns = r.timestamp_ns();
        const int64_t day = ns / kNsPerDay - (ns % kNsPerDay < 0 ? 1 : 0);
        if (day != cached_day) {
          cached_day = day;
          cached_date = EventDate(ns);
        }
        col.AppendBytes(cached_date);
        continue;
      }
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          col.AppendBytes(refl->GetStringReference(r, f, &scratch));
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          col.AppendUInt32(refl->GetUInt32(r, f));
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          col.AppendUInt64(refl->GetUInt64(r, f));
          break;
        case FieldDescriptor::CPPTYPE_INT32:
          col.AppendInt32(refl->GetInt32(r, f));
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          col.AppendInt32(refl->GetEnumValue(r, f));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          col.AppendInt64(refl->GetInt64(r, f));
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          col.AppendBool(refl->GetBool(r, f));
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          col.AppendDouble(refl->GetDouble(r, f));
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          col.AppendDouble(refl->GetFloat(r, f));
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:
          break;
      }
    }
    if (w.pending_rows() >= row_group_rows) {
      if (absl::Status s = w.EndRowGroup(); !s.ok()) return s;
    }
  }
  return w.Finish();
}

}  // namespace xtcp::parquet
