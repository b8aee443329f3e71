// sockfarm: opens idle TCP connections on loopback for tests and benchmarks, then waits.
//
//   sockfarm [-n CONNS] [-6] [-cc cubic|bbr|reno] [-tos N] [-port P] [-listeners N]
//
// Each connection is a client socket plus the accepted server socket (two sockets), after a few
// bytes each way. Prints "ready <sockets>" on stdout once everything is open, then sleeps until
// stdin reaches EOF (or SIGTERM), so the parent controls its lifetime with a pipe.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "sockfarm: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void Tune(int fd, const std::string& cc, int tos, bool v6) {
  if (!cc.empty() && ::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc.data(), cc.size()) != 0)
    Die("TCP_CONGESTION");
  if (tos >= 0) {
    if (v6) {
      if (::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)) != 0) Die("IPV6_TCLASS");
    } else if (::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) != 0) {
      Die("IP_TOS");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int conns = 10, tos = -1, listeners = 1;
  bool v6 = false;
  std::string cc;
  uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sockfarm: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (a == "-n") {
      conns = std::atoi(next().c_str());
    } else if (a == "-6") {
      v6 = true;
    } else if (a == "-cc") {
      cc = next();
    } else if (a == "-tos") {
      tos = std::atoi(next().c_str());
    } else if (a == "-port") {
      port = static_cast<uint16_t>(std::atoi(next().c_str()));
    } else if (a == "-listeners") {
      listeners = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr, "sockfarm: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);

  sockaddr_storage addr{};
  socklen_t alen;
  if (v6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_loopback;
    alen = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    alen = sizeof(sockaddr_in);
  }
  const int family = v6 ? AF_INET6 : AF_INET;
  std::vector<int> fds;
  std::vector<sockaddr_storage> bound;
  for (int l = 0; l < listeners; ++l) {
    const int lfd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) Die("socket");
    Tune(lfd, cc, tos, v6);
    const int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage la = addr;
    const uint16_t p = port ? static_cast<uint16_t>(port + l) : 0;
    if (v6) {
      reinterpret_cast<sockaddr_in6*>(&la)->sin6_port = htons(p);
    } else {
      reinterpret_cast<sockaddr_in*>(&la)->sin_port = htons(p);
    }
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&la), alen) != 0) Die("bind");
    if (::listen(lfd, 4096) != 0) Die("listen");
    socklen_t sl = alen;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&la), &sl);
    fds.push_back(lfd);
    bound.push_back(la);
  }
  int sockets = listeners;
  for (int i = 0; i < conns; ++i) {
    const int lfd = fds[static_cast<size_t>(i % listeners)];
    const sockaddr_storage& la = bound[static_cast<size_t>(i % listeners)];
    const int c = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) Die("socket");
    Tune(c, cc, tos, v6);
    if (::connect(c, reinterpret_cast<const sockaddr*>(&la), alen) != 0) Die("connect");
    const int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) Die("accept");
    char b[8] = "ping";
    if (::write(c, b, 4) != 4 || ::read(s, b, 4) != 4 || ::write(s, b, 4) != 4 ||
        ::read(c, b, 4) != 4)
      Die("io");
    fds.push_back(c);
    fds.push_back(s);
    sockets += 2;
  }
  std::printf("ready %d\n", sockets);
  std::fflush(stdout);
  char buf[64];
  while (::read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
  return 0;
}
