#include "netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xtcp::netlink {

absl::StatusOr<std::unique_ptr<NetlinkSocket>> NetlinkSocket::Open() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
  if (nl == nullptr)
    return absl::InternalError(absl::StrCat("netlink socket: ", std::strerror(errno)));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    mnl_socket_close(nl);
    return absl::InternalError(absl::StrCat("netlink bind: ", std::strerror(e)));
  }
  return std::unique_ptr<NetlinkSocket>(new NetlinkSocket(nl));
}

NetlinkSocket::~NetlinkSocket() { mnl_socket_close(nl_); }

int NetlinkSocket::fd() const { return mnl_socket_get_fd(nl_); }

absl::Status NetlinkSocket::Send(std::span<const uint8_t> request) {
  for (;;) {
    const ssize_t n = mnl_socket_sendto(nl_, request.data(), request.size());
    if (n >= 0) return absl::OkStatus();
    if (errno == EINTR) continue;
    return absl::UnavailableError(absl::StrCat("netlink send: ", std::strerror(errno)));
  }
}

RecvResult NetlinkSocket::TryReceive(std::span<uint8_t> buf, size_t* len, int* err) {
  // With MSG_TRUNC a netlink recv returns the datagram's real size, so one larger than the buffer
  // is reported as truncated instead of silently cut. EINTR (the CPU profiler's SIGPROF) is
  // retried.
  ssize_t n;
  do {
    n = ::recv(fd(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    const auto got = static_cast<size_t>(n);
    *len = std::min(got, buf.size());
    return got > buf.size() ? RecvResult::kTruncated : RecvResult::kData;
  }
  *err = errno;
  *len = 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return RecvResult::kTimeout;
  return RecvResult::kError;
}

}  // namespace xtcp::netlink
