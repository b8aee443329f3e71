#include "observe/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "observe/listen_socket.h"
#include "observe/pprof_proto.h"
#include "observe/profiling.h"
#include "prometheus/text_serializer.h"

namespace xtcp::observe {

// Requests per endpoint: xtcp_counts{function="HttpServer",variable=<endpoint>,type="count"}, and
// refusals with type="error".
struct HttpServer::Counters {
  explicit Counters(Metrics* m)
      : metrics(m->Count("HttpServer", "metrics", "count")),
        healthz(m->Count("HttpServer", "healthz", "count")),
        readyz(m->Count("HttpServer", "readyz", "count")),
        pprof_index(m->Count("HttpServer", "pprofIndex", "count")),
        pprof_profile(m->Count("HttpServer", "pprofProfile", "count")),
        pprof_profile_error(m->Count("HttpServer", "pprofProfile", "error")),
        pprof_heap(m->Count("HttpServer", "pprofHeap", "count")),
        pprof_heap_error(m->Count("HttpServer", "pprofHeap", "error")),
        pprof_cmdline(m->Count("HttpServer", "pprofCmdline", "count")),
        not_found(m->Count("HttpServer", "notFound", "error")),
        bad_method(m->Count("HttpServer", "methodNotAllowed", "error")) {}
  prometheus::Counter& metrics;
  prometheus::Counter& healthz;
  prometheus::Counter& readyz;
  prometheus::Counter& pprof_index;
  prometheus::Counter& pprof_profile;
  prometheus::Counter& pprof_profile_error;
  prometheus::Counter& pprof_heap;
  prometheus::Counter& pprof_heap_error;
  prometheus::Counter& pprof_cmdline;
  prometheus::Counter& not_found;
  prometheus::Counter& bad_method;
};

namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kOctets[] = "application/octet-stream";

// civetweb's own messages (bad requests, timeouts) go to the debug log, never to stdout.
int LogCivetweb(const mg_connection*, const char* message) {
  XTCP_LOG(kDebug, "http: %s", message);
  return 1;
}

int Reply(mg_connection* conn, int status, absl::string_view content_type, absl::string_view body,
          bool head, absl::string_view extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%.*s"
            "Connection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), static_cast<int>(content_type.size()),
            content_type.data(), body.size(), static_cast<int>(extra_headers.size()),
            extra_headers.data());
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
  return status;
}

int StatusToHttp(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    default:
      return 500;
  }
}

// Finds civetweb's listening sockets on 127.0.0.1:<port> among our descriptors.
std::map<uint16_t, int> FindLoopbackListeners(const std::vector<uint16_t>& ports) {
  std::map<uint16_t, int> found;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return found;
  while (dirent* e = readdir(d)) {
    int fd = -1;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd == dirfd(d)) continue;
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_in sa = {};
    len = sizeof(sa);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || sa.sin_family != AF_INET ||
        sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
      continue;
    }
    for (uint16_t p : ports) {
      if (ntohs(sa.sin_port) == p) found[p] = fd;
    }
  }
  closedir(d);
  return found;
}

std::once_flag g_civetweb_init;

// ?format=legacy (or gperftools) asks for gperftools' own format (google-pprof); the default is
// symbolized profile.proto (go tool pprof, pprof). Returns false for an unknown value.
bool WantsLegacy(const mg_request_info* ri, bool* legacy) {
  *legacy = false;
  if (ri->query_string == nullptr) return true;
  char buf[32];
  const int got =
      mg_get_var(ri->query_string, std::strlen(ri->query_string), "format", buf, sizeof(buf));
  if (got < 0) return got == -1;
  const absl::string_view f(buf, static_cast<size_t>(got));
  if (f == "legacy" || f == "gperftools") {
    *legacy = true;
    return true;
  }
  return f == "proto" || f == "pprof";
}

}  // namespace

