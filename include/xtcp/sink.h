#pragma once
// Sink: delivers marshalled bytes somewhere. A Sink never sees a record.
//
// Implementations live in src/sink/, one file per scheme, listed in src/sink/builtin.cc. Send()
// is called from one thread at a time (the output stage). A Sink counts its own successes,
// failures and bytes in Metrics (upstream label triples where they exist) and never kills the
// daemon: a failed send returns an error (the caller counts the loss or retries), connections are
// re-established by the sink itself with backoff. A sink whose destination is gone for good (a
// closed stdout/stderr: EPIPE) returns Aborted; the output stage then stops sending and the daemon
// ends.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace xtcp {

class Metrics;

class Sink {
 public:
  virtual ~Sink() = default;

  virtual std::string_view scheme() const = 0;
  // Largest payload one Send() can carry, or 0 for no limit. The output stage splits bigger flushes
  // into self-contained chunks at record boundaries (datagram sinks).
  virtual size_t max_message_size() const { return 0; }
  // Delivers one payload (one flush, or one chunk of it).
  virtual absl::Status Send(std::string_view payload) = 0;
  // Delivers one payload given as consecutive parts (e.g. a length header and the Envelope bytes).
  // The default joins the parts and calls Send(); sinks that can write parts without joining them
  // (writev, or nothing at all for null) override it.
  virtual absl::Status SendParts(std::span<const std::string_view> parts) {
    if (parts.size() == 1) return Send(parts[0]);
    joined_.clear();
    for (std::string_view p : parts) joined_.append(p);
    return Send(joined_);
  }
  // SendParts() for a payload carrying `rows` records. Asynchronous sinks (Kafka) keep the count
  // with the message and report it to the loss callback if the message is never delivered.
  virtual absl::Status SendRows(std::span<const std::string_view> parts, uint64_t rows) {
    (void)rows;
    return SendParts(parts);
  }
  // Where an asynchronous sink reports rows it accepted but failed to deliver; called from any
  // thread, before Drain() returns for everything Drain() gives up on. Set once, before the first
  // Send. Synchronous sinks never call it (their failures are Send() errors).
  using LossCallback = std::function<void(uint64_t rows)>;
  virtual void SetLossCallback(LossCallback cb) { (void)cb; }
  // Reopens the destination (SIGHUP, for logrotate without copytruncate): file: sinks reopen
  // their path; others have nothing to do. Called on the sending thread, between sends.
  virtual absl::Status Reopen() { return absl::OkStatus(); }
  // Waits until everything accepted by Send() has been delivered or `timeout` passed; returns
  // DeadlineExceeded with the number of undelivered messages otherwise (and counts them; their rows
  // go to the loss callback).
  virtual absl::Status Drain(absl::Duration timeout) {
    (void)timeout;
    return absl::OkStatus();
  }

 private:
  std::string joined_;  // SendParts() scratch
};

struct SinkOptions {
  std::string dest;                                       // -dest scheme:address
  std::string content_type;                               // of the marshaller, for http(s)
  std::string topic = "xtcp";                             // kafka
  std::string kafka_compression;                          // kafka: auto|zstd|lz4|snappy|gzip|none
  absl::Duration produce_timeout = absl::ZeroDuration();  // kafka, http, nats, valkey, nsq
  Metrics* metrics = nullptr;                             // must outlive the sink

  // Not flags (fixed defaults in the daemon; tests shorten them).
  // tcp/unix/udp/unixgram: connect and send timeout; reconnect backoff doubles from `initial`
  // to `max`. The cap is low so that a returning peer is reconnected within a second (a connect
  // to a closed port costs one round trip).
  absl::Duration io_timeout = absl::Seconds(10);
  absl::Duration reconnect_backoff_initial = absl::Milliseconds(100);
  absl::Duration reconnect_backoff_max = absl::Seconds(1);
  // kafka: bounds of librdkafka's producer queue (a full queue fails Send(), counted), and how
  // often librdkafka's statistics are exported as gauges (zero: never).
  int kafka_queue_max_messages = 10000;
  // nats: bytes of publishes the client holds while no server is connected (a full buffer fails
  // Send(), counted).
  size_t nats_reconnect_buffer_bytes = 8 << 20;
  int kafka_queue_max_kbytes = 64 * 1024;
  absl::Duration kafka_statistics_interval = absl::Seconds(10);
};

// Builds the sink for `opts.dest`. An unknown scheme or malformed address is InvalidArgument naming
// the valid schemes (startup exit 2); a destination that is down at start is not an error for
// network sinks (they connect lazily and retry).
absl::StatusOr<std::unique_ptr<Sink>> CreateSink(const SinkOptions& opts);

// Every -dest scheme built in, in table order (main hands them to the flag parser).
std::vector<std::string> SinkSchemes();
// The same, each as -help shows it ("tcp:host:port"), in table order.
std::vector<std::string> SinkSyntaxes();

}  // namespace xtcp
