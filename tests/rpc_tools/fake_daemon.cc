#include "rpc_tools/fake_daemon.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xtcp::testing {

namespace cfg = ::xtcp_config::v1;
namespace rec = ::xtcp_flat_record::v1;

namespace {

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

grpc::Status Invalid(std::string text) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(text));
}

}  // namespace

class FakeDaemon::Config final : public cfg::ConfigService::Service {
 public:
  explicit Config(FakeDaemon* d) : d_(d) {}

  grpc::Status Get(grpc::ServerContext*, const cfg::GetRequest*, cfg::GetResponse* resp) override {
    if (d_->opts_.get_delay > absl::ZeroDuration()) absl::SleepFor(d_->opts_.get_delay);
    absl::MutexLock lock(&d_->mu_);
    ++d_->requests_.gets;
    *resp->mutable_config() = d_->config_;
    return grpc::Status::OK;
  }

  grpc::Status Set(grpc::ServerContext*, const cfg::SetRequest* req,
                   cfg::SetResponse* resp) override {
    absl::MutexLock lock(&d_->mu_);
    d_->requests_.sets.push_back(req->config());
    const cfg::XtcpConfig& c = req->config();
    if (c.netlinkers() < 1 || c.netlinkers() > 100) {
      return Invalid(absl::StrCat("invalid value \"", c.netlinkers(),
                                  "\" for field netlinkers: must be in [1, 100]"));
    }
    d_->config_ = c;
    *resp->mutable_config() = d_->config_;
    return grpc::Status::OK;
  }

  grpc::Status SetPollFrequency(grpc::ServerContext*, const cfg::SetPollFrequencyRequest* req,
                                cfg::SetPollFrequencyResponse* resp) override {
    absl::MutexLock lock(&d_->mu_);
    d_->requests_.frequencies.push_back(*req);
    if (FromProto(req->poll_timeout()) >= FromProto(req->poll_frequency())) {
      return Invalid("poll_timeout must be less than poll_frequency");
    }
    *d_->config_.mutable_poll_frequency() = req->poll_frequency();
    *d_->config_.mutable_poll_timeout() = req->poll_timeout();
    *resp->mutable_config() = d_->config_;
    return grpc::Status::OK;
  }

  grpc::Status TriggerPoll(grpc::ServerContext*, const cfg::TriggerPollRequest*,
                           cfg::TriggerPollResponse*) override {
    absl::MutexLock lock(&d_->mu_);
    ++d_->requests_.polls;
    return grpc::Status::OK;
  }

  grpc::Status TriggerPollBurst(grpc::ServerContext*, const cfg::TriggerPollBurstRequest* req,
                                cfg::TriggerPollBurstResponse* resp) override {
    absl::MutexLock lock(&d_->mu_);
    d_->requests_.bursts.push_back(*req);
    if (req->count() < 1 || req->count() > 1000) {
      return Invalid(absl::StrCat("count ", req->count(), " is not in 1..1000"));
    }
    if (FromProto(req->interval()) <= FromProto(d_->config_.poll_timeout())) {
      return Invalid("interval must exceed the poll timeout");
    }
    resp->set_count(req->count());
    *resp->mutable_interval() = req->interval();
    return grpc::Status::OK;
  }

  grpc::Status SetS3Upload(grpc::ServerContext*, const cfg::SetS3UploadRequest* req,
                           cfg::SetS3UploadResponse* resp) override {
    absl::MutexLock lock(&d_->mu_);
    d_->requests_.s3.push_back(*req);
    if (!absl::StartsWith(d_->config_.dest(), "s3parquet:")) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("dest is \"", d_->config_.dest(), "\", not s3parquet"));
    }
    if (req->has_s3_flush_interval()) {
      *d_->config_.mutable_s3_flush_interval() = req->s3_flush_interval();
    }
    if (req->s3_parquet_flush_threshold_bytes() != 0) {
      d_->config_.set_s3_parquet_flush_threshold_bytes(req->s3_parquet_flush_threshold_bytes());
    }
    *resp->mutable_config() = d_->config_;
    return grpc::Status::OK;
  }

 private:
  FakeDaemon* d_;
};

class FakeDaemon::Records final : public rec::XTCPFlatRecordService::Service {
 public:
  explicit Records(FakeDaemon* d) : d_(d) {}

  grpc::Status FlatRecords(grpc::ServerContext* ctx, const rec::FlatRecordsRequest*,
                           grpc::ServerWriter<rec::FlatRecordsResponse>* writer) override {
    {
      absl::MutexLock lock(&d_->mu_);
      ++d_->requests_.flat_record_streams;
    }
    for (const rec::XtcpFlatRecord& r : d_->opts_.records) {
      rec::FlatRecordsResponse resp;
      *resp.mutable_xtcp_flat_record() = r;
      if (!writer->Write(resp)) return grpc::Status::OK;
    }
    if (d_->opts_.end_stream) return grpc::Status::OK;
    // Open until the client leaves or the server stops (which cancels the call); bounded anyway.
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (!ctx->IsCancelled() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::OK;
  }

  grpc::Status PollFlatRecords(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<rec::PollFlatRecordsResponse, rec::PollFlatRecordsRequest>* stream)
      override {
    rec::PollFlatRecordsRequest req;
    while (stream->Read(&req)) {
      {
        absl::MutexLock lock(&d_->mu_);
        ++d_->requests_.poll_requests;
      }
      for (const rec::XtcpFlatRecord& r : d_->opts_.records) {
        rec::PollFlatRecordsResponse resp;
        *resp.mutable_xtcp_flat_record() = r;
        if (!stream->Write(resp)) return grpc::Status::OK;
      }
    }
    return grpc::Status::OK;
  }

 private:
  FakeDaemon* d_;
};

std::unique_ptr<FakeDaemon> FakeDaemon::Start(FakeDaemonOptions opts, cfg::XtcpConfig config) {
  auto d = std::unique_ptr<FakeDaemon>(new FakeDaemon);
  d->opts_ = std::move(opts);
  {
    absl::MutexLock lock(&d->mu_);
    d->config_ = std::move(config);
  }
  d->config_service_ = std::make_unique<Config>(d.get());
  d->records_service_ = std::make_unique<Records>(d.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(d->opts_.address, d->opts_.credentials, &d->port_);
  builder.RegisterService(d->config_service_.get());
  builder.RegisterService(d->records_service_.get());
  d->server_ = builder.BuildAndStart();
  if (d->server_ == nullptr) return nullptr;
  if (d->port_ == 0 && !absl::StartsWith(d->opts_.address, "unix:")) return nullptr;
  return d;
}

FakeDaemon::~FakeDaemon() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    server_->Wait();
  }
}

Requests FakeDaemon::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

cfg::XtcpConfig FakeDaemon::config() const {
  absl::MutexLock lock(&mu_);
  return config_;
}

}  // namespace xtcp::testing
