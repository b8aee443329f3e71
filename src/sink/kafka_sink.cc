// kafka:host:port[,host:port…] — asynchronous produce with librdkafka's C API.
//
//   Send()        copies the payload into librdkafka's producer queue (no key, no headers, the
//                 default partitioner) and returns; delivery is reported later
//   queue bound   queue.buffering.max.messages / .kbytes (SinkOptions); a full queue fails Send()
//                 at once with ResourceExhausted, counted destKafka/queueFull/error
//   broker away   messages wait in the bounded queue while librdkafka reconnects on its own;
//                 they fail only after message.timeout.ms (-produceTimeout; 0 = librdkafka's
//                 default, 300 s). Nothing here blocks the daemon.
//   delivery      a poll thread serves delivery reports: destKafka/Produce/count or /error and
//                 the latency summary with the same labels (seconds from produce to ack). Each
//                 message carries its row count (the per-message opaque); a failed delivery
//                 reports those rows to the loss callback (the output stage's rows_lost)
//   size          max_message_size() = kMaxPayload, below message.max.bytes with room for the
//                 record batch overhead: the output stage splits text flushes at row boundaries
//   Drain()       g_rdk->rd_kafka_flush() within the timeout; what is still undelivered is purged
//                 and counted (destKafka/FlushOnClose/error once, destKafka/undelivered/error per
//                 message, its rows to the loss callback)
//   compression   auto|"" -> zstd (upstream prefers zstd; librdkafka sends a batch uncompressed
//                 to a broker too old for zstd, < Kafka 2.1), or zstd|lz4|snappy|gzip|none as is
//   statistics    statistics.interval.ms: librdkafka's JSON statistics become xtcp_gauges
//                 {function="kafka"}: top-level counters as variable=<name>,type="gauge"; per
//                 broker variable="broker_<name>",type=<broker name>
//
// Other counters (destKafka): enqueue/count, enqueueBytes/count, enqueue/error (other produce
// failures, e.g. a message above message.max.bytes), clientError/error (librdkafka error events,
// e.g. all brokers down). librdkafka's own log lines go to our log at debug level.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "sink/lazy_libs.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

// librdkafka, loaded when the first kafka sink is made (see lazy_libs.h).
const RdKafkaApi* g_rdk = nullptr;

constexpr int kMessageMaxBytes = 1000000;  // upstream ProducerBatchMaxBytes
// Largest payload handed to librdkafka: a formatted flush (jsonl is ~3x protobuf) above it is
// split by the output stage. 24 KiB below the limit covers the batch and record headers.
constexpr size_t kMaxPayload = kMessageMaxBytes - 24 * 1024;

// -kafkaCompression, case-insensitive like the flag validation.
absl::StatusOr<std::string> Codec(std::string_view flag) {
  const std::string c = absl::AsciiStrToLower(AsAbsl(flag));
  if (c.empty() || c == "auto") return std::string("zstd");
  if (c == "zstd" || c == "lz4" || c == "snappy" || c == "gzip" || c == "none") return c;
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value \"", AsAbsl(flag),
      "\" for flag -kafkaCompression: want one of auto, zstd, lz4, snappy, gzip, none"));
}

// librdkafka statistics exported as gauges (a selection: queue state, traffic, broker health).
constexpr std::string_view kTopStats[] = {
    "msg_cnt", "msg_size", "msg_max", "msg_size_max", "replyq", "tx",         "tx_bytes",
    "rx",      "rx_bytes", "txmsgs",  "txmsg_bytes",  "rxmsgs", "simple_cnt", "metadata_cache_cnt"};
constexpr std::string_view kBrokerStats[] = {
    "outbuf_cnt", "outbuf_msg_cnt", "waitresp_cnt", "waitresp_msg_cnt", "tx",
    "txbytes",    "txerrs",         "txretries",    "req_timeouts",     "rx",
    "rxerrs",     "connects",       "disconnects"};

