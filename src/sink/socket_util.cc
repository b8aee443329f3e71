#include "sink/socket_util.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "common/write_all.h"

namespace xtcp::sink {
namespace {

absl::Status ErrnoStatus(std::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(AsAbsl(what), ": ", std::strerror(err)));
}

bool KnownService(const std::string& name) {
  servent entry{};
  servent* found = nullptr;
  char buf[1024];
  return ::getservbyname_r(name.c_str(), nullptr, &entry, buf, sizeof(buf), &found) == 0 &&
         found != nullptr;
}

// One datagram of all `parts`; 0 or the errno of the failed sendmsg.
int SendDatagram(int fd, std::span<const std::string_view> parts) {
  absl::InlinedVector<iovec, 4> iov;
  for (std::string_view p : parts) iov.push_back({const_cast<char*>(p.data()), p.size()});
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

}  // namespace

absl::StatusOr<UniqueFd> ConnectTo(const SockAddr& addr, int socktype, absl::Duration timeout) {
  UniqueFd fd(::socket(addr.family, socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ErrnoStatus("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) != 0) {
    if (errno != EINPROGRESS) return ErrnoStatus("connect", errno);
    pollfd p{fd.get(), POLLOUT, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
    int rc;
    do {
      rc = ::poll(&p, 1, ms);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return absl::DeadlineExceededError("connect: timed out");
    if (rc < 0) return ErrnoStatus("poll", errno);
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ErrnoStatus("connect", err);
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  timeval tv = absl::ToTimeval(timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view address, std::string_view dest,
                                       std::string_view syntax) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", AsAbsl(dest),
                                                   "\" for flag -dest: ", AsAbsl(why), " (want ",
                                                   AsAbsl(syntax), ")"));
  };
  HostPort hp;
  std::string_view rest;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']' in address");
    hp.host = std::string(address.substr(1, close - 1));
    rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("missing port in address");
    rest.remove_prefix(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port in address");
    hp.host = std::string(address.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return bad("too many colons in address");
    rest = address.substr(colon + 1);
  }
  if (rest.empty()) return bad("missing port in address");
  if (hp.host.find_first_of("[]/ ") != std::string::npos ||
      rest.find_first_of(":[]/ ") != std::string_view::npos) {
    return bad("malformed address");
  }
  hp.port = std::string(rest);
  bool numeric = true;
  for (const char c : hp.port) numeric &= c >= '0' && c <= '9';
  uint32_t port = 0;
  if (numeric && (!absl::SimpleAtoi(hp.port, &port) || port == 0 || port > 65535)) {
    return bad("port out of range 1..65535");
  }
  if (!numeric && !KnownService(hp.port)) return bad("unknown port name");
  return hp;
}

absl::StatusOr<std::vector<SockAddr>> Resolve(const HostPort& hp, int socktype, bool numeric_only) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_ADDRCONFIG | (numeric_only ? AI_NUMERICHOST : 0);
  addrinfo* res = nullptr;
  const int rc =
      ::getaddrinfo(hp.host.empty() ? nullptr : hp.host.c_str(), hp.port.c_str(), &hints, &res);
  if (rc != 0) {
    return absl::NotFoundError(
        absl::StrCat("resolve ", hp.host, ":", hp.port, ": ", ::gai_strerror(rc)));
  }
  std::vector<SockAddr> out;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SockAddr a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    a.family = ai->ai_family;
    out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return absl::NotFoundError(absl::StrCat("resolve ", hp.host, ": no address"));
  return out;
}

absl::StatusOr<SockAddr> UnixAddress(std::string_view path) {
  SockAddr a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.addr);
  if (path.empty() || path.size() >= sizeof(un->sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix socket path must be 1..", sizeof(un->sun_path) - 1, " bytes"));
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  a.family = AF_UNIX;
  return a;
}

absl::Status CheckUnixPath(std::string_view path, std::string_view dest, std::string_view scheme) {
  if (UnixAddress(path).ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", AsAbsl(dest), "\" for flag -dest: ", AsAbsl(scheme),
                   ": needs a socket path of 1..", sizeof(sockaddr_un::sun_path) - 1, " bytes (",
                   AsAbsl(scheme), ":/path)"));
}

PublishCounters ResolvePublishCounters(Metrics* m, std::string_view function) {
  if (m == nullptr) return {};
  return {.published = &m->Count(function, "Publish", "count"),
          .errors = &m->Count(function, "Publish", "error"),
          .bytes = &m->Count(function, "PublishBytes", "count"),
          .latency = &m->Summary(function, "Publish", "count"),
          .error_latency = &m->Summary(function, "Publish", "error")};
}

void PublishCounters::Record(absl::Time start, size_t n, const absl::Status& s) const {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (s.ok()) {
    Inc(published);
    Inc(bytes, static_cast<double>(n));
    if (latency != nullptr) latency->Observe(seconds);
  } else {
    Inc(errors);
    if (error_latency != nullptr) error_latency->Observe(seconds);
  }
}

SocketCounters ResolveSocketCounters(Metrics* m, const UpstreamCounterNames& up,
                                     std::string_view ours, int socktype) {
  if (m == nullptr) return {};
  SocketCounters c{.writes = &m->Count(up.function, up.writes, "count"),
                   .write_bytes = &m->Count(up.function, up.write_bytes, "count"),
                   .write_errors = &m->Count(up.function, up.write_errors, "error"),
                   .connects = &m->Count(ours, "connect", "count"),
                   .connect_errors = &m->Count(ours, "connect", "error"),
                   .backoff_errors = &m->Count(ours, "backoff", "error")};
  if (socktype == SOCK_STREAM) c.peer_closed = &m->Count(ours, "peerClosed", "count");
  if (socktype == SOCK_DGRAM) c.too_large = &m->Count(ours, "tooLarge", "error");
  return c;
}

ReconnectingSocket::ReconnectingSocket(Options opts, SocketCounters counters)
    : opts_(std::move(opts)),
      log_name_(absl::StrCat("sink ", opts_.name)),
      counters_(counters),
      stream_(opts_.socktype == SOCK_STREAM),
      backoff_(opts_.backoff_initial, opts_.backoff_max) {}

ReconnectingSocket::Options ReconnectingSocket::From(const SinkOptions& sink, int socktype,
                                                     std::string name) {
  Options o;
  o.name = std::move(name);
  o.socktype = socktype;
  o.io_timeout = sink.io_timeout;
  o.backoff_initial = sink.reconnect_backoff_initial;
  o.backoff_max = sink.reconnect_backoff_max;
  return o;
}

absl::Status ReconnectingSocket::Send(std::span<const std::string_view> parts) {
  if (stream_ && fd_.valid() && PeerClosed()) {
    Inc(counters_.peer_closed);
    Drop("peer closed the connection");
  }
  if (!fd_.valid()) {
    if (absl::Status s = Connect(); !s.ok()) return s;
  }
  size_t total = 0;
  for (std::string_view p : parts) total += p.size();
  if (stream_) {
    if (absl::Status s = WriteAllParts(fd_.get(), parts, FdKind::kSocket); !s.ok()) {
      // The stream may now hold half a frame: the next message goes on a new connection.
      Inc(counters_.write_errors);
      Drop(absl::StrCat(s.message(), "; connection dropped"));
      return Fail(std::move(s));
    }
  } else if (const int err = SendDatagram(fd_.get(), parts); err != 0) {
    Inc(counters_.write_errors);
    if (err == EMSGSIZE) Inc(counters_.too_large);
    absl::Status s = err == EAGAIN || err == EWOULDBLOCK
                         ? absl::DeadlineExceededError(absl::StrCat(
                               "send timed out after ", absl::FormatDuration(opts_.io_timeout)))
                         : ErrnoStatus(absl::StrCat("send of ", total, " bytes"), err);
    // EMSGSIZE spoils nothing; a udp ECONNREFUSED reports an earlier datagram's ICMP error.
    const bool keep = err == EMSGSIZE || (err == ECONNREFUSED && opts_.unix_path.empty());
    if (keep) {
      log_limit_.Warn(log_name_, s.message());
    } else {
      Drop(s.message());
    }
    return Fail(std::move(s));
  }
  Inc(counters_.writes);
  Inc(counters_.write_bytes, static_cast<double>(total));
  return absl::OkStatus();
}

absl::Status ReconnectingSocket::Fail(absl::Status s) {
  ++failed_while_down_;
  return absl::Status(s.code(), absl::StrCat(opts_.name, ": ", s.message()));
}

void ReconnectingSocket::Drop(absl::string_view why) {
  fd_.reset();
  log_limit_.Warn(log_name_, absl::StrCat(why, "; reconnecting"));
}

absl::Status ReconnectingSocket::Connect() {
  const absl::Time now = absl::Now();
  if (!backoff_.Ready(now)) {
    Inc(counters_.backoff_errors);
    return Fail(absl::UnavailableError(absl::StrCat(
        "not connected; next attempt in ", absl::FormatDuration(backoff_.Remaining(now)))));
  }
  absl::StatusOr<UniqueFd> fd = absl::UnavailableError("no address");
  int family = AF_UNIX;
  if (!opts_.unix_path.empty()) {
    auto addr = UnixAddress(opts_.unix_path);
    fd = addr.ok() ? ConnectTo(*addr, opts_.socktype, opts_.io_timeout) : addr.status();
  } else {
    auto addrs = Resolve(opts_.hp, opts_.socktype);
    if (!addrs.ok()) fd = addrs.status();
    for (size_t i = 0; addrs.ok() && i < addrs->size() && !fd.ok(); ++i) {
      fd = ConnectTo((*addrs)[i], opts_.socktype, opts_.io_timeout);
      family = (*addrs)[i].family;
    }
  }
  if (!fd.ok()) {
    backoff_.Failed(absl::Now());
    Inc(counters_.connect_errors);
    log_limit_.Warn(log_name_, fd.status().message());
    return Fail(absl::UnavailableError(fd.status().message()));
  }
  if (stream_ && family != AF_UNIX) {
    const int on = 1;
    ::setsockopt(fd->get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  }
  fd_ = *std::move(fd);
  backoff_.Succeeded();
  Inc(counters_.connects);
  if (opts_.on_connect) opts_.on_connect(fd_.get(), family);
  XTCP_LOG(kInfo, "sink %s: connected%s", opts_.name,
           failed_while_down_ == 0
               ? ""
               : absl::StrCat("; ", failed_while_down_, " sends failed while not connected"));
  failed_while_down_ = 0;
  return absl::OkStatus();
}

// True when the peer has closed or reset the connection. Anything the peer sent is discarded
// (a sink's peer has nothing to say). Bounded: at most 64 reads of pending bytes.
bool ReconnectingSocket::PeerClosed() {
  for (int i = 0; i < 64; ++i) {
    pollfd p{fd_.get(), POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) return true;
    char junk[4096];
    const ssize_t n = ::recv(fd_.get(), junk, sizeof(junk), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }
  return false;
}

}  // namespace xtcp::sink
