#pragma once
// Real peers for sink tests: listening stream sockets and bound datagram sockets on loopback (or
// a path in a private temp directory), each with a reader thread that records what arrives.
// Every wait is bounded by a deadline; every thread stops within ~50 ms of Stop().

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace xtcp::testing {

// A private directory for unix socket paths, removed with its sockets at the end.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/xtcp-sink-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    for (const auto& f : files_) ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  std::string File(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// Calls `done()` every 5 ms until it returns true (then true) or `timeout` passes (then false).
// `done()` may act (e.g. send): it is not called again after it succeeded.
inline bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// Binds a socket of `type` to 127.0.0.1/::1 port `port` (0: any) or to `path`.
inline int BindSocket(int family, int type, uint16_t port, const std::string& path) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  } else if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_un*>(&ss);
    a->sun_family = AF_UNIX;
    std::strncpy(a->sun_path, path.c_str(), sizeof(a->sun_path) - 1);
    ::unlink(path.c_str());
    len = sizeof(*a);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline uint16_t LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// Accepts connections and appends everything they send to one byte string (connections one at
// a time, as a sink makes them). Start/Stop/Start again keeps the same port or path.
class StreamPeer {
 public:
  StreamPeer(int family, std::string path = "") : family_(family), path_(std::move(path)) {}
  ~StreamPeer() { Stop(); }

  bool Start() {
    listen_fd_ = BindSocket(family_, SOCK_STREAM, port_, path_);
    if (listen_fd_ < 0 || ::listen(listen_fd_, 8) != 0) return false;
    if (family_ != AF_UNIX) port_ = LocalPort(listen_fd_);
    stop_ = false;
    thread_ = std::thread([this] { Serve(); });
    return true;
  }
  // Closes the listener and every accepted connection (the sink sees FIN).
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

  uint16_t port() const { return port_; }
  std::string bytes() {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  int connections() const { return connections_.load(); }
  bool WaitForBytes(size_t n) {
    return WaitFor([&] { return bytes().size() >= n; });
  }

 private:
  void Serve() {
    int conn = -1;
    while (!stop_) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {conn, POLLIN, 0}};
      if (::poll(p, conn >= 0 ? 2 : 1, 20) <= 0) continue;
      if (p[0].revents & POLLIN) {
        const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          if (conn >= 0) ::close(conn);
          conn = c;
          ++connections_;
        }
      }
      if (conn >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[65536];
        const ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
        if (n <= 0) {
          ::close(conn);
          conn = -1;
        } else {
          std::lock_guard lock(mu_);
          bytes_.append(buf, static_cast<size_t>(n));
        }
      }
    }
    if (conn >= 0) ::close(conn);
  }

  const int family_;
  const std::string path_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::mutex mu_;
  std::string bytes_;
};

// Receives datagrams (udp over IPv4/IPv6, or unixgram at a path) into a list.
class DatagramPeer {
 public:
  DatagramPeer(int family, std::string path = "") : family_(family), path_(std::move(path)) {}
  ~DatagramPeer() { Stop(); }

  bool Start() {
    fd_ = BindSocket(family_, SOCK_DGRAM, 0, path_);
    if (fd_ < 0) return false;
    // Room for a whole burst of 64 KiB UDP datagrams even if the reader thread is slow to run
    // (loopback UDP drops what does not fit). FORCE needs CAP_NET_ADMIN; else rmem_max caps it.
    const int big = 16 << 20;
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    }
    if (family_ != AF_UNIX) port_ = LocalPort(fd_);
    thread_ = std::thread([this] { Serve(); });
    return true;
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> datagrams() {
    std::lock_guard lock(mu_);
    return datagrams_;
  }
  bool WaitForCount(size_t n) {
    return WaitFor([&] { return datagrams().size() >= n; });
  }

 private:
  void Serve() {
    std::string buf(1 << 20, '\0');
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0) continue;
      std::lock_guard lock(mu_);
      datagrams_.emplace_back(buf.data(), static_cast<size_t>(n));
    }
  }

  const int family_;
  const std::string path_;
  uint16_t port_ = 0;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> datagrams_;
};

}  // namespace xtcp::testing
