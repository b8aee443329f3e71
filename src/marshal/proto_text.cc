// protoText: the whole Envelope in protobuf text format + "\n" (`row { … }` blocks, one field per
// line). Strings are printed as UTF-8 with only the necessary escapes, bytes with octal escapes,
// as Go's prototext does; the block syntax is C++'s (`row {`, where Go writes `row: {`), which
// every text-format parser reads.
#include <google/protobuf/text_format.h>

#include "marshal/formats.h"

namespace xtcp::marshal {
namespace {

class ProtoTextMarshaller final : public Marshaller {
 public:
  ProtoTextMarshaller() { printer_.SetUseUtf8StringEscaping(true); }
  std::string_view name() const override { return "protoText"; }
  std::string_view content_type() const override { return "text/plain; charset=utf-8"; }
  std::string_view metric_op() const override { return "envelopeProtoTextMarshal"; }
  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    if (absl::Status s = ParseEnvelope(env, &envelope_); !s.ok()) return s;
    text_.clear();
    if (!printer_.PrintToString(envelope_, &text_)) {
      return absl::InternalError("TextFormat could not print the envelope");
    }
    out->append(text_);
    out->push_back('\n');
    return absl::OkStatus();
  }

 private:
  google::protobuf::TextFormat::Printer printer_;
  record::ProtoEnvelope envelope_;
  std::string text_;
};

}  // namespace

std::unique_ptr<Marshaller> NewProtoText(const MarshalOptions&) {
  return std::make_unique<ProtoTextMarshaller>();
}

}  // namespace xtcp::marshal
