// nsq:host:port — each message is one PUB on topic -topic to one nsqd, over nsqd's TCP protocol
// (a small client of our own: no maintained C or C++ client is packaged).
//
//   protocol    the magic "  V2", then IDENTIFY with a JSON body asking for feature negotiation;
//               every command's answer is a frame [size u32 BE][type u32 BE: 0 response, 1 error,
//               2 message][data]. PUB <topic>\n[size u32 BE][body] is answered "OK" or an error
//               frame (E_INVALID, E_BAD_TOPIC, E_BAD_MESSAGE, E_PUB_FAILED …)
//
//     to nsqd, once:   "  V2"  "IDENTIFY\n" [u32 BE json size][json]
//     to nsqd, each:   "PUB " topic "\n"    [u32 BE body size][body]
//     from nsqd:       [u32 BE size = 4 + data size][u32 BE frame type][data]
//                      type 0 "OK" / "_heartbeat_" / IDENTIFY's JSON, type 1 "E_… text"
//
//   heartbeat   nsqd sends a "_heartbeat_" response now and then; each is answered with NOP\n,
//               before a PUB (read from an idle connection) or while waiting for its answer
//   connect     lazily, on the first send, and again after any failure: resolved each time and
//               connected with the socket sinks' helper (ConnectTo). A server down at start-up is
//               not fatal: sends fail and are counted until it is reachable
//   backoff     a failed connect waits 100 ms, doubling to 1 s (SinkOptions); a send while it runs
//               fails at once (backoff/error)
//   timeout     -produceTimeout when > 0, else the socket sinks' 10 s, for the connect and each
//               read and write: a send never hangs longer
//   errors      an error frame fails the send (replyError/error) and drops the connection (nsqd
//               closes it after its PUB errors anyway); so does any I/O error or timeout
//   size        max_message_size() = the max_msg_size IDENTIFY's answer gives (nsqd's
//               --max-msg-size, 1 MiB by default until then), so the output stage splits bigger
//               flushes on row boundaries; a bigger message fails (tooLarge/error)
//
// Every failed send is returned to the output stage (which retries it and counts the rows it
// finally loses) and logged through one LogLimiter. Delivery is at-least-once: a PUB whose answer
// was lost to a dropped connection may have arrived, and its retry delivers it again.
//
// Counters (destNSQ): upstream Publish/count (messages nsqd answered OK), Publish/error (sends
// that failed), the latency summary with the same labels (seconds); ours connect/count,
// connect/error, backoff/error, peerClosed/count, replyError/error, tooLarge/error,
// heartbeat/count, PublishBytes/count.
//
// Not thread-safe: the output stage's one thread sends (max_message_size() may be asked anywhere).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/log_limiter.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

constexpr std::string_view kSyntax = "nsq:host:port";
constexpr size_t kDefaultMaxMsgSize = 1 << 20;  // nsqd's --max-msg-size default
constexpr uint32_t kFrameResponse = 0, kFrameError = 1;
constexpr size_t kMaxFrame = 64 << 20;  // far above any answer nsqd sends to a producer
constexpr std::string_view kHeartbeat = "_heartbeat_";

void PutU32(std::string* out, uint32_t v) {
  const std::array<char, 4> b = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                                 static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b.data(), b.size());
}

uint32_t GetU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The number after "max_msg_size": in IDENTIFY's JSON answer, or 0.
size_t MaxMsgSizeFrom(std::string_view json) {
  constexpr std::string_view kKey = "\"max_msg_size\"";
  size_t at = json.find(kKey);
  if (at == std::string_view::npos) return 0;
  at = json.find(':', at + kKey.size());
  if (at == std::string_view::npos) return 0;
  size_t end = ++at;
  while (end < json.size() && (json[end] == ' ' || json[end] == '\t')) ++end;
  const size_t digits = end;
  while (end < json.size() && absl::ascii_isdigit(static_cast<unsigned char>(json[end]))) ++end;
  uint64_t v = 0;
  if (!absl::SimpleAtoi(AsAbsl(json.substr(digits, end - digits)), &v)) return 0;
  return static_cast<size_t>(v);
}

class NsqSink final : public Sink {
 public:
  NsqSink(std::string name, HostPort hp, const SinkOptions& opts)
      : name_(std::move(name)),
        log_name_(absl::StrCat("sink ", name_)),
        hp_(std::move(hp)),
        topic_(opts.topic),
        timeout_(opts.produce_timeout > absl::ZeroDuration() ? opts.produce_timeout
                                                             : opts.io_timeout),
        backoff_(opts.reconnect_backoff_initial, opts.reconnect_backoff_max) {
    publish_ = ResolvePublishCounters(opts.metrics, "destNSQ");
    if (Metrics* m = opts.metrics) {
      connects_ = &m->Count("destNSQ", "connect", "count");
      connect_errors_ = &m->Count("destNSQ", "connect", "error");
      backoff_errors_ = &m->Count("destNSQ", "backoff", "error");
      peer_closed_ = &m->Count("destNSQ", "peerClosed", "count");
      reply_errors_ = &m->Count("destNSQ", "replyError", "error");
      too_large_ = &m->Count("destNSQ", "tooLarge", "error");
      heartbeats_ = &m->Count("destNSQ", "heartbeat", "count");
    }
  }

