#include "sink/socket_util.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/strings.h"

namespace xtcp::sink {

absl::Status ErrnoStatus(std::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(AsAbsl(what), ": ", std::strerror(err)));
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
  if (numeric && (!absl::SimpleAtoi(hp.port, &port) || port > 65535)) {
    return bad("port out of range");
  }
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

absl::StatusOr<UniqueFd> Connect(const SockAddr& addr, int socktype, absl::Duration timeout) {
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

absl::Status Backoff::Gate(std::string_view name, prometheus::Counter* refused) const {
  const absl::Time now = absl::Now();
  if (Ready(now)) return absl::OkStatus();
  Inc(refused);
  return absl::UnavailableError(absl::StrCat(AsAbsl(name), ": not connected; next attempt in ",
                                             absl::FormatDuration(Remaining(now))));
}

void LogLimiter::Warn(absl::string_view name, absl::string_view what) {
  uint64_t held = 0;
  if (Allow(&held)) {
    XTCP_LOG(kWarn, "sink %s: %s (%d similar messages suppressed)", std::string(name),
             std::string(what), held);
  }
}

}  // namespace xtcp::sink
