#include "marshal/humanize_fields.h"

#include <google/protobuf/descriptor.h>

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/strings.h"

namespace xtcp::marshal {
namespace {

constexpr uint32_t kAfInet = 2;
constexpr uint32_t kAfInet6 = 10;

std::string Dotted(const uint8_t* b) {
  return absl::StrFormat("%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
}

// RFC 5952: lower-case hex without leading zeros; the longest run of two or more zero groups
// (the first, on a tie) becomes "::".
std::string Ipv6Text(const uint8_t* b) {
  std::array<uint16_t, 8> g{};
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i >= 2 && j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    absl::StrAppendFormat(&out, "%x", g[i]);
  }
  return out;
}

// Go's net.IP.String() for an arbitrary slice.
std::string GoIpString(std::string_view s) {
  const auto* b = reinterpret_cast<const uint8_t*>(s.data());
  if (s.empty()) return "<nil>";
  if (s.size() == 4) return Dotted(b);
  if (s.size() != 16) {
    return absl::StrCat("?", absl::BytesToHexString(AsAbsl(s)));
  }
  bool mapped = b[10] == 0xff && b[11] == 0xff;
  for (int i = 0; i < 10 && mapped; ++i) mapped = b[i] == 0;
  return mapped ? Dotted(b + 12) : Ipv6Text(b);
}

constexpr std::array<std::string_view, 13> kStateNames = {
    "",      "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};

Column::Special SpecialOf(std::string_view json_name) {
  using S = Column::Special;
  if (json_name == "inetDiagMsgSocketSource") return S::kSource;
  if (json_name == "inetDiagMsgSocketDestination") return S::kDestination;
  if (json_name == "inetDiagMsgState") return S::kState;
  if (json_name == "tcpInfoState") return S::kTcpState;
  if (json_name == "congestionAlgorithmEnum") return S::kCongestion;
  if (json_name == "timestampNs") return S::kTimestamp;
  return S::kNone;
}

}  // namespace

std::string IpString(uint32_t family, std::string_view bytes) {
  if (bytes.empty()) return "";
  if (family == kAfInet && bytes.size() >= 4) return GoIpString(bytes.substr(0, 4));
  if (family == kAfInet6 && bytes.size() >= 16) return GoIpString(bytes.substr(0, 16));
  return GoIpString(bytes);
}

std::string TcpStateName(uint32_t state) {
  if (state >= 1 && state < kStateNames.size()) return std::string(kStateNames[state]);
  return absl::StrCat(state);
}

std::string CongestionShortName(uint32_t value) {
  using Proto = record::ProtoRecord;
  if (value == Proto::CONGESTION_ALGORITHM_UNSPECIFIED) return "";
  const auto* d =
      Proto::CongestionAlgorithm_descriptor()->FindValueByNumber(static_cast<int>(value));
  if (d == nullptr) return absl::StrCat(value);
  std::string_view name = d->name();
  constexpr std::string_view kPrefix = "CONGESTION_ALGORITHM_";
  if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
  return std::string(name);
}

std::string TimestampRfc3339Nano(int64_t ns) {
  if (ns <= 0) return "";
  constexpr int64_t kNanos = 1000000000;
  const absl::CivilSecond cs =
      absl::ToCivilSecond(absl::FromUnixSeconds(ns / kNanos), absl::UTCTimeZone());
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", cs.year(), cs.month(),
                                    cs.day(), cs.hour(), cs.minute(), cs.second());
  if (const int64_t frac = ns % kNanos; frac != 0) {
    std::string digits = absl::StrFormat("%09d", frac);
    digits.erase(digits.find_last_not_of('0') + 1);
    absl::StrAppend(&out, ".", digits);
  }
  out += 'Z';
  return out;
}

std::string Base64(std::string_view bytes) { return absl::Base64Escape(AsAbsl(bytes)); }

const std::vector<Column>& AllColumns() {
  static const std::vector<Column> columns = [] {
    std::vector<Column> cols;
    const auto* desc = record::ProtoRecord::descriptor();
    cols.reserve(static_cast<size_t>(desc->field_count()));
    for (int i = 0; i < desc->field_count(); ++i) {
      const auto* f = desc->field(i);
      cols.push_back(Column{f->json_name(), f, SpecialOf(f->json_name())});
    }
    return cols;
  }();
  return columns;
}

absl::StatusOr<std::vector<Column>> SelectColumns(std::string_view spec) {
  std::vector<Column> out;
  for (absl::string_view part : absl::StrSplit(AsAbsl(spec), ',')) {
    const absl::string_view name = absl::StripAsciiWhitespace(part);
    if (name.empty()) continue;
    const Column* found = nullptr;
    for (const Column& c : AllColumns()) {
      if (c.json_name == name) found = &c;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value \"", AsAbsl(spec), "\" for flag -columns: unknown column \"", name,
          "\" (expect an XtcpFlatRecord JSON name, e.g. hostname, inetDiagMsgSocketSourcePort, "
          "tcpInfoRtt)"));
    }
    out.push_back(*found);
  }
  if (out.empty()) return AllColumns();
  return out;
}

void AppendCell(const record::ProtoRecord& r, const Column& c, std::string* out) {
  using S = Column::Special;
  switch (c.special) {
    case S::kSource:
      out->append(IpString(r.inet_diag_msg_family(), r.inet_diag_msg_socket_source()));
      return;
    case S::kDestination:
      out->append(IpString(r.inet_diag_msg_family(), r.inet_diag_msg_socket_destination()));
      return;
    case S::kState:
      out->append(TcpStateName(r.inet_diag_msg_state()));
      return;
    case S::kTcpState:
      out->append(TcpStateName(r.tcp_info_state()));
      return;
    case S::kCongestion:
      out->append(CongestionShortName(static_cast<uint32_t>(r.congestion_algorithm_enum())));
      return;
    case S::kTimestamp:
      out->append(TimestampRfc3339Nano(r.timestamp_ns()));
      return;
    case S::kNone:
      break;
  }
  using FD = google::protobuf::FieldDescriptor;
  const auto* refl = r.GetReflection();
  switch (c.field->cpp_type()) {
    case FD::CPPTYPE_UINT32:
      absl::StrAppend(out, refl->GetUInt32(r, c.field));
      return;
    case FD::CPPTYPE_UINT64:
      absl::StrAppend(out, refl->GetUInt64(r, c.field));
      return;
    case FD::CPPTYPE_INT32:
      absl::StrAppend(out, refl->GetInt32(r, c.field));
      return;
    case FD::CPPTYPE_INT64:
      absl::StrAppend(out, refl->GetInt64(r, c.field));
      return;
    case FD::CPPTYPE_ENUM:
      absl::StrAppend(out, refl->GetEnumValue(r, c.field));
      return;
    case FD::CPPTYPE_BOOL:
      out->append(refl->GetBool(r, c.field) ? "true" : "false");
      return;
    case FD::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& v = refl->GetStringReference(r, c.field, &scratch);
      if (c.field->type() == FD::TYPE_BYTES) {
        out->append(Base64(v));
      } else {
        out->append(v);
      }
      return;
    }
    default:
      // XtcpFlatRecord has no float, message or repeated fields (record_fields_test.cc).
      return;
  }
}

}  // namespace xtcp::marshal
