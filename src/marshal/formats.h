#pragma once
// Constructors of the built-in marshallers (one .cc per format) and helpers they share.

#include <google/protobuf/util/json_util.h>

#include <memory>

#include "absl/status/statusor.h"
#include "record/record_codec.h"
#include "xtcp/marshaller.h"

namespace xtcp::marshal {

std::unique_ptr<Marshaller> NewProtobufList(const MarshalOptions& opts);
std::unique_ptr<Marshaller> NewJsonl(const MarshalOptions& opts);

// Parses the envelope bytes into `msg` (reusing its rows). DataLoss if the bytes do not parse or
// hold a different number of rows than the view says.
absl::Status ParseEnvelope(const EnvelopeView& env, record::ProtoEnvelope* msg);

// protobuf's canonical JSON options used by every JSON format.
const google::protobuf::util::JsonPrintOptions& JsonOptions();

}  // namespace xtcp::marshal
