#pragma once
// DumpSocket: what a namespace collector needs from the kernel side of a sock_diag socket, so the
// collector can be driven by the real netlink socket (netlink_socket.h) or by a fake kernel in
// tests (tests/fakes/fake_kernel.h).
//
//   collector --Send(dump request, seq s)--> kernel
//   reader pool: poll_fd() readable --TryReceive()--> one datagram, each message carrying seq s,
//   the last one ending in DONE
//
// Nobody blocks in a DumpSocket: the shared reader pool (pipeline/reader_pool.h) waits for
// poll_fd() to be readable (epoll or io_uring) and then takes one datagram without waiting.
//
// Thread-safety: Send and TryReceive may be called from several threads at once (each datagram
// goes to exactly one receiver).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace xtcp::netlink {

// Outcome of one receive. kTimeout: nothing was queued.
enum class RecvResult { kData, kTimeout, kTruncated, kError };

// A sequence number never given to a dump (the collectors skip it).
inline constexpr uint32_t kWakeSeq = 0;

class DumpSocket {
 public:
  virtual ~DumpSocket() = default;

  // The socket's fd, for io_uring; -1 when there is none (a fake), which rules out -ioUring.
  virtual int fd() const = 0;

  // An fd that polls readable (level-triggered) while a datagram can be received: the socket
  // itself, or an eventfd standing in for it (a fake).
  virtual int poll_fd() const = 0;

  // Sends one request datagram. Unavailable when the kernel refused it (no reply will come).
  virtual absl::Status Send(std::span<const uint8_t> request) = 0;

  // Takes one queued datagram into `buf` without waiting; `*len` is its size. kTruncated when it
  // did not fit (its head is in `buf`, the rest is lost); kTimeout when nothing was queued; kError
  // with `*err` an errno.
  virtual RecvResult TryReceive(std::span<uint8_t> buf, size_t* len, int* err) = 0;
};

}  // namespace xtcp::netlink
