// The only file that defines command-line flags (gflags registry), and the Go-compatible parser
// over them. Names, types and defaults are those of the upstream daemon; see docs/configuration.md.

#include <gflags/gflags.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "config/config.h"

extern char** environ;

// ---- collection ----
DEFINE_uint64(nltimeout, 1000, "Netlink socket receive timeout in milliseconds; 0 = no timeout");
DEFINE_string(frequency, "10s", "Poll frequency");
DEFINE_string(timeout, "5s",
              "Poll timeout: a poll still waiting for namespaces after this is flushed (must be "
              "below -frequency)");
DEFINE_uint64(
    maxLoops, 0,
    "Number of polls to run before flushing, draining the sink and exiting 0; 0 = forever");
DEFINE_uint64(netlinkers, 4, "Reader threads per namespace socket (1-100)");
DEFINE_uint64(nlmsgSeq, 666,
              "First netlink sequence number (1-10000); every dump request gets the next one");
DEFINE_uint64(
    packetSize, 0,
    "Receive buffer base size in bytes; buffer = packetSize x packetSizeMply; 0 = page size");
DEFINE_uint64(packetSizeMply, 8, "Receive buffer multiplier (0-100; 0 = 8)");
DEFINE_uint64(writeFiles, 0,
              "Save the first N received netlink datagrams of each reader under -capturePath "
              "(replayable with -replay)");
DEFINE_string(capturePath, "./", "Prefix of the files written by -writeFiles");
DEFINE_uint64(modulus, 1, "Emit every Nth socket of each dump (1 = all)");
DEFINE_string(families, "4,6", "Address families to dump each poll: 4, 6 or 4,6");
DEFINE_uint64(
    pollJitterPct, 20,
    "Random jitter of the first poll and of each interval, in percent of -frequency (0-100)");
DEFINE_string(reconcileFrequency, "6h", "Period of the background namespace rescan; 0 disables it");
DEFINE_bool(reconcileBeforePoll, true, "Rescan namespaces right before every poll");
DEFINE_string(deserializers, "default",
              "Attributes to decode: 'default' (all but meminfo), 'all', '' (none) or a comma list "
              "of meminfo,info,vegas,cong,tos,tc,skmem,shut,dctcp,bbr,classid,cgroup,sockopt");
DEFINE_bool(ioUring, false, "Read netlink replies through io_uring rings instead of recvmsg(2)");
DEFINE_uint64(ioUringRecvBatch, 64, "io_uring receives kept in flight per reader (1-4096)");
DEFINE_uint64(ioUringCqeBatch, 128, "io_uring completions reaped per batch (1-4096)");
DEFINE_int64(maxThreads, 2000,
             "Upper bound on the daemon's threads; namespaces that would exceed it are refused and "
             "counted; 0 = no bound");

// ---- output ----
DEFINE_string(
    marshal, "protobufList",
    "Output format: protobufList, protoJson, protoText, msgpack, jsonl, csv, tsv, humanize");
DEFINE_string(
    columns, "",
    "csv/tsv: comma list of column names (JSON names, e.g. hostname,tcpInfoRtt); empty = all");
DEFINE_uint64(
    envelopeFlushBytes, 0,
    "Flush the batch when its serialized size exceeds this many bytes; 0 = 786432 (768 KiB)");
DEFINE_uint64(envelopeFlushRows, 0, "Flush the batch when it holds this many records; 0 = 10000");
DEFINE_string(
    dest, "kafka:redpanda-0:9092",
    "Destination scheme:address: null, stdout, stderr, file:/path, tcp:host:port, udp:host:port, "
    "unix:/path, unixgram:/path, http(s)://host/path, kafka:host:port[,host:port]");
DEFINE_uint64(destWriteFiles, 10, "Accepted for compatibility; has no effect");
DEFINE_string(topic, "xtcp", "Kafka topic");
DEFINE_string(kafkaCompression, "",
              "Kafka compression: auto (or empty), zstd, lz4, snappy, gzip, none");
DEFINE_string(xtcpProtoFile, "/xtcp_flat_record.proto",
              "Schema file registered with the Kafka schema registry");
