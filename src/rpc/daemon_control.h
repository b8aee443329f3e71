#pragma once
// DaemonControl: what the gRPC ConfigService asks of the running daemon. Implemented by main
// (src/main/control.cc), which owns the configuration, its validation and the engine; this layer
// only maps requests and answers to and from the wire.
//
// Errors: InvalidArgument (a rule of the flags failed; the message names the flag, as the flag
// parser's), FailedPrecondition, Unavailable (stopping); each becomes the gRPC code of that name.
//
// Thread-safe: any gRPC thread.

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "xtcp_config/v1/xtcp_config.pb.h"

namespace xtcp::rpc {

class DaemonControl {
 public:
  virtual ~DaemonControl() = default;
  // The configuration in force; the S3 access and secret keys blanked.
  virtual ::xtcp_config::v1::XtcpConfig Get() = 0;
  // Validates the whole of `config` (blank S3 keys keep the running ones) and applies it: live
  // where it can, else by restarting collection and output in-process. Returns the configuration
  // now in force (keys blanked).
  virtual absl::StatusOr<::xtcp_config::v1::XtcpConfig> Set(
      const ::xtcp_config::v1::XtcpConfig& config) = 0;
  // A new poll cadence, live.
  virtual absl::StatusOr<::xtcp_config::v1::XtcpConfig> SetPollFrequency(
      absl::Duration frequency, absl::Duration timeout) = 0;
  // A poll now (coalesced with one in flight).
  virtual void TriggerPoll() = 0;
  virtual absl::Duration poll_timeout() = 0;
  // The s3parquet sink's object timers.
  virtual absl::StatusOr<::xtcp_config::v1::XtcpConfig> SetS3Upload(
      std::optional<absl::Duration> flush_interval, uint32_t flush_threshold_bytes) = 0;
};

}  // namespace xtcp::rpc
