#pragma once
// FakeDockerEngine: the Docker Engine API's documented responses served on a Unix socket, for
// tests. Docker itself cannot run a container on the test machines (no registry, no images), so
// the daemon's client is tested against this: GET /version (or a 404 and /_ping's API-Version
// header), /v<ver>/containers/json (chunked, as the engine sends it), /v<ver>/containers/<id>/json
// (Content-Length) and /v<ver>/events (a chunked stream held open; PushEvent() writes a line).
// Paths with another version prefix get the engine's 400. SetDelay() makes every response wait
// (a slow engine); Stop() closes the listener and every connection (an engine that goes away).
//
// Thread-safe. One thread accepts; each connection is served by its own thread.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace xtcp::testing {

struct FakeContainer {
  std::string id;  // 64 hex
  std::string name;
  std::string image;
  int64_t pid = 0;
  std::string sandbox_key;
  std::string network_mode = "bridge";
};

class FakeDockerEngine {
 public:
  // `api_version` "" answers /version with 404 (then /_ping says `ping_version`).
  FakeDockerEngine(std::string path, std::string api_version, std::string min_version = "1.24",
                   std::string ping_version = "")
      : path_(std::move(path)),
        api_(std::move(api_version)),
        min_(std::move(min_version)),
        ping_(std::move(ping_version)) {}
  ~FakeDockerEngine() { Stop(); }
  FakeDockerEngine(const FakeDockerEngine&) = delete;
  FakeDockerEngine& operator=(const FakeDockerEngine&) = delete;

  bool Start() {
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.data(), std::min(path_.size(), sizeof(a.sun_path) - 1));
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      return false;
    }
    acceptor_ = std::thread([this] { Accept(); });
    return true;
  }

  void Stop() {
    stopping_.store(true);
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }

  void SetContainers(std::vector<FakeContainer> cs) {
    absl::MutexLock lock(&mu_);
    containers_ = std::move(cs);
  }
  void SetDelay(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    delay_ = d;
  }
  // Writes one event line to every open /events stream.
  void PushEvent(const std::string& json) {
    absl::MutexLock lock(&mu_);
    const std::string line = json + "\n";
    const std::string chunk = absl::StrCat(absl::Hex(line.size()), "\r\n", line, "\r\n");
    for (int fd : streams_) (void)!::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  }
  std::vector<std::string> Requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t OpenStreams() const {
    absl::MutexLock lock(&mu_);
    return streams_.size();
  }

 private:
  void Accept() {
    while (!stopping_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      absl::MutexLock lock(&mu_);
      open_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) {
        if (stopping_.load()) break;
        continue;
      }
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    const size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
    const std::string target = sp1 == std::string::npos || sp2 == std::string::npos
                                   ? ""
                                   : req.substr(sp1 + 1, sp2 - sp1 - 1);
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(target);
      delay = delay_;
    }
    for (absl::Time end = absl::Now() + delay; absl::Now() < end && !stopping_.load();) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (!stopping_.load() && !target.empty()) Respond(fd, target);
    Close(fd);
  }

  void Close(int fd) {
    absl::MutexLock lock(&mu_);
    std::erase(open_, fd);
    std::erase(streams_, fd);
    ::close(fd);
  }

  void Send(int fd, int status, const std::string& body, bool chunked = false,
            const std::string& extra = "") {
    std::string r = absl::StrCat("HTTP/1.1 ", status, status == 200 ? " OK" : " Error",
                                 "\r\nContent-Type: application/json\r\nApi-Version: ",
                                 api_.empty() ? ping_ : api_, "\r\n", extra);
    if (chunked) {
      // In two chunks, so a reader that joins chunks is exercised.
      const size_t half = body.size() / 2;
      absl::StrAppend(&r, "Transfer-Encoding: chunked\r\n\r\n", absl::Hex(half), "\r\n",
                      body.substr(0, half), "\r\n", absl::Hex(body.size() - half), "\r\n",
                      body.substr(half), "\r\n0\r\n\r\n");
    } else {
      absl::StrAppend(&r, "Content-Length: ", body.size(), "\r\n\r\n", body);
    }
    (void)!::send(fd, r.data(), r.size(), MSG_NOSIGNAL);
  }

  void Respond(int fd, const std::string& target) {
    if (target == "/version") {
      if (api_.empty()) return Send(fd, 404, R"({"message":"page not found"})");
      return Send(
          fd, 200,
          absl::StrCat(R"({"Platform":{"Name":"Docker Engine - Community"},)",
                       R"("Version":"26.1.0","ApiVersion":")", api_, R"(","MinAPIVersion":")", min_,
                       R"(","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"})"));
    }
    if (target == "/_ping") return Send(fd, 200, "OK");
    const std::string prefix = api_.empty() ? (ping_.empty() ? "" : "/v" + ping_) : Expected();
    if (target.rfind(prefix, 0) != 0) return Send(fd, 400, R"({"message":"bad version"})");
    const std::string rest = target.substr(prefix.size());
    std::vector<FakeContainer> cs;
    {
      absl::MutexLock lock(&mu_);
      cs = containers_;
    }
    if (rest == "/containers/json") {
      std::string body = "[";
      for (size_t i = 0; i < cs.size(); ++i) {
        absl::StrAppend(&body, i ? "," : "", R"({"Id":")", cs[i].id, R"(","Names":["/)", cs[i].name,
                        R"("],"Image":")", cs[i].image,
                        R"(","State":"running","Status":"Up 2 minutes","Ports":[],"Labels":{}})");
      }
      return Send(fd, 200, body + "]", /*chunked=*/true);
    }
    for (const FakeContainer& c : cs) {
      if (rest == "/containers/" + c.id + "/json") {
        return Send(
            fd, 200,
            absl::StrCat(R"({"Id":")", c.id, R"(","Created":"2026-12-04T01:00:00.0Z","Path":"sh",)",
                         R"("Args":[],"State":{"Status":"running","Running":true,"Pid":)", c.pid,
                         R"(,"ExitCode":0},"Image":"sha256:)", std::string(64, '9'),
                         R"(","Name":"/)", c.name, R"(","HostConfig":{"NetworkMode":")",
                         c.network_mode, R"(","Memory":0},"Config":{"Hostname":"x","Image":")",
                         c.image, R"(","Labels":{}},"NetworkSettings":{"SandboxID":"abc",)",
                         R"("SandboxKey":")", c.sandbox_key, R"(","Networks":{}}})"));
      }
    }
    if (rest.rfind("/events?", 0) == 0) {
      const std::string head =
          absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: ", api_,
                       "\r\nTransfer-Encoding: chunked\r\n\r\n");
      (void)!::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      {
        absl::MutexLock lock(&mu_);
        streams_.push_back(fd);
      }
      // Held open until the client goes or the engine stops.
      while (!stopping_.load()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
          char b[256];
          if (::recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0) break;
        }
      }
      return;
    }
    Send(fd, 404, R"({"message":"No such container"})");
  }

  std::string Expected() const {
    // What a client that caps at 1.44 should speak.
    auto num = [](const std::string& v) { return std::stod(v.substr(2)); };
    std::string v = num(api_) > 44 ? "1.44" : api_;
    if (num(v) < num(min_)) v = min_;
    return "/v" + v;
  }

  const std::string path_, api_, min_, ping_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable absl::Mutex mu_;
  std::vector<FakeContainer> containers_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_ ABSL_GUARDED_BY(mu_);
  std::vector<int> streams_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xtcp::testing
