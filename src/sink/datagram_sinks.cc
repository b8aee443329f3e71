// udp:host:port and unixgram:/path — one datagram per Send(), on a connected datagram socket.
//
// max_message_size() is the largest datagram the path takes, so the output stage cuts bigger
// flushes into self-contained chunks (upstream sent whole envelopes and failed with EMSGSIZE):
//   udp over IPv4   65507 = 65535 - 20 (IP header) - 8 (UDP header)
//   udp over IPv6   65527 = 65535 - 8 (the IPv6 payload length excludes its own header)
//   unixgram        SO_SNDBUF - 32 (Linux refuses a unix datagram above sk_sndbuf - 32)
//
// The socket is created (and, for udp, the name resolved) lazily on the first Send() and again
// after an error that spoils it; creation failures back off like the stream sinks. A udp peer
// that is not listening makes a later send fail with ECONNREFUSED (the ICMP error of an earlier
// datagram): that send is reported failed and the caller retries it. A unixgram receiver that
// re-binds its path needs a new connect, so ECONNREFUSED/ENOENT drop the socket.
//
// Counters: udp uses upstream's Inetdiager udpConn.Write/error, udpWrites/count,
// udpWriteBytes/count; unixgram destUnixGram Write/error, Writes/count, WriteBytes/count. Ours,
// under destUDP / destUnixGram: connect/count, connect/error, backoff/error, tooLarge/error.
#include <netinet/in.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

constexpr size_t kUdp4Max = 65535 - 20 - 8;
constexpr size_t kUdp6Max = 65535 - 8;
constexpr size_t kUnixDgramOverhead = 32;

// Largest unixgram datagram a fresh socket can send.
size_t UnixgramMax(int fd) {
  int sndbuf = 0;
  socklen_t len = sizeof(sndbuf);
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 ||
      sndbuf <= static_cast<int>(kUnixDgramOverhead)) {
    return 65536;  // conservative; the kernel default is ~212 KiB
  }
  return static_cast<size_t>(sndbuf) - kUnixDgramOverhead;
}

class DatagramSink final : public Sink {
 public:
  DatagramSink(std::string_view scheme, std::string target, HostPort hp, const SinkOptions& opts)
      : scheme_(scheme),
        target_(std::move(target)),
        hp_(std::move(hp)),
        unix_(scheme == "unixgram"),
        io_timeout_(opts.io_timeout),
        backoff_(opts.reconnect_backoff_initial, opts.reconnect_backoff_max) {
    if (unix_) {
      UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      max_ = probe.valid() ? UnixgramMax(probe.get()) : 65536;
    } else {
      // An IP literal fixes the family now; a name is resolved at connect time.
      auto addrs = Resolve(hp_, SOCK_DGRAM, /*numeric_only=*/true);
      max_ = addrs.ok() && addrs->front().family == AF_INET6 ? kUdp6Max : kUdp4Max;
    }
    if (Metrics* m = opts.metrics) {
      const std::string_view ours = unix_ ? "destUnixGram" : "destUDP";
      if (unix_) {
        write_errors_ = &m->Count("destUnixGram", "Write", "error");
        writes_ = &m->Count("destUnixGram", "Writes", "count");
        write_bytes_ = &m->Count("destUnixGram", "WriteBytes", "count");
      } else {
        write_errors_ = &m->Count("Inetdiager", "udpConn.Write", "error");
        writes_ = &m->Count("Inetdiager", "udpWrites", "count");
        write_bytes_ = &m->Count("Inetdiager", "udpWriteBytes", "count");
      }
      connects_ = &m->Count(ours, "connect", "count");
      connect_errors_ = &m->Count(ours, "connect", "error");
      backoff_errors_ = &m->Count(ours, "backoff", "error");
      too_large_ = &m->Count(ours, "tooLarge", "error");
    }
  }

  std::string_view scheme() const override { return scheme_; }
  size_t max_message_size() const override { return max_; }

