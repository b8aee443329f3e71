#pragma once
// The daemon's configuration: every flag of the upstream xtcp2 plus our additions, typed.
//
// Precedence (upstream has env beat flags; we deliberately do not):
//   built-in default  <  environment variable  <  explicit command-line flag
// and the fields present in XTCP_CONFIG_JSON (the upstream soft-restart carry) win over all three.
//
// Layering: config sits above common/proto only and is used by main alone. What it must know of
// lower layers (deserializer keys, -marshal names, -dest schemes) main passes in as a Vocabulary.
// Every flag is one row of src/config/flag_table.cc; the defaults are the initialisers below.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/mask.h"
#include "xtcp_config/v1/xtcp_config.pb.h"

namespace xtcp::config {

inline constexpr uint32_t kDefaultEnvelopeFlushRows = 10000;
inline constexpr uint32_t kDefaultEnvelopeFlushBytes = 768 * 1024;

struct Config {
  // ---- collection ----
  uint64_t nl_timeout_ms = 1000;  // SO_RCVTIMEO of netlink sockets; 0 = no timeout
  absl::Duration poll_frequency = absl::Seconds(10);
  absl::Duration poll_timeout = absl::Seconds(5);
  uint64_t max_loops = 0;  // completed polls before a clean exit; 0 = forever
  uint32_t netlinkers = 4;
  uint32_t netlinkers_done_chan_size = 100;  // accepted for compatibility (no channel here)
  uint32_t nlmsg_seq = 666;
  uint64_t packet_size = 0;  // 0 = page size
  uint32_t packet_size_mply = 8;
  uint32_t write_files = 0;
  std::string capture_path = "./";
  uint64_t modulus = 1;
  std::vector<int> families = {4, 6};  // -families (ours): which address families to dump
  bool compat_dump = true;  // -compatDump (ours): both families in one TCPDIAG_GETSOCK walk
  uint32_t poll_jitter_pct = 20;
  absl::Duration reconcile_frequency = absl::Hours(6);
  bool reconcile_before_poll = true;
  std::string deserializers_spec = "default";
  // The enabled deserializer keys, resolved from deserializers_spec with the Vocabulary (in its
  // order); empty when parsed without one. Main turns this into decode::DeserializerSet.
  std::vector<std::string> deserializers;
  bool io_uring = false;
  uint32_t io_uring_recv_batch = 64;
  uint32_t io_uring_cqe_batch = 128;
  int64_t max_threads = 2000;  // 0 = no limit

  // ---- output ----
  std::string marshal = "protobufList";
  std::string csv_columns;
  uint32_t envelope_flush_bytes = 0;  // 0 = kDefaultEnvelopeFlushBytes
  uint32_t envelope_flush_rows = 0;   // 0 = kDefaultEnvelopeFlushRows
  std::string dest = "kafka:redpanda-0:9092";
  uint32_t dest_write_files = 10;  // accepted; no effect (as upstream)
  std::string topic = "xtcp";
  std::string kafka_compression;
  // Where the .deb installs the record schema (packaging/packaging.cmake); upstream: "/…".
  std::string xtcp_proto_file = "/usr/share/xtcp2/xtcp_flat_record.proto";
  std::string kafka_schema_url = "http://localhost:18081";
  absl::Duration produce_timeout = absl::ZeroDuration();
  absl::Duration shutdown_timeout = absl::Seconds(10);  // ours: sink drain budget at exit

  // ---- record stamps ----
  std::string label, tag, location, hostname;  // hostname "" = gethostname()
  std::string daemon_version;                  // filled from the build

  // ---- enrichment (accepted; later wave) ----
  bool resolve_container_id = false;
  bool enrich_container = false;
  std::string docker_socket = "/run/docker.sock";
  bool enrich_lldp = false;
  std::string lldpd_socket = "/run/lldpd.socket";
  std::string lldpd_version_hint;
  bool enrich_nic = false;
  uint32_t uplink_count = 2;
  std::vector<std::string> uplink_interfaces;
  absl::Duration enrich_refresh = absl::Minutes(5);  // ours: -enrichNic/-enrichLldp re-read
  bool populate_nsid = false;

