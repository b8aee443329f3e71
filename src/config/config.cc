#include "config/config.h"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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

absl::Status FlagError(absl::string_view flag, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", value, "\" for flag -", flag, ": ", why));
}

absl::Status CheckRange(absl::string_view flag, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v < lo || v > hi) {
    return FlagError(flag, std::to_string(v), absl::StrCat("must be between ", lo, " and ", hi));
  }
  return absl::OkStatus();
}

absl::Status CheckLen(absl::string_view flag, const std::string& v, size_t lo, size_t hi) {
  if (v.size() < lo || v.size() > hi) {
    return FlagError(flag, v, absl::StrCat("length must be between ", lo, " and ", hi, " bytes"));
  }
  return absl::OkStatus();
}

constexpr const char* kMarshallers[] = {"protobufList", "protoJson", "protoText", "msgpack",
                                        "jsonl",        "csv",       "tsv",       "humanize"};
constexpr const char* kSchemes[] = {"null", "stdout",   "stderr", "file",  "tcp",  "udp",
                                    "unix", "unixgram", "http",   "https", "kafka"};
constexpr const char* kUnbuiltSchemes[] = {"nats", "nsq", "valkey", "s3parquet"};

#define XTCP_RETURN_IF_ERROR(expr) \
  do {                             \
    absl::Status _st = (expr);     \
    if (!_st.ok()) return _st;     \
  } while (false)

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

