// csv and tsv: one line per record, humanized cells (humanize_fields.h), quoted like Go's
// encoding/csv Writer with '\n' line ends. The header line (the columns' JSON names) is written
// once, before the first record this marshaller ever emits: once per process on a stream, since
// the daemon builds one marshaller; again after RepeatHeader() (the first message of each flush
// to a message sink).
#include <cstdint>

#include "marshal/formats.h"
#include "marshal/humanize_fields.h"

namespace xtcp::marshal {
namespace {

// unicode.IsSpace of the first UTF-8 rune of `s` (Go quotes fields that start with white space).
bool StartsWithSpace(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  if (s.empty()) return false;
  switch (b(0)) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
      return true;
    default:
      break;
  }
  // The white-space runes above ASCII are 2- and 3-byte sequences; anything else (including
  // invalid UTF-8, which Go decodes as U+FFFD) is not space.
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  uint32_t r = 0;
  if ((b(0) & 0xe0) == 0xc0 && cont(1)) {
    r = (b(0) & 0x1fu) << 6 | (b(1) & 0x3fu);
  } else if ((b(0) & 0xf0) == 0xe0 && cont(1) && cont(2)) {
    r = (b(0) & 0x0fu) << 12 | (b(1) & 0x3fu) << 6 | (b(2) & 0x3fu);
  } else {
    return false;
  }
  return r == 0x85 || r == 0xa0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
         r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

class DelimitedMarshaller final : public Marshaller {
 public:
  DelimitedMarshaller(char delim, std::vector<Column> columns)
      : delim_(delim), columns_(std::move(columns)) {}

  std::string_view name() const override { return delim_ == ',' ? "csv" : "tsv"; }
  std::string_view content_type() const override {
    return delim_ == ',' ? "text/csv" : "text/tab-separated-values";
  }
  std::string_view metric_op() const override {
    return delim_ == ',' ? "envelopeCSVMarshal" : "envelopeTSVMarshal";
  }

  void RepeatHeader() override { header_written_ = false; }

  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    if (absl::Status s = ParseEnvelope(env, &envelope_); !s.ok()) return s;
    if (!header_written_) {
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (i > 0) out->push_back(delim_);
        AppendField(columns_[i].json_name, out);
      }
      out->push_back('\n');
      header_written_ = true;
    }
    for (const auto& row : envelope_.row()) {
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (i > 0) out->push_back(delim_);
        cell_.clear();
        AppendCell(row, columns_[i], &cell_);
        AppendField(cell_, out);
      }
      out->push_back('\n');
    }
    return absl::OkStatus();
  }

 private:
  // encoding/csv's fieldNeedsQuotes and quoting: quote a field holding the delimiter, '"', CR or
  // LF, starting with white space, or equal to `\.`; inside quotes only '"' is doubled.
  void AppendField(std::string_view f, std::string* out) const {
    bool quote = f == "\\." || StartsWithSpace(f);
    for (size_t i = 0; i < f.size() && !quote; ++i) {
      quote = f[i] == delim_ || f[i] == '"' || f[i] == '\r' || f[i] == '\n';
    }
    if (!quote) {
      out->append(f);
      return;
    }
    out->push_back('"');
    for (const char c : f) {
      if (c == '"') out->push_back('"');
      out->push_back(c);
    }
    out->push_back('"');
  }

  const char delim_;
  const std::vector<Column> columns_;
  bool header_written_ = false;
  record::ProtoEnvelope envelope_;
  std::string cell_;
};

absl::StatusOr<std::unique_ptr<Marshaller>> NewDelimited(char delim, const MarshalOptions& opts) {
  auto columns = SelectColumns(opts.csv_columns);
  if (!columns.ok()) return columns.status();
  return std::make_unique<DelimitedMarshaller>(delim, *std::move(columns));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Marshaller>> NewCsv(const MarshalOptions& opts) {
  return NewDelimited(',', opts);
}

absl::StatusOr<std::unique_ptr<Marshaller>> NewTsv(const MarshalOptions& opts) {
  return NewDelimited('\t', opts);
}

}  // namespace xtcp::marshal