  // ---- s3parquet (accepted; sink not built) ----
  std::string s3_endpoint, s3_bucket, s3_prefix, s3_access_key, s3_secret_key, s3_region;
  bool s3_skip_bucket_probe = false;
  uint32_t s3_parquet_flush_bytes = 0;
  absl::Duration s3_flush_interval = absl::ZeroDuration();
  uint32_t s3_flush_jitter_pct = 20;
  uint32_t s3_flush_threshold_jitter_pct = 20;
  uint32_t s3_upload_max_attempts = 10;
  absl::Duration s3_upload_backoff_cap = absl::ZeroDuration();

  // ---- operations ----
  std::string prom_listen = ":9088";
  // Not a flag: true when -promListen came from the command line, PROM_LISTEN or
  // XTCP_CONFIG_JSON rather than the default. A -maxLoops run on the default address carries on
  // without HTTP when it cannot bind (a service already holds :9088); an asked-for one must bind.
  bool prom_listen_explicit = false;
  std::string prom_path = "/metrics";
  uint32_t ipv4_ttl = 0;
  uint32_t ipv6_hop_limit = 0;
  uint32_t grpc_port = 8889;
  std::string grpc_listen = "localhost";  // ours: loopback unless told otherwise; "off"
  std::string grpc_tls_cert, grpc_tls_key, grpc_client_ca;
  uint64_t grpc_client_buffer = 16 << 20;
  // Not a flag: true when -grpcListen or -grpcPort was given (command line, environment or
  // XTCP_CONFIG_JSON). Only then is a listener that cannot bind a start-up error.
  bool grpc_explicit = false;
  uint32_t debug_level = 111;
  std::string profile_mode;   // "", "cpu", "mem"
  uint32_t go_max_procs = 4;  // Go runtime knob: no effect
  std::string pyroscope_url, pyroscope_app_name = "xtcp2";
  uint32_t pyroscope_sample_hz = 100, pyroscope_upload_sec = 15;
  std::string log_format = "text";  // "text" | "json"
  std::string pprof_listen;         // "" = on -promListen, "off" = not served, or host:port
  bool seccomp = true;              // install the seccomp allow-list after start-up

  // ---- one-shot modes ----
  bool version = false;
  bool print_config = false;
  bool healthcheck = false;
  std::string replay;  // -replay PATH
  std::string decode;  // -decode FILE|-

