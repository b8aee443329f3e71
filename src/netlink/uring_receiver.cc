#include "netlink/uring_receiver.h"

#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xtcp::netlink {
namespace {
constexpr int kBufferGroup = 7;
constexpr uint64_t kWakeTag = 2;
constexpr uint64_t kCancelTag = 3;
// Enough for every socket of a ring re-armed at once plus the wake poll and some cancels; a full
// queue is submitted and the preparation retried.
constexpr unsigned kEntries = 16;
constexpr unsigned kCqEntries = 256;
}  // namespace

absl::StatusOr<std::unique_ptr<UringReceiver>> UringReceiver::Create(size_t buffer_size,
                                                                     uint32_t recv_batch,
                                                                     uint32_t cqe_batch,
                                                                     int wake_fd) {
  std::unique_ptr<UringReceiver> r(new UringReceiver());
  r->wake_fd_ = wake_fd;
  r->buffer_size_ = buffer_size;
  r->cqe_batch_ = cqe_batch == 0 ? 1 : cqe_batch;
  size_t n = 1;
  while (n < recv_batch && n < 8) n <<= 1;
  r->nbufs_ = n;

  r->ring_ = std::make_unique<io_uring>();
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kEntries, r->ring_.get(), &params);
  if (rc == -EINVAL) {  // kernels before 6.1: plain ring
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kCqEntries;
    rc = io_uring_queue_init_params(kEntries, r->ring_.get(), &params);
  }
  if (rc < 0) {
    return absl::UnavailableError(
        absl::StrCat("-ioUring: io_uring_queue_init: ", std::strerror(-rc),
                     " (io_uring disabled or unsupported by this kernel)"));
  }
  r->ring_ready_ = true;

  io_uring_probe* probe = io_uring_get_probe_ring(r->ring_.get());
  const bool has_recv = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_RECV);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!has_recv) {
    return absl::UnavailableError(
        "-ioUring: this kernel's io_uring does not support IORING_OP_RECV");
  }

  r->br_bytes_ = r->nbufs_ * sizeof(io_uring_buf);
  void* mem =
      ::mmap(nullptr, r->br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED)
    return absl::ResourceExhaustedError(absl::StrCat("-ioUring: mmap: ", std::strerror(errno)));
  r->br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(r->br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = static_cast<uint32_t>(r->nbufs_);
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(r->ring_.get(), &reg, 0);
  if (rc < 0) {
    return absl::UnavailableError(absl::StrCat(
        "-ioUring: provided buffer rings unsupported (kernel 5.19+ needed): ", std::strerror(-rc)));
  }
  r->bufs_ = std::make_unique_for_overwrite<uint8_t[]>(r->nbufs_ * buffer_size);
  const int mask = io_uring_buf_ring_mask(static_cast<uint32_t>(r->nbufs_));
  for (size_t i = 0; i < r->nbufs_; ++i) {
    io_uring_buf_ring_add(r->br_, r->bufs_.get() + i * buffer_size,
                          static_cast<unsigned>(buffer_size), static_cast<unsigned short>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r->br_, static_cast<int>(r->nbufs_));
  if (wake_fd >= 0) {
    if (absl::Status s = r->PrepWake(); !s.ok()) return s;
    if (absl::Status s = r->Submit(); !s.ok()) return s;
  }
  return r;
}

UringReceiver::~UringReceiver() {
  if (ring_ready_) io_uring_queue_exit(ring_.get());  // cancels every armed recv
  if (br_ != nullptr) ::munmap(br_, br_bytes_);
}

namespace {
// A submission queue entry, submitting what is queued first if the queue is full.
io_uring_sqe* GetSqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr && io_uring_submit(ring) >= 0) sqe = io_uring_get_sqe(ring);
  return sqe;
}
}  // namespace

absl::Status UringReceiver::Submit() {
  const int rc = io_uring_submit(ring_.get());
  if (rc < 0) return absl::UnavailableError(absl::StrCat("-ioUring: submit: ", std::strerror(-rc)));
  return absl::OkStatus();
}

absl::Status UringReceiver::PrepWake() {
  io_uring_sqe* sqe = GetSqe(ring_.get());
  if (sqe == nullptr) return absl::ResourceExhaustedError("-ioUring: submission queue full");
  io_uring_prep_poll_add(sqe, wake_fd_, POLLIN);
  io_uring_sqe_set_data64(sqe, kWakeTag);
  return absl::OkStatus();
}

