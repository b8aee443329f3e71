#pragma once
// HttpServer: the daemon's HTTP side channel (default ":9088").
//
//   GET <prom_path>              the Metrics registry plus process_* families (ProcessCollector):
//                                OpenMetrics 1.0 when the Accept header asks for it, otherwise
//                                Prometheus text format 0.0.4 (exposition.h)
//   GET /healthz                 200 "ok\n" while serving
//   GET /readyz                  200 "ready\n" while Readiness is set, else 503 "not ready\n"
//   GET /debug/pprof/            index page
//   GET /debug/pprof/profile?seconds=N   gperftools CPU profile of N s (1..300, default 30); one
//                                at a time (409 while another runs); 501 without gperftools
//   GET /debug/pprof/heap        tcmalloc heap sample (503 when sampling is off)
//   GET /debug/pprof/cmdline     HttpServerOptions::cmdline, NUL-separated
// Other methods than GET/HEAD get 405, unknown paths 404. Every reply closes the connection.
// Where the /debug/pprof/ endpoints are served is HttpServerOptions::pprof_listen.
//
// Engine: one event loop (epoll, non-blocking sockets, level-triggered) on the listening sockets
// that OpenListenSockets() opens; see docs/observability.md for why not a library. A connection
// costs a buffer, never a thread: idle and slowloris clients cannot starve /healthz. Bounds per
// client: request head <= max_header_bytes, body <= max_body_bytes, the whole request within
// request_timeout (total, not per read), the reply written within write_timeout; at most
// max_connections at once, further clients are refused (closed at once, counted in
// xtcp_counts{function="HttpServer",variable="refused",type="error"}).
// A CPU profile runs on a thread of its own (at most one exists), so it blocks no other request.
// Threads: the loop, plus that one while a CPU profile is recorded.
//
// Lifetimes: `metrics` and `readiness` must outlive the server. Start() launches the loop;
// Stop() (idempotent, also run by the destructor; any thread but the loop) ends an in-flight
// profile early, closes every connection and the listeners, and joins the threads.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/unique_fd.h"
#include "observe/process_metrics.h"
#include "observe/readiness.h"

namespace xtcp::observe {

// Everything the server needs, filled by the caller (src/main builds it from the Config). The
// defaults are upstream's.
struct HttpServerOptions {
  // Listen address, see listen_socket.h for the forms. Errors name the flag -promListen.
  std::string listen = ":9088";
  uint32_t ipv4_ttl = 0;        // IP_TTL on the listening socket(s); 0 = kernel default
  uint32_t ipv6_hop_limit = 0;  // IPV6_UNICAST_HOPS; 0 = kernel default
  std::string prom_path = "/metrics";
  // The text of /debug/pprof/cmdline: argv joined by NUL (ProcessCmdline() is the real one; main
  // passes one with secrets masked). Served as given.
  std::string cmdline;
  // Build description for the xtcp2_build_info family (Config::daemon_version).
  std::string daemon_version;
  // Where /debug/pprof/* is served: "" = on `listen` (upstream's behaviour); "off" = nowhere (404,
  // not listed); an address (e.g. "127.0.0.1:9089") = a listener of its own that serves only
  // /debug/pprof/* (the main one then answers 404 for them). Errors name the flag -pprofListen.
  std::string pprof_listen;

  int max_connections = 1024;           // open client connections at once, over all listeners
  size_t max_header_bytes = 16 * 1024;  // request line + headers
  size_t max_body_bytes = 64 * 1024;    // Content-Length accepted (the body is read, then ignored)
  absl::Duration request_timeout = absl::Seconds(5);  // accept -> whole request received
  absl::Duration write_timeout = absl::Seconds(30);   // request received -> reply written
  int default_profile_seconds = 30;
  int max_profile_seconds = 300;
};

// This process's command line as /proc/self/cmdline has it (NUL-separated, no trailing NUL).
std::string ProcessCmdline();

class HttpServer {
 public:
  // Errors (one line, e.g. "listen [::]:9088: Address already in use") are startup errors.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& opts,
                                                           Metrics* metrics, Readiness* readiness);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Stop();

  // The bound port of `listen` (the kernel's choice when port 0 was asked).
  uint16_t port() const { return port_; }
  // The bound port of `pprof_listen` when it is an address, else 0.
  uint16_t pprof_port() const { return pprof_port_; }
  // What is listening, e.g. {"[::]:9088"} (the pprof listener last, when there is one).
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  class Loop;
  HttpServer() = default;

  std::unique_ptr<Loop> loop_;
  uint16_t port_ = 0;
  uint16_t pprof_port_ = 0;
  std::vector<std::string> addresses_;
  absl::Mutex mu_;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xtcp::observe