  uint32_t EffectiveFlushRows() const {
    return envelope_flush_rows ? envelope_flush_rows : kDefaultEnvelopeFlushRows;
  }
  uint32_t EffectiveFlushBytes() const {
    return envelope_flush_bytes ? envelope_flush_bytes : kDefaultEnvelopeFlushBytes;
  }
  // Receive buffer size: packet_size (0 = page size) x packet_size_mply (0 = 8).
  size_t RecvBufferSize() const;
};

// What the layers below config offer, passed in by main from their registries (config may not
// include them). An empty list means "not checked here": the factory checks the value later.
struct Vocabulary {
  std::vector<std::string> deserializers;          // every -deserializers key, in table order
  std::vector<std::string> default_deserializers;  // what -deserializers default means
  std::vector<std::string> marshallers;            // every -marshal name
  std::vector<std::string> dest_schemes;           // every -dest scheme built in
  std::vector<std::string> dest_syntaxes;          // the same as -help shows them
};

// What main() should do after parsing.
struct CliResult {
  enum class Action { kRun, kExit };
  Action action = Action::kRun;
  int exit_code = 0;
  std::string output;  // text for stdout (help, version, config) when exiting
  std::string error;   // one line for stderr when exit_code != 0
  // One line per flag that was set (command line, environment or XTCP_CONFIG_JSON) but is only
  // accepted for compatibility; main logs each at WARN once at start-up.
  std::vector<std::string> warnings;
  Config config;
};

// Environment lookup, injectable for tests.
using Environment = std::map<std::string, std::string>;
Environment ProcessEnvironment();

// Parses argv with Go `flag` syntax (-name, --name, -name=value, -name value; bools take
// -name or -name=false; parsing stops at "--" or the first non-flag), overlays environment
// variables for flags not given, applies XTCP_CONFIG_JSON, and validates against `vocab`.
// Bad input yields exit_code 2 with one line naming the flag or variable. -h/-help yield the
// usage (for stdout, exit 0), -v/-version the version, -conf the configuration as JSON.
CliResult ParseCommandLine(int argc, const char* const* argv, const Environment& env,
                           const Vocabulary& vocab = {});

// Checks every flag's range and rule; the error names the flag.
absl::Status Validate(const Config& c, const Vocabulary& vocab = {});

// The upstream XtcpConfig message for a Config, and back (XTCP_CONFIG_JSON, -conf). Secrets are
// copied as they are; -conf masks them.
::xtcp_config::v1::XtcpConfig ToProto(const Config& c, const Vocabulary& vocab = {});
absl::Status FromProto(const ::xtcp_config::v1::XtcpConfig& p, Config* c,
                       const Vocabulary& vocab = {});

// The configuration as the gRPC ConfigService shows it (Get): the S3 keys blank, the userinfo of
// URL flags masked (as -conf masks them).
::xtcp_config::v1::XtcpConfig PublicProto(const Config& c, const Vocabulary& vocab = {});
// A ConfigService.Set request over `running`: every XtcpConfig field taken from `p`, except
// that a secret left blank, or as PublicProto() showed it, keeps its running value (so a Get ->
// edit -> Set round trip keeps the secrets); daemon_version stays. Then validated as the flags
// are (InvalidArgument naming the flag). Fields that are not in XtcpConfig keep their values.
absl::Status ApplyProto(const ::xtcp_config::v1::XtcpConfig& p, const Config& running, Config* out,
                        const Vocabulary& vocab = {});

// argv as safe to show (/debug/pprof/cmdline, logs): the value of every secret flag is masked —
// -s3AccessKey/-s3SecretKey entirely ("***"), URL flags (-dest, -kafkaSchemaUrl, -pyroscopeUrl)
// in their userinfo ("http://admin:***@host/"). Arguments are joined by NUL bytes, as Go's
// /debug/pprof/cmdline serves them.
std::string MaskedCommandLine(int argc, const char* const* argv);
// The same masking as a list (one entry per argument).
std::vector<std::string> MaskedArguments(int argc, const char* const* argv);
// `env` with the value of every secret-bearing variable masked (S3_ACCESS_KEY, DEST userinfo...;
// *_FILE variables keep their path, whose contents are the secret and never appear).
Environment MaskedEnvironment(const Environment& env);
// A URL's userinfo masked: common/mask.h (the sinks' messages use it too).
using ::xtcp::MaskUrlUserinfo;

// Version line: "xtcp commit:<commit>\tdate(UTC):<date>\tversion:<version>".
std::string VersionString();

// Usage text: every flag grouped by topic, inert flags marked (Go's flag.PrintDefaults layout).
// With `vocab.dest_syntaxes`, -dest lists the sinks of this build from their registry.
std::string Usage(const Vocabulary& vocab = {});
// -dest's help as Usage() prints it for `syntaxes`.
std::string DestHelp(const std::vector<std::string>& syntaxes);

// Go time.Duration syntax: "300ms", "1.5h", "2h45m", "0". Returns false on anything else.
bool ParseGoDuration(std::string_view text, absl::Duration* out);
// Go's Duration.String(): "10s", "6h0m0s", "1.5s", "0s".
std::string FormatGoDuration(absl::Duration d);

}  // namespace xtcp::config
