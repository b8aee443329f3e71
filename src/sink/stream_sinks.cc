// tcp:host:port and unix:/path — stream sockets, connected lazily and re-connected with backoff.
//
//   tcp   each payload written as is (the marshaller frames it)
//   unix  uvarint(len(payload)) ‖ payload, header and payload in one writev (upstream framing;
//         with protobufList this is a second length prefix, kept for wire compatibility)
//
// Connection life cycle, all on the output thread inside Send():
//   no connection, backoff over  -> connect (timeout io_timeout); failure: backoff doubles
//   no connection, backoff running -> fail at once (no connect storm while the peer is away)
//   connected -> before writing, a zero-timeout poll notices a peer that has closed (FIN/RST
//   already received) and reconnects instead of writing into a dead connection
//   write error or timeout -> connection dropped; the frame in flight may be cut short on the old
//   connection, so a receiver discards an incomplete frame at EOF; the caller retries it whole.
//
// Counters (function destTCP | destUnix): upstream Write/error, Writes/count, WriteBytes/count;
// ours connect/count, connect/error, backoff/error (send refused while waiting to reconnect),
// peerClosed/count.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/uio.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

// Go's binary.PutUvarint: 7 bits per byte, least significant first.
size_t PutUvarint(uint8_t* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<uint8_t>(v);
  return n;
}

class StreamSink final : public Sink {
 public:
  // `target` is "host:port" (tcp) or the socket path (unix).
  StreamSink(std::string_view scheme, std::string_view fn, std::string target, HostPort hp,
             const SinkOptions& opts)
      : scheme_(scheme),
        target_(std::move(target)),
        hp_(std::move(hp)),
        unix_(scheme == "unix"),
        io_timeout_(opts.io_timeout),
        backoff_(opts.reconnect_backoff_initial, opts.reconnect_backoff_max) {
    if (Metrics* m = opts.metrics) {
      write_errors_ = &m->Count(fn, "Write", "error");
      writes_ = &m->Count(fn, "Writes", "count");
      write_bytes_ = &m->Count(fn, "WriteBytes", "count");
      connects_ = &m->Count(fn, "connect", "count");
      connect_errors_ = &m->Count(fn, "connect", "error");
      backoff_errors_ = &m->Count(fn, "backoff", "error");
      peer_closed_ = &m->Count(fn, "peerClosed", "count");
    }
  }

  std::string_view scheme() const override { return scheme_; }

  absl::Status Send(std::string_view payload) override {
    if (fd_.valid() && PeerClosed()) {
      Inc(peer_closed_);
      XTCP_LOG(kInfo, "sink %s:%s: peer closed the connection; reconnecting", scheme_, target_);
      fd_.reset();
    }
    if (!fd_.valid()) {
      if (absl::Status s = Reconnect(); !s.ok()) return s;
    }
    uint8_t header[10];
    const size_t header_len = unix_ ? PutUvarint(header, payload.size()) : 0;
    iovec iov[2] = {{header, header_len}, {const_cast<char*>(payload.data()), payload.size()}};
    const size_t total = header_len + payload.size();
    if (absl::Status s = WriteFully(iov, total); !s.ok()) {
      fd_.reset();  // the stream may hold half a frame: start over on a new connection
      Inc(write_errors_);
      Warn(absl::StrCat("write failed, connection dropped: ", s.message()));
      return s;
    }
    Inc(writes_);
    if (write_bytes_) write_bytes_->Increment(static_cast<double>(total));
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
    if (unix_) {
      auto addr = UnixAddress(target_);
      if (addr.ok()) fd = Connect(*addr, SOCK_STREAM, io_timeout_);
    } else {
      auto addrs = Resolve(hp_, SOCK_STREAM);
      if (!addrs.ok()) fd = addrs.status();
      for (size_t i = 0; addrs.ok() && i < addrs->size() && !fd.ok(); ++i) {
        fd = Connect((*addrs)[i], SOCK_STREAM, io_timeout_);
      }
    }
    if (!fd.ok()) {
      backoff_.Failed(absl::Now());
      Inc(connect_errors_);
      Warn(absl::StrCat("connect failed: ", fd.status().message()));
      return absl::UnavailableError(
          absl::StrCat(scheme_, ":", target_, ": connect: ", fd.status().message()));
    }
    if (!unix_) {
      const int on = 1;
      ::setsockopt(fd->get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    }
    fd_ = *std::move(fd);
    backoff_.Succeeded();
    Inc(connects_);
    XTCP_LOG(kInfo, "sink %s:%s: connected", scheme_, target_);
    return absl::OkStatus();
  }

  // True when the peer has closed or reset the connection. Anything the peer sent is discarded
  // (a sink's peer has nothing to say).
  bool PeerClosed() {
    for (int i = 0; i < 64; ++i) {
      pollfd p{fd_.get(), POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) <= 0) return false;
      if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) return true;
      char junk[4096];
      const ssize_t n = ::recv(fd_.get(), junk, sizeof(junk), MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
    return false;
  }

  absl::Status WriteFully(iovec* iov, size_t total) {
    size_t done = 0;
    int first = iov[0].iov_len == 0 ? 1 : 0;
    while (done < total) {
      msghdr msg{};
      msg.msg_iov = iov + first;
      msg.msg_iovlen = static_cast<size_t>(2 - first);
      const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          return absl::DeadlineExceededError(
              absl::StrCat("write timed out after ", absl::FormatDuration(io_timeout_)));
        }
        return ErrnoStatus("write", errno);
      }
      done += static_cast<size_t>(n);
      size_t left = static_cast<size_t>(n);
      while (left > 0 && first < 2) {
        const size_t step = std::min(left, iov[first].iov_len);
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + step;
        iov[first].iov_len -= step;
        left -= step;
        if (iov[first].iov_len == 0) ++first;
      }
    }
    return absl::OkStatus();
  }

  const std::string scheme_;
  const std::string target_;
  const HostPort hp_;
  const bool unix_;
  const absl::Duration io_timeout_;
  Backoff backoff_;
  LogLimiter log_limit_;
  UniqueFd fd_;
  prometheus::Counter* write_errors_ = nullptr;
  prometheus::Counter* writes_ = nullptr;
  prometheus::Counter* write_bytes_ = nullptr;
  prometheus::Counter* connects_ = nullptr;
  prometheus::Counter* connect_errors_ = nullptr;
  prometheus::Counter* backoff_errors_ = nullptr;
  prometheus::Counter* peer_closed_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewTcp(const SinkOptions& opts, std::string_view address) {
  auto hp = ParseHostPort(address, opts.dest, "tcp:host:port");
  if (!hp.ok()) return hp.status();
  return std::make_unique<StreamSink>("tcp", "destTCP", std::string(address), *std::move(hp), opts);
}

absl::StatusOr<std::unique_ptr<Sink>> NewUnix(const SinkOptions& opts, std::string_view path) {
  if (!UnixAddress(path).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", opts.dest,
                     "\" for flag -dest: unix: needs a socket path of 1..107 bytes (unix:/path)"));
  }
  return std::make_unique<StreamSink>("unix", "destUnix", std::string(path), HostPort{}, opts);
}

}  // namespace xtcp::sink
