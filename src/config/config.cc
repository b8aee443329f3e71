#include "config/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "config/flag_table.h"

#ifndef XTCP_GIT_COMMIT
#define XTCP_GIT_COMMIT "unknown"
#endif
#ifndef XTCP_BUILD_DATE
#define XTCP_BUILD_DATE "unknown"
#endif
#ifndef XTCP_VERSION
#define XTCP_VERSION "0.0.0"
#endif

namespace xtcp::config {
namespace {

absl::Status FlagError(std::string_view flag, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid value \"", AsAbsl(value), "\" for flag -",
                                                 AsAbsl(flag), ": ", AsAbsl(why)));
}

}  // namespace

size_t Config::RecvBufferSize() const {
  const uint64_t base = packet_size ? packet_size : static_cast<uint64_t>(::getpagesize());
  const uint64_t mply = packet_size_mply ? packet_size_mply : 8;
  return static_cast<size_t>(base * mply);
}

std::string VersionString() {
  return absl::StrCat("xtcp commit:", XTCP_GIT_COMMIT, "\tdate(UTC):", XTCP_BUILD_DATE,
                      "\tversion:", XTCP_VERSION);
}

bool ParseGoDuration(std::string_view text, absl::Duration* out) {
  // Go: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with units ns us µs ms s m h; "0" alone is allowed.
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *out = absl::ZeroDuration();
    return true;
  }
  if (s.empty()) return false;
  absl::Duration total = absl::ZeroDuration();
  while (!s.empty()) {
    size_t i = 0;
    bool digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        ++i;
        digits = true;
      }
    }
    if (!digits) return false;
    double number = 0;
    if (!absl::SimpleAtod(absl::string_view(s.data(), i), &number)) return false;
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    absl::Duration scale;
    if (unit == "ns") {
      scale = absl::Nanoseconds(1);
    } else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") {
      scale = absl::Microseconds(1);
    } else if (unit == "ms") {
      scale = absl::Milliseconds(1);
    } else if (unit == "s") {
      scale = absl::Seconds(1);
    } else if (unit == "m") {
      scale = absl::Minutes(1);
    } else if (unit == "h") {
      scale = absl::Hours(1);
    } else {
      return false;  // missing or unknown unit
    }
    total += scale * number;
  }
  *out = neg ? -total : total;
  return true;
}

std::string FormatGoDuration(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "0s";
  std::string sign;
  if (d < absl::ZeroDuration()) {
    sign = "-";
    d = -d;
  }
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
    }
    return s;
  };
  if (ns < 1000) return absl::StrCat(sign, ns, "ns");
  if (ns < 1000000) return absl::StrCat(sign, trim(absl::StrFormat("%.3f", ns / 1e3)), "us");
  if (ns < 1000000000) return absl::StrCat(sign, trim(absl::StrFormat("%.6f", ns / 1e6)), "ms");
  const int64_t h = ns / 3600000000000;
  const int64_t m = (ns / 60000000000) % 60;
  const int64_t rem_ns = ns % 60000000000;
  const std::string secs =
      trim(absl::StrFormat("%d.%09d", rem_ns / 1000000000, rem_ns % 1000000000));
  if (h > 0) return absl::StrCat(sign, h, "h", m, "m", secs, "s");
  if (m > 0) return absl::StrCat(sign, m, "m", secs, "s");
  return absl::StrCat(sign, secs, "s");
}

std::vector<std::string> ResolveDeserializers(const std::string& spec, const Vocabulary& v) {
  if (spec == "default") return v.default_deserializers;
  if (spec == "all") return v.deserializers;
  std::vector<std::string> keys;
  for (const std::string& key : v.deserializers) {
    for (absl::string_view part : absl::StrSplit(spec, ',')) {
      if (absl::StripAsciiWhitespace(part) == key) {
        keys.push_back(key);
        break;
      }
    }
  }
  return keys;
}

std::optional<Invalid> FindInvalid(const Config& c, const Vocabulary& v) {
  for (const FlagRow& row : Flags()) {
    if (std::string why = CheckRow(row, c, v); !why.empty()) return Invalid{&row, std::move(why)};
    if (row.name == "timeout" && c.poll_timeout >= c.poll_frequency) {
      return Invalid{&row, absl::StrCat("must be less than -frequency (",
                                        FormatGoDuration(c.poll_frequency), ")")};
    }
  }
  return std::nullopt;
}

absl::Status Validate(const Config& c, const Vocabulary& vocab) {
  if (auto bad = FindInvalid(c, vocab)) {
    return FlagError(bad->row->name, ShownValue(*bad->row, c), bad->why);
  }
  return absl::OkStatus();
}

