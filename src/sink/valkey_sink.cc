// valkey:host:port — each message is one `PUBLISH <-topic> <message>` on a pub/sub channel, through
// hiredis's synchronous API. Valkey and Redis speak the same protocol; either server works.
//
//   connect     lazily, on the first send, and again after any failure: the address is resolved
//               (names again each time, IP literals, service names, an empty host = this host)
//               and connected with the socket sinks' helper, then handed to hiredis
//               (redisConnectFd). A server that is down at start-up is not fatal (upstream's
//               PING at start-up was): sends fail and are counted until it is reachable.
//   backoff     a failed connect waits 100 ms, doubling to 1 s (SinkOptions); a send while it runs
//               fails at once (backoff/error) instead of storming the server with connects
//   timeout     -produceTimeout when > 0, else the socket sinks' 10 s, for the connect and for
//               each read and write (SO_RCVTIMEO/SO_SNDTIMEO): a send never hangs longer
//   dead peer   a zero-timeout poll before each command notices a server that closed the
//               connection (restart) and reconnects first (peerClosed/count); the server sends
//               nothing unprompted on a publishing connection
//   reply       an integer (the number of subscribers that got the message) is success; zero is
//               counted (noSubscriber/count: pub/sub keeps nothing for absent subscribers). An
//               error reply (NOAUTH, NOPERM, …) fails the send (replyError/error) and keeps the
//               connection; an I/O error or timeout drops it
//   size        no limit of ours: the server's proto-max-bulk-len (512 MB by default) is far above
//               any flush
//
// Every failed send is returned to the output stage (which retries it and counts the rows it
// finally loses) and logged through one LogLimiter. Delivery is at-least-once: a PUBLISH whose
// reply was lost to a dropped connection may have been delivered, and its retry delivers it again.
//
// Counters (destValKey, upstream's spelling): upstream Publish/count (replies received),
// Publish/error (sends that failed, whatever the reason) and the latency summary with the same
// labels (seconds); ours connect/count, connect/error, backoff/error, peerClosed/count,
// replyError/error, noSubscriber/count, PublishBytes/count.
//
// Not thread-safe: the output stage's one thread sends.
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/log_limiter.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

constexpr std::string_view kSyntax = "valkey:host:port";

