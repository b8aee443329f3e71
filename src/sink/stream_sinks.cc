// tcp:host:port and unix:/path — stream sockets on a ReconnectingSocket (socket_util.h: lazy
// connect, reconnect with backoff, peer-closed check before each write, rate-limited warnings).
//
//   tcp   each payload written as is (the marshaller frames it)
//   unix  uvarint(len(payload)) ‖ payload, header and payload in one sendmsg (upstream framing;
//         with protobufList this is a second length prefix, kept for wire compatibility)
//
// Counters (function destTCP | destUnix): upstream Write/error, Writes/count, WriteBytes/count;
// ours connect/count, connect/error, backoff/error (send refused while waiting to reconnect),
// peerClosed/count.
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "common/varint.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

class StreamSink final : public Sink {
 public:
  // `fn` names the counters (destTCP, destUnix).
  StreamSink(std::string_view scheme, std::string_view fn, ReconnectingSocket::Options sock,
             Metrics* m)
      : scheme_(scheme),
        framed_(!sock.unix_path.empty()),
        socket_(std::move(sock),
                ResolveSocketCounters(m, {fn, "Writes", "WriteBytes", "Write"}, fn, SOCK_STREAM)) {}

  std::string_view scheme() const override { return scheme_; }

  absl::Status Send(std::string_view payload) override {
    const std::string_view one[] = {payload};
    return SendParts(one);
  }

  absl::Status SendParts(std::span<const std::string_view> parts) override {
    if (!framed_) return socket_.Send(parts);
    size_t len = 0;
    for (std::string_view p : parts) len += p.size();
    uint8_t header[kMaxVarintBytes];
    const size_t header_len = static_cast<size_t>(PutVarint(header, len) - header);
    absl::InlinedVector<std::string_view, 4> framed;
    framed.emplace_back(reinterpret_cast<const char*>(header), header_len);
    framed.insert(framed.end(), parts.begin(), parts.end());
    return socket_.Send(framed);
  }

 private:
  const std::string scheme_;
  const bool framed_;  // unix: a uvarint length before each message
  ReconnectingSocket socket_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewTcp(const SinkOptions& opts, std::string_view address) {
  auto hp = ParseHostPort(address, opts.dest, "tcp:host:port");
  if (!hp.ok()) return hp.status();
  auto sock = ReconnectingSocket::From(opts, SOCK_STREAM, absl::StrCat("tcp:", AsAbsl(address)));
  sock.hp = *std::move(hp);
  return std::make_unique<StreamSink>("tcp", "destTCP", std::move(sock), opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewUnix(const SinkOptions& opts, std::string_view path) {
  if (absl::Status s = CheckUnixPath(path, opts.dest, "unix"); !s.ok()) return s;
  auto sock = ReconnectingSocket::From(opts, SOCK_STREAM, absl::StrCat("unix:", AsAbsl(path)));
  sock.unix_path = std::string(path);
  return std::make_unique<StreamSink>("unix", "destUnix", std::move(sock), opts.metrics);
}

}  // namespace xtcp::sink