HttpServer::HttpServer(const config::Config& cfg, Metrics* metrics, Readiness* readiness)
    : prom_path_(cfg.prom_path),
      metrics_(metrics),
      readiness_(readiness),
      process_(cfg.daemon_version),
      counters_(std::make_unique<Counters>(metrics)) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const config::Config& cfg,
                                                              Metrics* metrics,
                                                              Readiness* readiness) {
  if (metrics == nullptr || readiness == nullptr) {
    return absl::InvalidArgumentError("HttpServer::Start: metrics and readiness are required");
  }
  if (cfg.prom_path.empty() || cfg.prom_path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", cfg.prom_path,
                                                   "\" for flag -promPath: must start with /"));
  }
  auto addr = ParseListenAddress(cfg.prom_listen);
  if (!addr.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flag -promListen: ", addr.status().message()));
  }
  SocketOptions sock_opts;
  sock_opts.ipv4_ttl = cfg.ipv4_ttl;
  sock_opts.ipv6_hop_limit = cfg.ipv6_hop_limit;
  auto sockets = OpenListenSockets(*addr, sock_opts);
  if (!sockets.ok()) return sockets.status();

  std::unique_ptr<HttpServer> server(new HttpServer(cfg, metrics, readiness));
  for (const ListenSocket& s : *sockets) {
    server->addresses_.push_back(s.display);
    server->poke_addresses_.push_back(ConnectableAddress(s.local));
  }
  server->port_ = sockets->front().port;

  std::call_once(g_civetweb_init, [] { mg_init_library(0); });
  std::vector<std::string> placeholders(sockets->size(), "127.0.0.1:0");
  const std::string ports = absl::StrJoin(placeholders, ",");
  const std::string threads = absl::StrCat(kWorkerThreads);
  const std::string queue = absl::StrCat(kConnectionQueue);
  const std::string timeout_ms = absl::StrCat(absl::ToInt64Milliseconds(kRequestTimeout));
  const std::string max_request = absl::StrCat(kMaxRequestBytes);
  const char* options[] = {"listening_ports",
                           ports.c_str(),
                           "num_threads",
                           threads.c_str(),
                           "connection_queue",
                           queue.c_str(),
                           "request_timeout_ms",
                           timeout_ms.c_str(),
                           "max_request_size",
                           max_request.c_str(),
                           "enable_keep_alive",
                           "no",
                           "enable_directory_listing",
                           "no",
                           nullptr};
  mg_callbacks callbacks = {};
  callbacks.log_message = &LogCivetweb;
  mg_context* ctx = mg_start(&callbacks, server.get(), options);
  if (ctx == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("HTTP server on ", cfg.prom_listen, ": civetweb did not start"));
  }
  {
    absl::MutexLock lock(&server->mu_);
    server->ctx_ = ctx;
  }
  mg_set_request_handler(ctx, "/", &HttpServer::Dispatch, server.get());

  // Hand our sockets to civetweb: replace each placeholder listener's descriptor with ours.
  std::vector<mg_server_port> bound(sockets->size() + 1);
  const int n = mg_get_server_ports(ctx, static_cast<int>(bound.size()), bound.data());
  std::vector<uint16_t> want;
  for (int i = 0; i < n; ++i) want.push_back(static_cast<uint16_t>(bound[i].port));
  const std::map<uint16_t, int> civet_fds = FindLoopbackListeners(want);
  if (n != static_cast<int>(sockets->size()) || civet_fds.size() != sockets->size()) {
    server->Stop();
    return absl::InternalError(
        absl::StrCat("HTTP server on ", cfg.prom_listen, ": cannot find civetweb's listeners"));
  }
  size_t i = 0;
  for (const auto& [placeholder_port, civet_fd] : civet_fds) {
    if (dup3((*sockets)[i].fd.get(), civet_fd, O_CLOEXEC) < 0) {
      const int err = errno;
      server->Stop();
      return absl::InternalError(
          absl::StrCat("HTTP server on ", cfg.prom_listen, ": dup3: ", std::strerror(err)));
    }
    ++i;  // our descriptor closes with `sockets`; civetweb's now refers to the same socket
    // civetweb's accept loop may be sleeping in poll(2) on the placeholder (poll holds a reference
    // to it) for up to its 2 s quantum. A wake-up makes poll re-check the descriptor, which now
    // is our socket, but without registering for its events; so first queue a connection on our
    // socket, then connect to the placeholder to wake the loop, which then finds ours pending.
    PokeListener(server->poke_addresses_[i - 1]);
    sockaddr_storage placeholder = {};
    auto* p4 = reinterpret_cast<sockaddr_in*>(&placeholder);
    p4->sin_family = AF_INET;
    p4->sin_port = htons(placeholder_port);
    p4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PokeListener(placeholder);
  }
  XTCP_LOG(kInfo, "http: listening on %s (%s, /healthz, /readyz, /debug/pprof/)",
           absl::StrJoin(server->addresses_, ","), cfg.prom_path);
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  absl::MutexLock lock(&mu_);
  if (ctx_ == nullptr) return;
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  // mg_stop() returns once civetweb's accept loop sees its stop flag, which it checks between
  // poll(2) quanta (up to 2 s); connecting to our own listeners meanwhile makes that immediate.
  std::atomic<bool> stopped{false};
  std::thread poker([&] {
    for (int i = 0; i < 500 && !stopped.load(); ++i) {
      for (const sockaddr_storage& a : poke_addresses_) PokeListener(a);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  mg_stop(ctx_);  // joins the workers; an in-flight profile returns early on `stopping_`
  stopped = true;
  poker.join();
  ctx_ = nullptr;
}

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  return static_cast<HttpServer*>(self)->Handle(conn);
}

int HttpServer::Handle(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const absl::string_view method = ri->request_method != nullptr ? ri->request_method : "";
  const absl::string_view path = ri->local_uri != nullptr ? ri->local_uri : "";
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    counters_->bad_method.Increment();
    return Reply(conn, 405, kTextPlain, "method not allowed\n", false, "Allow: GET, HEAD\r\n");
  }
  if (path == prom_path_) return ServeMetrics(conn, head);
  if (path == "/healthz") {
    counters_->healthz.Increment();
    return Reply(conn, 200, kTextPlain, "ok\n", head);
  }
  if (path == "/readyz") {
    counters_->readyz.Increment();
    if (readiness_->IsReady()) return Reply(conn, 200, kTextPlain, "ready\n", head);
    return Reply(conn, 503, kTextPlain, "not ready\n", head);
  }
  if (path == "/debug/pprof" || path == "/debug/pprof/") return ServeIndex(conn, head);
  if (path == "/debug/pprof/profile") return ServeProfile(conn, head);
  if (path == "/debug/pprof/heap") return ServeHeap(conn, head);
  if (path == "/debug/pprof/cmdline") {
    counters_->pprof_cmdline.Increment();
    std::string cmdline;
    if (FILE* f = std::fopen("/proc/self/cmdline", "re")) {
      char buf[4096];
      size_t got = 0;
      while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) cmdline.append(buf, got);
      std::fclose(f);
    }
    if (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
    return Reply(conn, 200, kTextPlain, cmdline, head);
  }
  counters_->not_found.Increment();
  return Reply(conn, 404, kTextPlain, "404 page not found\n", head);
}

