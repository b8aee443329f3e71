// The marshaller table: every -marshal format, its constructor. To add a format, add a file and a
// row here.
#include <array>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "marshal/formats.h"

namespace xtcp {
namespace marshal {
namespace {

using Factory = absl::StatusOr<std::unique_ptr<Marshaller>> (*)(const MarshalOptions&);

template <std::unique_ptr<Marshaller> (*New)(const MarshalOptions&)>
absl::StatusOr<std::unique_ptr<Marshaller>> Always(const MarshalOptions& o) {
  return New(o);
}

struct Entry {
  std::string_view name;
  Factory factory;
};

constexpr std::array kMarshallers = {
    Entry{"protobufList", &Always<NewProtobufList>},
    Entry{"protoJson", &Always<NewProtoJson>},
    Entry{"protoText", &Always<NewProtoText>},
    Entry{"msgpack", &Always<NewMsgpack>},
    Entry{"jsonl", &Always<NewJsonl>},
    Entry{"csv", &NewCsv},
    Entry{"tsv", &NewTsv},
    Entry{"humanize", &Always<NewHumanize>},
};

}  // namespace

absl::Status ParseEnvelope(const EnvelopeView& env, record::ProtoEnvelope* msg) {
  if (!msg->ParseFromArray(env.bytes.data(), static_cast<int>(env.bytes.size()))) {
    return absl::DataLossError("envelope bytes do not parse");
  }
  if (static_cast<uint32_t>(msg->row_size()) != env.rows) {
    return absl::DataLossError(
        absl::StrCat("envelope holds ", msg->row_size(), " rows, expected ", env.rows));
  }
  return absl::OkStatus();
}

const google::protobuf::util::JsonPrintOptions& JsonOptions() {
  static const google::protobuf::util::JsonPrintOptions opts = [] {
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = false;
    o.always_print_primitive_fields = false;
    o.preserve_proto_field_names = false;
    o.always_print_enums_as_ints = false;
    return o;
  }();
  return opts;
}

}  // namespace marshal

std::vector<std::string> MarshallerNames() {
  std::vector<std::string> names;
  for (const auto& e : marshal::kMarshallers) names.emplace_back(e.name);
  return names;
}

absl::StatusOr<std::unique_ptr<Marshaller>> CreateMarshaller(const MarshalOptions& opts) {
  std::string names;
  for (const auto& e : marshal::kMarshallers) {
    if (e.name == opts.name) return e.factory(opts);
    absl::StrAppend(&names, names.empty() ? "" : ", ", AsAbsl(e.name));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", opts.name, "\" for flag -marshal: must be one of ", names));
}

}  // namespace xtcp
