// nats:host:port[,host:port…] — each message is published on subject -topic through the NATS C
// client (libnats, loaded at run time: lazy_libs.h).
//
//   connect     at start-up; a server list that is down is not fatal (retry on failed connect):
//               the client keeps trying in the background, forever (upstream gave up after 5)
//   reconnect   after a lost connection, every server of the list in turn; between rounds the
//               delay starts at SinkOptions' backoff_initial (100 ms) and doubles to
//               backoff_max (1 s)
//   connected   Publish, then a PING/PONG round trip (natsConnection_FlushTimeout) before Send()
//               returns: the server has the message (and every one before it). A failed round
//               trip fails the send (flush/error) and the output stage retries it: at-least-once
//   not         Publish goes into the client's reconnect buffer (nats_reconnect_buffer_bytes,
//   connected   8 MiB) and Send() succeeds (buffered/count); the buffer is written out on
//               reconnect and confirmed by the next round trip. A full buffer fails the send
//               (bufferFull/error): the output stage retries, then counts the rows lost
//   size        max_message_size() = the server's max_payload (its INFO; 1 MiB until the first
//               connect), so the output stage splits bigger flushes on row boundaries
//   Drain()     one round trip within the shutdown time confirms what is buffered; otherwise
//               FlushOnClose/error once, and the buffered messages' rows go to the loss callback
//
// A message buffered while disconnected counts as sent until it is known lost. It is written out
// on the next connection only, so a round trip confirms it only if the client has not
// reconnected more than once since it was buffered (the client's reconnect count); otherwise that
// connection may have died with it unread, and it is counted lost (bufferLost/error, its rows to
// the loss callback) — conservatively: it may have arrived.
//
// Counters (destNATS): upstream Publish/count (messages the client took), Publish/error,
// FlushOnClose/error, and the latency summary Publish/count|error (seconds, the round trip
// included); ours buffered/count, bufferFull/error, bufferLost/error, flush/error, tooLarge/error,
// connect/count (the first connection), disconnect/count, reconnect/count, asyncError/error,
// PublishBytes/count.
//
// Send() and Drain() run on one thread at a time (the output stage); the client's callbacks run on
// its own threads and touch only atomics, counters and the locked log limiter.
#include <algorithm>
#include <atomic>
#include <climits>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"
#include "common/log_limiter.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "sink/lazy_libs.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

// libnats, loaded when the first nats sink is made (see lazy_libs.h).
const NatsApi* g_nats = nullptr;

constexpr std::string_view kSyntax = "nats:host:port[,host:port...]";
constexpr size_t kDefaultMaxPayload = 1 << 20;  // nats-server's default max_payload

class NatsSink final : public Sink {
 public:
  NatsSink(std::string servers, const SinkOptions& opts)
      : servers_(std::move(servers)),
        subject_(opts.topic),
        timeout_(opts.produce_timeout > absl::ZeroDuration() ? opts.produce_timeout
                                                             : opts.io_timeout),
        backoff_initial_(opts.reconnect_backoff_initial),
        backoff_max_(opts.reconnect_backoff_max) {
    publish_ = ResolvePublishCounters(opts.metrics, "destNATS");
    if (Metrics* m = opts.metrics) {
      flush_on_close_errors_ = &m->Count("destNATS", "FlushOnClose", "error");
      buffered_ = &m->Count("destNATS", "buffered", "count");
      buffer_full_ = &m->Count("destNATS", "bufferFull", "error");
      buffer_lost_ = &m->Count("destNATS", "bufferLost", "error");
      flush_errors_ = &m->Count("destNATS", "flush", "error");
      too_large_ = &m->Count("destNATS", "tooLarge", "error");
      disconnects_ = &m->Count("destNATS", "disconnect", "count");
      reconnects_ = &m->Count("destNATS", "reconnect", "count");
      connects_ = &m->Count("destNATS", "connect", "count");
      async_errors_ = &m->Count("destNATS", "asyncError", "error");
    }
  }

  ~NatsSink() override {
    if (nc_ != nullptr) {
      closing_.store(true);  // the disconnect that Close() reports is ours
      g_nats->natsConnection_Close(nc_);
      // The closed callback is the client's last use of `this`.
      closed_.WaitForNotificationWithTimeout(absl::Seconds(5));
      g_nats->natsConnection_Destroy(nc_);
    }
    if (opts_ != nullptr) g_nats->natsOptions_Destroy(opts_);
    if (stats_ != nullptr) g_nats->natsStatistics_Destroy(stats_);
  }

