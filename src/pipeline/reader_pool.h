#pragma once
// ReaderPool: a fixed set of reader threads serving the netlink sockets of every namespace. The
// number of threads does not depend on the number of namespaces; a namespace costs its socket and
// a registration here, nothing more.
//
// Syscall mode (default): one epoll set holds every socket's poll fd, EPOLLONESHOT. A reader that
// gets a socket calls its source's OnReadable(), which takes one datagram and re-arms the socket
// (so another reader can take the next datagram while this one decodes), then handles it:
//
//   readers --epoll_wait--> source->OnReadable(state, rearm) --TryReceive, rearm(), decode-->
//
// io_uring mode (-ioUring): each reader thread owns a ring (UringReceiver) and every socket is
// placed on the least-loaded ring; its datagrams reach OnDatagram() on that ring's thread, in the
// kernel's order. Add/Remove are handed to the ring's thread through a command queue and an eventfd
// the ring polls.
//
// State per reader thread (`ReaderState`): a receive buffer and whatever `make_local` builds (the
// collector's decode scratch and row batch).
//
// Thread-safe. Start() once; Add()/Remove() from any thread except the readers; Stop() (or the
// destructor) joins the readers — every source must have been removed by then.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
}

namespace xtcp::netlink {
class UringReceiver;
}

namespace xtcp::pipeline {

// What a source keeps per reader thread; built by ReaderPoolOptions::make_local.
class ReaderLocal {
 public:
  virtual ~ReaderLocal() = default;
};

struct ReaderState {
  uint32_t id = 0;            // 0..threads-1
  std::span<uint8_t> buffer;  // syscall mode: the receive buffer
  std::unique_ptr<ReaderLocal> local;
  std::unique_ptr<uint8_t[]> storage;  // owns `buffer`
};

class ReaderSource {
 public:
  virtual ~ReaderSource() = default;
  // Syscall mode: the poll fd is readable. Take at most one datagram, call `rearm` once it is
  // accounted for (before decoding it), then handle it. `rearm` must be called exactly once, also
  // when nothing was received.
  virtual void OnReadable(ReaderState& state, absl::FunctionRef<void()> rearm) = 0;
  // io_uring mode: one datagram of this source's socket.
  virtual void OnDatagram(ReaderState& state, std::span<const uint8_t> d, bool truncated) = 0;
};

struct ReaderPoolCounters {
  prometheus::Counter* idle_wait = nullptr;  // a reader waited idle_wait without any datagram
  prometheus::Counter* uring_rearms = nullptr;
  prometheus::Counter* uring_no_buffers = nullptr;
  prometheus::Counter* errors = nullptr;  // epoll / io_uring failures
};

struct ReaderPoolOptions {
  uint32_t threads = 4;
  bool io_uring = false;
  size_t buffer_size = 32768;
  absl::Duration idle_wait = absl::Seconds(1);
  uint32_t uring_recv_batch = 64;
  uint32_t uring_cqe_batch = 128;
  std::function<std::unique_ptr<ReaderLocal>(uint32_t id)> make_local;
  ReaderPoolCounters counters;
};

class ReaderPool {
 public:
  explicit ReaderPool(ReaderPoolOptions opts);
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Starts the readers; with io_uring, fails (and starts nothing) if a ring cannot be built.
  absl::Status Start();
  void Stop();

  // Serves `source`: syscall mode waits on `poll_fd`, io_uring mode receives from `fd` (which must
  // be a real socket). The source must stay alive until Remove() returns.
  absl::Status Add(ReaderSource* source, int poll_fd, int fd);
  // Stops serving `source`; returns once no reader is inside one of its callbacks and none will
  // enter one again. Unknown sources are ignored.
  void Remove(ReaderSource* source);

  size_t sources() const;
  uint32_t threads() const { return static_cast<uint32_t>(threads_.size()); }
  const ReaderPoolOptions& options() const { return opts_; }

 private:
  struct Entry {
    ReaderSource* source = nullptr;
    uint64_t tag = 0;
    int poll_fd = -1;
    uint32_t users = 0;  // readers inside a callback (syscall mode)
    int ring = -1;       // io_uring mode: the ring serving it
  };
  struct Ring;

  void RunSyscall(uint32_t id);
  void RunUring(Ring* ring);
  ReaderState MakeState(uint32_t id, bool with_buffer);
  absl::Status AddUring(Entry* e, int fd);
  void RemoveUring(Entry* e);

  const ReaderPoolOptions opts_;
  std::atomic<bool> stop_{false};
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // eventfd, level-triggered in the epoll set: wakes every reader on Stop()
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Ring>> rings_;
  bool started_ = false;

  mutable absl::Mutex mu_;
  uint64_t next_tag_ ABSL_GUARDED_BY(mu_) = 16;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Entry>> by_tag_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ReaderSource*, uint64_t> by_source_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xtcp::pipeline
