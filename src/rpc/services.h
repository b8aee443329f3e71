#pragma once
// The two services of the gRPC server (grpc_server.h), callback API: no thread per call.
//
//   RecordService  xtcp_flat_record.v1.XTCPFlatRecordService
//     FlatRecords      every record of every poll while the client stays (a RecordFanout queue)
//     PollFlatRecords  the same, and each message the client sends triggers a poll
//   ConfigService  xtcp_config.v1.ConfigService: Get, Set, SetPollFrequency, TriggerPoll,
//                  TriggerPollBurst (its runner thread), SetS3Upload -> DaemonControl
//
// Thread-safe: gRPC calls the handlers from its own threads.

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rpc/daemon_control.h"
#include "rpc/record_fanout.h"
#include "xtcp_config/v1/xtcp_config.grpc.pb.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.grpc.pb.h"

namespace prometheus {
class Counter;
}

namespace xtcp {
class Metrics;
namespace rpc {

class RecordService final : public ::xtcp_flat_record::v1::XTCPFlatRecordService::CallbackService {
 public:
  // All must outlive the service.
  RecordService(RecordFanout* fanout, DaemonControl* control, Metrics* metrics);

  ::grpc::ServerWriteReactor<::xtcp_flat_record::v1::FlatRecordsResponse>* FlatRecords(
      ::grpc::CallbackServerContext* ctx,
      const ::xtcp_flat_record::v1::FlatRecordsRequest* request) override;
  ::grpc::ServerBidiReactor<::xtcp_flat_record::v1::PollFlatRecordsRequest,
                            ::xtcp_flat_record::v1::PollFlatRecordsResponse>*
  PollFlatRecords(::grpc::CallbackServerContext* ctx) override;

 private:
  RecordFanout* const fanout_;
  DaemonControl* const control_;
  Metrics* const metrics_;
};

class ConfigService final : public ::xtcp_config::v1::ConfigService::CallbackService {
 public:
  ConfigService(DaemonControl* control, Metrics* metrics);
  ~ConfigService() override;  // ends a running burst

  ::grpc::ServerUnaryReactor* Get(::grpc::CallbackServerContext* ctx,
                                  const ::xtcp_config::v1::GetRequest* req,
                                  ::xtcp_config::v1::GetResponse* resp) override;
  ::grpc::ServerUnaryReactor* Set(::grpc::CallbackServerContext* ctx,
                                  const ::xtcp_config::v1::SetRequest* req,
                                  ::xtcp_config::v1::SetResponse* resp) override;
  ::grpc::ServerUnaryReactor* SetPollFrequency(
      ::grpc::CallbackServerContext* ctx, const ::xtcp_config::v1::SetPollFrequencyRequest* req,
      ::xtcp_config::v1::SetPollFrequencyResponse* resp) override;
  ::grpc::ServerUnaryReactor* TriggerPoll(::grpc::CallbackServerContext* ctx,
                                          const ::xtcp_config::v1::TriggerPollRequest* req,
                                          ::xtcp_config::v1::TriggerPollResponse* resp) override;
  ::grpc::ServerUnaryReactor* TriggerPollBurst(
      ::grpc::CallbackServerContext* ctx, const ::xtcp_config::v1::TriggerPollBurstRequest* req,
      ::xtcp_config::v1::TriggerPollBurstResponse* resp) override;
  ::grpc::ServerUnaryReactor* SetS3Upload(::grpc::CallbackServerContext* ctx,
                                          const ::xtcp_config::v1::SetS3UploadRequest* req,
                                          ::xtcp_config::v1::SetS3UploadResponse* resp) override;

  // Ends a running burst (server shutdown); later TriggerPollBurst calls are refused.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  prometheus::Counter& Count(const char* function, const char* variable, const char* type);
  // The burst runner: `count` polls, `interval` apart (none after the last).
  void RunBurst(uint32_t count, absl::Duration interval) ABSL_LOCKS_EXCLUDED(mu_);

  DaemonControl* const control_;
  Metrics* const metrics_;
  prometheus::Counter *burst_, *poke_;

  absl::Mutex mu_;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool burst_running_ ABSL_GUARDED_BY(mu_) = false;
  std::thread burst_thread_;  // joined before the next one starts and at Shutdown()
};

}  // namespace rpc
}  // namespace xtcp
