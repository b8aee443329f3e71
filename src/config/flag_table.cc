// The flag table (see flag_table.h) and the typed field access behind its rows.
#include "config/flag_table.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <charconv>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace xtcp::config {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr int64_t kNs = 1;
constexpr int64_t kSecondNs = 1000 * 1000 * 1000;
constexpr int64_t kHourNs = 3600 * kSecondNs;
constexpr int64_t kWeekNs = 168 * kHourNs;

// Go's strconv.ParseUint(s, 0, 64): 0x/0o/0b prefixes, a leading 0 means octal, no sign.
bool ParseUnsigned(std::string_view s, uint64_t* out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty() || s[0] == '+' || s[0] == '-') return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseSigned(std::string_view s, int64_t* out) {
  const bool neg = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  uint64_t mag = 0;
  if (!ParseUnsigned(s, &mag)) return false;
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (mag > limit) return false;
  *out = neg ? static_cast<int64_t>(~mag + 1) : static_cast<int64_t>(mag);
  return true;
}

// Go's strconv.ParseBool.
bool ParseBool(std::string_view s, bool* out) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (s == t) return *out = true, true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (s == f) return *out = false, true;
  }
  return false;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(absl::string_view(s.data(), s.size()), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

std::string Words(Type type, int64_t lo, int64_t hi) {
  auto show = [type](int64_t v) {
    return type == Type::kDuration ? FormatGoDuration(absl::Nanoseconds(v)) : absl::StrCat(v);
  };
  const std::string unit = type == Type::kString ? " bytes" : "";
  const std::string what = type == Type::kString ? "length must be" : "must be";
  if (type == Type::kDuration && lo == kNs && hi != kNoLimit) {
    return absl::StrCat("must be above 0s and at most ", show(hi));
  }
  if (lo <= 0 && hi == kNoLimit) return lo == 0 ? "must not be negative" : "";
  if (lo <= 0 && type != Type::kInt) return absl::StrCat(what, " at most ", show(hi), unit);
  if (hi == kNoLimit) return absl::StrCat(what, " at least ", show(lo), unit);
  return absl::StrCat(what, " between ", show(lo), " and ", show(hi), unit);
}

template <typename T>
constexpr Type TypeOf() {
  if constexpr (std::is_same_v<T, bool>) return Type::kBool;
  if constexpr (std::is_same_v<T, int64_t>) return Type::kInt;
  if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) return Type::kUint;
  if constexpr (std::is_same_v<T, absl::Duration>) return Type::kDuration;
  return Type::kString;  // std::string, or a comma list
}

// FieldAccess for `Config::*M`, by the member's type.
template <auto M>
constexpr FieldAccess Field() {
  using T = std::remove_cvref_t<decltype(std::declval<Config>().*M)>;
  FieldAccess a{};
  a.type = TypeOf<T>();
  a.parse = [](std::string_view text, int64_t lo, int64_t hi, Config* c) -> std::string {
    if constexpr (std::is_same_v<T, bool>) {
      return ParseBool(text, &(c->*M)) ? "" : "expected true or false";
    } else if constexpr (std::is_same_v<T, int64_t>) {
      return ParseSigned(text, &(c->*M)) ? "" : "expected an integer";
    } else if constexpr (std::is_unsigned_v<T>) {
      uint64_t v = 0;
      if (!ParseUnsigned(text, &v)) return "expected an unsigned integer";
      if (v > std::numeric_limits<T>::max() || v > static_cast<uint64_t>(hi)) {
        return Words(Type::kUint, lo, std::min<uint64_t>(hi, std::numeric_limits<T>::max()));
      }
      c->*M = static_cast<T>(v);
      return "";
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      return ParseGoDuration(text, &(c->*M)) ? ""
                                             : "expected a duration such as 10s, 1m30s or 250ms";
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      c->*M = SplitList(text);
      return "";
    } else {
      c->*M = std::string(text);
      return "";
    }
  };
  a.format = [](const Config& c) -> std::string {
    if constexpr (std::is_same_v<T, bool>) {
      return c.*M ? "true" : "false";
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      return FormatGoDuration(c.*M);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      return absl::StrJoin(c.*M, ",");
    } else if constexpr (std::is_same_v<T, std::string>) {
      return c.*M;
    } else {
      return absl::StrCat(c.*M);
    }
  };
  a.measure = [](const Config& c) -> int64_t {
    if constexpr (std::is_same_v<T, bool>) {
      return 0;
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      return absl::ToInt64Nanoseconds(c.*M);  // saturates
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      return static_cast<int64_t>(absl::StrJoin(c.*M, ",").size());
    } else if constexpr (std::is_same_v<T, std::string>) {
      return static_cast<int64_t>((c.*M).size());
    } else if constexpr (std::is_unsigned_v<T>) {
      return static_cast<int64_t>(std::min<uint64_t>(c.*M, kNoLimit));
    } else {
      return c.*M;
    }
  };
  a.to_proto = [](const Config& c, Message* m, const FieldDescriptor* fd) {
    const auto* r = m->GetReflection();
    if constexpr (std::is_same_v<T, bool>) {
      r->SetBool(m, fd, c.*M);
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      Message* d = r->MutableMessage(m, fd);
      const int64_t ns = absl::ToInt64Nanoseconds(c.*M);
      const auto* dd = d->GetDescriptor();
      d->GetReflection()->SetInt64(d, dd->FindFieldByName("seconds"), ns / kSecondNs);
      d->GetReflection()->SetInt32(d, dd->FindFieldByName("nanos"),
                                   static_cast<int32_t>(ns % kSecondNs));
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      r->ClearField(m, fd);
      for (const std::string& s : c.*M) r->AddString(m, fd, s);
    } else if constexpr (std::is_same_v<T, std::string>) {
      r->SetString(m, fd, c.*M);
    } else if constexpr (std::is_unsigned_v<T>) {
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
        r->SetUInt32(m, fd, static_cast<uint32_t>(c.*M));
      } else {
        r->SetUInt64(m, fd, c.*M);
      }
    } else {
      r->SetInt64(m, fd, c.*M);
    }
  };
  a.from_proto = [](const Message& m, const FieldDescriptor* fd, Config* c) {
    const auto* r = m.GetReflection();
    if constexpr (std::is_same_v<T, bool>) {
      c->*M = r->GetBool(m, fd);
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      const Message& d = r->GetMessage(m, fd);
      const auto* dd = d.GetDescriptor();
      c->*M = absl::Seconds(d.GetReflection()->GetInt64(d, dd->FindFieldByName("seconds"))) +
              absl::Nanoseconds(d.GetReflection()->GetInt32(d, dd->FindFieldByName("nanos")));
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      (c->*M).clear();
      for (int i = 0; i < r->FieldSize(m, fd); ++i)
        (c->*M).push_back(r->GetRepeatedString(m, fd, i));
    } else if constexpr (std::is_same_v<T, std::string>) {
      c->*M = r->GetString(m, fd);
    } else if constexpr (std::is_unsigned_v<T>) {
      const uint64_t v = fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ? r->GetUInt32(m, fd)
                                                                           : r->GetUInt64(m, fd);
      c->*M = static_cast<T>(std::min<uint64_t>(v, std::numeric_limits<T>::max()));
    } else {
      c->*M = r->GetInt64(m, fd);
    }
  };
  return a;
}

