#include "observe/test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace xtcp::testing {

std::unique_ptr<TestServer> StartServer(const observe::HttpServerOptions& opts) {
  auto ts = std::make_unique<TestServer>();
  auto server = observe::HttpServer::Start(opts, &ts->metrics, &ts->readiness);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return nullptr;
  }
  ts->server = std::move(*server);
  return ts;
}

observe::HttpResponse Get(uint16_t port, const std::string& target, absl::Duration timeout) {
  auto r = observe::HttpGet("127.0.0.1", port, target, timeout);
  if (!r.ok()) {
    observe::HttpResponse failed;
    failed.body = std::string(r.status().message());
    return failed;
  }
  return *r;
}

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

bool WaitPeerClose(int fd, absl::Duration timeout, std::string* got) {
  const absl::Time deadline = absl::Now() + timeout;
  char buf[65536];
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      if (got != nullptr) got->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) return true;
  }
}

std::string Exchange(uint16_t port, const std::string& bytes, absl::Duration timeout) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string got;
  WaitPeerClose(fd, timeout, &got);
  close(fd);
  return got;
}

}  // namespace xtcp::testing
