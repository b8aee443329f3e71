#include "enrich/docker.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"

namespace xtcp::enrich {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = size_t{16} << 20;
constexpr size_t kMaxEventLine = size_t{1} << 20;

// Debian's absl::string_view is its own type, not std::string_view.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Errno(std::string_view what) {
  return absl::UnavailableError(absl::StrCat(A(what), ": ", std::strerror(errno)));
}

// Called when the wake fd is readable: OK keeps waiting, an error ends the exchange with it.
using WakeFn = absl::FunctionRef<absl::Status()>;

// One HTTP/1.1 exchange on a connected stream socket; every wait has a deadline and also watches
// the wake fd.
class Exchange {
 public:
  Exchange(UniqueFd fd, int wake, WakeFn woken) : fd_(std::move(fd)), wake_(wake), woken_(woken) {}

  absl::Status Send(std::string_view req, absl::Time deadline) {
    while (!req.empty()) {
      const ssize_t n = ::send(fd_.get(), req.data(), req.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        req.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (absl::Status s = Wait(POLLOUT, deadline); !s.ok()) return s;
      } else {
        return Errno("send");
      }
    }
    return absl::OkStatus();
  }

  // The next line (without CRLF).
  absl::StatusOr<std::string> Line(absl::Time deadline, size_t max) {
    for (;;) {
      const size_t at = in_.find("\r\n", pos_);
      if (at != std::string::npos) {
        std::string line = in_.substr(pos_, at - pos_);
        pos_ = at + 2;
        return line;
      }
      if (in_.size() - pos_ > max) return absl::DataLossError("HTTP line too long");
      bool eof = false;
      if (absl::Status s = Fill(deadline, &eof); !s.ok()) return s;
      if (eof) return absl::DataLossError("connection closed mid-response");
    }
  }

  // Exactly `n` bytes to `sink`.
  absl::Status Bytes(size_t n, absl::Time deadline,
                     absl::FunctionRef<absl::Status(std::string_view)> sink) {
    while (n > 0) {
      if (pos_ == in_.size()) {
        bool eof = false;
        if (absl::Status s = Fill(deadline, &eof); !s.ok()) return s;
        if (eof) return absl::DataLossError("connection closed mid-body");
      }
      const size_t take = std::min(n, in_.size() - pos_);
      if (absl::Status s = sink(std::string_view(in_).substr(pos_, take)); !s.ok()) return s;
      pos_ += take;
      n -= take;
    }
    return absl::OkStatus();
  }

  absl::Status ToEof(absl::Time deadline, absl::FunctionRef<absl::Status(std::string_view)> sink) {
    for (;;) {
      if (pos_ < in_.size()) {
        if (absl::Status s = sink(std::string_view(in_).substr(pos_)); !s.ok()) return s;
        pos_ = in_.size();
      }
      bool eof = false;
      if (absl::Status s = Fill(deadline, &eof); !s.ok()) return s;
      if (eof) return absl::OkStatus();
    }
  }

 private:
  absl::Status Wait(short events, absl::Time deadline) {
    for (;;) {
      pollfd p[2] = {{fd_.get(), events, 0}, {wake_, POLLIN, 0}};
      int ms = -1;
      if (deadline != absl::InfiniteFuture()) {
        const absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("timed out");
        ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, INT_MAX));
      }
      const int r = ::poll(p, wake_ >= 0 ? 2 : 1, ms);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("poll");
      if (r == 0) return absl::DeadlineExceededError("timed out");
      if (wake_ >= 0 && (p[1].revents & POLLIN) != 0) {
        if (absl::Status s = woken_(); !s.ok()) return s;
        if (p[0].revents == 0) continue;
      }
      if (p[0].revents != 0) return absl::OkStatus();
    }
  }

  absl::Status Fill(absl::Time deadline, bool* eof) {
    if (pos_ > 0 && pos_ == in_.size()) {
      in_.clear();
      pos_ = 0;
    }
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        return absl::OkStatus();
      }
      if (n == 0) {
        *eof = true;
        return absl::OkStatus();
      }
      if (errno != EAGAIN && errno != EINTR) return Errno("recv");
      if (absl::Status s = Wait(POLLIN, deadline); !s.ok()) return s;
    }
  }

  UniqueFd fd_;
  const int wake_;
  WakeFn woken_;
  std::string in_;
  size_t pos_ = 0;
};

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path, absl::Time deadline) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) return absl::InvalidArgumentError("socket path too long");
  std::memcpy(a.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Errno("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) return Errno(absl::StrCat("connect ", path));
  // A Unix listener's backlog is full (an engine that accepts nothing): wait for it a while.
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  pollfd p{fd.get(), POLLOUT, 0};
  if (ms <= 0 || ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, INT_MAX))) != 1) {
    return absl::DeadlineExceededError(absl::StrCat("connect ", path, ": timed out"));
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    errno = err;
    return Errno(absl::StrCat("connect ", path));
  }
  return fd;
}

