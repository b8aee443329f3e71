// protoJson: the whole Envelope as one JSON object `{"row":[{…},…]}` + "\n", printed by
// protobuf's own JSON printer (canonical mapping: lowerCamelCase names, zero values omitted,
// 64-bit integers as strings, bytes base64, enum names).
#include <google/protobuf/util/json_util.h>

#include "marshal/formats.h"

namespace xtcp::marshal {
namespace {

class ProtoJsonMarshaller final : public Marshaller {
 public:
  std::string_view name() const override { return "protoJson"; }
  std::string_view content_type() const override { return "application/json"; }
  std::string_view metric_op() const override { return "envelopeProtoJSONMarshal"; }
  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    if (absl::Status s = ParseEnvelope(env, &envelope_); !s.ok()) return s;
    json_.clear();
    const auto st = google::protobuf::util::MessageToJsonString(envelope_, &json_, JsonOptions());
    if (!st.ok()) return absl::InternalError(std::string(st.message()));
    out->append(json_);
    out->push_back('\n');
    return absl::OkStatus();
  }

 private:
  record::ProtoEnvelope envelope_;  // reused: parsing into it recycles its rows
  std::string json_;
};

}  // namespace

std::unique_ptr<Marshaller> NewProtoJson(const MarshalOptions&) {
  return std::make_unique<ProtoJsonMarshaller>();
}

}  // namespace xtcp::marshal
