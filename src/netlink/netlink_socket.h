#pragma once
// NetlinkSocket: one NETLINK_SOCK_DIAG socket (libmnl), owned. Created in whatever network
// namespace the calling thread is in; the socket stays bound to that namespace for its whole life.
//
// Thread-safety: Send/Receive may be called from several threads at once (the kernel hands each
// datagram to exactly one receiver); creation and destruction are single-threaded.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct mnl_socket;

namespace xtcp::netlink {

// Outcome of one receive.
enum class RecvResult { kData, kTimeout, kTruncated, kError };

class NetlinkSocket {
 public:
  // socket(AF_NETLINK, SOCK_DGRAM|SOCK_CLOEXEC, NETLINK_SOCK_DIAG) + bind (kernel-assigned port).
  static absl::StatusOr<std::unique_ptr<NetlinkSocket>> Open();
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  int fd() const;

  // SO_RCVTIMEO; zero means block forever.
  absl::Status SetReceiveTimeout(absl::Duration timeout);

  // Sends one request datagram to the kernel.
  absl::Status Send(std::span<const uint8_t> request);

  // Receives one datagram into `buf`; `*len` is its size. kTruncated when it did not fit (its
  // head is in `buf` but the rest is lost); kTimeout on SO_RCVTIMEO expiry or EINTR.
  RecvResult Receive(std::span<uint8_t> buf, size_t* len, int* err);

 private:
  explicit NetlinkSocket(mnl_socket* nl) : nl_(nl) {}
  mnl_socket* nl_;
};

}  // namespace xtcp::netlink