// Sends GET `target`, reads the head by `head_deadline` and the body by `body_deadline` into
// `sink` (chunked, Content-Length or until close).
absl::Status Get(const std::string& path, std::string_view target, absl::Time head_deadline,
                 absl::Time body_deadline, int wake, WakeFn woken, HttpResponse* head,
                 absl::FunctionRef<absl::Status(std::string_view)> sink) {
  auto fd = ConnectUnix(path, head_deadline);
  if (!fd.ok()) return fd.status();
  Exchange x(std::move(*fd), wake, woken);
  const std::string req =
      absl::StrCat("GET ", A(target), " HTTP/1.1\r\nHost: docker\r\nUser-Agent: xtcp2\r\n",
                   "Accept: application/json\r\nConnection: close\r\n\r\n");
  if (absl::Status s = x.Send(req, head_deadline); !s.ok()) return s;
  auto status_line = x.Line(head_deadline, kMaxHead);
  if (!status_line.ok()) return status_line.status();
  // "HTTP/1.1 200 OK"
  std::vector<absl::string_view> parts = absl::StrSplit(*status_line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      !absl::SimpleAtoi(parts[1], &head->status)) {
    return absl::DataLossError(absl::StrCat("not an HTTP response: ", status_line->substr(0, 80)));
  }
  bool chunked = false;
  int64_t length = -1;
  size_t head_bytes = status_line->size();
  for (;;) {
    auto line = x.Line(head_deadline, kMaxHead);
    if (!line.ok()) return line.status();
    if (line->empty()) break;
    head_bytes += line->size();
    if (head_bytes > kMaxHead) return absl::DataLossError("HTTP head too long");
    const size_t colon = line->find(':');
    if (colon == std::string::npos) continue;
    const std::string name = absl::AsciiStrToLower(line->substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(absl::string_view(*line).substr(colon + 1));
    if (name == "transfer-encoding") {
      chunked = absl::StrContains(absl::AsciiStrToLower(value), "chunked");
    } else if (name == "content-length") {
      if (!absl::SimpleAtoi(value, &length) || length < 0) {
        return absl::DataLossError("bad Content-Length");
      }
    } else if (name == "api-version") {
      head->api_version = std::string(value);
    }
  }
  if (chunked) {
    for (;;) {
      auto size_line = x.Line(body_deadline, 1024);
      if (!size_line.ok()) return size_line.status();
      const absl::string_view hex = absl::string_view(*size_line).substr(0, size_line->find(';'));
      uint64_t n = 0;
      if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(hex), &n)) {
        return absl::DataLossError("bad chunk size");
      }
      if (n == 0) return absl::OkStatus();  // trailers are not read: Connection: close
      if (n > kMaxBody) return absl::DataLossError("chunk too large");
      if (absl::Status s = x.Bytes(static_cast<size_t>(n), body_deadline, sink); !s.ok()) return s;
      auto crlf = x.Line(body_deadline, 2);
      if (!crlf.ok()) return crlf.status();
    }
  }
  if (length >= 0) return x.Bytes(static_cast<size_t>(length), body_deadline, sink);
  return x.ToEof(body_deadline, sink);
}

// ---- JSON, through protobuf's Struct (no JSON library of our own) ----