// -families: a comma list of 4 and 6, kept as typed so an error shows the real value.
constexpr FieldAccess FamiliesField() {
  FieldAccess a{};
  a.type = Type::kString;
  a.parse = [](std::string_view text, int64_t, int64_t, Config* c) -> std::string {
    c->families.clear();
    for (const std::string& f : SplitList(text)) {
      int v = 0;
      if (!absl::SimpleAtoi(f, &v)) return "want 4, 6 or 4,6";
      c->families.push_back(v);
    }
    return "";
  };
  a.format = [](const Config& c) { return absl::StrJoin(c.families, ","); };
  a.measure = [](const Config&) -> int64_t { return 0; };
  return a;
}

// -deserializers: the spec; its XtcpConfig map is converted in config.cc (it needs the
// Vocabulary), so to_proto/from_proto stay null.
constexpr FieldAccess DeserializersField() {
  FieldAccess a = Field<&Config::deserializers_spec>();
  a.to_proto = nullptr;
  a.from_proto = nullptr;
  return a;
}

bool OneOf(const std::string& v, const std::vector<std::string>& allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

std::string CheckFamilies(const Config& c, const Vocabulary&) {
  bool ok = !c.families.empty() && c.families.size() <= 2;
  for (int f : c.families) ok &= (f == 4 || f == 6);
  if (c.families.size() == 2) ok &= c.families[0] != c.families[1];
  return ok ? "" : "want 4, 6 or 4,6";
}

std::string CheckDeserializers(const Config& c, const Vocabulary& v) {
  if (v.deserializers.empty()) return "";
  const std::string& s = c.deserializers_spec;
  if (s == "default" || s == "all" || s.empty()) return "";
  for (const std::string& key : SplitList(s)) {
    if (!OneOf(key, v.deserializers)) {
      return absl::StrCat("unknown deserializer \"", key, "\"; valid: default, all, \"\" or ",
                          absl::StrJoin(v.deserializers, ","));
    }
  }
  return "";
}

std::string CheckMarshal(const Config& c, const Vocabulary& v) {
  if (v.marshallers.empty() || OneOf(c.marshal, v.marshallers)) return "";
  return absl::StrCat("must be one of ", absl::StrJoin(v.marshallers, ", "));
}

// Schemes of the upstream daemon that this build has no sink for.
constexpr std::string_view kUnbuiltSchemes[] = {"s3parquet"};

std::string CheckDest(const Config& c, const Vocabulary& v) {
  if (v.dest_schemes.empty()) return "";
  const std::string scheme = c.dest.substr(0, c.dest.find(':'));
  if (OneOf(scheme, v.dest_schemes)) return "";
  const std::string valid =
      absl::StrCat("valid schemes are: ", absl::StrJoin(v.dest_schemes, ", "));
  for (std::string_view s : kUnbuiltSchemes) {
    if (scheme == s)
      return absl::StrCat("scheme ", scheme, " is not available in this build; ", valid);
  }
  return absl::StrCat("unknown destination; ", valid);
}

std::string CheckWord(const std::string& v, std::initializer_list<std::string_view> words,
                      std::string_view want) {
  for (std::string_view w : words) {
    if (v == w) return "";
  }
  return std::string(want);
}

std::string CheckKafkaCompression(const Config& c, const Vocabulary&) {
  return CheckWord(absl::AsciiStrToLower(c.kafka_compression),
                   {"", "auto", "zstd", "lz4", "snappy", "gzip", "none"},
                   "want one of: auto, zstd, lz4, snappy, gzip, none");
}

std::string CheckProfileMode(const Config& c, const Vocabulary&) {
  return CheckWord(c.profile_mode,
                   {"", "cpu", "mem", "memheap", "mutex", "block", "trace", "goroutine"},
                   "want cpu or mem");
}

std::string CheckLogFormat(const Config& c, const Vocabulary&) {
  return CheckWord(c.log_format, {"text", "json"}, "want text or json");
}

// [host]:port with a numeric port of 0-65535; the host is resolved when the server starts.
bool IsListenAddress(const std::string& a) {
  const size_t colon = a.rfind(':');
  uint32_t port = 0;
  return colon != std::string::npos &&
         absl::SimpleAtoi(absl::string_view(a).substr(colon + 1), &port) && port <= 65535;
}

std::string CheckPromListen(const Config& c, const Vocabulary&) {
  return IsListenAddress(c.prom_listen)
             ? ""
             : "want [host]:port with a port of 0-65535, e.g. :9088 or 127.0.0.1:9088";
}

std::string CheckGrpcListen(const Config& c, const Vocabulary&) {
  const std::string& a = c.grpc_listen;
  if (a == "off") return "";
  if (a.starts_with("unix:")) return a.size() > 5 ? "" : "want unix:/path";
  const bool bracketed = a.starts_with("[");
  if (bracketed && a.find(']') == std::string::npos) return "unbalanced [ in an IPv6 address";
  const size_t close = bracketed ? a.find(']') : 0;
  const size_t colon = a.find(':', close);
  const bool has_port = bracketed ? colon == close + 1 : colon != std::string::npos;
  if (!bracketed && colon != std::string::npos && a.find(':', colon + 1) != std::string::npos) {
    return "put an IPv6 address in brackets, e.g. [::1]:8889";
  }
  if (has_port && !IsListenAddress(a)) return "want a port of 0-65535 after the colon";
  if (a.empty() || (has_port && colon == 0)) {
    return "want a host (localhost, 127.0.0.1, [::1], 0.0.0.0), host:port, unix:/path or off";
  }
  return "";
}

std::string CheckGrpcTls(const Config& c, const Vocabulary&) {
  if (c.grpc_tls_cert.empty() != c.grpc_tls_key.empty()) {
    return "-grpcTlsCert and -grpcTlsKey go together";
  }
  if (!c.grpc_client_ca.empty() && c.grpc_tls_cert.empty()) {
    return "-grpcClientCa needs -grpcTlsCert and -grpcTlsKey";
  }
  return "";
}

std::string CheckPprofListen(const Config& c, const Vocabulary&) {
  if (c.pprof_listen.empty() || c.pprof_listen == "off" || IsListenAddress(c.pprof_listen))
    return "";
  return "want \"\" (profiles on -promListen), off, or [host]:port such as 127.0.0.1:9089";
}

std::string CheckPromPath(const Config& c, const Vocabulary&) {
  return !c.prom_path.empty() && c.prom_path[0] == '/' ? "" : "must start with /";
}

std::string CheckUplinkInterfaces(const Config& c, const Vocabulary&) {
  return c.uplink_interfaces.size() <= 2 ? "" : "at most 2 interfaces";
}

using enum Topic;
constexpr Status kInert = Status::kInert;

constexpr FlagRow kFlags[] = {
    // ---- collection ----
    {.name = "nltimeout",
     .env = "NLTIMEOUTMS",
     .topic = kCollection,
     .field = Field<&Config::nl_timeout_ms>(),
     .proto = "nl_timeout_milliseconds",
     .hi = 100000,
     .help = "Netlink socket receive timeout in milliseconds; 0 = no timeout"},
    {.name = "frequency",
     .env = "POLL_FREQUENCY",
     .topic = kCollection,
     .field = Field<&Config::poll_frequency>(),
     .proto = "poll_frequency",
     .lo = kNs,
     .hi = kWeekNs,
     .help = "Poll frequency"},
    {.name = "timeout",
     .env = "POLL_TIMEOUT",
     .topic = kCollection,
     .field = Field<&Config::poll_timeout>(),
     .proto = "poll_timeout",
     .lo = kNs,
     .hi = kWeekNs,
     .help = "Poll timeout: a poll still waiting for namespaces after this is flushed; must be "
             "below -frequency (when not set: 5s, or half of a -frequency below 10s)"},
    {.name = "maxLoops",
     .env = "MAX_LOOPS",
     .topic = kCollection,
     .field = Field<&Config::max_loops>(),
     .proto = "max_loops",
     .hi = 100000,
     .help =
         "Number of polls to run before flushing, draining the sink and exiting 0; 0 = forever"},
    {.name = "netlinkers",
     .env = "NETLINKERS",
     .topic = kCollection,
     .field = Field<&Config::netlinkers>(),
     .proto = "netlinkers",
     .lo = 1,
     .hi = 100,
     .help = "Reader threads shared by every namespace's socket (1-100); the thread count does not "
             "grow with namespaces"},
    {.name = "netlinkersDoneChanSize",
     .env = "NETLINKERS_DONE_CHAN_SIZE",
     .topic = kCollection,
     .field = Field<&Config::netlinkers_done_chan_size>(),
     .proto = "netlinkers_done_chan_size",
     .lo = 1,
     .hi = 1000,
     .status = kInert,
     .help = "Capacity of upstream's netlinker done channel (there is no such channel here)"},
    {.name = "nlmsgSeq",
     .env = "NLMSQSEQ",
     .topic = kCollection,
     .field = Field<&Config::nlmsg_seq>(),
     .proto = "nlmsg_seq",
     .lo = 1,
     .hi = 10000,
     .help = "First netlink sequence number (1-10000); every dump request gets the next one"},
    {.name = "packetSize",
     .env = "PACKET_SIZE",
     .topic = kCollection,
     .field = Field<&Config::packet_size>(),
     .proto = "packet_size",
     .hi = 1000000,
     .help =
         "Receive buffer base size in bytes; buffer = packetSize x packetSizeMply; 0 = page size"},
    {.name = "packetSizeMply",
     .env = "PACKETSIZEMPLY",
     .topic = kCollection,
     .field = Field<&Config::packet_size_mply>(),
     .proto = "packet_size_mply",
     .hi = 100,
     .help = "Receive buffer multiplier (0-100; 0 = 8)"},
    {.name = "writeFiles",
     .env = "WRITEFILES",
     .topic = kCollection,
     .field = Field<&Config::write_files>(),
     .proto = "write_files",
     .hi = 1000,
     .help = "Save the first N received netlink datagrams of each reader under -capturePath "
             "(replayable with -replay)"},
    {.name = "capturePath",
     .env = "CAPTUREPATH",
     .topic = kCollection,
     .field = Field<&Config::capture_path>(),
     .proto = "capture_path",
     .lo = 1,
     .hi = 80,
     .help = "Prefix of the files written by -writeFiles"},
    {.name = "modulus",
     .env = "MODULUS",
     .topic = kCollection,
     .field = Field<&Config::modulus>(),
     .proto = "modulus",
     .lo = 1,
     .hi = 1000000,
     .help = "Emit every Nth socket of each dump (1 = all)"},
    {.name = "families",
     .env = "FAMILIES",
     .topic = kCollection,
     .field = FamiliesField(),
     .check = CheckFamilies,
     .help = "Address families to dump each poll: 4, 6 or 4,6"},
    {.name = "compatDump",
     .env = "COMPAT_DUMP",
     .topic = kCollection,
     .field = Field<&Config::compat_dump>(),
     .help = "With -families 4,6: dump both families with one TCPDIAG_GETSOCK request (one kernel "
             "walk per namespace); false = one inet_diag_req_v2 dump per family"},
    {.name = "pollJitterPct",
     .env = "POLL_JITTER_PCT",
     .topic = kCollection,
     .field = Field<&Config::poll_jitter_pct>(),
     .proto = "poll_jitter_pct",
     .hi = 100,
     .help =
         "Random jitter of the first poll and of each interval, in percent of -frequency (0-100)"},
    {.name = "reconcileFrequency",
     .env = "RECONCILE_FREQUENCY",
     .topic = kCollection,
     .field = Field<&Config::reconcile_frequency>(),
     .proto = "reconcile_frequency",
     .help = "Period of the background namespace rescan; 0 disables it"},
    {.name = "reconcileBeforePoll",
     .env = "RECONCILE_BEFORE_POLL",
     .topic = kCollection,
     .field = Field<&Config::reconcile_before_poll>(),
     .proto = "reconcile_before_poll",
     .help = "Rescan namespaces right before every poll"},
    {.name = "deserializers",
     .env = "DESERIALIZERS",
     .topic = kCollection,
     .field = DeserializersField(),
     .proto = "enabled_deserializers",
     .check = CheckDeserializers,
     .help = "Attributes to decode: 'default' (all but meminfo), 'all', '' (none) or a comma list "
             "of meminfo,info,vegas,cong,tos,tc,skmem,shut,dctcp,bbr,classid,cgroup,sockopt"},
    {.name = "ioUring",
     .topic = kCollection,
     .field = Field<&Config::io_uring>(),
     .proto = "io_uring",
     .help = "Read netlink replies through io_uring instead of recvmsg(2): -netlinkers rings, "
             "each namespace's socket on one of them"},
    {.name = "ioUringRecvBatch",
     .topic = kCollection,
     .field = Field<&Config::io_uring_recv_batch>(),
     .proto = "io_uring_recv_batch_size",
     .lo = 1,
     .hi = 4096,
     .help = "io_uring receive buffers per ring: min(value, 8), rounded up to a power of two"},
    {.name = "ioUringCqeBatch",
     .topic = kCollection,
     .field = Field<&Config::io_uring_cqe_batch>(),
     .proto = "io_uring_cqe_batch_size",
     .lo = 1,
     .hi = 4096,
     .help = "io_uring completions reaped per batch (1-4096)"},
    {.name = "maxThreads",
     .topic = kCollection,
     .field = Field<&Config::max_threads>(),
     .help = "Upper bound on the daemon's threads; namespaces add none (readers are shared), but "
             "one is refused and counted while the process is at the bound; 0 = no bound"},

    // ---- output ----
    {.name = "marshal",
     .env = "MARSHAL",
     .topic = kOutput,
     .field = Field<&Config::marshal>(),
     .proto = "marshal_to",
     .check = CheckMarshal,
     .help =
         "Output format: protobufList, protoJson, protoText, msgpack, jsonl, csv, tsv, humanize"},
    {.name = "columns",
     .topic = kOutput,
     .field = Field<&Config::csv_columns>(),
     .proto = "csv_columns",
     .help =
         "csv/tsv: comma list of column names (JSON names, e.g. hostname,tcpInfoRtt); empty = all"},
    {.name = "envelopeFlushBytes",
     .env = "ENVELOPE_FLUSH_BYTES",
     .topic = kOutput,
     .field = Field<&Config::envelope_flush_bytes>(),
     .proto = "envelope_flush_threshold_bytes",
     .help =
         "Flush the batch when its serialized size exceeds this many bytes; 0 = 786432 (768 KiB)"},
    {.name = "envelopeFlushRows",
     .env = "ENVELOPE_FLUSH_ROWS",
     .topic = kOutput,
     .field = Field<&Config::envelope_flush_rows>(),
     .proto = "envelope_flush_threshold_rows",
     .help = "Flush the batch when it holds this many records; 0 = 10000"},
    {.name = "dest",
     .env = "DEST",
     .topic = kOutput,
     .field = Field<&Config::dest>(),
     .proto = "dest",
     .lo = 4,
     .hi = 512,
     .check = CheckDest,
     .secret = Secret::kUrlUserinfo,
     // -help prints the sink registry's list (SinkSyntaxes()); this copy feeds the man page and
     // configuration.md, and SinkFactory.DestHelpIsTheRegistrysList keeps it equal.
     .help = "Destination scheme:address: null, stdout, stderr, file:/path, tcp:host:port, "
             "http://host/path, https://host/path, udp:host:port, unix:/path, unixgram:/path, "
             "kafka:host:port[,host:port], nats:host:port[,host:port], valkey:host:port, "
             "nsq:host:port"},
    {.name = "destWriteFiles",
     .env = "DEST_WRITE_FILES",
     .topic = kOutput,
     .field = Field<&Config::dest_write_files>(),
     .proto = "dest_write_files",
     .hi = 1000,
     .status = kInert,
     .help = "Upstream's file-sink count (no effect upstream either)"},
    {.name = "shutdownTimeout",
     .env = "SHUTDOWN_TIMEOUT",
     .topic = kOutput,
     .field = Field<&Config::shutdown_timeout>(),
     .lo = kNs,
     .hi = kHourNs,
     .help =
         "On SIGINT/SIGTERM or after -maxLoops: time allowed for the final flush and sink drain"},

    // ---- Kafka ----
    {.name = "topic",
     .env = "TOPIC",
     .topic = kKafka,
     .field = Field<&Config::topic>(),
     .proto = "topic",
     .lo = 1,
     .hi = 40,
     .help = "Kafka topic; NATS subject; Valkey/Redis pub/sub channel; NSQ topic"},
    {.name = "kafkaCompression",
     .env = "KAFKA_COMPRESSION",
     .topic = kKafka,
     .field = Field<&Config::kafka_compression>(),
     .proto = "kafka_compression",
     .check = CheckKafkaCompression,
     .help = "Kafka compression: auto (or empty), zstd, lz4, snappy, gzip, none"},
    {.name = "produceTimeout",
     .env = "KAFKA_PRODUCE_TIMEOUT",
     .topic = kKafka,
     .field = Field<&Config::produce_timeout>(),
     .proto = "kafka_produce_timeout",
     .hi = 600 * kSecondNs,
     .help = "Timeout of the network sinks: Kafka delivery; HTTP request; NATS connect and "
             "publish round trip; Valkey and NSQ connect, read and write. 0 = defaults (Kafka "
             "5m, others 10s)"},
    {.name = "xtcpProtoFile",
     .env = "XTCP_PROTO_FILE",
     .topic = kKafka,
     .field = Field<&Config::xtcp_proto_file>(),
     .proto = "xtcp_proto_file",
     .lo = 1,
     .hi = 80,
     .help = "The .proto file registered (its text, as is) with -kafkaSchemaUrl for -dest kafka:"},
    {.name = "kafkaSchemaUrl",
     .env = "KAFKA_SCHEMA_URL",
     .topic = kKafka,
     .field = Field<&Config::kafka_schema_url>(),
     .proto = "kafka_schema_url",
     .lo = 1,
     .hi = 60,
     .secret = Secret::kUrlUserinfo,
     .help = "Schema registry URL: with -dest kafka:, -xtcpProtoFile is registered there at "
             "start-up under subject <-topic>-value (at most 3s; failures are warnings); off = "
             "no registry"},

    // ---- record stamps ----
    {.name = "label",
     .env = "LABEL",
     .topic = kStamps,
     .field = Field<&Config::label>(),
     .proto = "label",
     .hi = 40,
     .help = "Label stamped on every record (max 40 bytes)"},
    {.name = "tag",
     .env = "TAG",
     .topic = kStamps,
     .field = Field<&Config::tag>(),
     .proto = "tag",
     .hi = 40,
     .help = "Tag stamped on every record (max 40 bytes)"},
    {.name = "location",
     .env = "LOCATION",
     .topic = kStamps,
     .field = Field<&Config::location>(),
     .proto = "location",
     .hi = 253,
     .help = "Location (site, region, PoP) stamped on every record (max 253 bytes)"},
    {.name = "hostname",
     .env = "XTCP_HOSTNAME",
     .topic = kStamps,
     .field = Field<&Config::hostname>(),
     .proto = "hostname",
     .hi = 253,
     .help = "Hostname stamped on every record; empty = the kernel's hostname"},

    // ---- HTTP: metrics, health, profiles ----
    {.name = "promListen",
     .env = "PROM_LISTEN",
     .topic = kHttp,
     .field = Field<&Config::prom_listen>(),
     .check = CheckPromListen,
     .help = "Listen address of the HTTP server (metrics, health, pprof)"},
    {.name = "promPath",
     .env = "PROM_PATH",
     .topic = kHttp,
     .field = Field<&Config::prom_path>(),
     .check = CheckPromPath,
     .help = "Path of the Prometheus metrics page"},
    {.name = "pprofListen",
     .env = "PPROF_LISTEN",
     .topic = kHttp,
     .field = Field<&Config::pprof_listen>(),
     .check = CheckPprofListen,
     .help = "Where /debug/pprof is served: \"\" = on -promListen (as upstream), off = not at all, "
             "or host:port (e.g. 127.0.0.1:9089) = only on that separate listener"},
    {.name = "ipv4Ttl",
     .env = "IPV4_TTL",
     .topic = kHttp,
     .field = Field<&Config::ipv4_ttl>(),
     .proto = "ipv4_ttl",
     .hi = 255,
     .help = "IP_TTL of the HTTP listener (0-255; 0 = kernel default)"},
    {.name = "ipv6HopLimit",
     .env = "IPV6_HOP_LIMIT",
     .topic = kHttp,
     .field = Field<&Config::ipv6_hop_limit>(),
     .proto = "ipv6_hop_limit",
     .hi = 255,
     .help = "IPV6_UNICAST_HOPS of the HTTP listener (0-255; 0 = kernel default)"},

    // ---- gRPC ----
    {.name = "grpcPort",
     .env = "GRPC_PORT",
     .topic = kGrpc,
     .field = Field<&Config::grpc_port>(),
     .proto = "grpc_port",
     .hi = 65535,
     .help = "Port of the gRPC services (ConfigService, XTCPFlatRecordService, health, "
             "reflection) when -grpcListen names no port; 0 picks a free one"},
    {.name = "grpcListen",
     .env = "GRPC_LISTEN",
     .topic = kGrpc,
     .field = Field<&Config::grpc_listen>(),
     .check = CheckGrpcListen,
     .help = "Where the gRPC server listens: a host (port from -grpcPort), host:port, "
             "[v6addr]:port, unix:/path, or off. Loopback by default: Set can redirect the "
             "record stream anywhere, so open it wider (0.0.0.0, [::]) only with -grpcTlsCert "
             "and -grpcClientCa"},
    {.name = "grpcTlsCert",
     .env = "GRPC_TLS_CERT",
     .topic = kGrpc,
     .field = Field<&Config::grpc_tls_cert>(),
     .check = CheckGrpcTls,
     .help = "PEM certificate (chain) of the gRPC server: serves TLS (with -grpcTlsKey)"},
    {.name = "grpcTlsKey",
     .env = "GRPC_TLS_KEY",
     .topic = kGrpc,
     .field = Field<&Config::grpc_tls_key>(),
     .help = "PEM private key of -grpcTlsCert"},
    {.name = "grpcClientCa",
     .env = "GRPC_CLIENT_CA",
     .topic = kGrpc,
     .field = Field<&Config::grpc_client_ca>(),
     .help = "PEM CA certificates: gRPC clients must present a certificate one of them signed "
             "(mutual TLS; needs -grpcTlsCert)"},
    {.name = "grpcClientBuffer",
     .env = "GRPC_CLIENT_BUFFER",
     .topic = kGrpc,
     .field = Field<&Config::grpc_client_buffer>(),
     .lo = 65536,
     .hi = 1LL << 32,
     .help = "Bytes of records each gRPC stream client may have queued; a client further "
             "behind loses the new rows (counted in flatRecordServiceSend/frQueueFull/error), "
             "collection never waits for it"},

    // ---- enrichment ----
    {.name = "resolveContainerId",
     .env = "CONTAINER_ID_RESOLVE",
     .topic = kEnrichment,
     .field = Field<&Config::resolve_container_id>(),
     .proto = "resolve_container_id",
     .help = "Fill container_id and container_runtime from each socket's cgroup v2 directory "
             "(docker, containerd, crio, podman, cgroupfs); the cgroup tree is walked at start-up "
             "and again when a socket's cgroup is new"},
    {.name = "enrichContainer",
     .env = "ENRICH_CONTAINER",
     .topic = kEnrichment,
     .field = Field<&Config::enrich_container>(),
     .proto = "enrich_container_enable",
     .help = "Fill container_id, container_runtime, container_name and container_image of each "
             "container's network namespace from the Docker Engine API (listed at start-up and "
             "on its container start/die events; never waited for)"},
    {.name = "dockerSocket",
     .env = "DOCKER_SOCKET",
     .topic = kEnrichment,
     .field = Field<&Config::docker_socket>(),
     .proto = "docker_socket_path",
     .hi = 255,
     .help = "Docker API socket for -enrichContainer"},
    {.name = "enrichLldp",
     .env = "ENRICH_LLDP",
     .topic = kEnrichment,
     .field = Field<&Config::enrich_lldp>(),
     .proto = "enrich_lldp_enable",
     .help = "Fill the uplink LLDP columns (chassis name and id, port id and description, "
             "management IP) from the local lldpd, at start-up and every -enrichRefresh"},
    {.name = "lldpdSocket",
     .env = "LLDPD_SOCKET",
     .topic = kEnrichment,
     .field = Field<&Config::lldpd_socket>(),
     .proto = "lldpd_socket_path",
     .hi = 255,
     .help = "lldpd control socket for -enrichLldp"},
    {.name = "lldpdVersionHint",
     .env = "LLDPD_VERSION_HINT",
     .topic = kEnrichment,
     .field = Field<&Config::lldpd_version_hint>(),
     .proto = "lldpd_version_hint",
     .hi = 16,
     .status = kInert,
     .help = "lldpd version hint for -enrichLldp (needless here: liblldpctl speaks every lldpd "
             "version)"},
    {.name = "enrichNic",
     .env = "ENRICH_NIC",
     .topic = kEnrichment,
     .field = Field<&Config::enrich_nic>(),
     .proto = "enrich_nic_enable",
     .help = "Fill the uplink1_*/uplink2_* NIC columns (interface, driver, model, PCI ids, bus, "
             "speed, firmware) from sysfs and ethtool, at start-up and every -enrichRefresh"},
    {.name = "uplinkCount",
     .env = "UPLINK_COUNT",
     .topic = kEnrichment,
     .field = Field<&Config::uplink_count>(),
     .proto = "uplink_count",
     .hi = 2,
     .help = "Uplink slots for -enrichNic (0-2; 0 means 2)"},
    {.name = "uplinkInterfaces",
     .env = "UPLINK_INTERFACES",
     .topic = kEnrichment,
     .field = Field<&Config::uplink_interfaces>(),
     .proto = "uplink_interfaces",
     .check = CheckUplinkInterfaces,
     .help = "Comma list of uplink interfaces for -enrichNic (at most 2); default: the default "
             "routes' interfaces, else the physical ones"},
    {.name = "enrichRefresh",
     .env = "ENRICH_REFRESH",
     .topic = kEnrichment,
     .field = Field<&Config::enrich_refresh>(),
     .hi = kWeekNs,
     .help = "How often -enrichNic and -enrichLldp read the uplinks and their neighbours again "
             "(a change is logged and carried by the records after it); 0 = only at start-up"},
    {.name = "populateNsid",
     .env = "POPULATE_NSID",
     .topic = kEnrichment,
     .field = Field<&Config::populate_nsid>(),
     .proto = "populate_nsid",
     .help = "Fill the nsid column: each namespace's nsid as the daemon's namespace sees it "
             "(RTM_GETNSID at every rescan; 0 when none is assigned)"},

    // ---- s3parquet ----
    {.name = "s3Endpoint",
     .env = "S3_ENDPOINT",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_endpoint>(),
     .proto = "s3_endpoint",
     .status = kInert,
     .secret = Secret::kUrlUserinfo,
     .help = "s3parquet endpoint"},
    {.name = "s3Bucket",
     .env = "S3_BUCKET",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_bucket>(),
     .proto = "s3_bucket",
     .status = kInert,
     .help = "s3parquet bucket"},
    {.name = "s3Prefix",
     .env = "S3_PREFIX",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_prefix>(),
     .proto = "s3_prefix",
     .status = kInert,
     .help = "s3parquet key prefix"},
    {.name = "s3AccessKey",
     .env = "S3_ACCESS_KEY",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_access_key>(),
     .proto = "s3_access_key",
     .status = kInert,
     .secret = Secret::kWhole,
     .help = "s3parquet access key (S3_ACCESS_KEY_FILE: read from a file; never printed)"},
    {.name = "s3SecretKey",
     .env = "S3_SECRET_KEY",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_secret_key>(),
     .proto = "s3_secret_key",
     .status = kInert,
     .secret = Secret::kWhole,
     .help = "s3parquet secret key (S3_SECRET_KEY_FILE: read from a file; never printed)"},
    {.name = "s3Region",
     .env = "S3_REGION",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_region>(),
     .proto = "s3_region",
     .status = kInert,
     .help = "s3parquet region"},
    {.name = "s3SkipBucketProbe",
     .env = "S3_SKIP_BUCKET_PROBE",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_skip_bucket_probe>(),
     .proto = "s3_skip_bucket_probe",
     .status = kInert,
     .help = "s3parquet: skip the bucket probe"},
    {.name = "s3ParquetFlushBytes",
     .env = "S3_PARQUET_FLUSH_BYTES",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_parquet_flush_bytes>(),
     .proto = "s3_parquet_flush_threshold_bytes",
     .status = kInert,
     .help = "s3parquet object size target"},
    {.name = "s3FlushInterval",
     .env = "S3_FLUSH_INTERVAL",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_flush_interval>(),
     .proto = "s3_flush_interval",
     .status = kInert,
     .help = "s3parquet flush interval"},
    {.name = "s3FlushJitterPct",
     .env = "S3_FLUSH_JITTER_PCT",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_flush_jitter_pct>(),
     .proto = "s3_flush_jitter_pct",
     .hi = 100,
     .status = kInert,
     .help = "s3parquet flush jitter percent (0-100)"},
    {.name = "s3FlushThresholdJitterPct",
     .env = "S3_FLUSH_THRESHOLD_JITTER_PCT",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_flush_threshold_jitter_pct>(),
     .proto = "s3_flush_threshold_jitter_pct",
     .hi = 100,
     .status = kInert,
     .help = "s3parquet size jitter percent (0-100)"},
    {.name = "s3UploadMaxAttempts",
     .env = "S3_UPLOAD_MAX_ATTEMPTS",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_upload_max_attempts>(),
     .proto = "s3_upload_max_attempts",
     .lo = 1,
     .hi = 100,
     .status = kInert,
     .help = "s3parquet upload attempts (1-100)"},
    {.name = "s3UploadBackoffCap",
     .env = "S3_UPLOAD_BACKOFF_CAP",
     .topic = kS3Parquet,
     .field = Field<&Config::s3_upload_backoff_cap>(),
     .proto = "s3_upload_backoff_cap",
     .status = kInert,
     .help = "s3parquet retry backoff cap"},

    // ---- profiling ----
    {.name = "profile.mode",
     .topic = kProfiling,
     .field = Field<&Config::profile_mode>(),
     .check = CheckProfileMode,
     .help = "One-shot profile written to the working directory until exit: cpu or mem (Go-only "
             "modes are accepted and ignored)"},
    {.name = "pyroscopeUrl",
     .env = "PYROSCOPE_URL",
     .topic = kProfiling,
     .field = Field<&Config::pyroscope_url>(),
     .proto = "pyroscope_url",
     .status = kInert,
     .secret = Secret::kUrlUserinfo,
     .help = "Pyroscope server for continuous profiling"},
    {.name = "pyroscopeAppName",
     .env = "PYROSCOPE_APP_NAME",
     .topic = kProfiling,
     .field = Field<&Config::pyroscope_app_name>(),
     .proto = "pyroscope_app_name",
     .status = kInert,
     .help = "Pyroscope application name"},
    {.name = "pyroscopeSampleHz",
     .topic = kProfiling,
     .field = Field<&Config::pyroscope_sample_hz>(),
     .proto = "pyroscope_sample_hz",
     .status = kInert,
     .help = "Pyroscope sampling rate"},
    {.name = "pyroscopeUploadSec",
     .topic = kProfiling,
     .field = Field<&Config::pyroscope_upload_sec>(),
     .proto = "pyroscope_upload_interval_sec",
     .status = kInert,
     .help = "Pyroscope upload interval in seconds"},

    // ---- operations ----
    {.name = "d",
     .env = "DEBUG_LEVEL",
     .topic = kOperations,
     .field = Field<&Config::debug_level>(),
     .proto = "debug_level",
     .hi = 1000,
     .help = "Log verbosity: 0 errors/warnings only, 1-111 startup summary and one line per poll, "
             ">111 debug, >500 trace"},
    {.name = "logFormat",
     .env = "LOG_FORMAT",
     .topic = kOperations,
     .field = Field<&Config::log_format>(),
     .check = CheckLogFormat,
     .help = "Log line format: text or json"},
    {.name = "seccomp",
     .env = "SECCOMP",
     .topic = kOperations,
     .field = Field<&Config::seccomp>(),
     .help = "Install a seccomp allow-list after start-up; -seccomp=false turns it off"},
    {.name = "goMaxProcs",
     .env = "GOMAXPROCS",
     .topic = kOperations,
     .field = Field<&Config::go_max_procs>(),
     .status = kInert,
     .help = "Go runtime knob of the upstream daemon"},

    // ---- one-shot modes ----
    {.name = "v",
     .topic = kOneShot,
     .field = Field<&Config::version>(),
     .help = "Print the version and exit (also -version)"},
    {.name = "version",
     .topic = kOneShot,
     .field = Field<&Config::version>(),
     .help = "Print the version and exit"},
    {.name = "conf",
     .topic = kOneShot,
     .field = Field<&Config::print_config>(),
     .help = "Print the configuration as JSON (secrets masked) and exit"},
    {.name = "healthcheck",
     .topic = kOneShot,
     .field = Field<&Config::healthcheck>(),
     .help = "Probe http://127.0.0.1:<promListen port>/readyz; exit 0 when ready, 1 otherwise"},
    {.name = "replay",
     .topic = kOneShot,
     .field = Field<&Config::replay>(),
     .help = "Decode a capture (pcap of an nlmon device, a -writeFiles datagram file, or a "
             "directory of them) through -marshal/-dest, then exit"},
    {.name = "decode",
     .topic = kOneShot,
     .field = Field<&Config::decode>(),
     .help = "Print a protobufList stream (file or - for stdin) as JSON lines, then exit"},
};

}  // namespace

