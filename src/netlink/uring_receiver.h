#pragma once
// UringReceiver: receives netlink datagrams through an io_uring ring (the -ioUring reader).
//
// One multishot IORING_OP_RECV stays armed on the socket and the kernel picks a buffer for each
// datagram from a ring of provided buffers owned by this receiver:
//
//   kernel --CQE(res, buffer id, F_MORE)--> Poll() --fn(datagram)--> buffer back on the ring
//
// The recv is issued with MSG_TRUNC, so a CQE's result is the datagram's real size and a datagram
// larger than a buffer is reported as truncated rather than silently cut. Buffers: min(recv_batch,
// 8) rounded to a power of two — the ring's memory is touched round-robin, so a larger ring only
// costs resident memory without saving syscalls on a dump (each datagram needs the previous one
// consumed before the kernel builds the next).
//
// Thread-compatible: owned and used by one reader thread (the ring is created SINGLE_ISSUER);
// CompletionsReady() is the exception.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct io_uring;
struct io_uring_buf_ring;

namespace xtcp::netlink {

struct UringStats {
  uint64_t rearms = 0;      // multishot recv (re)submitted
  uint64_t no_buffers = 0;  // the kernel ran out of provided buffers (-ENOBUFS)
  uint64_t errors = 0;      // other negative completions
};

class UringReceiver {
 public:
  // Fails with a clear message when the kernel lacks io_uring, multishot recv or buffer rings.
  // `wake_fd` (an eventfd, or -1) is polled by the ring too: writing to it ends the current Poll()
  // of every receiver sharing it, so their owners can notice a stop request at once.
  static absl::StatusOr<std::unique_ptr<UringReceiver>> Create(int fd, size_t buffer_size,
                                                               uint32_t recv_batch,
                                                               uint32_t cqe_batch,
                                                               int wake_fd = -1);
  ~UringReceiver();
  UringReceiver(const UringReceiver&) = delete;
  UringReceiver& operator=(const UringReceiver&) = delete;

  // Waits up to `timeout` for at least one datagram, then hands every completed one (at most
  // cqe_batch) to `fn` (data, truncated). Returns how many datagrams were handed over.
  // Returns at once once wake_fd has been signalled (see woken()).
  absl::StatusOr<int> Poll(absl::Duration timeout,
                           absl::FunctionRef<void(std::span<const uint8_t>, bool truncated)> fn);

  // Completions the kernel posted that Poll() has not consumed yet. Safe from any thread (reads the
  // completion queue's head and tail atomically).
  unsigned CompletionsReady() const;

  const UringStats& stats() const { return stats_; }
  bool woken() const { return woken_; }
  size_t buffer_count() const { return nbufs_; }

 private:
  UringReceiver() = default;
  absl::Status Arm();

  std::unique_ptr<io_uring> ring_;
  bool ring_ready_ = false;
  io_uring_buf_ring* br_ = nullptr;
  size_t br_bytes_ = 0;
  std::unique_ptr<uint8_t[]> bufs_;
  size_t nbufs_ = 0;
  size_t buffer_size_ = 0;
  uint32_t cqe_batch_ = 0;
  int fd_ = -1;
  int wake_fd_ = -1;
  bool armed_ = false;
  bool woken_ = false;
  UringStats stats_;
};

}  // namespace xtcp::netlink