int HttpServer::ServeMetrics(mg_connection* conn, bool head) {
  counters_->metrics.Increment();
  std::vector<prometheus::MetricFamily> families = metrics_->registry()->Collect();
  std::vector<prometheus::MetricFamily> process = process_.Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  const std::string body = prometheus::TextSerializer().Serialize(families);
  return Reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body, head);
}

int HttpServer::ServeProfile(mg_connection* conn, bool head) {
  counters_->pprof_profile.Increment();
  const mg_request_info* ri = mg_get_request_info(conn);
  int seconds = kDefaultProfileSeconds;
  if (ri->query_string != nullptr) {
    char buf[32];
    const int got =
        mg_get_var(ri->query_string, std::strlen(ri->query_string), "seconds", buf, sizeof(buf));
    if (got == -2 || (got >= 0 && (!absl::SimpleAtoi(absl::string_view(buf, got), &seconds) ||
                                   seconds < 1 || seconds > kMaxProfileSeconds))) {
      counters_->pprof_profile_error.Increment();
      return Reply(conn, 400, kTextPlain,
                   absl::StrCat("seconds must be an integer from 1 to ", kMaxProfileSeconds, "\n"),
                   head);
    }
  }
  bool legacy = false;
  if (!WantsLegacy(ri, &legacy)) {
    counters_->pprof_profile_error.Increment();
    return Reply(conn, 400, kTextPlain, "format must be proto or legacy\n", head);
  }
  auto profile = CaptureCpuProfile(absl::Seconds(seconds), &stopping_);
  if (profile.ok() && !legacy) profile = CpuProfileToPprof(*profile);
  if (!profile.ok()) {
    counters_->pprof_profile_error.Increment();
    return Reply(conn, StatusToHttp(profile.status()), kTextPlain,
                 absl::StrCat(profile.status().message(), "\n"), head);
  }
  return Reply(conn, 200, kOctets, *profile, head,
               "Content-Disposition: attachment; filename=\"profile\"\r\n");
}

