#include "observe/http_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "observe/exposition.h"
#include "observe/listen_socket.h"
#include "observe/pprof_proto.h"
#include "observe/profiling.h"
#include "prometheus/text_serializer.h"

namespace xtcp::observe {

std::string ProcessCmdline() {
  std::string cmdline;
  if (FILE* f = std::fopen("/proc/self/cmdline", "re")) {
    char buf[4096];
    size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) cmdline.append(buf, got);
    std::fclose(f);
  }
  if (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  return cmdline;
}

namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kOctets[] = "application/octet-stream";
constexpr absl::Duration kDrainTime = absl::Seconds(2);
constexpr int kAcceptBurst = 64;  // accepts per wake-up, so connected clients are not starved

// Requests per endpoint: xtcp_counts{function="HttpServer",variable=<endpoint>,type="count"};
// refusals and client errors with type="error".
struct Counters {
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
        bad_method(m->Count("HttpServer", "methodNotAllowed", "error")),
        bad_request(m->Count("HttpServer", "badRequest", "error")),
        timeout(m->Count("HttpServer", "timeout", "error")),
        refused(m->Count("HttpServer", "refused", "error")),
        connections(m->Gauge("HttpServer", "connections", "count")) {}
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
  prometheus::Counter& bad_request;
  prometheus::Counter& timeout;
  prometheus::Counter& refused;
  prometheus::Gauge& connections;
};

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string Reply(int status, absl::string_view content_type, absl::string_view body, bool head,
                  absl::string_view extra_headers = "") {
  std::string out =
      absl::StrCat("HTTP/1.1 ", status, " ", StatusText(status), "\r\nContent-Type: ", content_type,
                   "\r\nContent-Length: ", body.size(),
                   "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff"
                   "\r\n",
                   extra_headers, "Connection: close\r\n\r\n");
  if (!head) out.append(body.data(), body.size());
  return out;
}

std::string TextReply(int status, absl::string_view text, bool head = false) {
  return Reply(status, kTextPlain, text, head);
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

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The value of `name` in a query string (percent- and '+'-decoded); nullopt when absent, "\x01"
// never appears in a valid value and marks a malformed escape.
std::optional<std::string> QueryParam(absl::string_view query, absl::string_view name) {
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) != name) continue;
    const absl::string_view raw = eq == absl::string_view::npos ? "" : kv.substr(eq + 1);
    std::string v;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        v.push_back(' ');
      } else if (raw[i] == '%') {
        const int hi = i + 2 < raw.size() ? HexDigit(raw[i + 1]) : -1;
        const int lo = hi >= 0 ? HexDigit(raw[i + 2]) : -1;
        if (lo < 0) return std::string("\x01");
        v.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        v.push_back(raw[i]);
      }
    }
    return v;
  }
  return std::nullopt;
}

// ?format=legacy (or gperftools) asks for gperftools' own format (google-pprof); the default is
// symbolized profile.proto (go tool pprof, pprof). Returns false for an unknown value.
bool WantsLegacy(absl::string_view query, bool* legacy) {
  *legacy = false;
  const std::optional<std::string> f = QueryParam(query, "format");
  if (!f.has_value()) return true;
  if (*f == "legacy" || *f == "gperftools") {
    *legacy = true;
    return true;
  }
  return *f == "proto" || *f == "pprof";
}

struct Request {
  std::string method;
  std::string path;
  std::string query;
  std::string accept;  // every Accept header, joined by ","
  size_t content_length = 0;
};

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Parses the head (request line and headers, without the blank line). On error returns the
// status to answer with.
std::variant<Request, int> ParseHead(absl::string_view head, size_t max_body) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) return 400;
  for (char c : parts[0]) {
    if (!IsTokenChar(c)) return 400;
  }
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") {
    return absl::StartsWith(parts[2], "HTTP/") ? 505 : 400;
  }
  if (parts[1][0] != '/') return 400;
  for (char c : parts[1]) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return 400;
  }
  Request r;
  r.method = std::string(parts[0]);
  const size_t q = parts[1].find('?');
  r.path = std::string(parts[1].substr(0, q));
  if (q != absl::string_view::npos) r.query = std::string(parts[1].substr(q + 1));
  bool have_length = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0) return 400;
    const absl::string_view name = lines[i].substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return 400;
    }
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) return 501;  // no chunked bodies
    if (absl::EqualsIgnoreCase(name, "Accept")) {
      if (!r.accept.empty()) r.accept.push_back(',');
      r.accept.append(value.data(), value.size());
    }
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      size_t n = 0;
      if (value.empty() || value.size() > 18 ||
          value.find_first_not_of("0123456789") != absl::string_view::npos ||
          !absl::SimpleAtoi(value, &n) || (have_length && n != r.content_length)) {
        return 400;
      }
      if (n > max_body) return 413;
      r.content_length = n;
      have_length = true;
    }
  }
  return r;
}

