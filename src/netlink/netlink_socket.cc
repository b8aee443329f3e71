#include "netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

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

absl::Status NetlinkSocket::SetReceiveTimeout(absl::Duration timeout) {
  timeval tv{};
  if (timeout > absl::ZeroDuration()) tv = absl::ToTimeval(timeout);
  if (::setsockopt(fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return absl::InternalError(absl::StrCat("SO_RCVTIMEO: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status NetlinkSocket::Send(std::span<const uint8_t> request) {
  for (;;) {
    const ssize_t n = mnl_socket_sendto(nl_, request.data(), request.size());
    if (n >= 0) return absl::OkStatus();
    if (errno == EINTR) continue;
    return absl::UnavailableError(absl::StrCat("netlink send: ", std::strerror(errno)));
  }
}

RecvResult NetlinkSocket::Receive(std::span<uint8_t> buf, size_t* len, int* err) {
  // mnl_socket_recvfrom() reports a datagram larger than the buffer as ENOSPC (MSG_TRUNC).
  // EINTR (e.g. the CPU profiler's SIGPROF) is retried, not reported as a timeout.
  ssize_t n;
  do {
    n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *len = static_cast<size_t>(n);
    return RecvResult::kData;
  }
  *err = errno;
  *len = 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return RecvResult::kTimeout;
  if (errno == ENOSPC) {
    *len = buf.size();
    return RecvResult::kTruncated;
  }
  return RecvResult::kError;
}

void NetlinkSocket::Wake(size_t n) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = kWakeSeq;
  msg.req.sdiag_family = AF_INET;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 0;  // no state: an empty dump
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(&msg), sizeof(msg));
  for (size_t i = 0; i < n; ++i) (void)Send(bytes);
}

}  // namespace xtcp::netlink