std::span<const FlagRow> Flags() { return kFlags; }

const FlagRow* FindFlag(std::string_view name) {
  for (const FlagRow& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string_view TopicTitle(Topic t) {
  switch (t) {
    case kCollection:
      return "Collection";
    case kOutput:
      return "Output";
    case kKafka:
      return "Kafka";
    case kStamps:
      return "Record stamps";
    case kHttp:
      return "HTTP: metrics, health and profiles";
    case kGrpc:
      return "gRPC";
    case kEnrichment:
      return "Enrichment";
    case kS3Parquet:
      return "s3parquet sink";
    case kProfiling:
      return "Profiling";
    case kOperations:
      return "Operations";
    case kOneShot:
      return "One-shot modes";
  }
  return "Other";
}

std::string RangeWords(const FlagRow& row) {
  if (row.field.type == Type::kBool) return "";
  if (row.field.type == Type::kString && row.lo == 0 && row.hi == kNoLimit) return "";
  if (row.field.type == Type::kUint && row.lo == 0 && row.hi == kNoLimit) return "";
  return Words(row.field.type, row.lo, row.hi);
}

std::string CheckRow(const FlagRow& row, const Config& c, const Vocabulary& v) {
  if (row.field.type != Type::kBool) {
    const int64_t m = row.field.measure(c);
    if (m < row.lo || m > row.hi) return RangeWords(row);
  }
  return row.check != nullptr ? row.check(c, v) : "";
}

std::string MaskValue(const FlagRow& row, const std::string& value) {
  switch (row.secret) {
    case Secret::kNone:
      return value;
    case Secret::kWhole:
      return value.empty() ? value : "***";
    case Secret::kUrlUserinfo:
      return MaskUrlUserinfo(value);
  }
  return value;
}

std::string ShownValue(const FlagRow& row, const Config& c) {
  return MaskValue(row, row.field.format(c));
}

}  // namespace xtcp::config
