#include "observe/listen_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xtcp::observe {
namespace {

absl::Status ErrnoError(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(err)));
}

std::string Display(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
    return absl::StrCat("[", buf, "]:", ntohs(s6->sin6_port));
  }
  const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
  return absl::StrCat(buf, ":", ntohs(s4->sin_port));
}

// Sets an IP-level option; a protocol that does not know it (ENOPROTOOPT) is not an error.
absl::Status SetIpOption(int fd, int level, int name, uint32_t value, absl::string_view flag) {
  if (value == 0) return absl::OkStatus();
  const int v = static_cast<int>(value);
  if (setsockopt(fd, level, name, &v, sizeof(v)) != 0 && errno != ENOPROTOOPT) {
    return ErrnoError(absl::StrCat("setsockopt for -", flag, "=", value), errno);
  }
  return absl::OkStatus();
}

// On failure *failed_errno holds the errno of the failing call.
absl::StatusOr<ListenSocket> OpenOne(const sockaddr_storage& want, socklen_t len, bool dual_stack,
                                     const SocketOptions& opts, int* failed_errno = nullptr) {
  int ignored = 0;
  int& saved = failed_errno != nullptr ? *failed_errno : ignored;
  const std::string where = Display(want);
  ListenSocket ls;
  ls.family = want.ss_family;
  ls.dual_stack = dual_stack;
  // Non-blocking: the HTTP server's event loop accepts until EAGAIN.
  ls.fd = UniqueFd(socket(want.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (ls.fd.get() < 0) {
    saved = errno;
    return ErrnoError(absl::StrCat("listen ", where, ": socket"), saved);
  }
  const int fd = ls.fd.get();
  const int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (want.ss_family == AF_INET6) {
    const int v6only = dual_stack ? 0 : 1;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    if (absl::Status s =
            SetIpOption(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, opts.ipv6_hop_limit, "ipv6HopLimit");
        !s.ok()) {
      return s;
    }
  }
  if (want.ss_family == AF_INET || dual_stack) {
    if (absl::Status s = SetIpOption(fd, IPPROTO_IP, IP_TTL, opts.ipv4_ttl, "ipv4Ttl"); !s.ok()) {
      return s;
    }
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&want), len) != 0) {
    saved = errno;
    return ErrnoError(absl::StrCat("listen ", where), saved);
  }
  if (listen(fd, opts.backlog) != 0) return ErrnoError(absl::StrCat("listen ", where), errno);
  sockaddr_storage got = {};
  socklen_t got_len = sizeof(got);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len) != 0) {
    return ErrnoError(absl::StrCat("listen ", where, ": getsockname"), errno);
  }
  ls.port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  ls.display = Display(got);
  ls.local = got;
  return ls;
}

sockaddr_storage Any4(uint16_t port, socklen_t* len) {
  sockaddr_storage ss = {};
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  s4->sin_addr.s_addr = htonl(INADDR_ANY);
  *len = sizeof(sockaddr_in);
  return ss;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid listen address \"", text, "\": ", why,
                     " (want [host]:port, e.g. :9088, 127.0.0.1:9088 or [::1]:9088)"));
  };
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return bad("missing port");
  absl::string_view host = text.substr(0, colon);
  const absl::string_view port_text = text.substr(colon + 1);
  uint32_t port = 0;
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return bad("port must be a number 0-65535");
  }
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return bad("unbalanced [ ]");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return bad("IPv6 addresses need brackets");
  }
  if (host.find_first_of("[] \t/") != absl::string_view::npos) return bad("bad host");
  ListenAddress out;
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(port);
  return out;
}

absl::StatusOr<std::vector<ListenSocket>> OpenListenSockets(const ListenAddress& addr,
                                                            const SocketOptions& opts) {
  std::vector<ListenSocket> out;
  sockaddr_storage ss = {};
  socklen_t len = 0;
  if (addr.host.empty() || addr.host == "::") {
    // Every address, like Go's ":port": one dual-stack socket, or plain IPv4 without IPv6.
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(addr.port);
    s6->sin6_addr = in6addr_any;
    int err = 0;
    auto six = OpenOne(ss, sizeof(sockaddr_in6), /*dual_stack=*/true, opts, &err);
    if (six.ok()) {
      out.push_back(std::move(*six));
      return out;
    }
    if (addr.host == "::" || (err != EAFNOSUPPORT && err != EADDRNOTAVAIL)) return six.status();
    ss = Any4(addr.port, &len);
    auto four = OpenOne(ss, len, false, opts);
    if (!four.ok()) return four.status();
    out.push_back(std::move(*four));
    return out;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.host.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(addr.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, addr.host.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(addr.port);
    len = sizeof(sockaddr_in6);
  } else {
    addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(addr.host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || res == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen ", addr.host, ":", addr.port,
                       ": cannot resolve host: ", rc != 0 ? gai_strerror(rc) : "no address"));
    }
    const addrinfo* pick = res;
    for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        pick = a;
        break;
      }
    }
    std::memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
    len = pick->ai_addrlen;
    freeaddrinfo(res);
    if (ss.ss_family == AF_INET) {
      s4->sin_port = htons(addr.port);
    } else {
      s6->sin6_port = htons(addr.port);
    }
  }
  auto one = OpenOne(ss, len, false, opts);
  if (!one.ok()) return one.status();
  out.push_back(std::move(*one));
  return out;
}

}  // namespace xtcp::observe