absl::Status UringReceiver::RearmWake() {
  woken_ = false;
  if (wake_fd_ < 0) return absl::OkStatus();
  if (absl::Status s = PrepWake(); !s.ok()) return s;
  return Submit();
}

absl::Status UringReceiver::PrepRecv(uint64_t tag, Socket& s) {
  io_uring_sqe* sqe = GetSqe(ring_.get());
  if (sqe == nullptr) return absl::ResourceExhaustedError("-ioUring: submission queue full");
  io_uring_prep_recv_multishot(sqe, s.fd, nullptr, 0, MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, tag);
  s.armed = true;
  ++stats_.rearms;
  return absl::OkStatus();
}

absl::Status UringReceiver::Add(int fd, uint64_t tag) {
  if (tag < kFirstTag || sockets_.contains(tag)) {
    return absl::InvalidArgumentError("-ioUring: bad or duplicate receiver tag");
  }
  Socket& s = sockets_[tag];
  s.fd = fd;
  absl::Status st = PrepRecv(tag, s);
  if (st.ok()) st = Submit();
  if (!st.ok()) sockets_.erase(tag);
  return st;
}

void UringReceiver::Remove(uint64_t tag) {
  auto it = sockets_.find(tag);
  if (it == sockets_.end()) return;
  const bool armed = it->second.armed;
  sockets_.erase(it);
  if (!armed) return;
  // Completions still carrying `tag` are dropped by Poll() (the tag is unknown now). The cancel
  // must reach the kernel before the caller closes the fd.
  io_uring_sqe* sqe = GetSqe(ring_.get());
  if (sqe == nullptr) return;  // the ring is unusable; its exit cancels everything
  io_uring_prep_cancel64(sqe, tag, 0);
  io_uring_sqe_set_data64(sqe, kCancelTag);
  (void)Submit();
}

absl::StatusOr<int> UringReceiver::Poll(
    absl::Duration timeout, absl::FunctionRef<void(uint64_t, std::span<const uint8_t>, bool)> fn) {
  if (rearm_needed_) {
    rearm_needed_ = false;
    for (auto& [tag, s] : sockets_) {
      if (s.armed) continue;
      if (absl::Status st = PrepRecv(tag, s); !st.ok()) return st;
    }
    if (absl::Status st = Submit(); !st.ok()) return st;
  }
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{};
  const int64_t ns = absl::ToInt64Nanoseconds(timeout);
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  int rc = io_uring_wait_cqe_timeout(ring_.get(), &cqe, &ts);
  if (rc == -ETIME || rc == -EINTR) return 0;
  if (rc < 0) return absl::UnavailableError(absl::StrCat("-ioUring: wait: ", std::strerror(-rc)));

  const int mask = io_uring_buf_ring_mask(static_cast<uint32_t>(nbufs_));
  int handed = 0, seen = 0, recycled = 0;
  unsigned head;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    ++seen;
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (tag == kWakeTag) {
      woken_ = true;
    } else if (tag >= kFirstTag) {
      auto it = sockets_.find(tag);  // end() once removed: dropped
      const bool more = cqe->flags & IORING_CQE_F_MORE;
      if (cqe->res < 0) {
        if (it != sockets_.end()) {
          if (cqe->res == -ENOBUFS) {
            ++stats_.no_buffers;
          } else {
            ++stats_.errors;
          }
        }
      } else if (cqe->flags & IORING_CQE_F_BUFFER) {
        const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        const size_t real = static_cast<size_t>(cqe->res);
        const bool truncated = real > buffer_size_;
        uint8_t* buf = bufs_.get() + bid * buffer_size_;
        if (it != sockets_.end()) {
          fn(tag, std::span<const uint8_t>(buf, truncated ? buffer_size_ : real), truncated);
          ++handed;
        }
        io_uring_buf_ring_add(br_, buf, static_cast<unsigned>(buffer_size_),
                              static_cast<unsigned short>(bid), mask, recycled++);
      }
      if (!more && it != sockets_.end()) {
        it->second.armed = false;
        rearm_needed_ = true;
      }
    }
    if (seen >= static_cast<int>(cqe_batch_)) break;
  }
  if (recycled > 0) io_uring_buf_ring_advance(br_, recycled);
  io_uring_cq_advance(ring_.get(), static_cast<unsigned>(seen));
  return handed;
}

}  // namespace xtcp::netlink