class KafkaSink final : public Sink {
 public:
  KafkaSink(std::string brokers, const SinkOptions& opts)
      : brokers_(std::move(brokers)), topic_name_(opts.topic), metrics_(opts.metrics) {
    if (Metrics* m = metrics_) {
      produced_ = &m->Count("destKafka", "Produce", "count");
      produce_errors_ = &m->Count("destKafka", "Produce", "error");
      produce_latency_ = &m->Summary("destKafka", "Produce", "count");
      produce_error_latency_ = &m->Summary("destKafka", "Produce", "error");
      flush_errors_ = &m->Count("destKafka", "FlushOnClose", "error");
      undelivered_ = &m->Count("destKafka", "undelivered", "error");
      queue_full_ = &m->Count("destKafka", "queueFull", "error");
      enqueued_ = &m->Count("destKafka", "enqueue", "count");
      enqueued_bytes_ = &m->Count("destKafka", "enqueueBytes", "count");
      enqueue_errors_ = &m->Count("destKafka", "enqueue", "error");
      client_errors_ = &m->Count("destKafka", "clientError", "error");
    }
  }

  ~KafkaSink() override {
    stop_.store(true);
    if (poller_.joinable()) poller_.join();
    if (rk_ != nullptr) {
      // Whatever Drain() did not deliver is failed now (and counted by its delivery reports).
      g_rdk->rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      g_rdk->rd_kafka_poll(rk_, 0);
      if (rkt_ != nullptr) g_rdk->rd_kafka_topic_destroy(rkt_);
      g_rdk->rd_kafka_destroy(rk_);
    }
  }

