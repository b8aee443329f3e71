#pragma once
// The start-up capability check (reference §9.5): first thing in daemon mode.
//
//   CAP_NET_ADMIN, CAP_SYS_ADMIN   missing -> fatal (exit 1) with what is missing, why, and how
//                                  to grant it
//   CAP_SYS_PTRACE                 missing -> one warning line
//   CAP_SYS_RESOURCE               only with -ioUring (RLIMIT_MEMLOCK): missing -> one warning line
// CAP_NET_RAW is needed by nothing (the privilege drop removes it), so it is not checked.
//
// EvaluateCapabilities() is pure (a mask in, a verdict out) so it is unit-tested without
// privileges; ReadEffectiveCapabilities() is the thin capget(2) wrapper.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xtcp::observe {

// Bit n of a mask = capability number n (linux/capability.h), e.g. 1 << CAP_NET_ADMIN.
using CapabilityMask = uint64_t;

struct CapabilityVerdict {
  // FailedPrecondition with a multi-line, copy-pasteable message when a fatal capability is
  // missing; OK otherwise.
  absl::Status status;
  // One line per missing non-fatal capability: "missing capability CAP_X: <consequence>".
  std::vector<std::string> warnings;
};

// `io_uring`: -ioUring is on, so CAP_SYS_RESOURCE is checked and named in the remedies.
CapabilityVerdict EvaluateCapabilities(CapabilityMask effective, bool io_uring);

// The effective set of this process (capget(2), version 3, both 32-bit words).
absl::StatusOr<CapabilityMask> ReadEffectiveCapabilities();

// Reads the effective set, logs each warning, and returns the fatal status (or a capget error).
// RunDaemon calls this before anything else and exits 1 with the message when it fails.
absl::Status CheckCapabilities(bool io_uring);

}  // namespace xtcp::observe