DEFINE_string(kafkaSchemaUrl, "http://localhost:18081", "Kafka schema registry URL");
DEFINE_string(produceTimeout, "0s",
              "Kafka delivery timeout and HTTP request timeout; 0 = defaults (Kafka 5m, HTTP 10s)");
DEFINE_string(
    shutdownTimeout, "10s",
    "On SIGINT/SIGTERM or after -maxLoops: time allowed for the final flush and sink drain");

// ---- record stamps ----
DEFINE_string(label, "", "Label stamped on every record (max 40 bytes)");
DEFINE_string(tag, "", "Tag stamped on every record (max 40 bytes)");
DEFINE_string(location, "", "Location (site, region, PoP) stamped on every record (max 253 bytes)");
DEFINE_string(hostname, "", "Hostname stamped on every record; empty = the kernel's hostname");

// ---- enrichment (accepted; not implemented yet) ----
DEFINE_bool(resolveContainerId, false,
            "Accepted for compatibility; container resolution is not implemented yet");
DEFINE_bool(enrichContainer, false,
            "Accepted for compatibility; Docker enrichment is not implemented yet");
DEFINE_string(dockerSocket, "/run/docker.sock", "Docker API socket for -enrichContainer");
DEFINE_bool(enrichLldp, false,
            "Accepted for compatibility; LLDP enrichment is not implemented yet");
DEFINE_string(lldpdSocket, "/run/lldpd.socket", "lldpd control socket for -enrichLldp");
DEFINE_string(lldpdVersionHint, "", "lldpd version hint for -enrichLldp");
DEFINE_bool(enrichNic, false, "Accepted for compatibility; NIC enrichment is not implemented yet");
DEFINE_uint64(uplinkCount, 2, "Uplink slots for enrichment (0-2)");
DEFINE_string(uplinkInterfaces, "", "Comma list of uplink interfaces for enrichment (at most 2)");
DEFINE_bool(populateNsid, false, "Accepted for compatibility; nsid lookup is not implemented yet");

// ---- s3parquet (accepted; the sink is not built) ----
DEFINE_string(s3Endpoint, "",
              "s3parquet endpoint (the s3parquet sink is not available in this build)");
DEFINE_string(s3Bucket, "", "s3parquet bucket");
DEFINE_string(s3Prefix, "", "s3parquet key prefix");
DEFINE_string(s3AccessKey, "", "s3parquet access key (never printed)");
DEFINE_string(s3SecretKey, "", "s3parquet secret key (never printed)");
DEFINE_string(s3Region, "", "s3parquet region");
DEFINE_bool(s3SkipBucketProbe, false, "s3parquet: skip the bucket probe");
DEFINE_uint64(s3ParquetFlushBytes, 0, "s3parquet object size target");
DEFINE_string(s3FlushInterval, "0s", "s3parquet flush interval");
DEFINE_uint64(s3FlushJitterPct, 20, "s3parquet flush jitter percent (0-100)");
DEFINE_uint64(s3FlushThresholdJitterPct, 20, "s3parquet size jitter percent (0-100)");
DEFINE_uint64(s3UploadMaxAttempts, 10, "s3parquet upload attempts (1-100)");
DEFINE_string(s3UploadBackoffCap, "0s", "s3parquet retry backoff cap");

// ---- operations ----
DEFINE_string(promListen, ":9088", "Listen address of the HTTP server (metrics, health, pprof)");
DEFINE_string(promPath, "/metrics", "Path of the Prometheus metrics page");
DEFINE_uint64(ipv4Ttl, 0, "IP_TTL of the HTTP listener (0-255; 0 = kernel default)");
DEFINE_uint64(ipv6HopLimit, 0,
              "IPV6_UNICAST_HOPS of the HTTP listener (0-255; 0 = kernel default)");
DEFINE_uint64(grpcPort, 8889, "gRPC port (accepted; the gRPC services are not served yet)");
DEFINE_uint64(d, 111,
              "Log verbosity: 0 errors/warnings only, 1-111 startup summary and one line per poll, "
              ">111 debug, >500 trace");
DEFINE_string(profile_mode, "",
              "One-shot profile written to the working directory until exit: cpu or mem (Go-only "
              "modes are accepted and ignored)");
