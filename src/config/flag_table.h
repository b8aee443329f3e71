#pragma once
// The one flag table: a row per flag says everything about it — name, environment variable,
// type, help, topic, the Config field it sets, the XtcpConfig field it maps to, its range, its
// status and whether its value is secret. Parsing, the environment, validation, -help, -conf and
// Config <-> XtcpConfig all read this table (flags.cc, config.cc); nothing repeats a flag.
//
// A flag's default is its Config field's initialiser (config.h): -help prints Config{}'s value,
// so the default is written once.
//
// Adding a flag = one row in flag_table.cc + one Config field.

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "google/protobuf/message.h"

namespace xtcp::config {

// How a value is typed on the command line (Go's flag package words in -help).
enum class Type { kBool, kUint, kInt, kString, kDuration };

// -help groups flags by topic, in this order.
enum class Topic {
  kCollection,
  kOutput,
  kKafka,
  kStamps,
  kHttp,
  kGrpc,
  kEnrichment,
  kS3Parquet,
  kProfiling,
  kOperations,
  kOneShot,
};
std::string_view TopicTitle(Topic t);

// kInert: accepted for compatibility with the upstream daemon, but nothing is built behind it
// yet; setting it logs one WARN line at start-up.
enum class Status { kActive, kInert };

// How a secret value is masked wherever it is shown (-conf, /debug/pprof/cmdline, errors).
enum class Secret { kNone, kWhole, kUrlUserinfo };

// Type-erased access to one Config field (made by the templates in flag_table.cc).
struct FieldAccess {
  Type type;
  // Sets the field from command-line text; returns "" or what was expected.
  std::string (*parse)(std::string_view text, int64_t lo, int64_t hi, Config* c);
  // The value as it would be typed (durations in Go syntax, lists comma-joined).
  std::string (*format)(const Config& c);
  // What the range applies to: integer value, string byte length, duration in nanoseconds
  // (saturated to int64).
  int64_t (*measure)(const Config& c);
  // Config <-> the XtcpConfig field `fd` (by reflection; a field of the matching kind).
  void (*to_proto)(const Config& c, google::protobuf::Message* m,
                   const google::protobuf::FieldDescriptor* fd);
  void (*from_proto)(const google::protobuf::Message& m,
                     const google::protobuf::FieldDescriptor* fd, Config* c);
};

// An extra rule beyond the range: returns "" or why the value is refused.
using Check = std::string (*)(const Config& c, const Vocabulary& v);

inline constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

struct FlagRow {
  std::string_view name;  // as typed after "-"
  std::string_view env;   // environment variable, "" = none
  Topic topic;
  FieldAccess field;              // the Config field
  std::string_view proto;         // XtcpConfig field name, "" = none
  int64_t lo = 0, hi = kNoLimit;  // range (see FieldAccess::measure); default: not negative
  Check check = nullptr;
  Status status = Status::kActive;
  Secret secret = Secret::kNone;
  std::string_view help;
};

// Every flag, in -help order within its topic.
std::span<const FlagRow> Flags();
const FlagRow* FindFlag(std::string_view name);

// XtcpConfig fields that no flag sets, by design (the build stamps daemon_version).
inline constexpr std::string_view kProtoFieldsWithoutFlag[] = {"daemon_version"};

// The range of `row` as words ("must be between 1 and 100"), "" when it has none.
std::string RangeWords(const FlagRow& row);
// "" when the Config value of `row` passes its range and check, else why not.
std::string CheckRow(const FlagRow& row, const Config& c, const Vocabulary& v);
// The value of `row` in `c` as safe to show.
std::string ShownValue(const FlagRow& row, const Config& c);
// `value` of `row` masked by its Secret kind.
std::string MaskValue(const FlagRow& row, const std::string& value);

// The "Every flag" section of docs/configuration.md, generated from the table (a test keeps the
// page equal to it).
std::string FlagTableMarkdown();

// The first flag whose value in `c` is refused (table order; -timeout also against -frequency).
struct Invalid {
  const FlagRow* row;
  std::string why;
};
std::optional<Invalid> FindInvalid(const Config& c, const Vocabulary& v);

// The keys a -deserializers spec enables, in vocabulary order (spec assumed valid).
std::vector<std::string> ResolveDeserializers(const std::string& spec, const Vocabulary& v);

// FromProto restricted to the XtcpConfig fields named in `*only` (all when null): what
// XTCP_CONFIG_JSON gave replaces, the rest is kept.
absl::Status FromProtoFields(const ::xtcp_config::v1::XtcpConfig& p,
                             const std::set<std::string>* only, Config* c, const Vocabulary& v);

}  // namespace xtcp::config
