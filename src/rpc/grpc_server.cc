#include "rpc/grpc_server.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "rpc/services.h"

namespace xtcp::rpc {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("-", flag, " ", path, ": cannot be read"));
  }
  std::stringstream s;
  s << in.rdbuf();
  if (s.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("-", flag, " ", path, ": not a PEM file"));
  }
  return s.str();
}

int Ms(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcServerOptions opts,
                                                              DaemonControl* control,
                                                              RecordFanout* fanout,
                                                              Metrics* metrics) {
  std::shared_ptr<::grpc::ServerCredentials> creds = ::grpc::InsecureServerCredentials();
  const bool tls = !opts.tls_cert_file.empty() || !opts.tls_key_file.empty();
  if (tls) {
    if (opts.tls_cert_file.empty() || opts.tls_key_file.empty()) {
      return absl::InvalidArgumentError("-grpcTlsCert and -grpcTlsKey go together");
    }
    auto cert = ReadPem("grpcTlsCert", opts.tls_cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadPem("grpcTlsKey", opts.tls_key_file);
    if (!key.ok()) return key.status();
    ::grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!opts.client_ca_file.empty()) {
      auto ca = ReadPem("grpcClientCa", opts.client_ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = ::grpc::SslServerCredentials(ssl);
  } else if (!opts.client_ca_file.empty()) {
    return absl::InvalidArgumentError("-grpcClientCa needs -grpcTlsCert and -grpcTlsKey");
  }

  std::unique_ptr<GrpcServer> s(new GrpcServer());
  s->tls_ = tls;
  s->fanout_ = fanout;
  s->config_ = std::make_unique<ConfigService>(control, metrics);
  s->records_ = std::make_unique<RecordService>(fanout, control, metrics);

  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(opts.address, creds, &port);
  builder.RegisterService(s->config_.get());
  builder.RegisterService(s->records_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(opts.max_receive_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, opts.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Ms(opts.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Ms(opts.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, Ms(opts.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Ms(opts.keepalive_min_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || port == 0) {
    metrics->Count("grpcServer", "listen", "error").Increment();
    return absl::UnavailableError(
        absl::StrCat("gRPC: cannot listen on ", opts.address,
                     " (in use, or not an address of this host; -grpcListen sets another)"));
  }
  s->SetServing(false);
  s->address_ = opts.address;
  if (!opts.address.starts_with("unix:")) {
    // The port actually bound (0 picks one).
    const size_t colon = opts.address.rfind(':');
    s->address_ = absl::StrCat(opts.address.substr(0, colon), ":", port);
  }
  metrics->Count("grpcServer", "listen", "error");
  return s;
}

GrpcServer::~GrpcServer() { Stop(absl::ZeroDuration()); }

void GrpcServer::SetServing(bool serving) {
  if (server_ == nullptr || stopped_) return;
  if (auto* health = server_->GetHealthCheckService(); health != nullptr) {
    health->SetServingStatus(serving);
  }
}

void GrpcServer::Stop(absl::Duration grace) {
  if (stopped_ || server_ == nullptr) return;
  SetServing(false);
  stopped_ = true;
  config_->Shutdown();
  fanout_->CloseAll();  // streams finish (UNAVAILABLE) as soon as their write in flight is done
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(absl::ToInt64Milliseconds(grace)));
  server_->Wait();
}

}  // namespace xtcp::rpc