DEFINE_uint64(goMaxProcs, 4, "Go runtime setting; accepted and ignored");
DEFINE_string(pyroscopeUrl, "", "Pyroscope agent URL; accepted and ignored");
DEFINE_string(pyroscopeAppName, "xtcp2", "Pyroscope application name; accepted and ignored");
DEFINE_uint64(pyroscopeSampleHz, 100, "Pyroscope sample rate; accepted and ignored");
DEFINE_uint64(pyroscopeUploadSec, 15, "Pyroscope upload interval; accepted and ignored");

// ---- one-shot modes ----
DEFINE_bool(v, false, "Print the version and exit");
DEFINE_bool(conf, false, "Print the configuration as JSON and exit");
DEFINE_bool(healthcheck, false,
            "Probe http://127.0.0.1:<promListen port>/readyz; exit 0 when ready, 1 otherwise");
DEFINE_string(replay, "",
              "Decode a capture (pcap of an nlmon device, a -writeFiles datagram file, or a "
              "directory of them) through -marshal/-dest, then exit");
DEFINE_string(decode, "",
              "Print a protobufList stream (file or - for stdin) as JSON lines, then exit");

namespace xtcp::config {
namespace {

// How a flag is typed on the command line (as Go's flag package shows it in -help).
enum class Kind { kBool, kUint, kInt, kString, kDuration };

struct FlagSpec {
  const char* name;   // command-line name
  const char* gflag;  // gflags registry name (differs only for profile.mode)
  Kind kind;
  const char* env;  // environment variable, or nullptr
};

// Every flag, in one table: name as typed, registry name, kind, environment variable.
constexpr FlagSpec kFlags[] = {
    {"nltimeout", "nltimeout", Kind::kUint, "NLTIMEOUTMS"},
    {"frequency", "frequency", Kind::kDuration, "POLL_FREQUENCY"},
    {"timeout", "timeout", Kind::kDuration, "POLL_TIMEOUT"},
    {"maxLoops", "maxLoops", Kind::kUint, "MAX_LOOPS"},
    {"netlinkers", "netlinkers", Kind::kUint, "NETLINKERS"},
    {"nlmsgSeq", "nlmsgSeq", Kind::kUint, "NLMSQSEQ"},
    {"packetSize", "packetSize", Kind::kUint, "PACKET_SIZE"},
    {"packetSizeMply", "packetSizeMply", Kind::kUint, "PACKETSIZEMPLY"},
    {"writeFiles", "writeFiles", Kind::kUint, "WRITEFILES"},
    {"capturePath", "capturePath", Kind::kString, "CAPTUREPATH"},
    {"modulus", "modulus", Kind::kUint, "MODULUS"},
    {"families", "families", Kind::kString, "FAMILIES"},
    {"pollJitterPct", "pollJitterPct", Kind::kUint, "POLL_JITTER_PCT"},
    {"reconcileFrequency", "reconcileFrequency", Kind::kDuration, "RECONCILE_FREQUENCY"},
    {"reconcileBeforePoll", "reconcileBeforePoll", Kind::kBool, "RECONCILE_BEFORE_POLL"},
    {"deserializers", "deserializers", Kind::kString, "DESERIALIZERS"},
    {"ioUring", "ioUring", Kind::kBool, nullptr},
    {"ioUringRecvBatch", "ioUringRecvBatch", Kind::kUint, nullptr},
    {"ioUringCqeBatch", "ioUringCqeBatch", Kind::kUint, nullptr},
    {"maxThreads", "maxThreads", Kind::kInt, nullptr},
    {"marshal", "marshal", Kind::kString, "MARSHAL"},
    {"columns", "columns", Kind::kString, nullptr},
    {"envelopeFlushBytes", "envelopeFlushBytes", Kind::kUint, "ENVELOPE_FLUSH_BYTES"},
    {"envelopeFlushRows", "envelopeFlushRows", Kind::kUint, "ENVELOPE_FLUSH_ROWS"},
    {"dest", "dest", Kind::kString, "DEST"},
    {"destWriteFiles", "destWriteFiles", Kind::kUint, "DEST_WRITE_FILES"},
    {"topic", "topic", Kind::kString, "TOPIC"},
    {"kafkaCompression", "kafkaCompression", Kind::kString, "KAFKA_COMPRESSION"},
    {"xtcpProtoFile", "xtcpProtoFile", Kind::kString, "XTCP_PROTO_FILE"},
    {"kafkaSchemaUrl", "kafkaSchemaUrl", Kind::kString, "KAFKA_SCHEMA_URL"},
    {"produceTimeout", "produceTimeout", Kind::kDuration, "KAFKA_PRODUCE_TIMEOUT"},
    {"shutdownTimeout", "shutdownTimeout", Kind::kDuration, "SHUTDOWN_TIMEOUT"},
    {"label", "label", Kind::kString, "LABEL"},
    {"tag", "tag", Kind::kString, "TAG"},
    {"location", "location", Kind::kString, "LOCATION"},
    {"hostname", "hostname", Kind::kString, "XTCP_HOSTNAME"},
    {"resolveContainerId", "resolveContainerId", Kind::kBool, "CONTAINER_ID_RESOLVE"},
    {"enrichContainer", "enrichContainer", Kind::kBool, "ENRICH_CONTAINER"},
    {"dockerSocket", "dockerSocket", Kind::kString, "DOCKER_SOCKET"},
    {"enrichLldp", "enrichLldp", Kind::kBool, "ENRICH_LLDP"},
    {"lldpdSocket", "lldpdSocket", Kind::kString, "LLDPD_SOCKET"},
    {"lldpdVersionHint", "lldpdVersionHint", Kind::kString, "LLDPD_VERSION_HINT"},
    {"enrichNic", "enrichNic", Kind::kBool, "ENRICH_NIC"},
    {"uplinkCount", "uplinkCount", Kind::kUint, "UPLINK_COUNT"},
    {"uplinkInterfaces", "uplinkInterfaces", Kind::kString, "UPLINK_INTERFACES"},
    {"populateNsid", "populateNsid", Kind::kBool, "POPULATE_NSID"},
    {"s3Endpoint", "s3Endpoint", Kind::kString, "S3_ENDPOINT"},
    {"s3Bucket", "s3Bucket", Kind::kString, "S3_BUCKET"},
    {"s3Prefix", "s3Prefix", Kind::kString, "S3_PREFIX"},
    {"s3AccessKey", "s3AccessKey", Kind::kString, "S3_ACCESS_KEY"},
    {"s3SecretKey", "s3SecretKey", Kind::kString, "S3_SECRET_KEY"},
    {"s3Region", "s3Region", Kind::kString, "S3_REGION"},
    {"s3SkipBucketProbe", "s3SkipBucketProbe", Kind::kBool, "S3_SKIP_BUCKET_PROBE"},
    {"s3ParquetFlushBytes", "s3ParquetFlushBytes", Kind::kUint, "S3_PARQUET_FLUSH_BYTES"},
    {"s3FlushInterval", "s3FlushInterval", Kind::kDuration, "S3_FLUSH_INTERVAL"},
    {"s3FlushJitterPct", "s3FlushJitterPct", Kind::kUint, "S3_FLUSH_JITTER_PCT"},
    {"s3FlushThresholdJitterPct", "s3FlushThresholdJitterPct", Kind::kUint,
     "S3_FLUSH_THRESHOLD_JITTER_PCT"},
    {"s3UploadMaxAttempts", "s3UploadMaxAttempts", Kind::kUint, "S3_UPLOAD_MAX_ATTEMPTS"},
    {"s3UploadBackoffCap", "s3UploadBackoffCap", Kind::kDuration, "S3_UPLOAD_BACKOFF_CAP"},
    {"promListen", "promListen", Kind::kString, "PROM_LISTEN"},
    {"promPath", "promPath", Kind::kString, "PROM_PATH"},
    {"ipv4Ttl", "ipv4Ttl", Kind::kUint, "IPV4_TTL"},
    {"ipv6HopLimit", "ipv6HopLimit", Kind::kUint, "IPV6_HOP_LIMIT"},
    {"grpcPort", "grpcPort", Kind::kUint, "GRPC_PORT"},
    {"d", "d", Kind::kUint, "DEBUG_LEVEL"},
    {"profile.mode", "profile_mode", Kind::kString, nullptr},
    {"goMaxProcs", "goMaxProcs", Kind::kUint, "GOMAXPROCS"},
    {"pyroscopeUrl", "pyroscopeUrl", Kind::kString, "PYROSCOPE_URL"},
    {"pyroscopeAppName", "pyroscopeAppName", Kind::kString, "PYROSCOPE_APP_NAME"},
    {"pyroscopeSampleHz", "pyroscopeSampleHz", Kind::kUint, nullptr},
    {"pyroscopeUploadSec", "pyroscopeUploadSec", Kind::kUint, nullptr},
    {"v", "v", Kind::kBool, nullptr},
    {"conf", "conf", Kind::kBool, nullptr},
    {"healthcheck", "healthcheck", Kind::kBool, nullptr},
    {"replay", "replay", Kind::kString, nullptr},
    {"decode", "decode", Kind::kString, nullptr},
};

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

const char* KindWord(Kind k) {
  switch (k) {
    case Kind::kBool:
      return "a boolean";
    case Kind::kUint:
      return "an unsigned integer";
    case Kind::kInt:
      return "an integer";
    case Kind::kString:
      return "a string";
    case Kind::kDuration:
      return "a duration such as 10s, 1m30s or 250ms";
  }
  return "a value";
}

// Sets a flag from text; returns "" or an error fragment.
std::string SetFlag(const FlagSpec& f, const std::string& value) {
  if (f.kind == Kind::kDuration) {
    absl::Duration d;
    if (!ParseGoDuration(value, &d)) return absl::StrCat("expected ", KindWord(f.kind));
  }
  if (f.kind == Kind::kUint || f.kind == Kind::kInt) {
    // gflags accepts hex and octal; Go's flag package too (base 0), but reject signs on uints.
    if (f.kind == Kind::kUint && absl::StrContains(value, "-")) {
      return absl::StrCat("expected ", KindWord(f.kind));
    }
  }
  if (gflags::SetCommandLineOption(f.gflag, value.c_str()).empty()) {
    return absl::StrCat("expected ", KindWord(f.kind));
  }
  return "";
}

void ResetFlags() {
  for (const FlagSpec& f : kFlags) {
    gflags::CommandLineFlagInfo info;
    if (gflags::GetCommandLineFlagInfo(f.gflag, &info)) {
      gflags::SetCommandLineOption(f.gflag, info.default_value.c_str());
    }
  }
}

absl::Duration DurationFlag(const std::string& text) {
  absl::Duration d;
  ParseGoDuration(text, &d);  // already validated by SetFlag or a valid default
  return d;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// Builds a Config from the current flag values.
Config FromFlags() {
  Config c;
  c.nl_timeout_ms = FLAGS_nltimeout;
  c.poll_frequency = DurationFlag(FLAGS_frequency);
  c.poll_timeout = DurationFlag(FLAGS_timeout);
  c.max_loops = FLAGS_maxLoops;
  c.netlinkers = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_netlinkers, UINT32_MAX));
  c.nlmsg_seq = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_nlmsgSeq, UINT32_MAX));
  c.packet_size = FLAGS_packetSize;
  c.packet_size_mply = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_packetSizeMply, UINT32_MAX));
  c.write_files = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_writeFiles, UINT32_MAX));
  c.capture_path = FLAGS_capturePath;
  c.modulus = FLAGS_modulus;
  c.families.clear();
  for (const std::string& fam : SplitList(FLAGS_families)) {
    c.families.push_back(fam == "4" ? 4 : fam == "6" ? 6 : 0);
  }
  c.poll_jitter_pct = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_pollJitterPct, UINT32_MAX));
  c.reconcile_frequency = DurationFlag(FLAGS_reconcileFrequency);
  c.reconcile_before_poll = FLAGS_reconcileBeforePoll;
  c.deserializers_spec = FLAGS_deserializers;
  c.io_uring = FLAGS_ioUring;
  c.io_uring_recv_batch =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_ioUringRecvBatch, UINT32_MAX));
  c.io_uring_cqe_batch =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_ioUringCqeBatch, UINT32_MAX));
  c.max_threads = FLAGS_maxThreads;
  c.marshal = FLAGS_marshal;
  c.csv_columns = FLAGS_columns;
  c.envelope_flush_bytes =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_envelopeFlushBytes, UINT32_MAX));
  c.envelope_flush_rows =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_envelopeFlushRows, UINT32_MAX));
  c.dest = FLAGS_dest;
  c.dest_write_files = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_destWriteFiles, UINT32_MAX));
  c.topic = FLAGS_topic;
  c.kafka_compression = FLAGS_kafkaCompression;
  c.xtcp_proto_file = FLAGS_xtcpProtoFile;
  c.kafka_schema_url = FLAGS_kafkaSchemaUrl;
  c.produce_timeout = DurationFlag(FLAGS_produceTimeout);
  c.shutdown_timeout = DurationFlag(FLAGS_shutdownTimeout);
  c.label = FLAGS_label;
  c.tag = FLAGS_tag;
  c.location = FLAGS_location;
  c.hostname = FLAGS_hostname;
  c.resolve_container_id = FLAGS_resolveContainerId;
  c.enrich_container = FLAGS_enrichContainer;
  c.docker_socket = FLAGS_dockerSocket;
  c.enrich_lldp = FLAGS_enrichLldp;
  c.lldpd_socket = FLAGS_lldpdSocket;
  c.lldpd_version_hint = FLAGS_lldpdVersionHint;
  c.enrich_nic = FLAGS_enrichNic;
  c.uplink_count = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_uplinkCount, UINT32_MAX));
  c.uplink_interfaces = SplitList(FLAGS_uplinkInterfaces);
  c.populate_nsid = FLAGS_populateNsid;
  c.s3_endpoint = FLAGS_s3Endpoint;
  c.s3_bucket = FLAGS_s3Bucket;
  c.s3_prefix = FLAGS_s3Prefix;
  c.s3_access_key = FLAGS_s3AccessKey;
  c.s3_secret_key = FLAGS_s3SecretKey;
  c.s3_region = FLAGS_s3Region;
  c.s3_skip_bucket_probe = FLAGS_s3SkipBucketProbe;
  c.s3_parquet_flush_bytes =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_s3ParquetFlushBytes, UINT32_MAX));
  c.s3_flush_interval = DurationFlag(FLAGS_s3FlushInterval);
  c.s3_flush_jitter_pct =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_s3FlushJitterPct, UINT32_MAX));
  c.s3_flush_threshold_jitter_pct =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_s3FlushThresholdJitterPct, UINT32_MAX));
  c.s3_upload_max_attempts =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_s3UploadMaxAttempts, UINT32_MAX));
  c.s3_upload_backoff_cap = DurationFlag(FLAGS_s3UploadBackoffCap);
  c.prom_listen = FLAGS_promListen;
  c.prom_path = FLAGS_promPath;
  c.ipv4_ttl = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_ipv4Ttl, UINT32_MAX));
  c.ipv6_hop_limit = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_ipv6HopLimit, UINT32_MAX));
  c.grpc_port = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_grpcPort, UINT32_MAX));
  c.debug_level = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_d, UINT32_MAX));
  c.profile_mode = FLAGS_profile_mode;
  c.go_max_procs = static_cast<uint32_t>(std::min<uint64_t>(FLAGS_goMaxProcs, UINT32_MAX));
  c.pyroscope_url = FLAGS_pyroscopeUrl;
  c.pyroscope_app_name = FLAGS_pyroscopeAppName;
  c.pyroscope_sample_hz =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_pyroscopeSampleHz, UINT32_MAX));
  c.pyroscope_upload_sec =
      static_cast<uint32_t>(std::min<uint64_t>(FLAGS_pyroscopeUploadSec, UINT32_MAX));
  c.version = FLAGS_v;
  c.print_config = FLAGS_conf;
  c.healthcheck = FLAGS_healthcheck;
  c.replay = FLAGS_replay;
  c.decode = FLAGS_decode;
  // Range problems in uint flags wider than their config field are caught by Validate() through
  // these raw values.
  return c;
}