enum class Role { kMain, kProfiles };

}  // namespace

// The event loop and everything it owns. All members but the profile hand-off are touched only by
// the loop thread (and by Start/the destructor while the loop does not run).
class HttpServer::Loop {
 public:
  Loop(const HttpServerOptions& opts, Metrics* metrics, Readiness* readiness)
      : opts_(opts),
        readiness_(readiness),
        metrics_(metrics),
        process_(opts.daemon_version),
        counters_(metrics),
        pprof_on_main_(opts.pprof_listen.empty()) {}

  ~Loop() { JoinProfile(); }

  absl::Status Init() {
    epoll_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
    wake_ = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    reserve_ = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!epoll_ || !wake_) {
      return absl::InternalError(
          absl::StrCat("HTTP server: epoll/eventfd: ", std::strerror(errno)));
    }
    return Watch(wake_.get(), EPOLLIN, kWakeKey, EPOLL_CTL_ADD);
  }

  absl::Status AddListener(UniqueFd fd, Role role) {
    const uint64_t key = listeners_.size();
    if (absl::Status s = Watch(fd.get(), EPOLLIN, key, EPOLL_CTL_ADD); !s.ok()) return s;
    listeners_.push_back({std::move(fd), role});
    return absl::OkStatus();
  }

  void Run();

  // Any thread: ends Run() and an in-flight profile soon.
  void RequestStop() {
    if (!stopping_.HasBeenNotified()) stopping_.Notify();
    Wake();
  }

  // Joins the profile thread outside the lock (the thread takes it to post its reply).
  void JoinProfile() {
    std::thread t;
    {
      absl::MutexLock lock(&profile_mu_);
      t = std::move(profile_thread_);
    }
    if (t.joinable()) t.join();
  }

 private:
  static constexpr uint64_t kWakeKey = uint64_t{1} << 62;
  static constexpr uint64_t kConnBase = uint64_t{1} << 32;

  enum class State { kReading, kProfiling, kWriting, kDraining };
  struct Conn {
    UniqueFd fd;
    Role role;
    State state = State::kReading;
    std::string in;
    std::string out;
    size_t out_off = 0;
    absl::Time deadline;
  };
  struct Listener {
    UniqueFd fd;
    Role role;
  };

  absl::Status Watch(int fd, uint32_t events, uint64_t key, int op) {
    epoll_event ev = {};
    ev.events = events;
    ev.data.u64 = key;
    if (epoll_ctl(epoll_.get(), op, fd, &ev) != 0) {
      return absl::InternalError(absl::StrCat("HTTP server: epoll_ctl: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  void Wake() {
    const uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof(one));
  }

  void Accept(const Listener& l);
  void Refuse(int fd);
  void OnConn(uint64_t key, uint32_t events);
  void ReadRequest(uint64_t key, Conn& c);
  void Respond(uint64_t key, Conn& c, std::string reply);
  void WriteOut(uint64_t key, Conn& c);
  void Close(uint64_t key);
  void ExpireDeadlines();
  int NextTimeoutMs() const;
  void DeliverProfile();

  // Handlers: a reply, or nullopt when the reply comes later (a CPU profile).
  std::optional<std::string> Dispatch(uint64_t key, Role role, const Request& r);
  std::string ServeMetrics(const Request& r, bool head);
  std::optional<std::string> ServeProfile(uint64_t key, const Request& r, bool head);
  std::string ServeHeap(const Request& r, bool head);
  std::string ServeIndex(bool head);

  const HttpServerOptions opts_;
  Readiness* const readiness_;
  Metrics* const metrics_;
  const ProcessCollector process_;
  Counters counters_;
  const bool pprof_on_main_;

  UniqueFd epoll_, wake_, reserve_;
  std::vector<Listener> listeners_;
  std::map<uint64_t, Conn> conns_;
  uint64_t next_key_ = kConnBase;
  absl::Notification stopping_;

  // The CPU profile runs on profile_thread_; its reply is handed back through profile_reply_.
  absl::Mutex profile_mu_;
  std::thread profile_thread_ ABSL_GUARDED_BY(profile_mu_);
  bool profile_running_ ABSL_GUARDED_BY(profile_mu_) = false;
  uint64_t profile_key_ ABSL_GUARDED_BY(profile_mu_) = 0;
  std::optional<std::string> profile_reply_ ABSL_GUARDED_BY(profile_mu_);
};

void HttpServer::Loop::Run() {
  epoll_event events[64];
  while (!stopping_.HasBeenNotified()) {
    const int n = epoll_wait(epoll_.get(), events, 64, NextTimeoutMs());
    if (n < 0 && errno != EINTR) {
      XTCP_LOG(kError, "http: epoll_wait: %s; the HTTP server stops", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kWakeKey) {
        uint64_t v = 0;
        (void)!read(wake_.get(), &v, sizeof(v));
        DeliverProfile();
      } else if (key < kConnBase) {
        Accept(listeners_[key]);
      } else {
        OnConn(key, events[i].events);
      }
    }
    ExpireDeadlines();
  }
  conns_.clear();
  counters_.connections.Set(0);
  listeners_.clear();  // the ports close with the loop
}

void HttpServer::Loop::Accept(const Listener& l) {
  for (int i = 0; i < kAcceptBurst; ++i) {
    const int fd = accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if ((errno == EMFILE || errno == ENFILE) && reserve_) {
        // Out of descriptors: free the reserve to take the client off the backlog and refuse it,
        // or the level-triggered listener would spin.
        reserve_.reset();
        const int taken = accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (taken >= 0) Refuse(taken);
        reserve_ = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
        continue;
      }
      return;  // EAGAIN, or a transient error (ECONNABORTED...): the next wake-up retries
    }
    if (static_cast<int>(conns_.size()) >= opts_.max_connections) {
      Refuse(fd);
      continue;
    }
    const uint64_t key = next_key_++;
    Conn c{UniqueFd(fd), l.role};
    c.deadline = absl::Now() + opts_.request_timeout;
    if (!Watch(fd, EPOLLIN, key, EPOLL_CTL_ADD).ok()) continue;  // UniqueFd closes it
    conns_.emplace(key, std::move(c));
    counters_.connections.Set(static_cast<double>(conns_.size()));
  }
}

