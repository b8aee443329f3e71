#pragma once
// DumpSocket: what a namespace collector needs from the kernel side of a sock_diag socket, so the
// collector can be driven by the real netlink socket (netlink_socket.h) or by a fake kernel in
// tests (tests/fakes/fake_kernel.h).
//
//   collector --Send(dump request, seq s)--> kernel
//   readers   <--Receive(datagram)--------- replies, each message carrying seq s, ending in DONE
//   Stop()    --Wake(n)--> n blocked Receive() calls return (each gets one datagram of kWakeSeq)
//
// Thread-safety: Send, Receive and Wake may be called from several threads at once (each datagram
// goes to exactly one receiver). SetReceiveTimeout is called once, before the readers start.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace xtcp::netlink {

// Outcome of one receive.
enum class RecvResult { kData, kTimeout, kTruncated, kError };

// Sequence number of the wake-up requests (and their replies); never a real dump's.
inline constexpr uint32_t kWakeSeq = 0;

class DumpSocket {
 public:
  virtual ~DumpSocket() = default;

  // The socket's fd, for io_uring; -1 when there is none (a fake), which rules out -ioUring.
  virtual int fd() const = 0;

  // How long Receive() waits; zero means until data (Wake() still ends the wait).
  virtual absl::Status SetReceiveTimeout(absl::Duration timeout) = 0;

  // Sends one request datagram. Unavailable when the kernel refused it (no reply will come).
  virtual absl::Status Send(std::span<const uint8_t> request) = 0;

  // Receives one datagram into `buf`; `*len` is its size. kTruncated when it did not fit (its
  // head is in `buf`, the rest is lost); kTimeout when the receive timeout expired; kError with
  // `*err` an errno.
  virtual RecvResult Receive(std::span<uint8_t> buf, size_t* len, int* err) = 0;

  // Makes `n` receivers return: each gets one datagram whose messages carry kWakeSeq (or a
  // timeout). Used by Stop() so that readers notice it at once.
  virtual void Wake(size_t n) = 0;
};

}  // namespace xtcp::netlink
