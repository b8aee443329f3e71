#include "tools/config_edit.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/util/json_util.h>

#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "config/config.h"
#include "tools/client_common.h"

namespace xtcp::tools {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Reflection;
using ::xtcp_config::v1::XtcpConfig;

constexpr std::string_view kDeserializers = "enabledDeserializers";

const FieldDescriptor* FindField(std::string_view name) {
  const auto* d = XtcpConfig::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->json_name() == name || f->name() == name) return f;
  }
  return nullptr;
}

absl::Status Bad(const FieldDescriptor* f, std::string_view value, std::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat("invalid value \"", AsAbsl(value), "\" for field ",
                                                 f->json_name(), ": want ", AsAbsl(want)));
}

absl::Status SetDuration(const FieldDescriptor* f, std::string_view value, XtcpConfig* cfg) {
  absl::Duration d;
  if (!config::ParseGoDuration(value, &d)) return Bad(f, value, "a duration such as 10s or 1m30s");
  absl::Duration rem;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rem);
  auto* msg =
      static_cast<google::protobuf::Duration*>(cfg->GetReflection()->MutableMessage(cfg, f));
  msg->set_seconds(seconds);
  msg->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rem)));
  return absl::OkStatus();
}

absl::Status SetDeserializer(absl::string_view key, std::string_view value, XtcpConfig* cfg) {
  absl::ConsumePrefix(&key, "enabled.");
  if (key.empty()) {
    return absl::InvalidArgumentError(
        "enabledDeserializers needs a key: enabledDeserializers.<name>=true|false");
  }
  bool on = false;
  if (!ParseGoBool(value, &on)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", AsAbsl(value),
                                                   "\" for enabledDeserializers.", key,
                                                   ": want true or false"));
  }
  (*cfg->mutable_enabled_deserializers()->mutable_enabled())[std::string(key)] = on;
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseConfigJson(std::string_view json, XtcpConfig* cfg) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  XtcpConfig parsed;
  const auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &parsed, opts);
  if (!st.ok()) {
    const std::string why(st.message().data(), st.message().size());
    return absl::InvalidArgumentError(absl::StrCat("not an XtcpConfig in JSON: ", why));
  }
  *cfg = std::move(parsed);
  return absl::OkStatus();
}

absl::Status ApplyAssignment(std::string_view assignment, XtcpConfig* cfg) {
  const size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected field=value, got \"", AsAbsl(assignment), "\""));
  }
  const std::string_view name = assignment.substr(0, eq);
  const std::string_view value = assignment.substr(eq + 1);
  for (std::string_view prefix : {kDeserializers, std::string_view("enabled_deserializers")}) {
    absl::string_view key = AsAbsl(name);
    if (absl::ConsumePrefix(&key, AsAbsl(prefix)) && absl::ConsumePrefix(&key, ".")) {
      return SetDeserializer(key, value, cfg);
    }
  }
  const FieldDescriptor* f = FindField(name);
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown field \"", AsAbsl(name),
                     "\" of XtcpConfig (the names xtcp2ctl get prints, or the .proto names)"));
  }
  const Reflection* r = cfg->GetReflection();
  if (f->is_repeated()) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", f->json_name(), " cannot be set as field=value"));
    }
    r->ClearField(cfg, f);
    for (absl::string_view item : absl::StrSplit(AsAbsl(value), ',')) {
      item = absl::StripAsciiWhitespace(item);
      if (!item.empty()) r->AddString(cfg, f, std::string(item));
    }
    return absl::OkStatus();
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v = 0;
      if (!absl::SimpleAtoi(AsAbsl(value), &v))
        return Bad(f, value, "an integer in [0, 4294967295]");
      r->SetUInt32(cfg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(AsAbsl(value), &v)) {
        return Bad(f, value, "an integer in [0, 18446744073709551615]");
      }
      r->SetUInt64(cfg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v = false;
      if (!ParseGoBool(value, &v)) return Bad(f, value, "true or false");
      r->SetBool(cfg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(cfg, f, std::string(value));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (f->message_type() == google::protobuf::Duration::descriptor()) {
        return SetDuration(f, value, cfg);
      }
      if (f->json_name() == kDeserializers) {
        return absl::InvalidArgumentError(
            "set deserializers one by one: enabledDeserializers.<name>=true|false");
      }
      break;
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("field ", f->json_name(), " cannot be set as field=value"));
}

std::string ConfigToJson(const google::protobuf::Message& msg, bool pretty) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = pretty;
  opts.always_print_primitive_fields = false;
  opts.preserve_proto_field_names = false;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(msg, &out, opts);
  return out;
}

}  // namespace xtcp::tools
