// protobufList: varint(len(Envelope)) ‖ Envelope — one message of ClickHouse's ProtobufList format.
// The envelope bytes are already the serialized Envelope, so this is a copy behind a length.
#include "marshal/formats.h"
#include "record/wire.h"

namespace xtcp::marshal {
namespace {

class ProtobufListMarshaller final : public Marshaller {
 public:
  std::string_view name() const override { return "protobufList"; }
  std::string_view content_type() const override { return "application/octet-stream"; }
  std::string_view metric_op() const override { return "protobufListMarshal"; }
  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    HeaderOnly(env, out);
    out->append(env.bytes);
    return absl::OkStatus();
  }
  bool HeaderOnly(const EnvelopeView& env, std::string* prefix) override {
    uint8_t len[10];
    const uint8_t* end = record::wire::PutVarint(len, env.bytes.size());
    prefix->append(reinterpret_cast<const char*>(len), static_cast<size_t>(end - len));
    return true;
  }
};

}  // namespace

std::unique_ptr<Marshaller> NewProtobufList(const MarshalOptions&) {
  return std::make_unique<ProtobufListMarshaller>();
}

}  // namespace xtcp::marshal