// Raw 64-bit values that narrowing above could hide; checked before narrowing matters.
absl::Status CheckRawRanges() {
  struct Raw {
    const char* name;
    uint64_t value;
    uint64_t max;
  };
  const Raw raws[] = {
      {"netlinkers", FLAGS_netlinkers, 100},
      {"nlmsgSeq", FLAGS_nlmsgSeq, 10000},
      {"packetSizeMply", FLAGS_packetSizeMply, 100},
      {"writeFiles", FLAGS_writeFiles, 1000},
      {"pollJitterPct", FLAGS_pollJitterPct, 100},
      {"ioUringRecvBatch", FLAGS_ioUringRecvBatch, 4096},
      {"ioUringCqeBatch", FLAGS_ioUringCqeBatch, 4096},
      {"envelopeFlushBytes", FLAGS_envelopeFlushBytes, UINT32_MAX},
      {"envelopeFlushRows", FLAGS_envelopeFlushRows, UINT32_MAX},
      {"destWriteFiles", FLAGS_destWriteFiles, 1000},
      {"uplinkCount", FLAGS_uplinkCount, 2},
      {"s3ParquetFlushBytes", FLAGS_s3ParquetFlushBytes, UINT32_MAX},
      {"s3FlushJitterPct", FLAGS_s3FlushJitterPct, 100},
      {"s3FlushThresholdJitterPct", FLAGS_s3FlushThresholdJitterPct, 100},
      {"s3UploadMaxAttempts", FLAGS_s3UploadMaxAttempts, 100},
      {"ipv4Ttl", FLAGS_ipv4Ttl, 255},
      {"ipv6HopLimit", FLAGS_ipv6HopLimit, 255},
      {"grpcPort", FLAGS_grpcPort, 65535},
      {"d", FLAGS_d, 1000},
      {"goMaxProcs", FLAGS_goMaxProcs, UINT32_MAX},
      {"pyroscopeSampleHz", FLAGS_pyroscopeSampleHz, UINT32_MAX},
      {"pyroscopeUploadSec", FLAGS_pyroscopeUploadSec, UINT32_MAX},
  };
  for (const Raw& r : raws) {
    if (r.value > r.max) {
      return absl::InvalidArgumentError(absl::StrCat("invalid value \"", r.value, "\" for flag -",
                                                     r.name, ": must be at most ", r.max));
    }
  }
  return absl::OkStatus();
}