absl::Status Validate(const Config& c) {
  XTCP_RETURN_IF_ERROR(CheckRange("nltimeout", c.nl_timeout_ms, 0, 100000));
  if (c.poll_frequency <= absl::ZeroDuration() || c.poll_frequency > absl::Hours(24 * 7)) {
    return FlagError("frequency", FormatGoDuration(c.poll_frequency),
                     "must be above 0s and at most 168h");
  }
  if (c.poll_timeout <= absl::ZeroDuration() || c.poll_timeout > absl::Hours(24 * 7)) {
    return FlagError("timeout", FormatGoDuration(c.poll_timeout),
                     "must be above 0s and at most 168h");
  }
  if (c.poll_timeout >= c.poll_frequency) {
    return FlagError(
        "timeout", FormatGoDuration(c.poll_timeout),
        absl::StrCat("must be less than -frequency (", FormatGoDuration(c.poll_frequency), ")"));
  }
  XTCP_RETURN_IF_ERROR(CheckRange("maxLoops", c.max_loops, 0, 100000));
  XTCP_RETURN_IF_ERROR(CheckRange("netlinkers", c.netlinkers, 1, 100));
  XTCP_RETURN_IF_ERROR(CheckRange("nlmsgSeq", c.nlmsg_seq, 1, 10000));
  XTCP_RETURN_IF_ERROR(CheckRange("packetSize", c.packet_size, 0, 1000000));
  XTCP_RETURN_IF_ERROR(CheckRange("packetSizeMply", c.packet_size_mply, 0, 100));
  XTCP_RETURN_IF_ERROR(CheckRange("writeFiles", c.write_files, 0, 1000));
  XTCP_RETURN_IF_ERROR(CheckLen("capturePath", c.capture_path, 1, 80));
  XTCP_RETURN_IF_ERROR(CheckRange("modulus", c.modulus, 1, 1000000));
  {
    bool ok = !c.families.empty() && c.families.size() <= 2;
    for (int f : c.families) ok &= (f == 4 || f == 6);
    if (c.families.size() == 2) ok &= c.families[0] != c.families[1];
    if (!ok) return FlagError("families", absl::StrJoin(c.families, ","), "want 4, 6 or 4,6");
  }
  XTCP_RETURN_IF_ERROR(CheckRange("pollJitterPct", c.poll_jitter_pct, 0, 100));
  if (c.reconcile_frequency < absl::ZeroDuration()) {
    return FlagError("reconcileFrequency", FormatGoDuration(c.reconcile_frequency),
                     "must not be negative");
  }
  if (auto d = decode::ParseDeserializers(c.deserializers_spec); !d.ok()) {
    return FlagError("deserializers", c.deserializers_spec, d.status().message());
  }
  XTCP_RETURN_IF_ERROR(CheckRange("ioUringRecvBatch", c.io_uring_recv_batch, 1, 4096));
  XTCP_RETURN_IF_ERROR(CheckRange("ioUringCqeBatch", c.io_uring_cqe_batch, 1, 4096));
  if (c.max_threads < 0)
    return FlagError("maxThreads", std::to_string(c.max_threads), "must not be negative");

  bool marshal_ok = false;
  for (const char* m : kMarshallers) marshal_ok |= (c.marshal == m);
  if (!marshal_ok) {
    return FlagError("marshal", c.marshal,
                     absl::StrCat("must be one of ", absl::StrJoin(kMarshallers, ", ")));
  }
  XTCP_RETURN_IF_ERROR(CheckLen("dest", c.dest, 4, 512));
  const std::string scheme = c.dest.substr(0, c.dest.find(':'));
  bool scheme_ok = false;
  for (const char* s : kSchemes) scheme_ok |= (scheme == s);
  for (const char* s : kUnbuiltSchemes) {
    if (scheme == s) {
      return FlagError(
          "dest", c.dest,
          absl::StrCat("scheme ", scheme, " is not available in this build; valid schemes are: ",
                       absl::StrJoin(kSchemes, ", ")));
    }
  }
  if (!scheme_ok) {
    return FlagError(
        "dest", c.dest,
        absl::StrCat("unknown destination; valid schemes are: ", absl::StrJoin(kSchemes, ", ")));
  }
  XTCP_RETURN_IF_ERROR(CheckRange("destWriteFiles", c.dest_write_files, 0, 1000));
  XTCP_RETURN_IF_ERROR(CheckLen("topic", c.topic, 1, 40));
  {
    const std::string k = absl::AsciiStrToLower(c.kafka_compression);
    if (!(k.empty() || k == "auto" || k == "zstd" || k == "lz4" || k == "snappy" || k == "gzip" ||
          k == "none")) {
      return FlagError("kafkaCompression", c.kafka_compression,
                       "want one of: auto, zstd, lz4, snappy, gzip, none");
    }
  }
  XTCP_RETURN_IF_ERROR(CheckLen("xtcpProtoFile", c.xtcp_proto_file, 1, 80));
  XTCP_RETURN_IF_ERROR(CheckLen("kafkaSchemaUrl", c.kafka_schema_url, 1, 60));
  if (c.produce_timeout < absl::ZeroDuration() || c.produce_timeout > absl::Seconds(600)) {
    return FlagError("produceTimeout", FormatGoDuration(c.produce_timeout),
                     "must be between 0s and 10m0s");
  }
  if (c.shutdown_timeout <= absl::ZeroDuration() || c.shutdown_timeout > absl::Hours(1)) {
    return FlagError("shutdownTimeout", FormatGoDuration(c.shutdown_timeout),
                     "must be above 0s and at most 1h");
  }
  XTCP_RETURN_IF_ERROR(CheckLen("label", c.label, 0, 40));
  XTCP_RETURN_IF_ERROR(CheckLen("tag", c.tag, 0, 40));
  XTCP_RETURN_IF_ERROR(CheckLen("location", c.location, 0, 253));
  XTCP_RETURN_IF_ERROR(CheckLen("hostname", c.hostname, 0, 253));
  XTCP_RETURN_IF_ERROR(CheckLen("dockerSocket", c.docker_socket, 0, 255));
  XTCP_RETURN_IF_ERROR(CheckLen("lldpdSocket", c.lldpd_socket, 0, 255));
  XTCP_RETURN_IF_ERROR(CheckLen("lldpdVersionHint", c.lldpd_version_hint, 0, 16));
  XTCP_RETURN_IF_ERROR(CheckRange("uplinkCount", c.uplink_count, 0, 2));
  if (c.uplink_interfaces.size() > 2) {
    return FlagError("uplinkInterfaces", absl::StrJoin(c.uplink_interfaces, ","),
                     "at most 2 interfaces");
  }
  XTCP_RETURN_IF_ERROR(CheckRange("s3FlushJitterPct", c.s3_flush_jitter_pct, 0, 100));
  XTCP_RETURN_IF_ERROR(
      CheckRange("s3FlushThresholdJitterPct", c.s3_flush_threshold_jitter_pct, 0, 100));
  XTCP_RETURN_IF_ERROR(CheckRange("s3UploadMaxAttempts", c.s3_upload_max_attempts, 1, 100));
  if (c.s3_flush_interval < absl::ZeroDuration()) {
    return FlagError("s3FlushInterval", FormatGoDuration(c.s3_flush_interval),
                     "must not be negative");
  }
  if (c.s3_upload_backoff_cap < absl::ZeroDuration()) {
    return FlagError("s3UploadBackoffCap", FormatGoDuration(c.s3_upload_backoff_cap),
                     "must not be negative");
  }
  {
    // [host]:port with a numeric port; the host is resolved when the server starts.
    const size_t colon = c.prom_listen.rfind(':');
    uint32_t port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(absl::string_view(c.prom_listen).substr(colon + 1), &port) ||
        port > 65535) {
      return FlagError("promListen", c.prom_listen,
                       "want [host]:port with a port of 0-65535, e.g. :9088 or 127.0.0.1:9088");
    }
  }
  if (c.prom_path.empty() || c.prom_path[0] != '/')
    return FlagError("promPath", c.prom_path, "must start with /");
  XTCP_RETURN_IF_ERROR(CheckRange("ipv4Ttl", c.ipv4_ttl, 0, 255));
  XTCP_RETURN_IF_ERROR(CheckRange("ipv6HopLimit", c.ipv6_hop_limit, 0, 255));
  XTCP_RETURN_IF_ERROR(CheckRange("grpcPort", c.grpc_port, 1, 65535));
  XTCP_RETURN_IF_ERROR(CheckRange("d", c.debug_level, 0, 1000));
  {
    const std::string& m = c.profile_mode;
    if (!(m.empty() || m == "cpu" || m == "mem" || m == "memheap" || m == "mutex" || m == "block" ||
          m == "trace" || m == "goroutine")) {
      return FlagError("profile.mode", m, "want cpu or mem");
    }
  }
  return absl::OkStatus();
}