  std::string_view scheme() const override { return "nsq"; }
  size_t max_message_size() const override { return max_msg_size_.load(); }

  absl::Status Send(std::string_view payload) override {
    const absl::Time start = absl::Now();
    absl::Status s = Publish(payload);
    publish_.Record(start, payload.size(), s);
    if (s.ok()) return s;
    ++failed_while_down_;
    log_limit_.Warn(log_name_, s.message());
    return absl::Status(s.code(), absl::StrCat(name_, ": ", s.message()));
  }

 private:
  struct Frame {
    uint32_t type = 0;
    std::string data;
  };

  absl::Status Publish(std::string_view payload) {
    const size_t max = max_msg_size_.load();
    if (payload.size() > max || payload.size() > UINT32_MAX) {
      Inc(too_large_);
      return absl::ResourceExhaustedError(
          absl::StrCat("message of ", payload.size(), " bytes is above nsqd's max_msg_size ", max));
    }
    if (fd_.valid()) {
      if (absl::Status s = ServiceIdle(); !s.ok()) {
        Inc(peer_closed_);
        fd_.reset();
      }
    }
    if (!fd_.valid()) {
      if (absl::Status s = Connect(); !s.ok()) return s;
    }
    cmd_.clear();
    absl::StrAppend(&cmd_, "PUB ", topic_, "\n");
    PutU32(&cmd_, static_cast<uint32_t>(payload.size()));
    const std::string_view parts[] = {cmd_, payload};
    if (absl::Status s = WriteAll(parts); !s.ok()) return Drop("PUB", s);
    auto answer = Answer();
    if (!answer.ok()) return Drop("PUB", answer.status());
    if (answer->type == kFrameError) {
      Inc(reply_errors_);
      fd_.reset();  // nsqd closes the connection after a PUB error
      return absl::FailedPreconditionError(absl::StrCat("PUB refused: ", answer->data));
    }
    if (answer->type != kFrameResponse || answer->data != "OK") {
      fd_.reset();
      return absl::UnavailableError("PUB: unexpected answer; connection dropped");
    }
    return absl::OkStatus();
  }

  absl::Status Drop(std::string_view what, const absl::Status& s) {
    fd_.reset();
    return absl::UnavailableError(
        absl::StrCat(AsAbsl(what), ": ", s.message(), "; connection dropped"));
  }