const pb::Value* Member(const pb::Struct& s, const char* key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}
std::string StringOf(const pb::Struct& s, const char* key) {
  const pb::Value* v = Member(s, key);
  return v != nullptr && v->kind_case() == pb::Value::kStringValue ? v->string_value() : "";
}
const pb::Struct* ObjectOf(const pb::Struct& s, const char* key) {
  const pb::Value* v = Member(s, key);
  return v != nullptr && v->kind_case() == pb::Value::kStructValue ? &v->struct_value() : nullptr;
}

template <typename M>
absl::Status ParseJson(std::string_view json, M* out) {
  auto s = pb::util::JsonStringToMessage(std::string(json), out);
  if (!s.ok()) return absl::DataLossError(absl::StrCat("bad JSON: ", std::string(s.message())));
  return absl::OkStatus();
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return out;
}

absl::Status AppendBody(std::string* body, std::string_view b) {
  if (body->size() + b.size() > kMaxBody) return absl::DataLossError("body larger than 16 MiB");
  body->append(b);
  return absl::OkStatus();
}

uint64_t InodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

}  // namespace

int CompareApiVersion(std::string_view a, std::string_view b) {
  const std::vector<absl::string_view> pa = absl::StrSplit(A(a), '.');
  const std::vector<absl::string_view> pv = absl::StrSplit(A(b), '.');
  for (size_t i = 0; i < std::max(pa.size(), pv.size()); ++i) {
    uint64_t x = 0, y = 0;
    if (i < pa.size() && !absl::SimpleAtoi(pa[i], &x)) x = 0;
    if (i < pv.size() && !absl::SimpleAtoi(pv[i], &y)) y = 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string NegotiateApiVersion(std::string_view server, std::string_view server_min,
                                std::string_view ours) {
  if (server.empty()) return "";
  std::string_view chosen = CompareApiVersion(ours, server) < 0 ? ours : server;
  if (!server_min.empty() && CompareApiVersion(chosen, server_min) < 0) chosen = server_min;
  return std::string(chosen);
}

absl::StatusOr<HttpResponse> UnixHttpGet(const std::string& path, std::string_view target,
                                         absl::Duration timeout, int wake_fd) {
  const absl::Time deadline = absl::Now() + timeout;
  HttpResponse r;
  auto cancel = [] { return absl::CancelledError("stopping"); };
  absl::Status s = Get(path, target, deadline, deadline, wake_fd, cancel, &r,
                       [&](std::string_view b) { return AppendBody(&r.body, b); });
  if (!s.ok()) return s;
  return r;
}

absl::StatusOr<DockerInspect> ParseInspect(std::string_view json) {
  pb::Struct s;
  if (absl::Status st = ParseJson(json, &s); !st.ok()) return st;
  DockerInspect in;
  in.container.id = StringOf(s, "Id");
  in.container.name = StringOf(s, "Name");
  if (absl::StartsWith(in.container.name, "/")) in.container.name.erase(0, 1);
  if (const pb::Struct* c = ObjectOf(s, "Config")) in.container.image = StringOf(*c, "Image");
  if (in.container.image.empty()) in.container.image = StringOf(s, "Image");
  if (const pb::Struct* st = ObjectOf(s, "State")) {
    const pb::Value* pid = Member(*st, "Pid");
    if (pid != nullptr && pid->kind_case() == pb::Value::kNumberValue && pid->number_value() > 0 &&
        pid->number_value() < 1e9) {
      in.pid = static_cast<int64_t>(pid->number_value());
    }
  }
  if (const pb::Struct* n = ObjectOf(s, "NetworkSettings")) {
    in.sandbox_key = StringOf(*n, "SandboxKey");
  }
  if (const pb::Struct* h = ObjectOf(s, "HostConfig"))
    in.network_mode = StringOf(*h, "NetworkMode");
  if (in.container.id.empty()) return absl::DataLossError("inspect reply without an Id");
  return in;
}

absl::StatusOr<std::vector<std::string>> ParseContainerList(std::string_view json) {
  pb::ListValue list;
  if (absl::Status st = ParseJson(json, &list); !st.ok()) return st;
  std::vector<std::string> ids;
  for (const pb::Value& v : list.values()) {
    if (v.kind_case() != pb::Value::kStructValue) continue;
    std::string id = StringOf(v.struct_value(), "Id");
    // It goes into a request path: only the ids the engine makes (hex) are taken.
    const bool plain = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c));
    });
    if (plain) ids.push_back(std::move(id));
  }
  return ids;
}

