#pragma once
// Editing an XtcpConfig from the command line (xtcp2ctl set): protobuf JSON in, and
// "field=value" assignments applied one by one. Pure functions over the message.

#include <string_view>

#include "absl/status/status.h"
#include "xtcp_config/v1/xtcp_config.pb.h"

namespace xtcp::tools {

// Replaces `*cfg` with the XtcpConfig in `json` (protobuf's JSON mapping; both lowerCamelCase and
// proto field names; an unknown field is an error). InvalidArgument names the problem.
absl::Status ParseConfigJson(std::string_view json, xtcp_config::v1::XtcpConfig* cfg);

// Applies one "name=value" to `*cfg`. `name` is a field's JSON name (pollFrequency) or proto name
// (poll_frequency). The value is read by the field's type:
//   integers   decimal, within the field's width            netlinkers=4
//   bool       Go's ParseBool (true, false, 1, 0, t, f, ...)  ioUring=true
//   string     verbatim (may be empty)                       label=rack1
//   Duration   Go duration syntax                            pollFrequency=30s
//   repeated   comma-separated, blanks dropped; empty clears  uplinkInterfaces=eth0,eth1
// and enabledDeserializers.<key>=<bool> (or enabledDeserializers.enabled.<key>) sets one entry of
// the deserializer map. InvalidArgument names the field and why.
absl::Status ApplyAssignment(std::string_view assignment, xtcp_config::v1::XtcpConfig* cfg);

// The JSON xtcp2ctl prints: protobuf's canonical mapping (lowerCamelCase names, zero values
// omitted, 64-bit integers as strings, durations as "10s"), one line, or indented with `pretty`.
std::string ConfigToJson(const google::protobuf::Message& msg, bool pretty);

}  // namespace xtcp::tools