struct ContextFree {
  void operator()(redisContext* c) const { ::redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { ::freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class ValkeySink final : public Sink {
 public:
  ValkeySink(std::string name, HostPort hp, const SinkOptions& opts)
      : name_(std::move(name)),
        log_name_(absl::StrCat("sink ", name_)),
        hp_(std::move(hp)),
        topic_(opts.topic),
        timeout_(opts.produce_timeout > absl::ZeroDuration() ? opts.produce_timeout
                                                             : opts.io_timeout),
        backoff_(opts.reconnect_backoff_initial, opts.reconnect_backoff_max) {
    publish_ = ResolvePublishCounters(opts.metrics, "destValKey");
    if (Metrics* m = opts.metrics) {
      connects_ = &m->Count("destValKey", "connect", "count");
      connect_errors_ = &m->Count("destValKey", "connect", "error");
      backoff_errors_ = &m->Count("destValKey", "backoff", "error");
      peer_closed_ = &m->Count("destValKey", "peerClosed", "count");
      reply_errors_ = &m->Count("destValKey", "replyError", "error");
      no_subscriber_ = &m->Count("destValKey", "noSubscriber", "count");
    }
  }

  std::string_view scheme() const override { return "valkey"; }

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
  absl::Status Publish(std::string_view payload) {
    if (ctx_ != nullptr && PeerClosed()) {
      Inc(peer_closed_);
      ctx_.reset();
    }
    if (ctx_ == nullptr) {
      if (absl::Status s = Connect(); !s.ok()) return s;
    }
    const char* argv[] = {"PUBLISH", topic_.data(), payload.data()};
    const size_t lens[] = {7, topic_.size(), payload.size()};
    Reply reply(static_cast<redisReply*>(::redisCommandArgv(ctx_.get(), 3, argv, lens)));
    if (reply == nullptr) {
      // I/O error or timeout: the connection is unusable (and the message may have arrived).
      const std::string why = ctx_->errstr;
      ctx_.reset();
      return absl::UnavailableError(absl::StrCat("PUBLISH: ", why, "; connection dropped"));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      Inc(reply_errors_);
      return absl::FailedPreconditionError(
          absl::StrCat("PUBLISH refused: ", absl::string_view(reply->str, reply->len)));
    }
    if (reply->type != REDIS_REPLY_INTEGER) {
      ctx_.reset();  // not a Redis protocol peer we understand
      return absl::UnavailableError(
          absl::StrCat("PUBLISH: unexpected reply type ", reply->type, "; connection dropped"));
    }
    if (reply->integer == 0) Inc(no_subscriber_);
    return absl::OkStatus();
  }

  absl::Status Connect() {
    const absl::Time now = absl::Now();
    if (!backoff_.Ready(now)) {
      Inc(backoff_errors_);
      return absl::UnavailableError(absl::StrCat("not connected; next attempt in ",
                                                 absl::FormatDuration(backoff_.Remaining(now))));
    }
    absl::StatusOr<UniqueFd> fd = absl::UnavailableError("no address");
    auto addrs = Resolve(hp_, SOCK_STREAM);
    if (!addrs.ok()) fd = addrs.status();
    for (size_t i = 0; addrs.ok() && i < addrs->size() && !fd.ok(); ++i) {
      fd = ConnectTo((*addrs)[i], SOCK_STREAM, timeout_);
    }
    Context ctx;
    if (fd.ok()) {
      const int on = 1;
      ::setsockopt(fd->get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
      ctx.reset(::redisConnectFd(fd->get()));
      if (ctx != nullptr) {
        fd->release();  // hiredis closes it now
        if (::redisSetTimeout(ctx.get(), absl::ToTimeval(timeout_)) != REDIS_OK) {
          fd = absl::UnavailableError(absl::StrCat("set timeout: ", ctx->errstr));
        }
      } else {
        fd = absl::ResourceExhaustedError("hiredis: out of memory");
      }
    }
    if (!fd.ok()) {
      backoff_.Failed(absl::Now());
      Inc(connect_errors_);
      return absl::UnavailableError(fd.status().message());
    }
    ctx_ = std::move(ctx);
    backoff_.Succeeded();
    Inc(connects_);
    XTCP_LOG(kInfo, "sink %s: connected%s", name_,
             failed_while_down_ == 0
                 ? ""
                 : absl::StrCat("; ", failed_while_down_, " sends failed while not connected"));
    failed_while_down_ = 0;
    return absl::OkStatus();
  }

  // True when the server closed or reset the connection (or sent something unasked for, which
  // leaves the reply stream out of step: reconnecting is the safe answer).
  bool PeerClosed() const {
    pollfd p{ctx_->fd, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && p.revents != 0;
  }

  const std::string name_;      // "valkey:host:port", for logs and errors
  const std::string log_name_;  // "sink <name>"
  const HostPort hp_;
  const std::string topic_;
  const absl::Duration timeout_;
  Backoff backoff_;
  LogLimiter log_limit_;
  Context ctx_;                     // null while not connected
  uint64_t failed_while_down_ = 0;  // failed sends since the last connect
  PublishCounters publish_;
  prometheus::Counter* connects_ = nullptr;
  prometheus::Counter* connect_errors_ = nullptr;
  prometheus::Counter* backoff_errors_ = nullptr;
  prometheus::Counter* peer_closed_ = nullptr;
  prometheus::Counter* reply_errors_ = nullptr;
  prometheus::Counter* no_subscriber_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewValkey(const SinkOptions& opts, std::string_view address) {
  auto hp = ParseHostPort(address, opts.dest, kSyntax);
  if (!hp.ok()) return hp.status();
  if (opts.topic.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"\" for flag -topic: valkey needs a channel name"));
  }
  return std::make_unique<ValkeySink>(absl::StrCat("valkey:", AsAbsl(address)), *std::move(hp),
                                      opts);
}

}  // namespace xtcp::sink
