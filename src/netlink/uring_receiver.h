#pragma once
// UringReceiver: receives netlink datagrams of several sockets through one io_uring ring (a reader
// thread of the -ioUring reader pool).
//
// Each added socket has a multishot IORING_OP_RECV armed, tagged with the caller's tag; the kernel
// picks a buffer for each datagram from a ring of provided buffers shared by every socket of the
// ring:
//
//   kernel --CQE(tag, res, buffer id, F_MORE)--> Poll() --fn(tag, datagram)--> buffer back on ring
//
// The recv is issued with MSG_TRUNC, so a CQE's result is the datagram's real size and a datagram
// larger than a buffer is reported as truncated rather than silently cut. A recv that ends (no
// F_MORE: out of buffers, an error) is re-armed by the next Poll(); a datagram the kernel could not
// place stays queued on its socket until then. Buffers: min(recv_batch, 8) rounded to a power of
// two, shared by the ring's sockets — each socket has at most one dump's datagram in flight (the
// kernel builds the next one only once the previous one is consumed).
//
// A `wake_fd` (an eventfd, or -1) is polled by the ring too: writing to it ends the current Poll()
// with woken() true; the owner reads the eventfd and calls RearmWake().
//
// Thread-compatible: owned and used by one thread (the ring is created SINGLE_ISSUER).

#include <cstddef>
#include <cstdint>
#include <map>
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
  // Tags below this are the receiver's own.
  static constexpr uint64_t kFirstTag = 16;

  // Fails with a clear message when the kernel lacks io_uring, multishot recv or buffer rings.
  static absl::StatusOr<std::unique_ptr<UringReceiver>> Create(size_t buffer_size,
                                                               uint32_t recv_batch,
                                                               uint32_t cqe_batch, int wake_fd);
  ~UringReceiver();
  UringReceiver(const UringReceiver&) = delete;
  UringReceiver& operator=(const UringReceiver&) = delete;

  // Arms a recv on `fd`; its datagrams reach Poll()'s fn with `tag` (>= kFirstTag, unique).
  absl::Status Add(int fd, uint64_t tag);
  // Cancels `tag`'s recv; none of its datagrams reach fn afterwards (any still queued in the ring
  // are dropped, their buffers recycled). The fd may be closed once this returns.
  void Remove(uint64_t tag);
  size_t sockets() const { return sockets_.size(); }

  // Re-arms ended recvs, waits up to `timeout` for a completion, then hands every completed
  // datagram (at most cqe_batch) to `fn` (tag, data, truncated). Returns how many were handed.
  absl::StatusOr<int> Poll(
      absl::Duration timeout,
      absl::FunctionRef<void(uint64_t tag, std::span<const uint8_t>, bool truncated)> fn);

  // The wake fd fired during a Poll() (cleared by RearmWake()).
  bool woken() const { return woken_; }
  absl::Status RearmWake();

  const UringStats& stats() const { return stats_; }
  size_t buffer_count() const { return nbufs_; }

 private:
  struct Socket {
    int fd = -1;
    bool armed = false;
  };
  UringReceiver() = default;
  // Queues a multishot recv for `tag` (submitted by the caller).
  absl::Status PrepRecv(uint64_t tag, Socket& s);
  absl::Status PrepWake();
  absl::Status Submit();

  std::unique_ptr<io_uring> ring_;
  bool ring_ready_ = false;
  io_uring_buf_ring* br_ = nullptr;
  size_t br_bytes_ = 0;
  std::unique_ptr<uint8_t[]> bufs_;
  size_t nbufs_ = 0;
  size_t buffer_size_ = 0;
  uint32_t cqe_batch_ = 0;
  int wake_fd_ = -1;
  bool woken_ = false;
  bool rearm_needed_ = false;  // some socket's recv ended
  std::map<uint64_t, Socket> sockets_;
  UringStats stats_;
};

}  // namespace xtcp::netlink