void HttpServer::Loop::Refuse(int fd) {
  counters_.refused.Increment();
  XTCP_LOG(kDebug, "http: connection refused: %d connections open (limit)", conns_.size());
  const std::string busy = TextReply(503, "too many connections\n");
  (void)!send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  close(fd);
}

void HttpServer::Loop::Close(uint64_t key) {
  conns_.erase(key);  // closing the descriptor removes it from the epoll set
  counters_.connections.Set(static_cast<double>(conns_.size()));
}

void HttpServer::Loop::OnConn(uint64_t key, uint32_t events) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  if ((events & EPOLLERR) != 0) return Close(key);
  switch (c.state) {
    case State::kReading:
      return ReadRequest(key, c);
    case State::kWriting:
      if ((events & EPOLLHUP) != 0) return Close(key);
      return WriteOut(key, c);
    case State::kDraining: {
      char buf[16 * 1024];
      const ssize_t n = recv(c.fd.get(), buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) Close(key);
      return;
    }
    case State::kProfiling:
      if ((events & EPOLLHUP) != 0) Close(key);  // the profile goes on; its reply is dropped
      return;
  }
}

void HttpServer::Loop::ReadRequest(uint64_t key, Conn& c) {
  const size_t cap = opts_.max_header_bytes + 4 + opts_.max_body_bytes;
  char buf[16 * 1024];
  const ssize_t n = recv(c.fd.get(), buf, std::min(sizeof(buf), cap + 1 - c.in.size()), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return Close(key);  // the client gave up (or reset) before a whole request
  c.in.append(buf, static_cast<size_t>(n));
  const size_t head_end = c.in.find("\r\n\r\n");
  if (head_end == std::string::npos || head_end > opts_.max_header_bytes) {
    if (c.in.size() <= opts_.max_header_bytes + 3) return;  // wait for more
    counters_.bad_request.Increment();
    return Respond(key, c, TextReply(431, "request head too large\n"));
  }
  auto parsed = ParseHead(absl::string_view(c.in).substr(0, head_end), opts_.max_body_bytes);
  if (const int* status = std::get_if<int>(&parsed)) {
    counters_.bad_request.Increment();
    return Respond(key, c, TextReply(*status, absl::StrCat(StatusText(*status), "\n")));
  }
  const Request& r = std::get<Request>(parsed);
  if (c.in.size() < head_end + 4 + r.content_length) return;  // the body is still coming
  std::optional<std::string> reply = Dispatch(key, c.role, r);
  if (!reply.has_value()) {
    c.state = State::kProfiling;
    c.deadline = absl::InfiniteFuture();  // bounded by the profile's own length
    (void)Watch(c.fd.get(), 0, key, EPOLL_CTL_MOD);
    return;
  }
  Respond(key, c, std::move(*reply));
}

void HttpServer::Loop::Respond(uint64_t key, Conn& c, std::string reply) {
  c.in.clear();
  c.in.shrink_to_fit();
  c.out = std::move(reply);
  c.out_off = 0;
  c.state = State::kWriting;
  c.deadline = absl::Now() + opts_.write_timeout;
  (void)Watch(c.fd.get(), EPOLLOUT, key, EPOLL_CTL_MOD);
  WriteOut(key, c);
}

void HttpServer::Loop::WriteOut(uint64_t key, Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n =
        send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT brings us back
    if (n <= 0) return Close(key);
    c.out_off += static_cast<size_t>(n);
  }
  // Done: half-close, then read and drop what the client still sends until it closes, so a reply
  // to an oversized request is not destroyed by a reset (closing with unread input sends RST).
  c.out.clear();
  c.out.shrink_to_fit();
  shutdown(c.fd.get(), SHUT_WR);
  c.state = State::kDraining;
  c.deadline = absl::Now() + kDrainTime;
  (void)Watch(c.fd.get(), EPOLLIN, key, EPOLL_CTL_MOD);
}