::xtcp_config::v1::XtcpConfig ToProto(const Config& c, const Vocabulary& vocab) {
  ::xtcp_config::v1::XtcpConfig p;
  const auto* d = p.GetDescriptor();
  for (const FlagRow& row : Flags()) {
    if (row.proto.empty() || row.field.to_proto == nullptr) continue;
    row.field.to_proto(c, &p, d->FindFieldByName(std::string(row.proto)));
  }
  p.set_daemon_version(c.daemon_version);
  // enabled_deserializers: every known key with its state, or (no vocabulary) the enabled ones.
  const std::vector<std::string> on = vocab.deserializers.empty()
                                          ? c.deserializers
                                          : ResolveDeserializers(c.deserializers_spec, vocab);
  auto* m = p.mutable_enabled_deserializers()->mutable_enabled();
  for (const std::string& key : vocab.deserializers) (*m)[key] = false;
  for (const std::string& key : on) (*m)[key] = true;
  return p;
}

absl::Status FromProtoFields(const ::xtcp_config::v1::XtcpConfig& p,
                             const std::set<std::string>* only, Config* c,
                             const Vocabulary& vocab) {
  const auto* d = p.GetDescriptor();
  auto take = [only](std::string_view field) {
    return only == nullptr || only->count(std::string(field)) > 0;
  };
  for (const FlagRow& row : Flags()) {
    if (row.proto.empty() || row.field.from_proto == nullptr || !take(row.proto)) continue;
    row.field.from_proto(p, d->FindFieldByName(std::string(row.proto)), c);
  }
  if (p.has_enabled_deserializers() && take("enabled_deserializers")) {
    std::vector<std::string> keys;
    for (const auto& [key, on] : p.enabled_deserializers().enabled()) {
      if (!vocab.deserializers.empty() &&
          std::find(vocab.deserializers.begin(), vocab.deserializers.end(), key) ==
              vocab.deserializers.end()) {
        return FlagError("deserializers", key, "unknown deserializer (enabled_deserializers)");
      }
      if (on) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
    c->deserializers_spec = absl::StrJoin(keys, ",");
    c->deserializers =
        vocab.deserializers.empty() ? keys : ResolveDeserializers(c->deserializers_spec, vocab);
  }
  return absl::OkStatus();
}

absl::Status FromProto(const ::xtcp_config::v1::XtcpConfig& p, Config* c, const Vocabulary& vocab) {
  return FromProtoFields(p, nullptr, c, vocab);
}

::xtcp_config::v1::XtcpConfig PublicProto(const Config& c, const Vocabulary& vocab) {
  ::xtcp_config::v1::XtcpConfig p = ToProto(c, vocab);
  const auto* d = p.GetDescriptor();
  const auto* r = p.GetReflection();
  for (const FlagRow& row : Flags()) {
    if (row.secret == Secret::kNone || row.proto.empty()) continue;
    const auto* fd = d->FindFieldByName(std::string(row.proto));
    r->SetString(&p, fd, row.secret == Secret::kWhole ? "" : MaskValue(row, r->GetString(p, fd)));
  }
  return p;
}

absl::Status ApplyProto(const ::xtcp_config::v1::XtcpConfig& p, const Config& running, Config* out,
                        const Vocabulary& vocab) {
  Config next = running;
  if (absl::Status s = FromProto(p, &next, vocab); !s.ok()) return s;
  const ::xtcp_config::v1::XtcpConfig shown = PublicProto(running, vocab);
  const auto* d = p.GetDescriptor();
  const auto* r = p.GetReflection();
  for (const FlagRow& row : Flags()) {
    if (row.secret == Secret::kNone || row.proto.empty() || row.field.from_proto == nullptr) {
      continue;
    }
    const auto* fd = d->FindFieldByName(std::string(row.proto));
    const std::string given = r->GetString(p, fd);
    if (given.empty() || given == r->GetString(shown, fd)) {
      // Blank or as Get showed it: the running value, not the mask.
      ::xtcp_config::v1::XtcpConfig keep = ToProto(running, vocab);
      row.field.from_proto(keep, fd, &next);
    }
  }
  next.daemon_version = running.daemon_version;
  if (next.deserializers == running.deserializers) {
    next.deserializers_spec = running.deserializers_spec;  // "default" stays "default"
  }
  if (absl::Status s = Validate(next, vocab); !s.ok()) return s;
  *out = std::move(next);
  return absl::OkStatus();
}

}  // namespace xtcp::config
