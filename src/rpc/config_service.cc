// ConfigService: request checks as upstream's proto rules, then DaemonControl.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/metrics.h"
#include "rpc/services.h"

namespace xtcp::rpc {
namespace {

namespace pb = ::xtcp_config::v1;

::grpc::StatusCode CodeOf(absl::StatusCode c) {
  switch (c) {
    case absl::StatusCode::kInvalidArgument:
      return ::grpc::StatusCode::INVALID_ARGUMENT;
    case absl::StatusCode::kFailedPrecondition:
      return ::grpc::StatusCode::FAILED_PRECONDITION;
    case absl::StatusCode::kUnavailable:
      return ::grpc::StatusCode::UNAVAILABLE;
    case absl::StatusCode::kResourceExhausted:
      return ::grpc::StatusCode::RESOURCE_EXHAUSTED;
    case absl::StatusCode::kUnimplemented:
      return ::grpc::StatusCode::UNIMPLEMENTED;
    case absl::StatusCode::kOk:
      return ::grpc::StatusCode::OK;
    default:
      return ::grpc::StatusCode::INTERNAL;
  }
}

::grpc::Status ToGrpc(const absl::Status& s) {
  return ::grpc::Status(CodeOf(s.code()), std::string(s.message()));
}

::grpc::Status Invalid(std::string message) {
  return ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

::grpc::ServerUnaryReactor* Done(::grpc::CallbackServerContext* ctx, const ::grpc::Status& s) {
  ::grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(s);
  return r;
}

// google.protobuf.Duration's own rules: |seconds| <= 10,000 years, |nanos| < 1e9, same signs.
bool ValidDuration(const ::google::protobuf::Duration& d) {
  constexpr int64_t kMaxSeconds = 315'576'000'000;
  if (d.seconds() > kMaxSeconds || d.seconds() < -kMaxSeconds) return false;
  if (d.nanos() >= 1'000'000'000 || d.nanos() <= -1'000'000'000) return false;
  return !((d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0));
}

absl::Duration FromProtoDuration(const ::google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// upstream's rule for a Duration field: set, and within [lo, hi].
::grpc::Status CheckDuration(const char* field, bool present, const ::google::protobuf::Duration& d,
                             absl::Duration lo, absl::Duration hi, absl::Duration* out) {
  if (!present) return Invalid(absl::StrCat(field, ": value is required"));
  if (!ValidDuration(d)) return Invalid(absl::StrCat(field, ": not a valid duration"));
  *out = FromProtoDuration(d);
  if (*out < lo || *out > hi) {
    return Invalid(absl::StrCat(field, ": must be within ", absl::FormatDuration(lo), " and ",
                                absl::FormatDuration(hi), ", got ", absl::FormatDuration(*out)));
  }
  return ::grpc::Status::OK;
}

}  // namespace

ConfigService::ConfigService(DaemonControl* control, Metrics* metrics)
    : control_(control),
      metrics_(metrics),
      burst_(&metrics->Count("pollBurstRunner", "burst", "count")),
      poke_(&metrics->Count("pollBurstRunner", "poke", "count")) {
  // Upstream's "pokeDropped": a poke that found its channel full. Pokes here never queue (they
  // coalesce in the poller), so it stays 0; made so dashboards find the series.
  metrics->Count("pollBurstRunner", "pokeDropped", "count");
}

ConfigService::~ConfigService() { Shutdown(); }

prometheus::Counter& ConfigService::Count(const char* function, const char* variable,
                                          const char* type) {
  return metrics_->Count(Metrics::Subsystem::kConfigGrpc, function, variable, type);
}

::grpc::ServerUnaryReactor* ConfigService::Get(::grpc::CallbackServerContext* ctx,
                                               const pb::GetRequest* /*req*/,
                                               pb::GetResponse* resp) {
  Count("Get", "start", "counter").Increment();
  *resp->mutable_config() = control_->Get();
  return Done(ctx, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* ConfigService::Set(::grpc::CallbackServerContext* ctx,
                                               const pb::SetRequest* req, pb::SetResponse* resp) {
  Count("Set", "start", "counter").Increment();
  if (!req->has_config()) {
    Count("Set", "nilConfig", "error").Increment();
    return Done(ctx, Invalid("config is required"));
  }
  auto now = control_->Set(req->config());
  if (!now.ok()) {
    Count("Set", "Validate", "error").Increment();
    return Done(ctx, ToGrpc(now.status()));
  }
  Count("Set", "reconfigure", "counter").Increment();
  *resp->mutable_config() = *std::move(now);
  return Done(ctx, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* ConfigService::SetPollFrequency(::grpc::CallbackServerContext* ctx,
                                                            const pb::SetPollFrequencyRequest* req,
                                                            pb::SetPollFrequencyResponse* resp) {
  Count("SetPollFrequency", "start", "counter").Increment();
  absl::Duration frequency, timeout;
  const absl::Duration week = absl::Hours(24 * 7);
  ::grpc::Status s = CheckDuration("poll_frequency", req->has_poll_frequency(),
                                   req->poll_frequency(), absl::ZeroDuration(), week, &frequency);
  if (s.ok()) {
    s = CheckDuration("poll_timeout", req->has_poll_timeout(), req->poll_timeout(),
                      absl::ZeroDuration(), week, &timeout);
  }
  if (s.ok() && timeout >= frequency) {
    s = Invalid(absl::StrCat("poll_timeout (", absl::FormatDuration(timeout),
                             ") must be less than poll_frequency (",
                             absl::FormatDuration(frequency), ")"));
  }
  if (!s.ok()) {
    Count("SetPollFrequency", "Validate", "error").Increment();
    return Done(ctx, s);
  }
  auto now = control_->SetPollFrequency(frequency, timeout);
  if (!now.ok()) {
    Count("SetPollFrequency", "Validate", "error").Increment();
    return Done(ctx, ToGrpc(now.status()));
  }
  *resp->mutable_config() = *std::move(now);
  return Done(ctx, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* ConfigService::TriggerPoll(::grpc::CallbackServerContext* ctx,
                                                       const pb::TriggerPollRequest* /*req*/,
                                                       pb::TriggerPollResponse* /*resp*/) {
  Count("TriggerPoll", "start", "counter").Increment();
  control_->TriggerPoll();
  return Done(ctx, ::grpc::Status::OK);
}

::grpc::ServerUnaryReactor* ConfigService::TriggerPollBurst(::grpc::CallbackServerContext* ctx,
                                                            const pb::TriggerPollBurstRequest* req,
                                                            pb::TriggerPollBurstResponse* resp) {
  Count("TriggerPollBurst", "start", "counter").Increment();
  absl::Duration interval;
  ::grpc::Status s = ::grpc::Status::OK;
  if (req->count() < 1 || req->count() > 1000) {
    s = Invalid(absl::StrCat("count: must be within 1 and 1000, got ", req->count()));
  } else {
    s = CheckDuration("interval", req->has_interval(), req->interval(), absl::Seconds(1),
                      absl::Hours(1), &interval);
  }
  if (!s.ok()) {
    Count("TriggerPollBurst", "Validate", "error").Increment();
    return Done(ctx, s);
  }
  if (const absl::Duration timeout = control_->poll_timeout(); interval <= timeout) {
    Count("TriggerPollBurst", "intervalTooShort", "error").Increment();
    return Done(ctx,
                Invalid(absl::StrCat("interval ", absl::FormatDuration(interval),
                                     " must exceed poll_timeout ", absl::FormatDuration(timeout),
                                     " (a poll still in flight would absorb the next)")));
  }
  std::thread previous;
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) {
      return Done(ctx, ::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "xtcp2 is stopping"));
    }
    if (burst_running_) {
      Count("TriggerPollBurst", "burstBusy", "count").Increment();
      return Done(ctx, ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      "a poll burst is already running"));
    }
    burst_running_ = true;
    previous = std::move(burst_thread_);
  }
  if (previous.joinable()) previous.join();  // finished: it cleared burst_running_
  {
    absl::MutexLock lock(&mu_);
    burst_thread_ = std::thread([this, n = req->count(), interval] { RunBurst(n, interval); });
  }
  burst_->Increment();
  XTCP_LOG(kInfo, "gRPC: a burst of %d polls, %s apart", req->count(),
           absl::FormatDuration(interval));
  resp->set_count(req->count());
  *resp->mutable_interval() = req->interval();
  return Done(ctx, ::grpc::Status::OK);
}

void ConfigService::RunBurst(uint32_t count, absl::Duration interval) {
  for (uint32_t i = 0; i < count; ++i) {
    if (i > 0) {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shutdown_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), interval)) break;
    }
    poke_->Increment();
    control_->TriggerPoll();
  }
  absl::MutexLock lock(&mu_);
  burst_running_ = false;
}

void ConfigService::Shutdown() {
  std::thread t;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    t = std::move(burst_thread_);
  }
  if (t.joinable()) t.join();
}

::grpc::ServerUnaryReactor* ConfigService::SetS3Upload(::grpc::CallbackServerContext* ctx,
                                                       const pb::SetS3UploadRequest* req,
                                                       pb::SetS3UploadResponse* resp) {
  Count("SetS3Upload", "start", "counter").Increment();
  std::optional<absl::Duration> interval;
  if (req->has_s3_flush_interval()) {
    if (!ValidDuration(req->s3_flush_interval()) ||
        FromProtoDuration(req->s3_flush_interval()) < absl::ZeroDuration()) {
      Count("SetS3Upload", "Validate", "error").Increment();
      return Done(ctx, Invalid("s3_flush_interval: must be a duration of 0 or more"));
    }
    interval = FromProtoDuration(req->s3_flush_interval());
  }
  if (!interval && req->s3_parquet_flush_threshold_bytes() == 0) {
    Count("SetS3Upload", "Validate", "error").Increment();
    return Done(ctx, Invalid("set s3_flush_interval or s3_parquet_flush_threshold_bytes"));
  }
  const std::string dest = control_->Get().dest();
  if (!dest.starts_with("s3parquet:")) {
    Count("SetS3Upload", "notS3Parquet", "error").Increment();
    return Done(ctx, ::grpc::Status(::grpc::StatusCode::FAILED_PRECONDITION,
                                    absl::StrFormat("destination \"%s\" is not s3parquet; "
                                                    "SetS3Upload has no effect",
                                                    dest)));
  }
  auto now = control_->SetS3Upload(interval, req->s3_parquet_flush_threshold_bytes());
  if (!now.ok()) return Done(ctx, ToGrpc(now.status()));
  *resp->mutable_config() = *std::move(now);
  return Done(ctx, ::grpc::Status::OK);
}

}  // namespace xtcp::rpc
