#pragma once
// Constructors of the built-in marshallers (one .cc per format) and helpers they share.

#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "record/record_codec.h"
#include "xtcp/marshaller.h"

namespace xtcp::marshal {

std::unique_ptr<Marshaller> NewProtobufList(const MarshalOptions& opts);
std::unique_ptr<Marshaller> NewProtoJson(const MarshalOptions& opts);
std::unique_ptr<Marshaller> NewProtoText(const MarshalOptions& opts);
std::unique_ptr<Marshaller> NewMsgpack(const MarshalOptions& opts);
std::unique_ptr<Marshaller> NewJsonl(const MarshalOptions& opts);
std::unique_ptr<Marshaller> NewHumanize(const MarshalOptions& opts);
// csv/tsv resolve -columns: InvalidArgument for an unknown column.
absl::StatusOr<std::unique_ptr<Marshaller>> NewCsv(const MarshalOptions& opts);
absl::StatusOr<std::unique_ptr<Marshaller>> NewTsv(const MarshalOptions& opts);

// Parses the envelope bytes into `msg` (reusing its rows). DataLoss if the bytes do not parse or
// hold a different number of rows than the view says.
absl::Status ParseEnvelope(const EnvelopeView& env, record::ProtoEnvelope* msg);

// The Go struct field name protoc-gen-go derives from a .proto field name ("c_group" -> "CGroup",
// "uplink1_nic_driver" -> "Uplink1NicDriver"); the msgpack map keys.
std::string GoFieldName(std::string_view proto_name);

// protobuf's canonical JSON options used by every JSON format.
const google::protobuf::util::JsonPrintOptions& JsonOptions();

}  // namespace xtcp::marshal