::xtcp_config::v1::XtcpConfig ToProto(const Config& c) {
  ::xtcp_config::v1::XtcpConfig p;
  auto dur = [](absl::Duration d, google::protobuf::Duration* out) {
    const int64_t ns = absl::ToInt64Nanoseconds(d);
    out->set_seconds(ns / 1000000000);
    out->set_nanos(static_cast<int32_t>(ns % 1000000000));
  };
  p.set_nl_timeout_milliseconds(c.nl_timeout_ms);
  dur(c.poll_frequency, p.mutable_poll_frequency());
  dur(c.poll_timeout, p.mutable_poll_timeout());
  p.set_max_loops(c.max_loops);
  p.set_netlinkers(c.netlinkers);
  p.set_netlinkers_done_chan_size(c.netlinkers_done_chan_size);
  p.set_nlmsg_seq(c.nlmsg_seq);
  p.set_packet_size(c.packet_size);
  p.set_packet_size_mply(c.packet_size_mply);
  p.set_write_files(c.write_files);
  p.set_capture_path(c.capture_path);
  p.set_modulus(c.modulus);
  p.set_marshal_to(c.marshal);
  p.set_envelope_flush_threshold_bytes(c.envelope_flush_bytes);
  p.set_envelope_flush_threshold_rows(c.envelope_flush_rows);
  p.set_kafka_compression(c.kafka_compression);
  p.set_s3_endpoint(c.s3_endpoint);
  p.set_s3_bucket(c.s3_bucket);
  p.set_s3_prefix(c.s3_prefix);
  p.set_s3_access_key(c.s3_access_key);
  p.set_s3_secret_key(c.s3_secret_key);
  p.set_dest(c.dest);
  p.set_s3_parquet_flush_threshold_bytes(c.s3_parquet_flush_bytes);
  p.set_s3_region(c.s3_region);
  p.set_s3_skip_bucket_probe(c.s3_skip_bucket_probe);
  p.set_dest_write_files(c.dest_write_files);
  p.set_pyroscope_url(c.pyroscope_url);
  p.set_pyroscope_app_name(c.pyroscope_app_name);
  p.set_pyroscope_sample_hz(c.pyroscope_sample_hz);
  p.set_pyroscope_upload_interval_sec(c.pyroscope_upload_sec);
  p.set_topic(c.topic);
  p.set_xtcp_proto_file(c.xtcp_proto_file);
  p.set_kafka_schema_url(c.kafka_schema_url);
  dur(c.produce_timeout, p.mutable_kafka_produce_timeout());
  p.set_debug_level(c.debug_level);
  p.set_label(c.label);
  p.set_tag(c.tag);
  p.set_location(c.location);
  p.set_hostname(c.hostname);
  p.set_resolve_container_id(c.resolve_container_id);
  p.set_ipv4_ttl(c.ipv4_ttl);
  p.set_ipv6_hop_limit(c.ipv6_hop_limit);
  p.set_daemon_version(c.daemon_version);
  p.set_grpc_port(c.grpc_port);
  if (auto set = decode::ParseDeserializers(c.deserializers_spec); set.ok()) {
    auto* m = p.mutable_enabled_deserializers()->mutable_enabled();
    for (size_t i = 0; i < decode::kDeserializers.size(); ++i) {
      (*m)[std::string(decode::kDeserializers[i].key)] = set->Has(i);
    }
  }
  p.set_io_uring(c.io_uring);
  p.set_io_uring_recv_batch_size(c.io_uring_recv_batch);
  p.set_io_uring_cqe_batch_size(c.io_uring_cqe_batch);
  p.set_csv_columns(c.csv_columns);
  p.set_poll_jitter_pct(c.poll_jitter_pct);
  dur(c.s3_flush_interval, p.mutable_s3_flush_interval());
  p.set_s3_flush_jitter_pct(c.s3_flush_jitter_pct);
  p.set_s3_flush_threshold_jitter_pct(c.s3_flush_threshold_jitter_pct);
  p.set_s3_upload_max_attempts(c.s3_upload_max_attempts);
  dur(c.s3_upload_backoff_cap, p.mutable_s3_upload_backoff_cap());
  dur(c.reconcile_frequency, p.mutable_reconcile_frequency());
  p.set_reconcile_before_poll(c.reconcile_before_poll);
  p.set_enrich_container_enable(c.enrich_container);
  p.set_docker_socket_path(c.docker_socket);
  p.set_enrich_lldp_enable(c.enrich_lldp);
  p.set_lldpd_socket_path(c.lldpd_socket);
  p.set_lldpd_version_hint(c.lldpd_version_hint);
  p.set_enrich_nic_enable(c.enrich_nic);
  p.set_uplink_count(c.uplink_count);
  for (const auto& i : c.uplink_interfaces) p.add_uplink_interfaces(i);
  p.set_populate_nsid(c.populate_nsid);
  return p;
}