bool IsRefreshEvent(std::string_view line) {
  pb::Struct s;
  if (!ParseJson(line, &s).ok() || StringOf(s, "Type") != "container") return false;
  const std::string action = StringOf(s, "Action");
  return action == "start" || action == "die" || action == "destroy";
}

// ---- DockerIndex ----

absl::StatusOr<std::unique_ptr<DockerIndex>> DockerIndex::Create(DockerIndexOptions opts,
                                                                 Metrics* metrics) {
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return Errno("eventfd");
  return std::unique_ptr<DockerIndex>(new DockerIndex(std::move(opts), std::move(wake), metrics));
}

DockerIndex::DockerIndex(DockerIndexOptions opts, UniqueFd wake, Metrics* metrics)
    : opts_(std::move(opts)),
      wake_(std::move(wake)),
      warn_(opts_.warn_interval),
      map_(std::make_shared<DockerMap>()) {
  if (metrics != nullptr) {
    init_enabled_ = &metrics->Count("initEnrichers", "docker", "enabled");
    init_error_ = &metrics->Count("initEnrichers", "docker", "error");
    lists_ = &metrics->Count("dockermeta", "rebuild", "count");
    list_errors_ = &metrics->Count("dockermeta", "rebuild", "error");
    events_ = &metrics->Count("dockermeta", "events", "count");
    event_errors_ = &metrics->Count("dockermeta", "events", "error");
    containers_gauge_ = &metrics->Gauge("dockermeta", "containers", "gauge");
  }
}

DockerIndex::~DockerIndex() { Stop(); }

void DockerIndex::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void DockerIndex::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_fast_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const DockerMap> DockerIndex::Current() const {
  absl::MutexLock lock(&mu_);
  return map_;
}

std::string DockerIndex::api_prefix() const {
  absl::MutexLock lock(&mu_);
  return prefix_;
}

void DockerIndex::RequestRefresh() {
  {
    absl::MutexLock lock(&mu_);
    refresh_ = true;
  }
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

bool DockerIndex::TakeRefresh() {
  absl::MutexLock lock(&mu_);
  return std::exchange(refresh_, false);
}

void DockerIndex::DrainWake() {
  uint64_t n = 0;
  (void)!::read(wake_.get(), &n, sizeof(n));
}

bool DockerIndex::Pause(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || refresh_; };
  mu_.AwaitWithTimeout(absl::Condition(&woken), d);
  return !stop_;
}

absl::Status DockerIndex::Negotiate() {
  // As upstream: GET /version and speak min(ours, ApiVersion), at least MinAPIVersion. An engine
  // whose /version fails with a status (a proxy that filters it) is asked /_ping's API-Version;
  // failing that, unversioned paths (the engine's own default).
  std::string version;
  auto v = Fetch("/version");
  if (!v.ok()) return v.status();
  if (v->status == 200) {
    pb::Struct s;
    if (ParseJson(v->body, &s).ok()) {
      version = NegotiateApiVersion(StringOf(s, "ApiVersion"), StringOf(s, "MinAPIVersion"),
                                    opts_.max_api_version);
    }
  } else {
    auto ping = Fetch("/_ping");
    if (!ping.ok()) return ping.status();
    if (ping->status == 200) {
      version = NegotiateApiVersion(ping->api_version, "", opts_.max_api_version);
    }
  }
  absl::MutexLock lock(&mu_);
  prefix_ = version.empty() ? "" : absl::StrCat("/v", version);
  negotiated_ = true;
  return absl::OkStatus();
}