  absl::Status Init(const std::vector<std::string>& urls, size_t reconnect_buffer) {
    if (natsStatus s = g_nats->natsOptions_Create(&opts_); s != NATS_OK) return Error("options", s);
    if (natsStatus s = g_nats->natsStatistics_Create(&stats_); s != NATS_OK) {
      return Error("statistics", s);
    }
    std::vector<const char*> list;
    for (const std::string& u : urls) list.push_back(u.c_str());
    const int64_t timeout_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout_));
    const int buf = static_cast<int>(std::clamp<size_t>(reconnect_buffer, 1, INT_MAX));
    const natsStatus steps[] = {
        g_nats->natsOptions_SetServers(opts_, list.data(), static_cast<int>(list.size())),
        g_nats->natsOptions_SetName(opts_, "xtcp2"),
        g_nats->natsOptions_SetTimeout(opts_, timeout_ms),
        g_nats->natsOptions_SetAllowReconnect(opts_, true),
        g_nats->natsOptions_SetMaxReconnect(opts_, -1),  // never give up
        g_nats->natsOptions_SetCustomReconnectDelay(opts_, &NatsSink::ReconnectDelay, this),
        g_nats->natsOptions_SetReconnectBufSize(opts_, buf),
        g_nats->natsOptions_SetRetryOnFailedConnect(opts_, true, &NatsSink::OnConnected, this),
        g_nats->natsOptions_SetDisconnectedCB(opts_, &NatsSink::OnDisconnected, this),
        g_nats->natsOptions_SetReconnectedCB(opts_, &NatsSink::OnReconnected, this),
        g_nats->natsOptions_SetClosedCB(opts_, &NatsSink::OnClosed, this),
        g_nats->natsOptions_SetErrorHandler(opts_, &NatsSink::OnError, this),
    };
    for (natsStatus s : steps) {
      if (s != NATS_OK) return Error("options", s);
    }
    const natsStatus s = g_nats->natsConnection_Connect(&nc_, opts_);
    if (s == NATS_OK) {
      Inc(connects_);
      LearnMaxPayload();
      XTCP_LOG(kInfo, "sink nats:%s: connected; subject %s, max_payload %d", servers_, subject_,
               max_payload_.load());
    } else if (s == NATS_NOT_YET_CONNECTED) {
      XTCP_LOG(kWarn, "sink nats:%s: no server reachable yet; retrying in the background",
               servers_);
    } else {
      nc_ = nullptr;
      return Error("connect", s);
    }
    return absl::OkStatus();
  }

  std::string_view scheme() const override { return "nats"; }
  size_t max_message_size() const override { return max_payload_.load(); }

  void SetLossCallback(LossCallback cb) override {
    absl::MutexLock lock(&loss_mu_);
    on_loss_ = std::move(cb);
  }

  absl::Status Send(std::string_view payload) override {
    const std::string_view one[] = {payload};
    return SendRows(one, 0);
  }
  absl::Status SendRows(std::span<const std::string_view> parts, uint64_t rows) override {
    std::string_view payload = parts.empty() ? std::string_view() : parts[0];
    if (parts.size() > 1) {
      joined_.clear();
      for (std::string_view p : parts) joined_.append(p);
      payload = joined_;
    }
    const absl::Time start = absl::Now();
    absl::Status s = Publish(payload, rows);
    publish_.Record(start, payload.size(), s);
    if (s.ok()) return s;
    Warn(s.message());
    return absl::Status(s.code(), absl::StrCat("nats:", servers_, ": ", s.message()));
  }

  absl::Status Drain(absl::Duration timeout) override {
    if (pending_.empty()) return absl::OkStatus();  // each one confirmed already
    const natsStatus s = g_nats->natsConnection_FlushTimeout(
        nc_, std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout)));
    if (s == NATS_OK) {
      Confirm();
      return absl::OkStatus();
    }
    Inc(flush_on_close_errors_);
    const uint64_t messages = pending_.size();
    uint64_t rows = 0;
    for (const Pending& p : pending_) rows += p.rows;
    pending_.clear();
    ReportLost(rows);
    return absl::DeadlineExceededError(
        absl::StrCat("nats: ", messages, " buffered messages (", rows, " rows) unconfirmed after ",
                     absl::FormatDuration(timeout), ": ", g_nats->natsStatus_GetText(s)));
  }

 private:
  absl::Status Publish(std::string_view payload, uint64_t rows) {
    const size_t max = max_payload_.load();
    if (payload.size() > max || payload.size() > INT_MAX) {
      Inc(too_large_);
      return absl::ResourceExhaustedError(absl::StrCat(
          "message of ", payload.size(), " bytes is above the server's max_payload ", max));
    }
    const natsConnStatus before = g_nats->natsConnection_Status(nc_);
    natsStatus s = g_nats->natsConnection_Publish(nc_, subject_.c_str(), payload.data(),
                                                  static_cast<int>(payload.size()));
    if (s == NATS_INSUFFICIENT_BUFFER) {
      Inc(buffer_full_);
      return absl::UnavailableError("not connected and the reconnect buffer is full");
    }
    if (s != NATS_OK) return Error("publish", s);
    if (before != NATS_CONN_STATUS_CONNECTED) {
      pending_.push_back({Reconnects(), rows});
      Inc(buffered_);
      return absl::OkStatus();
    }
    s = g_nats->natsConnection_FlushTimeout(nc_, std::max<int64_t>(1, ToMs(timeout_)));
    if (s != NATS_OK) {
      // The message went out on a connection that failed: it may or may not have arrived.
      Inc(flush_errors_);
      return Error("flush", s);
    }
    LearnMaxPayload();
    Confirm();
    return absl::OkStatus();
  }

  // After a successful round trip: the buffered messages written out on this connection arrived;
  // those from before an earlier reconnect are not known to have.
  void Confirm() {
    if (pending_.empty()) return;
    const uint64_t now = Reconnects();
    uint64_t confirmed = 0, lost = 0, lost_rows = 0;
    for (const Pending& p : pending_) {
      if (now <= p.reconnects + 1) {
        ++confirmed;
      } else {
        ++lost;
        lost_rows += p.rows;
      }
    }
    pending_.clear();
    XTCP_LOG(kInfo, "sink nats:%s: %d messages buffered while disconnected confirmed", servers_,
             confirmed);
    if (lost == 0) return;
    Inc(buffer_lost_, static_cast<double>(lost));
    Warn(absl::StrCat(lost, " buffered messages (", lost_rows,
                      " rows) counted lost: the client reconnected more than once before they "
                      "could be confirmed"));
    ReportLost(lost_rows);
  }

  // The client's reconnect count (0 until the first reconnect).
  uint64_t Reconnects() {
    uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0, reconnects = 0;
    if (g_nats->natsConnection_GetStats(nc_, stats_) != NATS_OK) return 0;
    g_nats->natsStatistics_GetCounts(stats_, &in_msgs, &in_bytes, &out_msgs, &out_bytes,
                                     &reconnects);
    return reconnects;
  }

  void ReportLost(uint64_t rows) {
    absl::MutexLock lock(&loss_mu_);
    if (rows > 0 && on_loss_) on_loss_(rows);
  }

  void LearnMaxPayload() {
    const int64_t m = g_nats->natsConnection_GetMaxPayload(nc_);
    if (m > 0) max_payload_.store(static_cast<size_t>(m));
  }

  static int64_t ToMs(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

  absl::Status Error(std::string_view what, natsStatus s) {
    return absl::UnavailableError(absl::StrCat(AsAbsl(what), ": ", g_nats->natsStatus_GetText(s)));
  }

  void Warn(absl::string_view what) {
    absl::MutexLock lock(&log_mu_);  // the output thread and the client's threads
    log_limit_.Warn(absl::StrCat("sink nats:", servers_), what);
  }

  static int64_t ReconnectDelay(natsConnection*, int attempts, void* closure) {
    const auto* self = static_cast<NatsSink*>(closure);
    absl::Duration d = self->backoff_initial_;
    for (int i = 1; i < attempts && d < self->backoff_max_; ++i) d *= 2;
    return std::max<int64_t>(1, ToMs(std::min(d, self->backoff_max_)));
  }
  static void OnConnected(natsConnection* nc, void* closure) {
    auto* self = static_cast<NatsSink*>(closure);
    Inc(self->connects_);
    const int64_t m = g_nats->natsConnection_GetMaxPayload(nc);
    if (m > 0) self->max_payload_.store(static_cast<size_t>(m));
    XTCP_LOG(kInfo, "sink nats:%s: connected; max_payload %d", self->servers_, m);
  }
  static void OnReconnected(natsConnection* nc, void* closure) {
    auto* self = static_cast<NatsSink*>(closure);
    Inc(self->reconnects_);
    const int64_t m = g_nats->natsConnection_GetMaxPayload(nc);
    if (m > 0) self->max_payload_.store(static_cast<size_t>(m));
    XTCP_LOG(kInfo, "sink nats:%s: reconnected; max_payload %d", self->servers_, m);
  }
  static void OnDisconnected(natsConnection*, void* closure) {
    auto* self = static_cast<NatsSink*>(closure);
    if (self->closing_.load()) return;
    Inc(self->disconnects_);
    self->Warn("disconnected; reconnecting (publishes are buffered meanwhile)");
  }
  static void OnClosed(natsConnection*, void* closure) {
    static_cast<NatsSink*>(closure)->closed_.Notify();
  }
  static void OnError(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    auto* self = static_cast<NatsSink*>(closure);
    Inc(self->async_errors_);
    self->Warn(absl::StrCat("asynchronous error: ", g_nats->natsStatus_GetText(err)));
  }

  const std::string servers_;  // as given, for logs
  const std::string subject_;
  const absl::Duration timeout_;
  const absl::Duration backoff_initial_, backoff_max_;
  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  absl::Notification closed_;
  std::atomic<bool> closing_{false};
  std::atomic<size_t> max_payload_{kDefaultMaxPayload};
  natsStatistics* stats_ = nullptr;  // Reconnects() scratch (output thread)
  // Output thread only: messages published while disconnected, not yet confirmed, with the
  // client's reconnect count when each was buffered.
  struct Pending {
    uint64_t reconnects;
    uint64_t rows;
  };
  std::deque<Pending> pending_;
  std::string joined_;  // SendRows() scratch
  absl::Mutex loss_mu_;
  LossCallback on_loss_ ABSL_GUARDED_BY(loss_mu_);
  absl::Mutex log_mu_;
  LogLimiter log_limit_ ABSL_GUARDED_BY(log_mu_);
  PublishCounters publish_;
  prometheus::Counter* flush_on_close_errors_ = nullptr;
  prometheus::Counter* buffered_ = nullptr;
  prometheus::Counter* buffer_full_ = nullptr;
  prometheus::Counter* buffer_lost_ = nullptr;
  prometheus::Counter* flush_errors_ = nullptr;
  prometheus::Counter* too_large_ = nullptr;
  prometheus::Counter* disconnects_ = nullptr;
  prometheus::Counter* reconnects_ = nullptr;
  prometheus::Counter* connects_ = nullptr;
  prometheus::Counter* async_errors_ = nullptr;
};

