#include "observe/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"
#include "observe/listen_socket.h"

namespace xtcp::observe {
namespace {

// Waits for `events` on fd until the deadline; false on timeout.
absl::Status WaitFor(int fd, short events, absl::Time deadline, absl::string_view what) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": timed out"));
    }
    pollfd p = {fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
    if (rc > 0) return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(const std::string& host, uint16_t port,
                                     const std::string& target, absl::Duration timeout,
                                     size_t max_body) {
  const absl::Time deadline = absl::Now() + timeout;
  sockaddr_storage ss = {};
  socklen_t len = 0;
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    len = sizeof(*s4);
  } else if (inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    len = sizeof(*s6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", host));
  }
  const std::string where =
      absl::StrCat(ss.ss_family == AF_INET6 ? absl::StrCat("[", host, "]") : host, ":", port);
  UniqueFd fd(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat("connect ", where, ": ", std::strerror(errno)));
    }
    if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline, absl::StrCat("connect ", where));
        !s.ok()) {
      return s;
    }
    int err = 0;
    socklen_t elen = sizeof(err);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) {
      return absl::UnavailableError(absl::StrCat("connect ", where, ": ", std::strerror(err)));
    }
  }
  const std::string request = absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", where,
                                           "\r\nUser-Agent: xtcp2\r\nConnection: close\r\n\r\n");
  size_t off = 0;
  while (off < request.size()) {
    if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline, absl::StrCat("send to ", where));
        !s.ok()) {
      return s;
    }
    const ssize_t n = send(fd.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat("send to ", where, ": ", std::strerror(errno)));
    }
    off += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[64 * 1024];
  for (;;) {
    if (absl::Status s = WaitFor(fd.get(), POLLIN, deadline, absl::StrCat("read from ", where));
        !s.ok()) {
      return s;
    }
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) {
      // A reset after a complete reply still counts as the reply.
      if (errno == ECONNRESET && !raw.empty()) break;
      return absl::UnavailableError(absl::StrCat("read from ", where, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > max_body + 64 * 1024) break;
  }
  // "HTTP/1.x SSS reason\r\n" headers "\r\n\r\n" body
  const size_t head_end = raw.find("\r\n\r\n");
  const size_t line_end = raw.find("\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos || line_end < 12) {
    return absl::DataLossError(absl::StrCat("not an HTTP reply from ", where));
  }
  HttpResponse r;
  if (!absl::SimpleAtoi(absl::string_view(raw).substr(9, 3), &r.status)) {
    return absl::DataLossError(absl::StrCat("bad HTTP status line from ", where));
  }
  r.headers = raw.substr(line_end + 2, head_end - line_end - 2);
  r.body = raw.substr(head_end + 4, max_body);
  return r;
}

}  // namespace xtcp::observe
