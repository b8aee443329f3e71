#pragma once
// A small nsqd-protocol server for tests and benchmarks (there is no nsqd in Debian): a thread with
// a loopback listener that checks the magic, answers IDENTIFY, records every PUB (its bytes and
// its body), refuses PUBs on demand with an error frame and sends heartbeats, checking the NOP
// that must answer each. Written from nsqd's protocol documentation.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "sink/peers.h"

namespace xtcp::testing {

inline std::string U32(uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  return std::string(b, 4);
}

inline std::string Frame(uint32_t type, std::string_view data) {
  return U32(static_cast<uint32_t>(data.size() + 4)) + U32(type) + std::string(data);
}

// One nsqd as far as a producer sees it. Connections are served one at a time.
class FakeNsqd {
 public:
  ~FakeNsqd() { Stop(); }

  // Listens on 127.0.0.1:`port` (0: any). `max_msg_size` > 0 is advertised in IDENTIFY's JSON
  // answer; 0 answers IDENTIFY with a plain OK (no feature negotiation).
  bool Start(uint16_t port = 0, size_t max_msg_size = 0) {
    max_msg_size_ = max_msg_size;
    listen_fd_ = BindSocket(AF_INET, SOCK_STREAM, port, "");
    if (listen_fd_ < 0 || ::listen(listen_fd_, 8) != 0) return false;
    port_ = LocalPort(listen_fd_);
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
    return true;
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }
  uint16_t port() const { return port_; }

  // The next `n` PUBs are answered with error frame `code` (and the connection closed, as nsqd).
  void Refuse(int n, std::string code) {
    absl::MutexLock lock(&mu_);
    refuse_ = n;
    refuse_code_ = std::move(code);
  }
  // Keep no bodies nor raw PUBs (benchmarks send many): only count them.
  void DiscardBodies() { discard_ = true; }
  int pubs() { return pubs_.load(); }
  // A heartbeat on the idle connection, as soon as the server waits for a command.
  void HeartbeatWhenIdle() { heartbeat_idle_ = true; }
  // A heartbeat before the answer to the next PUB; the OK follows the NOP.
  void HeartbeatBeforeNextOk() { heartbeat_pub_ = true; }

  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }
  std::vector<std::string> raw_pubs() {
    absl::MutexLock lock(&mu_);
    return raw_pubs_;
  }
  std::vector<std::string> identifies() {
    absl::MutexLock lock(&mu_);
    return identifies_;
  }
  int nops() { return nops_.load(); }
  int heartbeats_sent() { return heartbeats_sent_.load(); }
  int protocol_errors() { return protocol_errors_.load(); }
  int connections() { return connections_.load(); }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      Serve(fd);
      ::close(fd);
    }
  }

  // Reads exactly `n` bytes, in 20 ms polls (false on EOF, error, stop or 5 s of silence).
  bool Read(int fd, size_t n, std::string* out) {
    out->clear();
    for (int waits = 0; out->size() < n && !stop_ && waits < 250;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        ++waits;
        continue;
      }
      char buf[65536];
      const ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - out->size()), 0);
      if (r <= 0) return false;
      out->append(buf, static_cast<size_t>(r));
    }
    return out->size() == n;
  }
  bool ReadLine(int fd, std::string* line) {
    line->clear();
    std::string c;
    while (line->size() < 256) {
      if (!Read(fd, 1, &c)) return false;
      if (c == "\n") return true;
      *line += c;
    }
    return false;
  }
  bool ReadU32(int fd, uint32_t* v) {
    std::string b;
    if (!Read(fd, 4, &b)) return false;
    unsigned char u[4];
    std::memcpy(u, b.data(), 4);
    *v = (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
    return true;
  }
  static bool Write(int fd, const std::string& s) {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Sends a heartbeat; the next command must be NOP.
  bool Heartbeat(int fd) {
    if (!Write(fd, Frame(0, "_heartbeat_"))) return false;
    ++heartbeats_sent_;
    std::string line;
    if (!ReadLine(fd, &line)) return false;
    if (line != "NOP") {
      ++protocol_errors_;
      return false;
    }
    ++nops_;
    return true;
  }

  void Serve(int fd) {
    std::string magic;
    if (!Read(fd, 4, &magic) || magic != "  V2") {
      ++protocol_errors_;
      return;
    }
    while (!stop_) {
      if (heartbeat_idle_.exchange(false) && !Heartbeat(fd)) return;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      std::string line;
      if (!ReadLine(fd, &line)) return;
      if (line == "NOP") {
        ++nops_;  // unasked for: counted, not an error of the protocol
        continue;
      }
      uint32_t size = 0;
      std::string body;
      if (line == "IDENTIFY") {
        if (!ReadU32(fd, &size) || !Read(fd, size, &body)) return;
        {
          absl::MutexLock lock(&mu_);
          identifies_.push_back(body);
        }
        const std::string answer =
            max_msg_size_ > 0
                ? absl::StrCat("{\"max_rdy_count\":2500,\"max_msg_size\": ", max_msg_size_,
                               ",\"tls_v1\":false}")
                : "OK";
        if (!Write(fd, Frame(0, answer))) return;
        continue;
      }
      if (line.rfind("PUB ", 0) != 0) {
        ++protocol_errors_;
        Write(fd, Frame(1, "E_INVALID invalid command"));
        return;
      }
      if (!ReadU32(fd, &size) || !Read(fd, size, &body)) return;
      std::string refusal;
      {
        absl::MutexLock lock(&mu_);
        ++pubs_;
        if (!discard_) raw_pubs_.push_back(absl::StrCat(line, "\n", U32(size), body));
        if (refuse_ > 0) {
          --refuse_;
          refusal = refuse_code_;
        } else if (!discard_) {
          bodies_.push_back(body);
        }
      }
      if (!refusal.empty()) {
        Write(fd, Frame(1, refusal));
        return;  // nsqd closes the connection after a PUB error
      }
      if (heartbeat_pub_.exchange(false) && !Heartbeat(fd)) return;
      if (!Write(fd, Frame(0, "OK"))) return;
    }
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  size_t max_msg_size_ = 0;  // written before the thread starts
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> heartbeat_idle_{false}, heartbeat_pub_{false}, discard_{false};
  std::atomic<int> nops_{0}, heartbeats_sent_{0}, protocol_errors_{0}, connections_{0}, pubs_{0};
  absl::Mutex mu_;
  int refuse_ ABSL_GUARDED_BY(mu_) = 0;
  std::string refuse_code_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> raw_pubs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> identifies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xtcp::testing
