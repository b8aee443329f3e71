#pragma once
// NetlinkSocket: one NETLINK_SOCK_DIAG socket (libmnl), owned; the real DumpSocket. Created in
// whatever network namespace the calling thread is in; the socket stays bound to that namespace for
// its whole life.
//
// Thread-safety: Send/TryReceive may be called from several threads at once (the kernel hands each
// datagram to exactly one receiver); creation and destruction are single-threaded.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netlink/dump_socket.h"

struct mnl_socket;

namespace xtcp::netlink {

class NetlinkSocket final : public DumpSocket {
 public:
  // socket(AF_NETLINK, SOCK_DGRAM|SOCK_CLOEXEC, NETLINK_SOCK_DIAG) + bind (kernel-assigned port).
  static absl::StatusOr<std::unique_ptr<NetlinkSocket>> Open();
  ~NetlinkSocket() override;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  int fd() const override;
  int poll_fd() const override { return fd(); }

  absl::Status Send(std::span<const uint8_t> request) override;

  // recv(MSG_DONTWAIT | MSG_TRUNC): kTimeout when nothing is queued; EINTR is retried. Receiving
  // is also what lets the kernel build a dump's next datagram.
  RecvResult TryReceive(std::span<uint8_t> buf, size_t* len, int* err) override;

 private:
  explicit NetlinkSocket(mnl_socket* nl) : nl_(nl) {}
  mnl_socket* nl_;
};

}  // namespace xtcp::netlink
