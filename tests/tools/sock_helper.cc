// sock_helper: builds the loopback scenario of loopback_scenario.h in the current network
// namespace (meant to be a fresh one, see tests/testdata/make_captures.sh), prints
// "ready <sockets>" on stdout and keeps every socket open, idle, until stdin is closed.
// Errors: one line on stderr, exit 1.

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tools/loopback_scenario.h"

namespace {

using namespace xtcp::testing::scenario;  // NOLINT(build/namespaces): the scenario constants

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Owns a socket descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Options applied to a socket before bind/connect.
struct Opts {
  const char* cong = "cubic";
  int tos = -1;     // IP_TOS
  int tclass = -1;  // IPV6_TCLASS
  int v6only = -1;  // IPV6_V6ONLY
  int mark = -1;    // SO_MARK
  bool keepalive = false;
  bool bind_to_lo = false;
};

absl::Status SetInt(int fd, int level, int opt, int v, const char* name) {
  if (setsockopt(fd, level, opt, &v, sizeof(v)) != 0) return Errno(name);
  return absl::OkStatus();
}

absl::Status Apply(int fd, const Opts& o) {
  if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o.cong, std::strlen(o.cong)) != 0) {
    return Errno(absl::StrCat("TCP_CONGESTION ", o.cong));
  }
  absl::Status st = SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  if (st.ok() && o.tos >= 0) st = SetInt(fd, IPPROTO_IP, IP_TOS, o.tos, "IP_TOS");
  if (st.ok() && o.tclass >= 0) st = SetInt(fd, IPPROTO_IPV6, IPV6_TCLASS, o.tclass, "TCLASS");
  if (st.ok() && o.v6only >= 0) st = SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.v6only, "V6ONLY");
  if (st.ok() && o.mark >= 0) st = SetInt(fd, SOL_SOCKET, SO_MARK, o.mark, "SO_MARK");
  if (st.ok() && o.keepalive) st = SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
  if (st.ok() && o.bind_to_lo &&
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", sizeof("lo")) != 0) {
    return Errno("SO_BINDTODEVICE lo");
  }
  // No call may block the scenario for long.
  const timeval tv{5, 0};
  if (st.ok() && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return Errno("SO_RCVTIMEO");
  }
  return st;
}

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = 0;
};

Addr MakeAddr(int family, const char* host, uint16_t port) {
  Addr a;
  a.family = family;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    inet_pton(AF_INET, host, &in->sin_addr);
    a.len = sizeof(*in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, host, &in6->sin6_addr);
    a.len = sizeof(*in6);
  }
  return a;
}

absl::StatusOr<Fd> NewSocket(int family, const Opts& o) {
  Fd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Errno("socket");
  if (absl::Status st = Apply(fd.get(), o); !st.ok()) return st;
  return fd;
}

