// jsonl: one record per line in protobuf's canonical JSON mapping (lowerCamelCase names, zero
// values omitted, 64-bit integers as strings, bytes base64, enum names).
#include <google/protobuf/util/json_util.h>

#include "marshal/formats.h"

namespace xtcp::marshal {
namespace {

class JsonlMarshaller final : public Marshaller {
 public:
  std::string_view name() const override { return "jsonl"; }
  std::string_view content_type() const override { return "application/x-ndjson"; }
  std::string_view metric_op() const override { return "envelopeJSONLMarshal"; }
  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    if (absl::Status s = ParseEnvelope(env, &envelope_); !s.ok()) return s;
    for (const auto& row : envelope_.row()) {
      line_.clear();
      const auto st = google::protobuf::util::MessageToJsonString(row, &line_, JsonOptions());
      if (!st.ok()) return absl::InternalError(std::string(st.message()));
      out->append(line_);
      out->push_back('\n');
    }
    return absl::OkStatus();
  }

 private:
  record::ProtoEnvelope envelope_;  // reused: parsing into it recycles its rows
  std::string line_;
};

}  // namespace

std::unique_ptr<Marshaller> NewJsonl(const MarshalOptions&) {
  return std::make_unique<JsonlMarshaller>();
}

}  // namespace xtcp::marshal