std::string ReadTrimmedFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  *ok = static_cast<bool>(in);
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

CliResult Fail(std::string line) {
  CliResult r;
  r.action = CliResult::Action::kExit;
  r.exit_code = 2;
  r.error = std::move(line);
  return r;
}

CliResult Exit(int code, std::string output) {
  CliResult r;
  r.action = CliResult::Action::kExit;
  r.exit_code = code;
  r.output = std::move(output);
  return r;
}

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

CliResult ParseCommandLine(int argc, const char* const* argv, const Environment& env) {
  ResetFlags();
  std::set<std::string> explicit_flags;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      if (i + 1 < argc) return Fail(absl::StrCat("unexpected argument \"", argv[i + 1], "\""));
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      return Fail(absl::StrCat("unexpected argument \"", arg, "\" (flags start with -)"));
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      return Fail(absl::StrCat("bad flag syntax: ", arg));
    }
    std::string name = body, value;
    bool has_value = false;
    if (const size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "h" || name == "help") return Exit(0, Usage());
    const FlagSpec* f = FindFlag(name);
    if (f == nullptr) return Fail(absl::StrCat("flag provided but not defined: -", name));
    if (!has_value) {
      if (f->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Fail(absl::StrCat("flag needs an argument: -", name));
      }
    }
    if (std::string err = SetFlag(*f, value); !err.empty()) {
      return Fail(absl::StrCat("invalid value \"", value, "\" for flag -", name, ": ", err));
    }
    explicit_flags.insert(f->name);
  }

  // Environment for every flag not given explicitly.
  for (const FlagSpec& f : kFlags) {
    if (f.env == nullptr || explicit_flags.count(f.name)) continue;
    auto it = env.find(f.env);
    if (it == env.end()) continue;
    // An empty variable sets a string flag to empty (as upstream); for other kinds it is unset.
    if (it->second.empty() && f.kind != Kind::kString) continue;
    if (std::string err = SetFlag(f, it->second); !err.empty()) {
      return Fail(absl::StrCat("invalid value \"", it->second, "\" in environment variable ", f.env,
                               " (for -", f.name, "): ", err));
    }
  }
  // Secret files win over the plain variables (as upstream), but not over flags.
  for (const auto& [flag, file_env] : {std::pair{"s3AccessKey", "S3_ACCESS_KEY_FILE"},
                                       std::pair{"s3SecretKey", "S3_SECRET_KEY_FILE"}}) {
    auto it = env.find(file_env);
    if (it == env.end() || explicit_flags.count(flag)) continue;
    bool ok = false;
    const std::string secret = ReadTrimmedFile(it->second, &ok);
    if (!ok) return Fail(absl::StrCat("cannot read ", file_env, "=", it->second));
    gflags::SetCommandLineOption(flag, secret.c_str());
  }

  if (absl::Status s = CheckRawRanges(); !s.ok()) return Fail(std::string(s.message()));
  Config c = FromFlags();

  // Upstream soft-restart carry: a whole XtcpConfig as JSON replaces the flag/env values.
  if (auto it = env.find("XTCP_CONFIG_JSON"); it != env.end() && !it->second.empty()) {
    ::xtcp_config::v1::XtcpConfig p;
    google::protobuf::util::JsonParseOptions opts;
    const auto st = google::protobuf::util::JsonStringToMessage(it->second, &p, opts);
    if (!st.ok()) {
      return Fail(absl::StrCat("invalid XTCP_CONFIG_JSON: ", std::string(st.message())));
    }
    if (absl::Status s = FromProto(p, &c); !s.ok()) {
      return Fail(absl::StrCat("invalid XTCP_CONFIG_JSON: ", s.message()));
    }
  }

  c.daemon_version = VersionString();
  if (c.version) return Exit(0, VersionString() + "\n");
  if (c.print_config) {
    std::string json;
    google::protobuf::util::JsonPrintOptions opts;
    opts.add_whitespace = true;
    opts.always_print_primitive_fields = true;
    opts.preserve_proto_field_names = true;
    ::xtcp_config::v1::XtcpConfig p = ToProto(c);
    p.clear_s3_access_key();  // secrets are never printed
    p.clear_s3_secret_key();
    (void)google::protobuf::util::MessageToJsonString(p, &json, opts);
    return Exit(0, json);
  }
  if (c.healthcheck) {
    // -healthcheck only probes /readyz: it reads -promListen alone (an unparsable value means port
    // 9088, as upstream), so the rest of the configuration is not validated.
    CliResult r;
    r.config = std::move(c);
    return r;
  }
  if (absl::Status s = Validate(c); !s.ok()) return Fail(std::string(s.message()));
  auto set = decode::ParseDeserializers(c.deserializers_spec);
  c.deserializers = *set;  // validated above

  CliResult r;
  r.config = std::move(c);
  return r;
}

