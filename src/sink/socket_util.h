#pragma once
// Pieces shared by the socket sinks (stream_sinks.cc, datagram_sinks.cc): address parsing and
// resolution, connecting with a timeout, reconnect backoff, rate-limited logging.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"

namespace xtcp::sink {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// "host:port" as Go's net.SplitHostPort reads it: IPv6 literals in brackets ("[::1]:9000"), the
// host may be empty (the local host), the port a number or a service name.
struct HostPort {
  std::string host;
  std::string port;
};
// `dest` is the whole -dest value, for the error message; `syntax` e.g. "tcp:host:port".
absl::StatusOr<HostPort> ParseHostPort(std::string_view address, std::string_view dest,
                                       std::string_view syntax);

// One address getaddrinfo() returned.
struct SockAddr {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_UNSPEC;
};

// Resolves `hp` for `socktype` (SOCK_STREAM or SOCK_DGRAM). `numeric_only` resolves IP literals
// without touching DNS (NotFound for names).
absl::StatusOr<std::vector<SockAddr>> Resolve(const HostPort& hp, int socktype,
                                              bool numeric_only = false);

// AF_UNIX address of `path` (InvalidArgument when empty or longer than sun_path).
absl::StatusOr<SockAddr> UnixAddress(std::string_view path);

// Opens a socket of `socktype` and connects it to `addr`, waiting at most `timeout`. The socket
// is returned blocking, close-on-exec, with SO_SNDTIMEO = `timeout`.
absl::StatusOr<UniqueFd> Connect(const SockAddr& addr, int socktype, absl::Duration timeout);

// Exponential reconnect backoff: after a failure the next attempt waits `initial`, doubling up to
// `max`; a success resets it.
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max) : initial_(initial), max_(max) {}
  bool Ready(absl::Time now) const { return now >= next_; }
  absl::Duration Remaining(absl::Time now) const { return next_ - now; }
  void Failed(absl::Time now) {
    current_ = current_ == absl::ZeroDuration() ? initial_ : std::min(current_ * 2, max_);
    next_ = now + current_;
  }
  void Succeeded() {
    current_ = absl::ZeroDuration();
    next_ = absl::InfinitePast();
  }
  // OK when an attempt may be made now; otherwise Unavailable "<name>: not connected; next
  // attempt in …", counted in `refused` (may be null).
  absl::Status Gate(std::string_view name, prometheus::Counter* refused) const;

 private:
  const absl::Duration initial_, max_;
  absl::Duration current_ = absl::ZeroDuration();
  absl::Time next_ = absl::InfinitePast();
};

// Lets through one log line per `period` (a failing sink must not flood stderr); reports how many
// it held back since the last one.
class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration period = absl::Seconds(10)) : period_(period) {}
  // Logs "sink <name>: <what> (N similar messages suppressed)" at warning level, if allowed now.
  void Warn(absl::string_view name, absl::string_view what);

  bool Allow(uint64_t* suppressed) {
    const absl::Time now = absl::Now();
    if (now < next_) {
      ++held_;
      return false;
    }
    next_ = now + period_;
    *suppressed = held_;
    held_ = 0;
    return true;
  }

 private:
  const absl::Duration period_;
  absl::Time next_ = absl::InfinitePast();
  uint64_t held_ = 0;
};

// Adds `by` to a counter a sink may not have (it was built without Metrics).
inline void Inc(prometheus::Counter* c, double by = 1) {
  if (c != nullptr) c->Increment(by);
}

// errno as "<call>: <strerror>" in an Unavailable status.
absl::Status ErrnoStatus(std::string_view what, int err);

}  // namespace xtcp::sink