  absl::Status Send(std::string_view payload) override {
    if (!fd_.valid()) {
      if (absl::Status s = Reconnect(); !s.ok()) return s;
    }
    ssize_t n;
    do {
      n = ::send(fd_.get(), payload.data(), payload.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      const int err = errno;
      Inc(write_errors_);
      if (err == EMSGSIZE) Inc(too_large_);
      if (err != ECONNREFUSED || unix_) fd_.reset();  // udp keeps its socket after an ICMP error
      absl::Status s = err == EAGAIN || err == EWOULDBLOCK
                           ? absl::DeadlineExceededError(absl::StrCat(
                                 "send timed out after ", absl::FormatDuration(io_timeout_)))
                           : ErrnoStatus(absl::StrCat("send of ", payload.size(), " bytes"), err);
      Warn(s.message());
      return s;
    }
    Inc(writes_);
    if (write_bytes_) write_bytes_->Increment(static_cast<double>(n));
    return absl::OkStatus();
  }

 private:
  void Warn(absl::string_view what) { log_limit_.Warn(absl::StrCat(scheme_, ":", target_), what); }

  absl::Status Reconnect() {
    if (absl::Status s = backoff_.Gate(absl::StrCat(scheme_, ":", target_), backoff_errors_);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<UniqueFd> fd = absl::UnavailableError("no address");
    size_t max = max_;
    if (unix_) {
      auto addr = UnixAddress(target_);
      if (addr.ok()) fd = Connect(*addr, SOCK_DGRAM, io_timeout_);
      if (fd.ok()) max = UnixgramMax(fd->get());
    } else {
      auto addrs = Resolve(hp_, SOCK_DGRAM);
      if (!addrs.ok()) fd = addrs.status();
      for (size_t i = 0; addrs.ok() && i < addrs->size() && !fd.ok(); ++i) {
        fd = Connect((*addrs)[i], SOCK_DGRAM, io_timeout_);
        max = (*addrs)[i].family == AF_INET6 ? kUdp6Max : kUdp4Max;
      }
    }
    if (!fd.ok()) {
      backoff_.Failed(absl::Now());
      Inc(connect_errors_);
      Warn(absl::StrCat("connect failed: ", fd.status().message()));
      return absl::UnavailableError(
          absl::StrCat(scheme_, ":", target_, ": connect: ", fd.status().message()));
    }
    fd_ = *std::move(fd);
    max_ = max;
    backoff_.Succeeded();
    Inc(connects_);
    XTCP_LOG(kInfo, "sink %s:%s: connected, datagrams up to %d bytes", scheme_, target_, max_);
    return absl::OkStatus();
  }

  const std::string scheme_;
  const std::string target_;
  const HostPort hp_;
  const bool unix_;
  const absl::Duration io_timeout_;
  size_t max_;
  Backoff backoff_;
  LogLimiter log_limit_;
  UniqueFd fd_;
  prometheus::Counter* write_errors_ = nullptr;
  prometheus::Counter* writes_ = nullptr;
  prometheus::Counter* write_bytes_ = nullptr;
  prometheus::Counter* connects_ = nullptr;
  prometheus::Counter* connect_errors_ = nullptr;
  prometheus::Counter* backoff_errors_ = nullptr;
  prometheus::Counter* too_large_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewUdp(const SinkOptions& opts, std::string_view address) {
  auto hp = ParseHostPort(address, opts.dest, "udp:host:port");
  if (!hp.ok()) return hp.status();
  return std::make_unique<DatagramSink>("udp", std::string(address), *std::move(hp), opts);
}

absl::StatusOr<std::unique_ptr<Sink>> NewUnixgram(const SinkOptions& opts, std::string_view path) {
  if (!UnixAddress(path).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", opts.dest,
        "\" for flag -dest: unixgram: needs a socket path of 1..107 bytes (unixgram:/path)"));
  }
  return std::make_unique<DatagramSink>("unixgram", std::string(path), HostPort{}, opts);
}

}  // namespace xtcp::sink