void HttpServer::Loop::ExpireDeadlines() {
  const absl::Time now = absl::Now();
  std::vector<uint64_t> expired;
  for (const auto& [key, c] : conns_) {
    if (c.deadline <= now) expired.push_back(key);
  }
  for (uint64_t key : expired) {
    Conn& c = conns_.at(key);
    if (c.state == State::kReading) {
      counters_.timeout.Increment();
      const std::string reply = TextReply(408, "request timeout\n");
      (void)!send(c.fd.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    } else if (c.state == State::kWriting) {
      counters_.timeout.Increment();
    }
    Close(key);
  }
}

int HttpServer::Loop::NextTimeoutMs() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [key, c] : conns_) next = std::min(next, c.deadline);
  if (next == absl::InfiniteFuture()) return -1;
  const absl::Duration left = next - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

void HttpServer::Loop::DeliverProfile() {
  uint64_t key = 0;
  std::optional<std::string> reply;
  {
    absl::MutexLock lock(&profile_mu_);
    if (!profile_reply_.has_value()) return;
    reply = std::move(profile_reply_);
    profile_reply_.reset();
    key = profile_key_;
    // It has posted and released the lock: it is returning, so the join is immediate.
    if (profile_thread_.joinable()) profile_thread_.join();
  }
  auto it = conns_.find(key);
  if (it != conns_.end() && it->second.state == State::kProfiling) {
    Respond(key, it->second, std::move(*reply));
  }
}

