#pragma once
// The one "write every byte" loop of the tree, for files, pipes and stream sockets.
//
// Thread-safety: none of its own; concurrent writers to one fd must serialise themselves.

#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace xtcp {

enum class FdKind {
  kFile,    // write(2)/writev(2); a closed pipe raises SIGPIPE unless it is ignored
  kSocket,  // sendmsg(2) with MSG_NOSIGNAL: a vanished peer is EPIPE, never a signal
};

// Writes all of `parts`, in order, as one byte stream: continues after partial writes and EINTR,
// skips empty parts. Errors: DeadlineExceeded when the fd would block (EAGAIN: a non-blocking fd,
// or SO_SNDTIMEO ran out), Aborted when a kFile fd is a pipe whose reader went away (EPIPE: the
// caller should stop writing, not retry), Unavailable "write: <strerror>" otherwise. After an error
// an unknown prefix of the bytes has been written.
absl::Status WriteAllParts(int fd, std::span<const std::string_view> parts,
                           FdKind kind = FdKind::kFile);

inline absl::Status WriteAll(int fd, std::string_view data, FdKind kind = FdKind::kFile) {
  const std::string_view one[] = {data};
  return WriteAllParts(fd, one, kind);
}

}  // namespace xtcp
