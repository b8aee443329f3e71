#include "main/control.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "google/protobuf/util/message_differencer.h"

namespace xtcp::main {
namespace {

using ::xtcp_config::v1::XtcpConfig;

// True if `a` and `b` differ only in what Set applies live.
bool OnlyLiveFieldsDiffer(XtcpConfig a, XtcpConfig b) {
  for (XtcpConfig* p : {&a, &b}) {
    p->clear_poll_frequency();
    p->clear_poll_timeout();
    p->clear_debug_level();
  }
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace

Control::Control(config::Config running, config::Vocabulary vocab, absl::Duration restart_budget)
    : vocab_(std::move(vocab)), restart_budget_(restart_budget), running_(std::move(running)) {}

XtcpConfig Control::Get() {
  absl::MutexLock lock(&mu_);
  return config::PublicProto(running_, vocab_);
}

absl::StatusOr<XtcpConfig> Control::Set(const XtcpConfig& config) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || pending_) {
    return absl::UnavailableError(stopping_ ? "xtcp2 is stopping"
                                            : "a restart for an earlier Set is under way");
  }
  config::Config next;
  if (absl::Status s = config::ApplyProto(config, running_, &next, vocab_); !s.ok()) return s;
  if (next.grpc_port != running_.grpc_port) {
    return absl::InvalidArgumentError(
        absl::StrCat("grpc_port: cannot change while xtcp2 runs (it is this server's own "
                     "port); it stays ",
                     running_.grpc_port, " until a restart of the process"));
  }
  if (next.io_uring != running_.io_uring) {
    return absl::InvalidArgumentError(
        "io_uring: cannot change while xtcp2 runs (capabilities and the seccomp policy are "
        "fixed at start-up); restart the process with or without -ioUring");
  }
  const XtcpConfig before = config::ToProto(running_, vocab_);
  const XtcpConfig after = config::ToProto(next, vocab_);
  if (OnlyLiveFieldsDiffer(before, after)) {
    if (engine_ != nullptr) engine_->SetCadence(next.poll_frequency, next.poll_timeout);
    SetDebugLevel(next.debug_level);
    running_ = std::move(next);
    XTCP_LOG(kInfo, "gRPC Set: applied live (poll every %s, timeout %s, -d %d)",
             config::FormatGoDuration(running_.poll_frequency),
             config::FormatGoDuration(running_.poll_timeout), running_.debug_level);
    return config::PublicProto(running_, vocab_);
  }
  // Everything else: restart collection and output in-process with `next`.
  pending_ = std::move(next);
  const uint64_t mine = ++asked_;
  if (engine_ != nullptr) engine_->Stop();
  XTCP_LOG(kInfo, "gRPC Set: restarting collection and output with the new configuration");
  auto done = [this, mine]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ >= mine; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), restart_budget_)) {
    return absl::DeadlineExceededError(
        "the restart for this Set did not finish in time; Get shows what is in force");
  }
  if (!last_restart_.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the new configuration could not start (",
                                                      last_restart_.message(),
                                                      "); the previous one runs again"));
  }
  return config::PublicProto(running_, vocab_);
}

absl::StatusOr<XtcpConfig> Control::SetPollFrequency(absl::Duration frequency,
                                                     absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("xtcp2 is stopping");
  if (pending_) return absl::UnavailableError("a restart for a Set is under way; try again");
  config::Config next = running_;
  next.poll_frequency = frequency;
  next.poll_timeout = timeout;
  if (absl::Status s = config::Validate(next, vocab_); !s.ok()) return s;
  if (engine_ != nullptr) engine_->SetCadence(frequency, timeout);
  running_ = std::move(next);
  XTCP_LOG(kInfo, "gRPC SetPollFrequency: poll every %s, timeout %s",
           config::FormatGoDuration(frequency), config::FormatGoDuration(timeout));
  return config::PublicProto(running_, vocab_);
}

void Control::TriggerPoll() {
  absl::MutexLock lock(&mu_);
  if (engine_ != nullptr) engine_->TriggerPoll();
}

absl::Duration Control::poll_timeout() {
  absl::MutexLock lock(&mu_);
  return running_.poll_timeout;
}

absl::StatusOr<XtcpConfig> Control::SetS3Upload(std::optional<absl::Duration>, uint32_t) {
  // Unreachable while s3parquet is not a scheme of this build (ConfigService checks -dest first).
  return absl::UnimplementedError("the s3parquet sink is not built in this version");
}

void Control::Attach(pipeline::Engine* engine) {
  absl::MutexLock lock(&mu_);
  engine_ = engine;
  // A SetPollFrequency answered before this engine existed (start-up) is in running_.
  if (engine_ != nullptr && (engine_->poll_frequency() != running_.poll_frequency ||
                             engine_->poll_timeout() != running_.poll_timeout)) {
    engine_->SetCadence(running_.poll_frequency, running_.poll_timeout);
  }
}

void Control::SetStopping() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

std::optional<config::Config> Control::TakeRestart() {
  absl::MutexLock lock(&mu_);
  if (!pending_) return std::nullopt;
  running_ = *pending_;  // what RunDaemon now builds; Get shows it
  return pending_;
}

void Control::RestartDone(const absl::Status& why, const config::Config* previous) {
  absl::MutexLock lock(&mu_);
  if (previous != nullptr) running_ = *previous;
  last_restart_ = why;
  pending_.reset();
  done_ = asked_;
}

config::Config Control::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

}  // namespace xtcp::main