std::optional<std::string> HttpServer::Loop::Dispatch(uint64_t key, Role role, const Request& r) {
  const bool head = r.method == "HEAD";
  if (r.method != "GET" && !head) {
    counters_.bad_method.Increment();
    return Reply(405, kTextPlain, "method not allowed\n", false, "Allow: GET, HEAD\r\n");
  }
  const bool pprof_path = r.path == "/debug/pprof" || absl::StartsWith(r.path, "/debug/pprof/");
  const bool serve_pprof = role == Role::kProfiles || pprof_on_main_;
  if (pprof_path && serve_pprof) {
    if (r.path == "/debug/pprof" || r.path == "/debug/pprof/") return ServeIndex(head);
    if (r.path == "/debug/pprof/profile") return ServeProfile(key, r, head);
    if (r.path == "/debug/pprof/heap") return ServeHeap(r, head);
    if (r.path == "/debug/pprof/cmdline") {
      counters_.pprof_cmdline.Increment();
      return TextReply(200, opts_.cmdline, head);
    }
  } else if (role == Role::kMain && !pprof_path) {
    if (r.path == opts_.prom_path) return ServeMetrics(r, head);
    if (r.path == "/healthz") {
      counters_.healthz.Increment();
      return TextReply(200, "ok\n", head);
    }
    if (r.path == "/readyz") {
      counters_.readyz.Increment();
      if (readiness_->IsReady()) return TextReply(200, "ready\n", head);
      return TextReply(503, "not ready\n", head);
    }
  }
  counters_.not_found.Increment();
  return TextReply(404, "404 page not found\n", head);
}

std::string HttpServer::Loop::ServeMetrics(const Request& r, bool head) {
  counters_.metrics.Increment();
  std::vector<prometheus::MetricFamily> families = metrics_->registry()->Collect();
  std::vector<prometheus::MetricFamily> process = process_.Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  const Exposition format = NegotiateExposition(r.accept);
  const std::string body = format == Exposition::kText004
                               ? prometheus::TextSerializer().Serialize(families)
                               : SerializeOpenMetrics(families);
  return Reply(200, ExpositionContentType(format), body, head, "Vary: Accept\r\n");
}

std::optional<std::string> HttpServer::Loop::ServeProfile(uint64_t key, const Request& r,
                                                          bool head) {
  counters_.pprof_profile.Increment();
  int seconds = opts_.default_profile_seconds;
  if (std::optional<std::string> s = QueryParam(r.query, "seconds"); s.has_value()) {
    if (!absl::SimpleAtoi(*s, &seconds) || seconds < 1 || seconds > opts_.max_profile_seconds) {
      counters_.pprof_profile_error.Increment();
      return TextReply(
          400,
          absl::StrCat("seconds must be an integer from 1 to ", opts_.max_profile_seconds, "\n"),
          head);
    }
  }
  bool legacy = false;
  if (!WantsLegacy(r.query, &legacy)) {
    counters_.pprof_profile_error.Increment();
    return TextReply(400, "format must be proto or legacy\n", head);
  }
  absl::MutexLock lock(&profile_mu_);
  if (profile_running_ || profile_reply_.has_value()) {
    counters_.pprof_profile_error.Increment();
    return TextReply(409, "a CPU profile is already being recorded; try later\n", head);
  }
  if (profile_thread_.joinable()) profile_thread_.join();  // finished: it posted its reply
  profile_running_ = true;
  profile_key_ = key;
  profile_thread_ = std::thread([this, seconds, legacy, head] {
    const absl::Time start = absl::Now();
    auto profile = CaptureCpuProfile(absl::Seconds(seconds), &stopping_);
    const absl::Duration wall = absl::Now() - start;
    if (profile.ok() && !legacy) profile = CpuProfileToPprof(*profile, start, wall);
    std::string reply;
    if (profile.ok()) {
      reply = Reply(200, kOctets, *profile, head,
                    "Content-Disposition: attachment; filename=\"profile\"\r\n");
    } else {
      counters_.pprof_profile_error.Increment();
      reply = TextReply(StatusToHttp(profile.status()),
                        absl::StrCat(profile.status().message(), "\n"), head);
    }
    absl::MutexLock done(&profile_mu_);
    profile_running_ = false;
    profile_reply_ = std::move(reply);
    Wake();
  });
  return std::nullopt;
}

std::string HttpServer::Loop::ServeHeap(const Request& r, bool head) {
  counters_.pprof_heap.Increment();
  bool legacy = false;
  if (!WantsLegacy(r.query, &legacy)) {
    counters_.pprof_heap_error.Increment();
    return TextReply(400, "format must be proto or legacy\n", head);
  }
  auto sample = HeapSample();
  if (sample.ok() && !legacy) sample = HeapSampleToPprof(*sample);
  if (!sample.ok()) {
    counters_.pprof_heap_error.Increment();
    const int status = sample.status().code() == absl::StatusCode::kFailedPrecondition
                           ? 503
                           : StatusToHttp(sample.status());
    return TextReply(status, absl::StrCat(sample.status().message(), "\n"), head);
  }
  return Reply(200, kOctets, *sample, head,
               "Content-Disposition: attachment; filename=\"heap\"\r\n");
}

