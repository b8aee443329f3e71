#pragma once
// HttpServer: the daemon's one HTTP side channel on -promListen (default ":9088").
//
//   GET <-promPath>              Prometheus text exposition (format 0.0.4) of the Metrics registry
//                                plus process_* families (ProcessCollector)
//   GET /healthz                 200 "ok\n" while serving
//   GET /readyz                  200 "ready\n" while Readiness is set, else 503 "not ready\n"
//   GET /debug/pprof/            index page
//   GET /debug/pprof/profile?seconds=N   gperftools CPU profile of N s (1..300, default 30); one
//                                at a time (409 while another runs); 501 without gperftools
//   GET /debug/pprof/heap        tcmalloc heap sample (503 when sampling is off)
//   GET /debug/pprof/cmdline     the command line, NUL-separated
// Other methods than GET/HEAD get 405, unknown paths 404. Every reply closes the connection.
//
// Engine: civetweb (Debian's libcivetweb, built without IPv6). xtcp2 opens the listening sockets
// itself (IPv4 and IPv6, IP_TTL/IPV6_UNICAST_HOPS, see listen_socket.h), starts civetweb on
// placeholder loopback listeners and then dup3()s its own sockets over civetweb's listener fds, so
// civetweb accepts from ours. Bounds against hostile clients: kWorkerThreads request threads, a
// queue of kConnectionQueue accepted connections, kRequestTimeout for reading a request (so a
// slowloris client holds a worker at most that long), requests larger than kMaxRequestBytes
// rejected, no keep-alive. A CPU profile holds one worker for its duration.
//
// Lifetimes: `metrics` and `readiness` must outlive the server. Start() launches the threads;
// Stop() (idempotent, also run by the destructor) ends an in-flight profile early, stops accepting
// and joins every thread.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "config/config.h"
#include "observe/process_metrics.h"
#include "observe/readiness.h"

struct mg_context;
struct mg_connection;

namespace xtcp::observe {

class HttpServer {
 public:
  static constexpr int kWorkerThreads = 6;
  static constexpr int kConnectionQueue = 32;
  static constexpr absl::Duration kRequestTimeout = absl::Seconds(5);
  static constexpr int kMaxRequestBytes = 16 * 1024;
  static constexpr int kDefaultProfileSeconds = 30;
  static constexpr int kMaxProfileSeconds = 300;

  // Listens on cfg.prom_listen (with cfg.ipv4_ttl / cfg.ipv6_hop_limit) and serves cfg.prom_path.
  // Errors (one line, e.g. "listen [::]:9088: Address already in use") are startup errors.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const config::Config& cfg,
                                                           Metrics* metrics, Readiness* readiness);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Stop();

  // The bound port (the kernel's choice when -promListen asked for port 0).
  uint16_t port() const { return port_; }
  // What is listening, e.g. {"[::]:9088"}.
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  struct Counters;
  HttpServer(const config::Config& cfg, Metrics* metrics, Readiness* readiness);

  static int Dispatch(mg_connection* conn, void* self);
  int Handle(mg_connection* conn);
  int ServeMetrics(mg_connection* conn, bool head);
  int ServeProfile(mg_connection* conn, bool head);
  int ServeHeap(mg_connection* conn, bool head);
  int ServeIndex(mg_connection* conn, bool head);

  const std::string prom_path_;
  Metrics* const metrics_;
  Readiness* const readiness_;
  const ProcessCollector process_;
  std::unique_ptr<Counters> counters_;
  uint16_t port_ = 0;
  std::vector<std::string> addresses_;
  std::vector<sockaddr_storage> poke_addresses_;  // to wake civetweb's accept loop at Stop()
  absl::Notification stopping_;                   // wakes an in-flight CPU profile at Stop()

  absl::Mutex mu_;
  mg_context* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace xtcp::observe