absl::StatusOr<Fd> Listen(const Addr& a, const Opts& o, int backlog = kListenBacklog) {
  absl::StatusOr<Fd> fd = NewSocket(a.family, o);
  if (!fd.ok()) return fd.status();
  if (bind(fd->get(), reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0) return Errno("bind");
  if (listen(fd->get(), backlog) != 0) return Errno("listen");
  return fd;
}

absl::StatusOr<Fd> Connect(const Addr& a, const Opts& o, bool nonblocking = false) {
  absl::StatusOr<Fd> fd = NewSocket(a.family, o);
  if (!fd.ok()) return fd.status();
  if (nonblocking) fcntl(fd->get(), F_SETFL, O_NONBLOCK);
  if (connect(fd->get(), reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0 &&
      !(nonblocking && errno == EINPROGRESS)) {
    return Errno("connect");
  }
  return fd;
}

absl::StatusOr<Fd> Accept(const Fd& listener) {
  Fd fd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (fd.get() < 0) return Errno("accept");
  return fd;
}

absl::Status WriteAll(int fd, size_t n) {
  std::vector<char> buf(n, 'x');
  for (size_t done = 0; done < n;) {
    const ssize_t w = write(fd, buf.data() + done, n - done);
    if (w <= 0) return Errno("write");
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, size_t n) {
  std::vector<char> buf(n);
  for (size_t done = 0; done < n;) {
    const ssize_t r = read(fd, buf.data() + done, n - done);
    if (r <= 0) return r == 0 ? absl::InternalError("early EOF") : Errno("read");
    done += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

// Reads until the peer's FIN.
absl::Status ReadEof(int fd) {
  char c;
  const ssize_t r = read(fd, &c, 1);
  if (r != 0) return r < 0 ? Errno("read EOF") : absl::InternalError("data instead of EOF");
  return absl::OkStatus();
}

// The client sends kEchoBytes, the server reads them and sends them back.
absl::Status Echo(const Fd& client, const Fd& server) {
  absl::Status st = WriteAll(client.get(), kEchoBytes);
  if (st.ok()) st = ReadAll(server.get(), kEchoBytes);
  if (st.ok()) st = WriteAll(server.get(), kEchoBytes);
  if (st.ok()) st = ReadAll(client.get(), kEchoBytes);
  return st;
}

// Polls TCP_INFO until the socket is in `state` (2 s at most).
absl::Status WaitForState(int fd, uint8_t state) {
  for (int i = 0; i < 200; ++i) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return Errno("TCP_INFO");
    if (info.tcpi_state == state) return absl::OkStatus();
    usleep(10 * 1000);
  }
  return absl::DeadlineExceededError(absl::StrCat("socket never reached TCP state ", state));
}

class Scenario {
 public:
  absl::Status Build();
  size_t sockets() const { return open_.size() + without_fd_; }

 private:
  // Connects a client, accepts it, exchanges kEchoBytes both ways; keeps both open.
  absl::Status Pair(const Fd& listener, const Addr& to, const Opts& client, Fd* c, Fd* s);

  std::vector<Fd> open_;
  size_t without_fd_ = 0;  // sockets the kernel lists that have no descriptor here
};

absl::Status Scenario::Pair(const Fd& listener, const Addr& to, const Opts& client, Fd* c, Fd* s) {
  absl::StatusOr<Fd> cl = Connect(to, client);
  if (!cl.ok()) return cl.status();
  absl::StatusOr<Fd> sv = Accept(listener);
  if (!sv.ok()) return sv.status();
  if (absl::Status st = Echo(*cl, *sv); !st.ok()) return st;
  *c = *std::move(cl);
  *s = *std::move(sv);
  return absl::OkStatus();
}

absl::Status Scenario::Build() {
  const Addr v4_cubic = MakeAddr(AF_INET, "127.0.0.1", kCubicPort);
  const Addr v4_bbr = MakeAddr(AF_INET, "127.0.0.1", kBbrPort);
  const Addr v6_only = MakeAddr(AF_INET6, "::1", kV6OnlyPort);
  const Addr dual = MakeAddr(AF_INET6, "::", kDualStackPort);
  const Addr dual_v4 = MakeAddr(AF_INET, "127.0.0.1", kDualStackPort);
  const Addr lo = MakeAddr(AF_INET, "127.0.0.1", kBoundToLoPort);
  const Addr full = MakeAddr(AF_INET, "127.0.0.1", kFullBacklogPort);

  Opts cubic, bbr, reno, v6cubic, v6bbr;
  bbr.cong = v6bbr.cong = "bbr";
  reno.cong = "reno";
  Opts bbr_tos = bbr;
  bbr_tos.tos = kTos;
  Opts v6_tclass = v6cubic;
  v6_tclass.tclass = kTclass;
  v6_tclass.v6only = 1;
  Opts dual_stack = cubic;
  dual_stack.v6only = 0;
  Opts bound = cubic;
  bound.bind_to_lo = true;

  absl::StatusOr<Fd> l_cubic = Listen(v4_cubic, cubic);
  absl::StatusOr<Fd> l_bbr = Listen(v4_bbr, bbr_tos);
  absl::StatusOr<Fd> l_v6 = Listen(v6_only, v6_tclass);
  absl::StatusOr<Fd> l_dual = Listen(dual, dual_stack);
  absl::StatusOr<Fd> l_lo = Listen(lo, bound);
  absl::StatusOr<Fd> l_full = Listen(full, cubic, /*backlog=*/0);
  for (const absl::StatusOr<Fd>* l : {&l_cubic, &l_bbr, &l_v6, &l_dual, &l_lo, &l_full}) {
    if (!l->ok()) return l->status();
  }

  Opts keepalive = cubic;
  keepalive.keepalive = true;
  Opts marked = reno;
  marked.mark = static_cast<int>(kMark);
  Opts v6_tclass_client = v6cubic;
  v6_tclass_client.tclass = kTclass;
  const struct {
    const Fd& listener;
    const Addr& to;
    const Opts& client;
  } pairs[] = {
      {*l_cubic, v4_cubic, keepalive},
      {*l_cubic, v4_cubic, marked},
      {*l_bbr, v4_bbr, bbr_tos},
      {*l_v6, v6_only, v6_tclass_client},
      {*l_v6, v6_only, v6bbr},
      {*l_dual, dual_v4, cubic},
      {*l_lo, lo, bound},
  };
  for (const auto& p : pairs) {
    Fd c, s;
    if (absl::Status st = Pair(p.listener, p.to, p.client, &c, &s); !st.ok()) return st;
    open_.push_back(std::move(c));
    open_.push_back(std::move(s));
  }

  // TIME-WAIT: the client closes first, the server follows; only the client's TIME-WAIT stays.
  {
    Fd c, s;
    if (absl::Status st = Pair(*l_cubic, v4_cubic, cubic, &c, &s); !st.ok()) return st;
    c = Fd();
    if (absl::Status st = ReadEof(s.get()); !st.ok()) return st;
    s = Fd();
    ++without_fd_;  // the client's TIME-WAIT
  }
  int half_closed_client = -1;
  // Half close: FIN-WAIT-2 (client, send side shut) and CLOSE-WAIT (server, got the FIN).
  {
    Fd c, s;
    if (absl::Status st = Pair(*l_cubic, v4_cubic, cubic, &c, &s); !st.ok()) return st;
    if (shutdown(c.get(), SHUT_WR) != 0) return Errno("shutdown");
    if (absl::Status st = ReadEof(s.get()); !st.ok()) return st;
    half_closed_client = c.get();
    open_.push_back(std::move(c));
    open_.push_back(std::move(s));
  }
  // Unread data in the server's receive queue.
  {
    absl::StatusOr<Fd> c = Connect(v4_cubic, cubic);
    if (!c.ok()) return c.status();
    absl::StatusOr<Fd> s = Accept(*l_cubic);
    if (!s.ok()) return s.status();
    if (absl::Status st = WriteAll(c->get(), kUnreadBytes); !st.ok()) return st;
    open_.push_back(*std::move(c));
    open_.push_back(*std::move(s));
  }
  // Let every delayed ACK go out (the half-closed client must reach FIN-WAIT-2) so that nothing
  // changes state between two looks at the namespace.
  if (absl::Status st = WaitForState(half_closed_client, TCP_FIN_WAIT2); !st.ok()) return st;
  usleep(100 * 1000);
  // Backlog 0: the first connection waits in the accept queue, the next SYN is dropped, so that
  // client stays in SYN-SENT; made last, its first retransmission is a second away.
  {
    absl::StatusOr<Fd> queued = Connect(full, cubic);
    if (!queued.ok()) return queued.status();
    absl::StatusOr<Fd> syn_sent = Connect(full, cubic, /*nonblocking=*/true);
    if (!syn_sent.ok()) return syn_sent.status();
    open_.push_back(*std::move(queued));
    ++without_fd_;  // its server side, never accepted
    open_.push_back(*std::move(syn_sent));
  }
  for (absl::StatusOr<Fd>* l : {&l_cubic, &l_bbr, &l_v6, &l_dual, &l_lo, &l_full}) {
    open_.push_back(std::move(**l));
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  Scenario scenario;
  if (absl::Status st = scenario.Build(); !st.ok()) {
    std::fprintf(stderr, "sock_helper: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  if (scenario.sockets() != kSockets) {
    std::fprintf(stderr, "sock_helper: %zu sockets, loopback_scenario.h says %zu\n",
                 scenario.sockets(), kSockets);
    return 1;
  }
  std::printf("ready %zu\n", scenario.sockets());
  std::fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
  return 0;
}