int HttpServer::ServeHeap(mg_connection* conn, bool head) {
  counters_->pprof_heap.Increment();
  bool legacy = false;
  if (!WantsLegacy(mg_get_request_info(conn), &legacy)) {
    counters_->pprof_heap_error.Increment();
    return Reply(conn, 400, kTextPlain, "format must be proto or legacy\n", head);
  }
  auto sample = HeapSample();
  if (sample.ok() && !legacy) sample = HeapSampleToPprof(*sample);
  if (!sample.ok()) {
    counters_->pprof_heap_error.Increment();
    const int status = sample.status().code() == absl::StatusCode::kFailedPrecondition
                           ? 503
                           : StatusToHttp(sample.status());
    return Reply(conn, status, kTextPlain, absl::StrCat(sample.status().message(), "\n"), head);
  }
  return Reply(conn, 200, kOctets, *sample, head,
               "Content-Disposition: attachment; filename=\"heap\"\r\n");
}

int HttpServer::ServeIndex(mg_connection* conn, bool head) {
  counters_->pprof_index.Increment();
  const std::string body = absl::StrCat(
      "<html><head><title>/debug/pprof/</title></head><body>\n"
      "<p>xtcp2 profiles (gperftools",
      ProfilingAvailable() ? "" : "; not linked in this build",
      ")</p>\n<table>\n"
      "<tr><td><a href=\"profile?seconds=30\">profile</a></td><td>CPU profile; "
      "<code>?seconds=N</code> (1-",
      kMaxProfileSeconds, ", default ", kDefaultProfileSeconds,
      "), one at a time</td></tr>\n"
      "<tr><td colspan=2>profile and heap answer symbolized profile.proto (go tool pprof); add "
      "<code>format=legacy</code> for gperftools' format (google-pprof)</td></tr>\n"
      "<tr><td><a href=\"heap\">heap</a></td><td>tcmalloc heap sample (in-use "
      "allocations)",
      HeapSamplingEnabled() ? "" : "; sampling is off in this process",
      "</td></tr>\n"
      "<tr><td><a href=\"cmdline\">cmdline</a></td><td>command line, NUL-separated</td></tr>\n"
      "</table>\n<pre>\n"
      "curl -s 'http://HOST:PORT/debug/pprof/profile?seconds=30' &gt; cpu.pprof\n"
      "go tool pprof -top /usr/bin/xtcp2 cpu.pprof\n"
      "curl -s 'http://HOST:PORT/debug/pprof/profile?seconds=30&amp;format=legacy' &gt; cpu.prof\n"
      "google-pprof --text /usr/bin/xtcp2 cpu.prof\n"
      "curl -s http://HOST:PORT/debug/pprof/heap &gt; heap.pprof\n"
      "go tool pprof -top heap.pprof\n"
      "</pre>\n</body></html>\n");
  return Reply(conn, 200, "text/html; charset=utf-8", body, head);
}

}  // namespace xtcp::observe