  // Reads what an idle connection holds (heartbeats, answered); an error when the server closed
  // it or sent anything else.
  absl::Status ServiceIdle() {
    for (int i = 0; i < 64; ++i) {  // bounded: a few heartbeats at most
      pollfd p{fd_.get(), POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) <= 0 || p.revents == 0) return absl::OkStatus();
      if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
        return absl::UnavailableError("closed by the server");
      }
      auto f = ReadFrame();
      if (!f.ok()) return f.status();
      if (f->type != kFrameResponse || f->data != kHeartbeat) {
        return absl::UnavailableError("unexpected frame on an idle connection");
      }
      if (absl::Status s = Nop(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The answer to the command just written, heartbeats before it answered with NOP.
  absl::StatusOr<Frame> Answer() {
    for (int i = 0; i < 64; ++i) {
      auto f = ReadFrame();
      if (!f.ok()) return f.status();
      if (f->type == kFrameResponse && f->data == kHeartbeat) {
        if (absl::Status s = Nop(); !s.ok()) return s;
        continue;
      }
      return f;
    }
    return absl::UnavailableError("only heartbeats, no answer");
  }

  absl::Status Nop() {
    Inc(heartbeats_);
    const std::string_view nop[] = {"NOP\n"};
    return WriteAll(nop);
  }

  absl::StatusOr<Frame> ReadFrame() {
    unsigned char head[8];
    if (absl::Status s = ReadAll(head, sizeof(head)); !s.ok()) return s;
    const uint32_t size = GetU32(head);
    if (size < 4 || size > kMaxFrame) {
      return absl::UnavailableError(absl::StrCat("bad frame size ", size));
    }
    Frame f;
    f.type = GetU32(head + 4);
    f.data.resize(size - 4);
    if (absl::Status s = ReadAll(f.data.data(), f.data.size()); !s.ok()) return s;
    return f;
  }

  absl::Status ReadAll(void* buf, size_t n) {
    char* p = static_cast<char*>(buf);
    while (n > 0) {
      const ssize_t r = ::recv(fd_.get(), p, n, 0);
      if (r > 0) {
        p += r;
        n -= static_cast<size_t>(r);
      } else if (r == 0) {
        return absl::UnavailableError("connection closed by the server");
      } else if (errno != EINTR) {
        return absl::UnavailableError(errno == EAGAIN || errno == EWOULDBLOCK
                                          ? std::string("read timed out")
                                          : absl::StrCat("read: ", std::strerror(errno)));
      }
    }
    return absl::OkStatus();
  }

  absl::Status WriteAll(std::span<const std::string_view> parts) {
    for (std::string_view part : parts) {
      while (!part.empty()) {
        const ssize_t w = ::send(fd_.get(), part.data(), part.size(), MSG_NOSIGNAL);
        if (w >= 0) {
          part.remove_prefix(static_cast<size_t>(w));
        } else if (errno != EINTR) {
          return absl::UnavailableError(errno == EAGAIN || errno == EWOULDBLOCK
                                            ? std::string("write timed out")
                                            : absl::StrCat("write: ", std::strerror(errno)));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Connect() {
    const absl::Time now = absl::Now();
    if (!backoff_.Ready(now)) {
      Inc(backoff_errors_);
      return absl::UnavailableError(absl::StrCat("not connected; next attempt in ",
                                                 absl::FormatDuration(backoff_.Remaining(now))));
    }
    absl::Status s = Handshake();
    if (!s.ok()) {
      fd_.reset();
      backoff_.Failed(absl::Now());
      Inc(connect_errors_);
      return absl::UnavailableError(s.message());
    }
    backoff_.Succeeded();
    Inc(connects_);
    XTCP_LOG(kInfo, "sink %s: connected; topic %s, max_msg_size %d%s", name_, topic_,
             max_msg_size_.load(),
             failed_while_down_ == 0
                 ? ""
                 : absl::StrCat("; ", failed_while_down_, " sends failed since the last connect"));
    failed_while_down_ = 0;
    return absl::OkStatus();
  }

  absl::Status Handshake() {
    absl::StatusOr<UniqueFd> fd = absl::UnavailableError("no address");
    auto addrs = Resolve(hp_, SOCK_STREAM);
    if (!addrs.ok()) return addrs.status();
    for (size_t i = 0; i < addrs->size() && !fd.ok(); ++i) {
      fd = ConnectTo((*addrs)[i], SOCK_STREAM, timeout_);
    }
    if (!fd.ok()) return fd.status();
    fd_ = *std::move(fd);
    const timeval tv = absl::ToTimeval(timeout_);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const int on = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    std::string hello = "  V2IDENTIFY\n";
    const std::string body = absl::StrCat(
        "{\"client_id\":\"xtcp2\",\"user_agent\":\"xtcp2\",\"feature_negotiation\":true}");
    PutU32(&hello, static_cast<uint32_t>(body.size()));
    hello += body;
    const std::string_view parts[] = {hello};
    if (absl::Status s = WriteAll(parts); !s.ok()) return s;
    auto answer = Answer();
    if (!answer.ok()) return answer.status();
    if (answer->type == kFrameError) {
      return absl::FailedPreconditionError(absl::StrCat("IDENTIFY refused: ", answer->data));
    }
    if (answer->type != kFrameResponse)
      return absl::UnavailableError("IDENTIFY: unexpected answer");
    const size_t max = MaxMsgSizeFrom(answer->data);
    max_msg_size_.store(max > 0 ? max : kDefaultMaxMsgSize);
    return absl::OkStatus();
  }

  const std::string name_;      // "nsq:host:port", for logs and errors
  const std::string log_name_;  // "sink <name>"
  const HostPort hp_;
  const std::string topic_;
  const absl::Duration timeout_;
  Backoff backoff_;
  LogLimiter log_limit_;
  UniqueFd fd_;                                           // not valid while not connected
  std::atomic<size_t> max_msg_size_{kDefaultMaxMsgSize};  // read by any thread
  std::string cmd_;                                       // Publish() scratch
  uint64_t failed_while_down_ = 0;                        // failed sends since the last connect
  PublishCounters publish_;
  prometheus::Counter* connects_ = nullptr;
  prometheus::Counter* connect_errors_ = nullptr;
  prometheus::Counter* backoff_errors_ = nullptr;
  prometheus::Counter* peer_closed_ = nullptr;
  prometheus::Counter* reply_errors_ = nullptr;
  prometheus::Counter* too_large_ = nullptr;
  prometheus::Counter* heartbeats_ = nullptr;
};

// NSQ's topic rule: 1..64 of [.a-zA-Z0-9_-], optionally ending "#ephemeral" (within the 64).
bool ValidTopic(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  constexpr std::string_view kEphemeral = "#ephemeral";
  if (t.size() > kEphemeral.size() && t.substr(t.size() - kEphemeral.size()) == kEphemeral) {
    t.remove_suffix(kEphemeral.size());
  }
  for (char c : t) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewNsq(const SinkOptions& opts, std::string_view address) {
  auto hp = ParseHostPort(address, opts.dest, kSyntax);
  if (!hp.ok()) return hp.status();
  if (!ValidTopic(opts.topic)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", opts.topic,
                     "\" for flag -topic: nsq needs 1-64 of [.a-zA-Z0-9_-], optionally ending "
                     "#ephemeral"));
  }
  return std::make_unique<NsqSink>(absl::StrCat("nsq:", AsAbsl(address)), *std::move(hp), opts);
}

}  // namespace xtcp::sink