uint64_t DockerIndex::ResolveInode(const DockerInspect& in) const {
  // Upstream keys by stat(SandboxKey); a daemon that cannot see /run/docker/netns (in a container
  // without it mounted) still finds the namespace through the container's first process.
  if (!in.sandbox_key.empty()) {
    if (const uint64_t ino = InodeOf(in.sandbox_key); ino != 0) return ino;
  }
  if (in.pid > 0) return InodeOf(absl::StrCat(opts_.proc, "/", in.pid, "/ns/net"));
  return 0;
}

absl::StatusOr<DockerMap> DockerIndex::List(const std::string& prefix) {
  auto list = Fetch(absl::StrCat(prefix, "/containers/json"));
  if (!list.ok()) return list.status();
  if (list->status != 200) {
    return absl::UnavailableError(absl::StrCat("GET /containers/json: HTTP ", list->status));
  }
  auto ids = ParseContainerList(list->body);
  if (!ids.ok()) return ids.status();
  if (ids->size() > opts_.max_containers) ids->resize(opts_.max_containers);
  std::vector<DockerContainer> found;
  for (const std::string& id : *ids) {
    auto r = Fetch(absl::StrCat(prefix, "/containers/", id, "/json"));
    if (!r.ok()) {
      if (absl::IsCancelled(r.status())) return r.status();
      continue;  // one container gone between list and inspect: skipped, as upstream
    }
    if (r->status != 200) continue;
    auto in = ParseInspect(r->body);
    if (!in.ok()) continue;
    // A host-network container's sandbox is the host's namespace, and one joined to another's
    // (container:<id>) shares that one's: neither names the namespace.
    if (in->network_mode == "host" || absl::StartsWith(in->network_mode, "container:")) continue;
    in->container.netns_inode = ResolveInode(*in);
    if (in->container.netns_inode != 0) found.push_back(std::move(in->container));
  }
  // Several containers in one namespace (pods): the first by id, whatever the list's order.
  std::sort(found.begin(), found.end(),
            [](const DockerContainer& a, const DockerContainer& b) { return a.id < b.id; });
  DockerMap map;
  for (DockerContainer& c : found) map.Add(std::move(c));
  return map;
}

void DockerIndex::Install(DockerMap map) {
  if (lists_ != nullptr) lists_->Increment();
  if (containers_gauge_ != nullptr) containers_gauge_->Set(static_cast<double>(map.size()));
  std::string prefix;
  {
    absl::MutexLock lock(&mu_);
    // The first list is logged whatever it found; later ones only when something changed.
    if (std::exchange(listed_, true) && *map_ == map) return;
    map_ = std::make_shared<const DockerMap>(std::move(map));
    generation_.fetch_add(1, std::memory_order_acq_rel);
    prefix = prefix_;
  }
  XTCP_LOG(kInfo, "-enrichContainer: %d containers with their own network namespace (API %s)",
           Current()->size(), prefix.empty() ? "unversioned" : prefix.substr(2));
}

absl::Status DockerIndex::Refresh() {
  bool negotiated;
  {
    absl::MutexLock lock(&mu_);
    negotiated = negotiated_;
  }
  if (!negotiated) {
    if (absl::Status s = Negotiate(); !s.ok()) return s;
  }
  auto map = List(api_prefix());
  if (!map.ok()) {
    // Unreachable: negotiate again next time (the engine may come back as another version).
    if (absl::IsUnavailable(map.status()) || absl::IsDeadlineExceeded(map.status())) {
      absl::MutexLock lock(&mu_);
      negotiated_ = false;
    }
    return map.status();
  }
  Install(std::move(*map));
  return absl::OkStatus();
}

void DockerIndex::Failed(std::string_view what, const absl::Status& s) {
  uint64_t held = 0;
  if (!warn_.Admit(&held)) return;
  bool listed;
  {
    absl::MutexLock lock(&mu_);
    listed = listed_;
  }
  XTCP_LOG(kWarn, "-enrichContainer: %s on %s: %s; %s%s", what, opts_.socket,
           std::string(s.message()),
           listed ? absl::StrCat("container columns keep the last list (", Current()->size(),
                                 " containers)")
                  : "container columns left empty until it answers",
           held ? absl::StrCat(" (", held, " similar messages suppressed)") : "");
}

