#include "main/options.h"

#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "decode/deserializers.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp::main {
namespace {

// -deserializers as decode's set. The parser validated the spec against decode's keys
// (BuiltinVocabulary), so the fallback is never taken.
decode::DeserializerSet DeserializersOf(const config::Config& cfg) {
  return decode::ParseDeserializers(cfg.deserializers_spec)
      .value_or(decode::DeserializerSet::Default());
}

}  // namespace

config::Vocabulary BuiltinVocabulary() {
  config::Vocabulary v;
  const decode::DeserializerSet defaults = decode::DeserializerSet::Default();
  for (size_t i = 0; i < decode::kDeserializers.size(); ++i) {
    v.deserializers.emplace_back(decode::kDeserializers[i].key);
    if (defaults.Has(i)) v.default_deserializers.emplace_back(decode::kDeserializers[i].key);
  }
  v.marshallers = MarshallerNames();
  v.dest_schemes = SinkSchemes();
  v.dest_syntaxes = SinkSyntaxes();
  return v;
}

pipeline::EngineOptions EngineOptionsFrom(const config::Config& cfg) {
  pipeline::EngineOptions o;
  o.poller.poll_frequency = cfg.poll_frequency;
  o.poller.poll_jitter_pct = cfg.poll_jitter_pct;
  o.poller.poll_timeout = cfg.poll_timeout;
  o.poller.max_loops = cfg.max_loops;
  o.poller.reconcile_before_poll = cfg.reconcile_before_poll;
  o.poller.reconcile_frequency = cfg.reconcile_frequency;
  o.namespaces.max_threads = cfg.max_threads;
  o.namespaces.populate_nsid = cfg.populate_nsid;
  o.resolve_container_id = cfg.resolve_container_id;
  o.enrich_container = cfg.enrich_container;
  if (!cfg.docker_socket.empty()) o.docker.socket = cfg.docker_socket;
  o.nlmsg_seq = cfg.nlmsg_seq;

  pipeline::CollectorOptions& c = o.collector;
  // -netlinkers sizes the reader pool shared by every namespace: epoll readers, or with -ioUring
  // that many rings (each namespace's socket on one of them).
  c.readers = cfg.netlinkers;
  c.buffer_size = cfg.RecvBufferSize();
  c.recv_timeout = absl::Milliseconds(static_cast<int64_t>(cfg.nl_timeout_ms));
  c.modulus = cfg.modulus == 0 ? 1 : cfg.modulus;
  c.families.clear();
  for (int f : cfg.families) c.families.push_back(f == 6 ? AF_INET6 : AF_INET);
  c.compat_dump = cfg.compat_dump;
  const decode::DeserializerSet deserializers = DeserializersOf(cfg);
  c.idiag_ext = deserializers.IdiagExt();
  c.decode.deserializers = deserializers;
  c.io_uring = cfg.io_uring;
  c.uring_recv_batch = cfg.io_uring_recv_batch;
  c.uring_cqe_batch = cfg.io_uring_cqe_batch;
  c.write_files = cfg.write_files;
  c.capture_path = cfg.capture_path;
  return o;
}

observe::HttpServerOptions HttpServerOptionsFrom(const config::Config& cfg,
                                                 const std::string& cmdline) {
  observe::HttpServerOptions o;
  o.listen = cfg.prom_listen;
  o.ipv4_ttl = cfg.ipv4_ttl;
  o.ipv6_hop_limit = cfg.ipv6_hop_limit;
  o.prom_path = cfg.prom_path;
  o.daemon_version = cfg.daemon_version;
  o.cmdline = cmdline;
  o.pprof_listen = cfg.pprof_listen;
  return o;
}

pipeline::StampOptions StampOptionsFrom(const config::Config& cfg) {
  pipeline::StampOptions o;
  o.daemon_version = cfg.daemon_version;
  o.hostname = cfg.hostname;
  o.location = cfg.location;
  o.label = cfg.label;
  o.tag = cfg.tag;
  o.enrich_nic = cfg.enrich_nic;
  o.enrich_lldp = cfg.enrich_lldp;
  o.lldpd_socket = cfg.lldpd_socket;
  o.uplinks.count = static_cast<int>(cfg.uplink_count);
  o.uplinks.interfaces = cfg.uplink_interfaces;
  o.refresh = cfg.enrich_refresh;
  return o;
}

pipeline::ReplayOptions ReplayOptionsFrom(const config::Config& cfg) {
  pipeline::ReplayOptions o;
  o.deserializers = DeserializersOf(cfg);
  o.modulus = cfg.modulus;
  return o;
}

observe::StartupSummaryOptions SummaryOptionsFrom(const config::Config& cfg) {
  observe::StartupSummaryOptions o;
  o.version = cfg.daemon_version;
  o.dest = config::MaskUrlUserinfo(cfg.dest);
  o.marshal = cfg.marshal;
  o.families = cfg.families;
  o.frequency = config::FormatGoDuration(cfg.poll_frequency);
  o.timeout = config::FormatGoDuration(cfg.poll_timeout);
  o.deserializers = cfg.deserializers_spec;
  o.prom_listen = cfg.prom_listen;
  return o;
}

rpc::GrpcServerOptions GrpcServerOptionsFrom(const config::Config& cfg) {
  rpc::GrpcServerOptions o;
  const std::string& a = cfg.grpc_listen;
  const bool bracketed = a.starts_with("[");
  const size_t close = bracketed ? a.find(']') : 0;
  const bool has_port = a.starts_with("unix:") ||
                        (bracketed ? a.find(':', close) == close + 1 : a.find(':') != a.npos);
  o.address = has_port ? a : absl::StrCat(a, ":", cfg.grpc_port);
  o.tls_cert_file = cfg.grpc_tls_cert;
  o.tls_key_file = cfg.grpc_tls_key;
  o.client_ca_file = cfg.grpc_client_ca;
  return o;
}

sink::SchemaRegistryOptions SchemaRegistryOptionsFrom(const config::Config& cfg, Metrics* metrics) {
  sink::SchemaRegistryOptions o;
  o.url = cfg.kafka_schema_url;
  o.subject = cfg.topic + "-value";  // Confluent's TopicNameStrategy, as upstream
  o.schema_path = cfg.xtcp_proto_file;
  o.metrics = metrics;
  return o;
}

}  // namespace xtcp::main
