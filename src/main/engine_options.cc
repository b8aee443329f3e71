#include "main/engine_options.h"

#include <netinet/in.h>

#include <utility>

namespace xtcp::main {

pipeline::EngineOptions EngineOptionsFromConfig(const config::Config& cfg) {
  pipeline::EngineOptions o;
  o.poller.poll_frequency = cfg.poll_frequency;
  o.poller.poll_jitter_pct = cfg.poll_jitter_pct;
  o.poller.poll_timeout = cfg.poll_timeout;
  o.poller.max_loops = cfg.max_loops;
  o.poller.reconcile_before_poll = cfg.reconcile_before_poll;
  o.poller.reconcile_frequency = cfg.reconcile_frequency;
  o.namespaces.max_threads = cfg.max_threads;
  o.nlmsg_seq = cfg.nlmsg_seq;

  pipeline::CollectorOptions& c = o.collector;
  // With -ioUring one ring per namespace reads: its multishot receive drains a whole dump in one
  // wait, and further rings armed on the same socket would only be woken for nothing (every ring
  // polls the socket), costing CPU and buffer memory. -netlinkers sets the syscall readers.
  c.readers = cfg.io_uring ? 1 : cfg.netlinkers;
  c.buffer_size = cfg.RecvBufferSize();
  c.recv_timeout = absl::Milliseconds(static_cast<int64_t>(cfg.nl_timeout_ms));
  c.modulus = cfg.modulus == 0 ? 1 : cfg.modulus;
  c.families.clear();
  for (int f : cfg.families) c.families.push_back(f == 6 ? AF_INET6 : AF_INET);
  c.idiag_ext = cfg.deserializers.IdiagExt();
  c.decode.deserializers = cfg.deserializers;
  c.io_uring = cfg.io_uring;
  c.uring_recv_batch = cfg.io_uring_recv_batch;
  c.uring_cqe_batch = cfg.io_uring_cqe_batch;
  c.write_files = cfg.write_files;
  c.capture_path = cfg.capture_path;
  return o;
}

pipeline::ReplayOptions ReplayOptionsFromConfig(const config::Config& cfg) {
  return {.deserializers = cfg.deserializers, .modulus = cfg.modulus};
}

absl::StatusOr<pipeline::Stamps> StampsFromConfig(const config::Config& cfg) {
  pipeline::Stamps s;
  s.daemon_version = cfg.daemon_version;
  s.hostname = cfg.hostname;
  s.location = cfg.location;
  s.label = cfg.label;
  s.tag = cfg.tag;
  return pipeline::Stamps::WithHostname(std::move(s));
}

}  // namespace xtcp::main
