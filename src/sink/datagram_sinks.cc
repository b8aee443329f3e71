// udp:host:port and unixgram:/path — one datagram per message, on a connected datagram socket
// owned by a ReconnectingSocket (socket_util.h: lazy connect, reconnect with backoff,
// rate-limited warnings).
//
// max_message_size() is the largest datagram the path takes, so the output stage cuts bigger
// flushes into self-contained chunks (upstream sent whole envelopes and failed with EMSGSIZE):
//   udp over IPv4   65507 = 65535 - 20 (IP header) - 8 (UDP header)
//   udp over IPv6   65527 = 65535 - 8 (the IPv6 payload length excludes its own header)
//   unixgram        SO_SNDBUF - 32 (Linux refuses a unix datagram above sk_sndbuf - 32)
//
// A udp peer that is not listening makes a later send fail with ECONNREFUSED (the ICMP error of
// an earlier datagram): that send is reported failed and the caller retries it. A unixgram
// receiver that re-binds its path needs a new connect, so ECONNREFUSED/ENOENT drop the socket.
//
// Counters: udp uses upstream's Inetdiager udpConn.Write/error, udpWrites/count,
// udpWriteBytes/count; unixgram destUnixGram Write/error, Writes/count, WriteBytes/count. Ours,
// under destUDP / destUnixGram: connect/count, connect/error, backoff/error, tooLarge/error.
#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

constexpr size_t kUdp4Max = 65535 - 20 - 8;
constexpr size_t kUdp6Max = 65535 - 8;
constexpr size_t kUnixDgramOverhead = 32;

// Largest unixgram datagram a socket can send.
size_t UnixgramMax(int fd) {
  int sndbuf = 0;
  socklen_t len = sizeof(sndbuf);
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 ||
      sndbuf <= static_cast<int>(kUnixDgramOverhead)) {
    return 65536;  // conservative; the kernel default is ~212 KiB
  }
  return static_cast<size_t>(sndbuf) - kUnixDgramOverhead;
}

size_t MaxFor(int fd, int family) {
  if (family == AF_UNIX) return UnixgramMax(fd);
  return family == AF_INET6 ? kUdp6Max : kUdp4Max;
}

class DatagramSink final : public Sink {
 public:
  // `max` holds until the first connect tells the real limit.
  DatagramSink(std::string_view scheme, ReconnectingSocket::Options sock, size_t max,
               SocketCounters counters)
      : scheme_(scheme), max_(max), socket_(WatchConnects(std::move(sock)), counters) {}

  std::string_view scheme() const override { return scheme_; }
  size_t max_message_size() const override { return max_; }

  absl::Status Send(std::string_view payload) override {
    const std::string_view one[] = {payload};
    return SendParts(one);
  }
  absl::Status SendParts(std::span<const std::string_view> parts) override {
    return socket_.Send(parts);
  }

 private:
  ReconnectingSocket::Options WatchConnects(ReconnectingSocket::Options sock) {
    sock.on_connect = [this](int fd, int family) { max_ = MaxFor(fd, family); };
    return sock;
  }

  const std::string scheme_;
  size_t max_;
  ReconnectingSocket socket_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewUdp(const SinkOptions& opts, std::string_view address) {
  auto hp = ParseHostPort(address, opts.dest, "udp:host:port");
  if (!hp.ok()) return hp.status();
  // An IP literal fixes the family now; a name is resolved at connect time.
  auto literal = Resolve(*hp, SOCK_DGRAM, /*numeric_only=*/true);
  const size_t max = literal.ok() ? MaxFor(-1, literal->front().family) : kUdp4Max;
  auto sock = ReconnectingSocket::From(opts, SOCK_DGRAM, absl::StrCat("udp:", AsAbsl(address)));
  sock.hp = *std::move(hp);
  return std::make_unique<DatagramSink>(
      "udp", std::move(sock), max,
      ResolveSocketCounters(opts.metrics,
                            {"Inetdiager", "udpWrites", "udpWriteBytes", "udpConn.Write"},
                            "destUDP", SOCK_DGRAM));
}

absl::StatusOr<std::unique_ptr<Sink>> NewUnixgram(const SinkOptions& opts, std::string_view path) {
  if (absl::Status s = CheckUnixPath(path, opts.dest, "unixgram"); !s.ok()) return s;
  const UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const size_t max = probe.valid() ? UnixgramMax(probe.get()) : 65536;
  auto sock = ReconnectingSocket::From(opts, SOCK_DGRAM, absl::StrCat("unixgram:", AsAbsl(path)));
  sock.unix_path = std::string(path);
  return std::make_unique<DatagramSink>(
      "unixgram", std::move(sock), max,
      ResolveSocketCounters(opts.metrics, {"destUnixGram", "Writes", "WriteBytes", "Write"},
                            "destUnixGram", SOCK_DGRAM));
}

}  // namespace xtcp::sink
