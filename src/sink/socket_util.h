#pragma once
// The socket sinks' shared machinery: address parsing and resolution, and ReconnectingSocket —
// the one connection owner that tcp, unix (stream_sinks.cc), udp and unixgram
// (datagram_sinks.cc) sit on. The sinks add only their framing and their datagram size limit.

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/log_limiter.h"
#include "common/unique_fd.h"
#include "prometheus/counter.h"
#include "prometheus/summary.h"
#include "xtcp/sink.h"

namespace xtcp::sink {

// "host:port" as Go's net.SplitHostPort reads it: IPv6 literals in brackets ("[::1]:9000"), the
// host may be empty (the local host), the port a number 1..65535 or a service name /etc/services
// knows.
struct HostPort {
  std::string host;
  std::string port;
};
// `dest` is the whole -dest value, for the error message; `syntax` e.g. "tcp:host:port".
// InvalidArgument "invalid value "<dest>" for flag -dest: <why> (want <syntax>)" for anything
// that can never be connected to.
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

// Opens a socket of `socktype` and connects it to `addr`, waiting at most `timeout`. The socket
// is returned blocking, close-on-exec, with SO_SNDTIMEO = `timeout`.
absl::StatusOr<UniqueFd> ConnectTo(const SockAddr& addr, int socktype, absl::Duration timeout);

// AF_UNIX address of `path` (InvalidArgument when empty or longer than sun_path).
absl::StatusOr<SockAddr> UnixAddress(std::string_view path);
// The -dest check of unix: and unixgram: paths: InvalidArgument naming -dest unless `path` fits.
absl::Status CheckUnixPath(std::string_view path, std::string_view dest, std::string_view scheme);

// Exponential reconnect backoff: after a failure the next attempt waits `initial`, doubling up to
// `max`; a success resets it (the first attempt after a lost connection is immediate).
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

 private:
  const absl::Duration initial_, max_;
  absl::Duration current_ = absl::ZeroDuration();
  absl::Time next_ = absl::InfinitePast();
};

// Adds `by` to a counter a sink may not have (it was built without Metrics).
inline void Inc(prometheus::Counter* c, double by = 1) {
  if (c != nullptr) c->Increment(by);
}

// Counters of one socket sink, resolved once when the sink is made (null: not counted).
struct SocketCounters {
  prometheus::Counter* writes = nullptr;          // messages sent
  prometheus::Counter* write_bytes = nullptr;     // their bytes (framing included)
  prometheus::Counter* write_errors = nullptr;    // sends that failed on a connected socket
  prometheus::Counter* connects = nullptr;        // successful connects
  prometheus::Counter* connect_errors = nullptr;  // failed connects
  prometheus::Counter* backoff_errors = nullptr;  // sends refused while waiting to reconnect
  prometheus::Counter* peer_closed = nullptr;     // stream: peer closed before a write
  prometheus::Counter* too_large = nullptr;       // datagram: EMSGSIZE
};

// The publish counters of a message sink (nats, nsq, valkey): upstream's <function>/Publish/
// {count,error} counters and summaries and our <function>/PublishBytes/count, resolved once
// (null without Metrics).
struct PublishCounters {
  prometheus::Counter *published = nullptr, *errors = nullptr, *bytes = nullptr;
  prometheus::Summary *latency = nullptr, *error_latency = nullptr;
  // Counts one publish of `bytes` that began at `start` and ended with `s`.
  void Record(absl::Time start, size_t bytes, const absl::Status& s) const;
};
PublishCounters ResolvePublishCounters(Metrics* m, std::string_view function);

// Where the upstream counters of a socket sink live (Go named them differently per sink).
struct UpstreamCounterNames {
  std::string_view function, writes, write_bytes, write_errors;
};
// Resolves a socket sink's counters: upstream's three under `up`, ours under `ours`
// (peer_closed for SOCK_STREAM, too_large for SOCK_DGRAM). All null when `m` is null.
SocketCounters ResolveSocketCounters(Metrics* m, const UpstreamCounterNames& up,
                                     std::string_view ours, int socktype);

// A socket connected lazily to one destination and re-connected after failures.
//
//   not connected, backoff over    -> connect (resolving names again), timeout io_timeout;
//                                     failure: backoff starts at backoff_initial, doubles to
//                                     backoff_max, and the send fails
//   not connected, backoff running -> the send fails at once (backoff_errors): no connect storm
//   stream, connected              -> a zero-timeout poll first notices a peer that has closed
//                                     (FIN/RST already in) and reconnects instead of writing into
//                                     a dead connection
//   stream, write error or timeout -> the connection is dropped (the frame may be cut short on
//                                     it; receivers discard an incomplete frame at EOF)
//   datagram, send error           -> the socket is dropped, except after EMSGSIZE (that message
//                                     only) and, for udp, ECONNREFUSED (an ICMP error about an
//                                     earlier datagram; the socket is still good)
// Every failed Send() returns its error (the caller retries or counts the loss) and is logged
// through one LogLimiter; a reconnect logs once at info how many sends failed while down.
//
// Not thread-safe: one thread at a time (the output stage) calls Send().
class ReconnectingSocket {
 public:
  struct Options {
    std::string name;            // "scheme:target", for logs and errors
    int socktype = SOCK_STREAM;  // SOCK_STREAM or SOCK_DGRAM
    std::string unix_path;       // AF_UNIX when not empty; else `hp` is resolved
    HostPort hp;
    absl::Duration io_timeout = absl::Seconds(10);  // connect, and SO_SNDTIMEO
    absl::Duration backoff_initial = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(1);
    // Called after each successful connect with the new socket and its address family.
    std::function<void(int fd, int family)> on_connect;
  };
  ReconnectingSocket(Options opts, SocketCounters counters);
  // Options of a socket sink: timeouts and backoff from `sink` (SinkOptions, tests shorten them).
  static Options From(const SinkOptions& sink, int socktype, std::string name);
  ReconnectingSocket(const ReconnectingSocket&) = delete;
  ReconnectingSocket& operator=(const ReconnectingSocket&) = delete;

  // Stream: writes `parts` as one message, completely. Datagram: sends them as one datagram.
  absl::Status Send(std::span<const std::string_view> parts);

 private:
  absl::Status Connect();
  bool PeerClosed();
  void Drop(absl::string_view why);
  absl::Status Fail(absl::Status s);

  const Options opts_;
  const std::string log_name_;  // "sink <name>"
  const SocketCounters counters_;
  const bool stream_;
  Backoff backoff_;
  LogLimiter log_limit_;
  UniqueFd fd_;
  uint64_t failed_while_down_ = 0;  // failed sends since the connection was lost
};

}  // namespace xtcp::sink