absl::Status FromProto(const ::xtcp_config::v1::XtcpConfig& p, Config* c) {
  auto dur = [](const google::protobuf::Duration& d) {
    return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  };
  c->nl_timeout_ms = p.nl_timeout_milliseconds();
  c->poll_frequency = dur(p.poll_frequency());
  c->poll_timeout = dur(p.poll_timeout());
  c->max_loops = p.max_loops();
  c->netlinkers = p.netlinkers();
  c->netlinkers_done_chan_size = p.netlinkers_done_chan_size();
  c->nlmsg_seq = p.nlmsg_seq();
  c->packet_size = p.packet_size();
  c->packet_size_mply = p.packet_size_mply();
  c->write_files = p.write_files();
  c->capture_path = p.capture_path();
  c->modulus = p.modulus();
  c->marshal = p.marshal_to();
  c->envelope_flush_bytes = p.envelope_flush_threshold_bytes();
  c->envelope_flush_rows = p.envelope_flush_threshold_rows();
  c->kafka_compression = p.kafka_compression();
  c->s3_endpoint = p.s3_endpoint();
  c->s3_bucket = p.s3_bucket();
  c->s3_prefix = p.s3_prefix();
  c->s3_access_key = p.s3_access_key();
  c->s3_secret_key = p.s3_secret_key();
  c->dest = p.dest();
  c->s3_parquet_flush_bytes = p.s3_parquet_flush_threshold_bytes();
  c->s3_region = p.s3_region();
  c->s3_skip_bucket_probe = p.s3_skip_bucket_probe();
  c->dest_write_files = p.dest_write_files();
  c->pyroscope_url = p.pyroscope_url();
  c->pyroscope_app_name = p.pyroscope_app_name();
  c->pyroscope_sample_hz = p.pyroscope_sample_hz();
  c->pyroscope_upload_sec = p.pyroscope_upload_interval_sec();
  c->topic = p.topic();
  c->xtcp_proto_file = p.xtcp_proto_file();
  c->kafka_schema_url = p.kafka_schema_url();
  c->produce_timeout = dur(p.kafka_produce_timeout());
  c->debug_level = p.debug_level();
  c->label = p.label();
  c->tag = p.tag();
  c->location = p.location();
  c->hostname = p.hostname();
  c->resolve_container_id = p.resolve_container_id();
  c->ipv4_ttl = p.ipv4_ttl();
  c->ipv6_hop_limit = p.ipv6_hop_limit();
  c->grpc_port = p.grpc_port();
  if (p.has_enabled_deserializers()) {
    std::vector<std::string> keys;
    for (const auto& d : decode::kDeserializers) {
      auto it = p.enabled_deserializers().enabled().find(std::string(d.key));
      if (it != p.enabled_deserializers().enabled().end() && it->second) keys.emplace_back(d.key);
    }
    for (const auto& [k, v] : p.enabled_deserializers().enabled()) {
      bool known = false;
      for (const auto& d : decode::kDeserializers) known |= (k == d.key);
      if (!known)
        return absl::InvalidArgumentError(absl::StrCat("unknown deserializer \"", k, "\""));
    }
    c->deserializers_spec = absl::StrJoin(keys, ",");
  }
  c->io_uring = p.io_uring();
  c->io_uring_recv_batch = p.io_uring_recv_batch_size();
  c->io_uring_cqe_batch = p.io_uring_cqe_batch_size();
  c->csv_columns = p.csv_columns();
  c->poll_jitter_pct = p.poll_jitter_pct();
  c->s3_flush_interval = dur(p.s3_flush_interval());
  c->s3_flush_jitter_pct = p.s3_flush_jitter_pct();
  c->s3_flush_threshold_jitter_pct = p.s3_flush_threshold_jitter_pct();
  c->s3_upload_max_attempts = p.s3_upload_max_attempts();
  c->s3_upload_backoff_cap = dur(p.s3_upload_backoff_cap());
  c->reconcile_frequency = dur(p.reconcile_frequency());
  c->reconcile_before_poll = p.reconcile_before_poll();
  c->enrich_container = p.enrich_container_enable();
  c->docker_socket = p.docker_socket_path();
  c->enrich_lldp = p.enrich_lldp_enable();
  c->lldpd_socket = p.lldpd_socket_path();
  c->lldpd_version_hint = p.lldpd_version_hint();
  c->enrich_nic = p.enrich_nic_enable();
  c->uplink_count = p.uplink_count();
  c->uplink_interfaces.assign(p.uplink_interfaces().begin(), p.uplink_interfaces().end());
  c->populate_nsid = p.populate_nsid();
  return absl::OkStatus();
}

}  // namespace xtcp::config
