#pragma once
// Control: the daemon side of the gRPC ConfigService (rpc/daemon_control.h). It holds the
// configuration in force, validates requests with the flag rules, and applies them:
//
//   SetPollFrequency, and a Set that changes only poll_frequency/poll_timeout/debug_level:
//       live (Engine::SetCadence, SetDebugLevel)
//   any other Set: an in-process restart. RunDaemon (daemon_mode.cc) stops the engine, flushes
//       and drains the sink as at shutdown, builds output, batcher and engine anew from the new
//       configuration, and reports back; Set answers once the new pipeline runs (or, if it could
//       not start, with FAILED_PRECONDITION after the previous configuration was restored).
//   Set refuses fields the process cannot change under itself: grpc_port (its own listener) and
//       io_uring (capabilities and the seccomp policy were fixed at start-up).
//
// Thread-safe: gRPC threads call the DaemonControl methods; RunDaemon's thread the rest.

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "config/config.h"
#include "pipeline/engine.h"
#include "rpc/daemon_control.h"

namespace xtcp::main {

class Control final : public rpc::DaemonControl {
 public:
  Control(config::Config running, config::Vocabulary vocab, absl::Duration restart_budget);

  // rpc::DaemonControl
  ::xtcp_config::v1::XtcpConfig Get() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<::xtcp_config::v1::XtcpConfig> Set(
      const ::xtcp_config::v1::XtcpConfig& config) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<::xtcp_config::v1::XtcpConfig> SetPollFrequency(absl::Duration frequency,
                                                                 absl::Duration timeout) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void TriggerPoll() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration poll_timeout() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<::xtcp_config::v1::XtcpConfig> SetS3Upload(
      std::optional<absl::Duration> flush_interval, uint32_t flush_threshold_bytes) override
      ABSL_LOCKS_EXCLUDED(mu_);

  // ---- RunDaemon's side ----
  // The engine now collecting (null between pipelines).
  void Attach(pipeline::Engine* engine) ABSL_LOCKS_EXCLUDED(mu_);
  // The daemon is stopping: Set and SetPollFrequency answer UNAVAILABLE from now on.
  void SetStopping() ABSL_LOCKS_EXCLUDED(mu_);
  // The configuration a Set asked to restart with, if any (taken once).
  std::optional<config::Config> TakeRestart() ABSL_LOCKS_EXCLUDED(mu_);
  // The restart asked for is done: the new pipeline runs (ok), or it failed and `previous` runs
  // again (then the Set caller gets FAILED_PRECONDITION with `why`).
  void RestartDone(const absl::Status& why, const config::Config* previous)
      ABSL_LOCKS_EXCLUDED(mu_);
  config::Config running() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const config::Vocabulary vocab_;
  const absl::Duration restart_budget_;  // how long Set waits for the restart

  mutable absl::Mutex mu_;
  config::Config running_ ABSL_GUARDED_BY(mu_);
  pipeline::Engine* engine_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<config::Config> pending_ ABSL_GUARDED_BY(mu_);
  // Restarts asked for and done; a Set waits until done_ reaches its own number.
  uint64_t asked_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_restart_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xtcp::main
