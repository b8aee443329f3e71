#pragma once
// GrpcServer: the daemon's gRPC listener (-grpcListen / -grpcPort), upstream's services and
// server options (reference §2.2), plus what upstream lacks: a loopback default, TLS and mutual
// TLS, a Unix socket, per-client bounded record queues.
//
//   xtcp_flat_record.v1.XTCPFlatRecordService   record streams (services.h, record_fanout.h)
//   xtcp_config.v1.ConfigService                run-time control (services.h -> DaemonControl)
//   grpc.health.v1.Health                       "" : NOT_SERVING until SetServing(true)
//   grpc.reflection.v1alpha.ServerReflection    for grpcurl and friends
//
// Upstream's options: max receive message 4,000,000 B, 20 concurrent streams per connection,
// keepalive ping every 299 s (20 s timeout), idle connections closed after 15 min, client pings
// no more often than every 60 s (also without a call).
//
// Thread-safe. Start() once, Stop() once (idempotent; the destructor calls it).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rpc/daemon_control.h"
#include "rpc/record_fanout.h"

namespace grpc {
class Server;
}

namespace xtcp {
class Metrics;
namespace rpc {

class ConfigService;
class RecordService;

struct GrpcServerOptions {
  // "host:port", "[v6addr]:port" or "unix:/path" (grpc's URI forms).
  std::string address = "localhost:8889";
  // PEM files. cert+key: TLS; client_ca too: clients must present a certificate it signed.
  std::string tls_cert_file, tls_key_file, client_ca_file;
  size_t max_receive_message_bytes = 4'000'000;
  int max_concurrent_streams = 20;
  absl::Duration keepalive_time = absl::Seconds(299);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration max_connection_idle = absl::Minutes(15);
  absl::Duration keepalive_min_time = absl::Seconds(60);
};

class GrpcServer {
 public:
  // Binds and starts serving. `control`, `fanout` and `metrics` must outlive the server. A
  // certificate that cannot be read is InvalidArgument; an address that cannot be bound,
  // Unavailable.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(GrpcServerOptions opts,
                                                           DaemonControl* control,
                                                           RecordFanout* fanout, Metrics* metrics);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // grpc.health.v1 status of the whole server ("").
  void SetServing(bool serving);
  // Ends every stream, refuses new calls, and waits up to `grace` for calls in flight.
  void Stop(absl::Duration grace = absl::Seconds(1));

  // What it listens on, as given (with the port chosen when it was 0).
  const std::string& address() const { return address_; }
  bool tls() const { return tls_; }

 private:
  GrpcServer() = default;

  std::string address_;
  bool tls_ = false;
  bool stopped_ = false;
  RecordFanout* fanout_ = nullptr;
  std::unique_ptr<ConfigService> config_;
  std::unique_ptr<RecordService> records_;
  std::unique_ptr<::grpc::Server> server_;
};

}  // namespace rpc
}  // namespace xtcp