absl::StatusOr<HttpResponse> DockerIndex::Fetch(std::string_view target) {
  const absl::Time deadline = absl::Now() + opts_.request_timeout;
  HttpResponse r;
  // A refresh asked meanwhile is left in refresh_ (FollowEvents looks at it after each list).
  auto woken = [this]() -> absl::Status {
    DrainWake();
    if (stop_fast_.load(std::memory_order_acquire)) return absl::CancelledError("stopping");
    return absl::OkStatus();
  };
  absl::Status s = Get(opts_.socket, target, deadline, deadline, wake_.get(), woken, &r,
                       [&](std::string_view b) { return AppendBody(&r.body, b); });
  if (!s.ok()) return s;
  return r;
}

absl::Status DockerIndex::FollowEvents(const std::string& prefix) {
  const std::string target =
      absl::StrCat(prefix, "/events?filters=",
                   PercentEncode(R"({"type":["container"],"event":["start","die","destroy"]})"));
  auto relist = [&] {
    // At most twice: a refresh asked during the first list gets a second.
    for (int i = 0; i < 2; ++i) {
      if (absl::Status s = Refresh(); !s.ok()) {
        if (list_errors_ != nullptr) list_errors_->Increment();
        Failed("list", s);
      }
      if (!TakeRefresh()) break;
    }
  };
  if (TakeRefresh()) relist();
  std::string line;
  bool refresh = false;
  auto woken = [&]() -> absl::Status {
    DrainWake();
    if (stop_fast_.load(std::memory_order_acquire)) return absl::CancelledError("stopping");
    if (TakeRefresh()) relist();
    return absl::OkStatus();
  };
  HttpResponse head;
  auto on_body = [&](std::string_view b) -> absl::Status {
    if (head.status != 200) return absl::OkStatus();  // an error's body: not events
    for (;;) {
      const size_t nl = b.find('\n');
      line.append(b.substr(0, nl));
      if (line.size() > kMaxEventLine) return absl::DataLossError("event line too long");
      if (nl == std::string_view::npos) break;
      if (!line.empty() && IsRefreshEvent(line)) {
        if (events_ != nullptr) events_->Increment();
        refresh = true;
      }
      line.clear();
      b.remove_prefix(nl + 1);
    }
    if (std::exchange(refresh, false)) relist();
    return absl::OkStatus();
  };
  // The head within the request timeout; the body (the stream) has no deadline.
  absl::Status s = Get(opts_.socket, target, absl::Now() + opts_.request_timeout,
                       absl::InfiniteFuture(), wake_.get(), woken, &head, on_body);
  if (!s.ok()) return s;
  if (head.status != 200)
    return absl::UnavailableError(absl::StrCat("GET /events: HTTP ", head.status));
  return absl::DataLossError("the event stream ended");
}

void DockerIndex::Loop() {
  absl::Duration backoff = opts_.retry_delay;
  while (!stop_fast_.load(std::memory_order_acquire)) {
    TakeRefresh();
    DrainWake();
    absl::Status s = Refresh();
    if (!first_list_done_ && !absl::IsCancelled(s)) {
      first_list_done_ = true;
      prometheus::Counter* first = s.ok() ? init_enabled_ : init_error_;
      if (first != nullptr) first->Increment();
    }
    if (!s.ok()) {
      if (absl::IsCancelled(s)) return;
      if (list_errors_ != nullptr) list_errors_->Increment();
      Failed("list", s);
      if (!Pause(backoff)) return;
      backoff = std::min(backoff * 2, opts_.retry_max);
      continue;
    }
    const absl::Time opened = absl::Now();
    absl::Status e = FollowEvents(api_prefix());
    if (absl::IsCancelled(e) || stop_fast_.load(std::memory_order_acquire)) return;
    if (event_errors_ != nullptr) event_errors_->Increment();
    Failed("events", e);
    // A stream that lasted is not an engine in trouble: start the backoff again.
    if (absl::Now() - opened > opts_.retry_max) backoff = opts_.retry_delay;
    if (!Pause(backoff)) return;
    backoff = std::min(backoff * 2, opts_.retry_max);
  }
}

}  // namespace xtcp::enrich