  absl::Status Init(const SinkOptions& opts, const std::string& codec) {
    rd_kafka_conf_t* conf = g_rdk->rd_kafka_conf_new();
    const std::string timeout_ms =
        opts.produce_timeout > absl::ZeroDuration()
            ? absl::StrCat(absl::ToInt64Milliseconds(opts.produce_timeout))
            : "";
    const std::string stats_ms = absl::StrCat(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(opts.kafka_statistics_interval)));
    const std::pair<std::string, std::string> settings[] = {
        {"bootstrap.servers", brokers_},
        {"client.id", "xtcp2"},
        {"compression.codec", codec},
        {"enable.idempotence", "false"},
        {"message.max.bytes", absl::StrCat(kMessageMaxBytes + 1024)},
        {"queue.buffering.max.messages", absl::StrCat(std::max(1, opts.kafka_queue_max_messages))},
        {"queue.buffering.max.kbytes", absl::StrCat(std::max(1, opts.kafka_queue_max_kbytes))},
        {"statistics.interval.ms", stats_ms},
        {"message.timeout.ms", timeout_ms},
    };
    char err[512];
    for (const auto& [k, v] : settings) {
      if (v.empty()) continue;
      if (g_rdk->rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) !=
          RD_KAFKA_CONF_OK) {
        g_rdk->rd_kafka_conf_destroy(conf);
        return absl::InvalidArgumentError(
            absl::StrCat("invalid kafka setting ", k, "=", v, ": ", err));
      }
    }
    g_rdk->rd_kafka_conf_set_opaque(conf, this);
    g_rdk->rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::OnDelivery);
    g_rdk->rd_kafka_conf_set_error_cb(conf, &KafkaSink::OnError);
    g_rdk->rd_kafka_conf_set_log_cb(conf, &KafkaSink::OnLog);
    if (metrics_ != nullptr) g_rdk->rd_kafka_conf_set_stats_cb(conf, &KafkaSink::OnStats);
    rk_ = g_rdk->rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));  // owns conf on success
    if (rk_ == nullptr) {
      g_rdk->rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("kafka: cannot create producer: ", err));
    }
    rkt_ = g_rdk->rd_kafka_topic_new(rk_, topic_name_.c_str(), nullptr);
    if (rkt_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka: topic \"", topic_name_,
                       "\": ", g_rdk->rd_kafka_err2str(g_rdk->rd_kafka_last_error())));
    }
    poller_ = std::thread([this] {
      while (!stop_.load()) g_rdk->rd_kafka_poll(rk_, 100);
    });
    XTCP_LOG(kInfo, "sink kafka: brokers %s topic %s compression %s", brokers_, topic_name_, codec);
    return absl::OkStatus();
  }

  std::string_view scheme() const override { return "kafka"; }
  size_t max_message_size() const override { return kMaxPayload; }

  void SetLossCallback(LossCallback cb) override {
    absl::MutexLock lock(&loss_mu_);
    on_loss_ = std::move(cb);
  }

  absl::Status Send(std::string_view payload) override { return Produce(payload, 0); }
  absl::Status SendRows(std::span<const std::string_view> parts, uint64_t rows) override {
    if (parts.size() == 1) return Produce(parts[0], rows);
    joined_.clear();
    for (std::string_view p : parts) joined_.append(p);
    return Produce(joined_, rows);
  }

  absl::Status Drain(absl::Duration timeout) override {
    const int ms = static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 0,
                                                        std::numeric_limits<int>::max()));
    g_rdk->rd_kafka_flush(rk_, ms);
    // Delivery reports that flush() queued are served by the poll thread; give it a moment.
    WaitForReports(absl::Milliseconds(100));
    const int64_t left = outstanding_.load();
    if (left <= 0) return absl::OkStatus();
    // Give up on them now, so that their rows are counted lost before the daemon's last line
    // (a purged in-flight message may still have reached the broker: at-least-once).
    g_rdk->rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    WaitForReports(absl::Seconds(1));
    Inc(flush_errors_);
    if (undelivered_) undelivered_->Increment(static_cast<double>(left));
    return absl::DeadlineExceededError(absl::StrCat("kafka: ", left, " messages undelivered after ",
                                                    absl::FormatDuration(timeout)));
  }

 private:
  void WaitForReports(absl::Duration limit) {
    const absl::Time until = absl::Now() + limit;
    while (outstanding_.load() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(2));
  }

  absl::Status Produce(std::string_view payload, uint64_t rows) {
    if (g_rdk->rd_kafka_produce(rkt_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                const_cast<char*>(payload.data()), payload.size(), nullptr, 0,
                                reinterpret_cast<void*>(static_cast<uintptr_t>(rows))) != 0) {
      const rd_kafka_resp_err_t err = g_rdk->rd_kafka_last_error();
      absl::Status s;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        Inc(queue_full_);
        s = absl::ResourceExhaustedError(absl::StrCat("kafka: producer queue full (",
                                                      outstanding_.load(), " messages waiting)"));
      } else {
        Inc(enqueue_errors_);
        s = absl::UnavailableError(absl::StrCat("kafka: produce: ", g_rdk->rd_kafka_err2str(err)));
      }
      Warn(s.message());
      return s;
    }
    outstanding_.fetch_add(1);
    Inc(enqueued_);
    if (enqueued_bytes_) enqueued_bytes_->Increment(static_cast<double>(payload.size()));
    return absl::OkStatus();
  }

  void Warn(absl::string_view what) {
    absl::MutexLock lock(&log_mu_);  // called from librdkafka's threads too
    log_limit_.Warn(absl::StrCat("sink kafka:", brokers_), what);
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    const int64_t us = g_rdk->rd_kafka_message_latency(msg);
    const double seconds = us >= 0 ? static_cast<double>(us) / 1e6 : 0;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Inc(self->produce_errors_);
      if (self->produce_error_latency_) self->produce_error_latency_->Observe(seconds);
      self->Warn(absl::StrCat("delivery failed: ", g_rdk->rd_kafka_err2str(msg->err)));
      const auto rows = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private));
      absl::MutexLock lock(&self->loss_mu_);
      if (rows > 0 && self->on_loss_) self->on_loss_(rows);
    } else {
      Inc(self->produced_);
      if (self->produce_latency_) self->produce_latency_->Observe(seconds);
    }
    // Last: Drain() takes outstanding_ == 0 to mean every loss has been reported.
    self->outstanding_.fetch_sub(1);
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    Inc(self->client_errors_);
    self->Warn(absl::StrCat(g_rdk->rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), ": ",
                            reason));
  }

  // Connection failures also arrive through OnError (rate-limited), so librdkafka's own lines
  // are debug output unless critical.
  static void OnLog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
    if (level <= 2) {  // LOG_CRIT and worse
      XTCP_LOG(kWarn, "librdkafka %s: %s", fac, buf);
    } else {
      XTCP_LOG(kDebug, "librdkafka %s: %s", fac, buf);
    }
  }

  static int OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
    static_cast<KafkaSink*>(opaque)->ExportStats(std::string_view(json, len));
    return 0;  // librdkafka frees the JSON
  }

  void ExportStats(std::string_view json) {
    google::protobuf::Struct stats;
    if (!google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(json.data(), json.size()), &stats)
             .ok()) {
      Inc(client_errors_);
      return;
    }
    const auto& top = stats.fields();
    for (std::string_view name : kTopStats) {
      const auto it = top.find(std::string(name));
      if (it == top.end()) continue;
      metrics_->Gauge("kafka", name, "gauge").Set(it->second.number_value());
    }
    const auto brokers = top.find("brokers");
    if (brokers == top.end()) return;
    for (const auto& [broker_name, broker] : brokers->second.struct_value().fields()) {
      const auto& f = broker.struct_value().fields();
      const auto state = f.find("state");
      if (state != f.end()) {
        metrics_->Gauge("kafka", "broker_state_up", broker_name)
            .Set(state->second.string_value() == "UP" ? 1 : 0);
      }
      for (std::string_view name : kBrokerStats) {
        const auto it = f.find(std::string(name));
        if (it == f.end()) continue;
        metrics_->Gauge("kafka", absl::StrCat("broker_", AsAbsl(name)), broker_name)
            .Set(it->second.number_value());
      }
      const auto rtt = f.find("rtt");
      if (rtt != f.end()) {
        const auto& r = rtt->second.struct_value().fields();
        if (const auto avg = r.find("avg"); avg != r.end()) {
          metrics_->Gauge("kafka", "broker_rtt_avg_us", broker_name)
              .Set(avg->second.number_value());
        }
      }
    }
  }

  const std::string brokers_;
  const std::string topic_name_;
  Metrics* const metrics_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> outstanding_{0};  // produced, delivery not yet reported
  std::string joined_;                   // SendRows() scratch (output thread)
  absl::Mutex loss_mu_;                  // on_loss_ is set on one thread, called on librdkafka's
  LossCallback on_loss_ ABSL_GUARDED_BY(loss_mu_);
  absl::Mutex log_mu_;  // Warn() runs on the output and librdkafka threads
  LogLimiter log_limit_ ABSL_GUARDED_BY(log_mu_);
  prometheus::Counter* produced_ = nullptr;
  prometheus::Counter* produce_errors_ = nullptr;
  prometheus::Summary* produce_latency_ = nullptr;
  prometheus::Summary* produce_error_latency_ = nullptr;
  prometheus::Counter* flush_errors_ = nullptr;
  prometheus::Counter* undelivered_ = nullptr;
  prometheus::Counter* queue_full_ = nullptr;
  prometheus::Counter* enqueued_ = nullptr;
  prometheus::Counter* enqueued_bytes_ = nullptr;
  prometheus::Counter* enqueue_errors_ = nullptr;
  prometheus::Counter* client_errors_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewKafka(const SinkOptions& opts, std::string_view address) {
  auto api = LoadRdKafka();
  if (!api.ok())
    return absl::FailedPreconditionError(absl::StrCat("-dest kafka: ", api.status().message()));
  g_rdk = *api;
  auto codec = Codec(opts.kafka_compression);
  if (!codec.ok()) return codec.status();
  if (address.empty()) {  // bare "kafka" (StrSplit of a null view yields no piece at all)
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", opts.dest,
                     "\" for flag -dest: no broker given (want kafka:host:port[,host:port...])"));
  }
  std::vector<std::string> brokers;
  for (absl::string_view b : absl::StrSplit(AsAbsl(address), ',')) {
    auto hp = ParseHostPort(AsStd(b), opts.dest, "kafka:host:port[,host:port...]");
    if (!hp.ok()) return hp.status();
    if (hp->host.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value \"", opts.dest,
          "\" for flag -dest: missing broker host (want kafka:host:port[,host:port...])"));
    }
    brokers.emplace_back(b);
  }
  if (opts.topic.empty() || opts.topic.size() > 249) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", opts.topic, "\" for flag -topic: want 1..249 characters"));
  }
  auto sink = std::make_unique<KafkaSink>(absl::StrJoin(brokers, ","), opts);
  if (absl::Status s = sink->Init(opts, *codec); !s.ok()) return s;
  return sink;
}

}  // namespace xtcp::sink