absl::Status BadDest(const SinkOptions& opts, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid value \"", opts.dest,
                                                 "\" for flag -dest: ", AsAbsl(why), " (want ",
                                                 AsAbsl(kSyntax), ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewNats(const SinkOptions& opts, std::string_view address) {
  if (address.empty()) return BadDest(opts, "no server given");
  std::vector<std::string> urls;
  for (absl::string_view one : absl::StrSplit(AsAbsl(address), ',')) {
    auto hp = ParseHostPort(AsStd(one), opts.dest, kSyntax);
    if (!hp.ok()) return hp.status();
    if (hp->host.empty()) return BadDest(opts, "missing server host");
    if (hp->port.find_first_not_of("0123456789") != std::string::npos) {
      return BadDest(opts, "the port must be a number");
    }
    const bool v6 = hp->host.find(':') != std::string::npos;
    urls.push_back(absl::StrCat("nats://", v6 ? "[" : "", hp->host, v6 ? "]" : "", ":", hp->port));
  }
  if (opts.topic.empty() || opts.topic.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", opts.topic, "\" for flag -topic: nats needs a subject without spaces"));
  }
  auto api = LoadNats();
  if (!api.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("-dest nats: ", api.status().message()));
  }
  g_nats = *api;
  auto sink = std::make_unique<NatsSink>(std::string(address), opts);
  if (absl::Status s = sink->Init(urls, opts.nats_reconnect_buffer_bytes); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("-dest nats:", AsAbsl(address), ": ", s.message()));
  }
  return sink;
}

}  // namespace xtcp::sink
