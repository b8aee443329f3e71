#pragma once
// An in-test gRPC server with the daemon's two services, for the client tools' tests: it holds a
// config, answers the ConfigService calls the way the daemon is specified to (issue 13), records
// every request, and streams fixed records.
//
// Thread-safety: every accessor may be called while gRPC's threads serve calls.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "xtcp_config/v1/xtcp_config.grpc.pb.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.grpc.pb.h"

namespace xtcp::testing {

struct FakeDaemonOptions {
  // Where to listen: "127.0.0.1:0" (a free port) or "unix:/path".
  std::string address = "127.0.0.1:0";
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  // Sent by FlatRecords, then by PollFlatRecords for every request it reads.
  std::vector<xtcp_flat_record::v1::XtcpFlatRecord> records;
  // FlatRecords returns OK after the records (true) or keeps the stream open until the client
  // cancels or the server stops (false).
  bool end_stream = false;
  // Get answers only after this long (deadline tests).
  absl::Duration get_delay = absl::ZeroDuration();
};

// What the clients asked.
struct Requests {
  int gets = 0;
  std::vector<xtcp_config::v1::XtcpConfig> sets;
  std::vector<xtcp_config::v1::SetPollFrequencyRequest> frequencies;
  int polls = 0;
  std::vector<xtcp_config::v1::TriggerPollBurstRequest> bursts;
  std::vector<xtcp_config::v1::SetS3UploadRequest> s3;
  int flat_record_streams = 0;
  int poll_requests = 0;  // PollFlatRecords messages read
};

class FakeDaemon {
 public:
  // Empty pointer if the server cannot start.
  static std::unique_ptr<FakeDaemon> Start(FakeDaemonOptions opts,
                                           xtcp_config::v1::XtcpConfig config = {});
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  int port() const { return port_; }
  Requests requests() const;
  xtcp_config::v1::XtcpConfig config() const;

 private:
  class Config;
  class Records;
  FakeDaemon() = default;

  FakeDaemonOptions opts_;
  mutable absl::Mutex mu_;
  Requests requests_ ABSL_GUARDED_BY(mu_);
  xtcp_config::v1::XtcpConfig config_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Config> config_service_;
  std::unique_ptr<Records> records_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace xtcp::testing
