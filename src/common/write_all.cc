#include "common/write_all.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace xtcp {

absl::Status WriteAllParts(int fd, std::span<const std::string_view> parts, FdKind kind) {
  absl::InlinedVector<iovec, 4> iov;  // sinks write one or two parts: no allocation
  for (std::string_view p : parts) {
    if (!p.empty()) iov.push_back({const_cast<char*>(p.data()), p.size()});
  }
  size_t first = 0;
  while (first < iov.size()) {
    const size_t count = std::min<size_t>(iov.size() - first, IOV_MAX);
    ssize_t n;
    if (kind == FdKind::kSocket) {
      msghdr msg{};
      msg.msg_iov = iov.data() + first;
      msg.msg_iovlen = count;
      n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    } else {
      n = ::writev(fd, iov.data() + first, static_cast<int>(count));
    }
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EPIPE && kind == FdKind::kFile) {
        // Only a pipe or FIFO answers write(2) with EPIPE: its reader is gone for good (`xtcp2
        // -dest stdout | head`). A socket's EPIPE is a peer to reconnect to.
        return absl::AbortedError("write: reader closed the pipe (EPIPE)");
      }
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return absl::DeadlineExceededError("write: timed out (the receiver is not reading)");
      }
      return absl::UnavailableError(absl::StrCat("write: ", std::strerror(err)));
    }
    if (n == 0) return absl::UnavailableError("write: wrote nothing");  // never loop forever
    size_t left = static_cast<size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return absl::OkStatus();
}

}  // namespace xtcp
