#pragma once
// -writeFiles: one raw netlink datagram saved to a new file.
//
// The file is created 0600 (it holds the socket state of a namespace) and never through a symlink:
// O_CREAT|O_EXCL refuses any existing name, a symlink included (dangling or not), and O_NOFOLLOW
// makes that explicit. When `base` is taken by a plain file (two readers in the same nanosecond)
// the next free name `base.1` ... `base.99` is used; a symlink in the way is an error that says so.
//
// Thread-safe (no shared state).

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace xtcp::pipeline {

// Writes `data` to a new file named `base` (or base.N); returns the path written.
absl::StatusOr<std::string> WriteCaptureFile(const std::string& base,
                                             std::span<const uint8_t> data);

}  // namespace xtcp::pipeline