std::string HttpServer::Loop::ServeIndex(bool head) {
  counters_.pprof_index.Increment();
  const std::string body = absl::StrCat(
      "<html><head><title>/debug/pprof/</title></head><body>\n"
      "<p>xtcp2 profiles (gperftools",
      ProfilingAvailable() ? "" : "; not linked in this build",
      ")</p>\n<table>\n"
      "<tr><td><a href=\"profile?seconds=30\">profile</a></td><td>CPU profile; "
      "<code>?seconds=N</code> (1-",
      opts_.max_profile_seconds, ", default ", opts_.default_profile_seconds,
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
  return Reply(200, "text/html; charset=utf-8", body, head);
}

// ---- HttpServer ----

namespace {

// Opens the sockets of `text`; errors name `flag`.
absl::StatusOr<std::vector<ListenSocket>> OpenFor(absl::string_view text, absl::string_view flag,
                                                  const HttpServerOptions& opts) {
  auto addr = ParseListenAddress(text);
  if (!addr.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flag -", flag, ": ", addr.status().message()));
  }
  SocketOptions sock_opts;
  sock_opts.ipv4_ttl = opts.ipv4_ttl;
  sock_opts.ipv6_hop_limit = opts.ipv6_hop_limit;
  return OpenListenSockets(*addr, sock_opts);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& opts,
                                                              Metrics* metrics,
                                                              Readiness* readiness) {
  if (metrics == nullptr || readiness == nullptr) {
    return absl::InvalidArgumentError("HttpServer::Start: metrics and readiness are required");
  }
  if (opts.prom_path.empty() || opts.prom_path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", opts.prom_path,
                                                   "\" for flag -promPath: must start with /"));
  }
  if (opts.max_connections < 1 || opts.max_header_bytes < 64) {
    return absl::InvalidArgumentError("HttpServer: max_connections and max_header_bytes too small");
  }
  auto sockets = OpenFor(opts.listen, "promListen", opts);
  if (!sockets.ok()) return sockets.status();
  std::vector<ListenSocket> pprof_sockets;
  if (!opts.pprof_listen.empty() && opts.pprof_listen != "off") {
    auto p = OpenFor(opts.pprof_listen, "pprofListen", opts);
    if (!p.ok()) return p.status();
    pprof_sockets = std::move(*p);
  }

  std::unique_ptr<HttpServer> server(new HttpServer());
  server->loop_ = std::make_unique<Loop>(opts, metrics, readiness);
  if (absl::Status s = server->loop_->Init(); !s.ok()) return s;
  server->port_ = sockets->front().port;
  for (ListenSocket& s : *sockets) {
    server->addresses_.push_back(s.display);
    if (absl::Status st = server->loop_->AddListener(std::move(s.fd), Role::kMain); !st.ok()) {
      return st;
    }
  }
  for (ListenSocket& s : pprof_sockets) {
    server->pprof_port_ = s.port;
    server->addresses_.push_back(s.display);
    if (absl::Status st = server->loop_->AddListener(std::move(s.fd), Role::kProfiles); !st.ok()) {
      return st;
    }
  }
  {
    absl::MutexLock lock(&server->mu_);
    server->thread_ = std::thread([loop = server->loop_.get()] { loop->Run(); });
  }
  XTCP_LOG(kInfo, "http: listening on %s (%s, /healthz, /readyz; /debug/pprof/ %s)",
           absl::StrJoin(server->addresses_, ","), opts.prom_path,
           opts.pprof_listen.empty()    ? std::string("on the same listener")
           : opts.pprof_listen == "off" ? std::string("off")
                                        : absl::StrCat("on ", server->addresses_.back()));
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  absl::MutexLock lock(&mu_);
  if (!thread_.joinable()) return;
  loop_->RequestStop();
  thread_.join();
  loop_->JoinProfile();
}

}  // namespace xtcp::observe
