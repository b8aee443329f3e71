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
constexpr uint64_t kRecvTag = 1;
constexpr uint64_t kWakeTag = 2;
}  // namespace

absl::StatusOr<std::unique_ptr<UringReceiver>> UringReceiver::Create(int fd, size_t buffer_size,
                                                                     uint32_t recv_batch,
                                                                     uint32_t cqe_batch,
                                                                     int wake_fd) {
  std::unique_ptr<UringReceiver> r(new UringReceiver());
  r->fd_ = fd;
  r->wake_fd_ = wake_fd;
  r->buffer_size_ = buffer_size;
  r->cqe_batch_ = cqe_batch == 0 ? 1 : cqe_batch;
  size_t n = 1;
  while (n < recv_batch && n < 8) n <<= 1;
  r->nbufs_ = n;

  r->ring_ = std::make_unique<io_uring>();
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  const unsigned entries = 8;
  int rc = io_uring_queue_init_params(entries, r->ring_.get(), &params);
  if (rc == -EINVAL) {  // kernels before 6.1: plain ring
    params = {};
    rc = io_uring_queue_init_params(entries, r->ring_.get(), &params);
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
    io_uring_sqe* sqe = io_uring_get_sqe(r->ring_.get());
    if (sqe == nullptr) return absl::ResourceExhaustedError("-ioUring: submission queue full");
    io_uring_prep_poll_add(sqe, wake_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, kWakeTag);
  }
  if (absl::Status s = r->Arm(); !s.ok()) return s;
  return r;
}

UringReceiver::~UringReceiver() {
  if (ring_ready_) io_uring_queue_exit(ring_.get());  // cancels the armed recv
  if (br_ != nullptr) ::munmap(br_, br_bytes_);
}

absl::Status UringReceiver::Arm() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) return absl::ResourceExhaustedError("-ioUring: submission queue full");
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, kRecvTag);
  const int rc = io_uring_submit(ring_.get());
  if (rc < 0) return absl::UnavailableError(absl::StrCat("-ioUring: submit: ", std::strerror(-rc)));
  armed_ = true;
  ++stats_.rearms;
  return absl::OkStatus();
}

unsigned UringReceiver::CompletionsReady() const {
  if (!ring_ready_) return 0;
  const unsigned tail = __atomic_load_n(ring_->cq.ktail, __ATOMIC_ACQUIRE);
  const unsigned head = __atomic_load_n(ring_->cq.khead, __ATOMIC_ACQUIRE);
  return tail - head;
}

absl::StatusOr<int> UringReceiver::Poll(
    absl::Duration timeout, absl::FunctionRef<void(std::span<const uint8_t>, bool)> fn) {
  if (woken_) return 0;
  if (!armed_) {
    if (absl::Status s = Arm(); !s.ok()) return s;
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
    if (io_uring_cqe_get_data64(cqe) == kWakeTag) {
      woken_ = true;
      continue;
    }
    const bool more = cqe->flags & IORING_CQE_F_MORE;
    if (cqe->res < 0) {
      if (cqe->res == -ENOBUFS) {
        ++stats_.no_buffers;
      } else {
        ++stats_.errors;
      }
    } else if (cqe->flags & IORING_CQE_F_BUFFER) {
      const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      const size_t real = static_cast<size_t>(cqe->res);
      const bool truncated = real > buffer_size_;
      uint8_t* buf = bufs_.get() + bid * buffer_size_;
      fn(std::span<const uint8_t>(buf, truncated ? buffer_size_ : real), truncated);
      ++handed;
      io_uring_buf_ring_add(br_, buf, static_cast<unsigned>(buffer_size_),
                            static_cast<unsigned short>(bid), mask, recycled++);
    }
    if (!more) armed_ = false;
    if (seen >= static_cast<int>(cqe_batch_)) break;
  }
  if (recycled > 0) io_uring_buf_ring_advance(br_, recycled);
  io_uring_cq_advance(ring_.get(), static_cast<unsigned>(seen));
  return handed;
}

}  // namespace xtcp::netlink