std::string Usage() {
  std::vector<const FlagSpec*> flags;
  for (const FlagSpec& f : kFlags) flags.push_back(&f);
  std::sort(flags.begin(), flags.end(), [](const FlagSpec* a, const FlagSpec* b) {
    return std::string_view(a->name) < b->name;
  });
  std::string out = "Usage of xtcp2:\n";
  for (const FlagSpec* f : flags) {
    gflags::CommandLineFlagInfo info;
    gflags::GetCommandLineFlagInfo(f->gflag, &info);
    absl::StrAppend(&out, "  -", f->name);
    switch (f->kind) {
      case Kind::kBool:
        break;
      case Kind::kUint:
        absl::StrAppend(&out, " uint");
        break;
      case Kind::kInt:
        absl::StrAppend(&out, " int");
        break;
      case Kind::kString:
        absl::StrAppend(&out, " string");
        break;
      case Kind::kDuration:
        absl::StrAppend(&out, " duration");
        break;
    }
    absl::StrAppend(&out, "\n    \t", info.description);
    const std::string& def = info.default_value;
    const bool zero = def.empty() || def == "0" || def == "false" || def == "0s";
    if (!zero) {
      if (f->kind == Kind::kString) {
        absl::StrAppend(&out, " (default \"", def, "\")");
      } else if (f->kind == Kind::kDuration) {
        absl::StrAppend(&out, " (default ", FormatGoDuration(DurationFlag(def)), ")");
      } else {
        absl::StrAppend(&out, " (default ", def, ")");
      }
    }
    if (f->env != nullptr) absl::StrAppend(&out, " [env ", f->env, "]");
    out += '\n';
  }
  return out;
}

}  // namespace xtcp::config
