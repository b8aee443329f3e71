#pragma once
// FakeKernel: a DumpSocket served from memory, for collector and poller tests without root.
//
//   kernel.SetDump(AF_INET, {datagram, datagram, ..., done});   // the reply to every AF_INET dump
//   auto sock = kernel.Socket();                               // hand to a NamespaceCollector
//   ... collector Send(request seq s) -> the AF_INET datagrams, every message's seq set to s
//
// Each dump request is answered with the reply set for its family (datagrams built with
// nl_builder.h or taken from a capture), its messages renumbered to the request's sequence number,
// as the kernel does. A TCPDIAG_GETSOCK (type 18) request is answered, as by the kernel, with the
// AF_INET then the AF_INET6 reply in one dump: socket messages retyped 18, the families' DONEs
// replaced by one at the end, nothing after an NLMSG_ERROR; RefuseCompat() makes it answer
// NLMSG_ERROR -EINVAL instead (a kernel without the compat handler). Hold() keeps replies back
// until Release() (a slow kernel: poll timeouts, late replies); Inject() queues any datagram (e.g.
// one of an old dump); FailSends() makes Send() fail.
//
// The socket's poll_fd() is an eventfd that is readable exactly while a datagram can be taken, as a
// netlink socket is for epoll; it has no fd(), so -ioUring refuses it.
//
// Thread-safe: every method may be called from any thread; the socket handed out refers to the
// kernel, which must outlive it.

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "decode/kernel_layout.h"
#include "fakes/nl_builder.h"
#include "netlink/dump_socket.h"

namespace xtcp::testing {

struct FakeRequest {
  uint16_t type = 0;  // 20 SOCK_DIAG_BY_FAMILY, 18 TCPDIAG_GETSOCK
  uint8_t family = 0;
  uint8_t idiag_ext = 0;
  uint32_t seq = 0;
  uint32_t states = 0;
};

class FakeKernel {
 public:
  using Datagram = std::vector<uint8_t>;

  // The reply to every dump request of `family` (e.g. AF_INET). Without one, a dump is a lone DONE.
  void SetDump(uint8_t family, std::vector<Datagram> reply) {
    absl::MutexLock lock(&mu_);
    dumps_[family] = std::move(reply);
  }
  // Replies are queued but not delivered until Release().
  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
    UpdateReadyLocked();
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
    UpdateReadyLocked();
  }
  // Queues `d` as is (its seq untouched), ahead of nothing: after what is queued.
  void Inject(Datagram d) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(d));
    UpdateReadyLocked();
  }
  // The `nth` dump datagram handed out (0-based) leaves Receive()/TryReceive() only
  // `delay` after it was taken off the queue: a reader preempted between the kernel's dequeue and
  // its own decode, while other readers take the datagrams after it.
  void SlowHandOut(size_t nth, absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    slow_nth_ = nth;
    slow_delay_ = delay;
  }
  void FailSends(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_sends_ = fail;
  }
  // TCPDIAG_GETSOCK requests are answered NLMSG_ERROR `error` (0: served).
  void RefuseCompat(int32_t error = -EINVAL) {
    absl::MutexLock lock(&mu_);
    refuse_compat_ = error;
  }
  // Dump requests received, oldest first.
  std::vector<FakeRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t queued() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

  FakeKernel() : ready_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~FakeKernel() { ::close(ready_fd_); }
  FakeKernel(const FakeKernel&) = delete;
  FakeKernel& operator=(const FakeKernel&) = delete;

  // A DumpSocket of this kernel (fd -1: no io_uring).
  std::unique_ptr<netlink::DumpSocket> Socket() { return std::make_unique<Sock>(this); }

  // Takes one datagram, waiting up to `timeout` (zero: forever) for one: a blocking reader.
  netlink::RecvResult Receive(std::span<uint8_t> buf, size_t* len, int* err,
                              absl::Duration timeout) {
    absl::Duration linger;
    const netlink::RecvResult r = Take(buf, len, err, timeout, &linger);
    if (linger > absl::ZeroDuration()) absl::SleepFor(linger);  // kernel lock not held
    return r;
  }

  // Every message of `d` renumbered to `seq`.
  static void Renumber(Datagram* d, uint32_t seq) {
    for (size_t off = 0; off + decode::kNlmsgHdrLen <= d->size();) {
      uint32_t len = 0;
      std::memcpy(&len, d->data() + off, 4);
      if (len < decode::kNlmsgHdrLen) break;
      std::memcpy(d->data() + off + 8, &seq, 4);
      off += (len + 3u) & ~3u;
    }
  }

 private:
  class Sock final : public netlink::DumpSocket {
   public:
    explicit Sock(FakeKernel* k) : k_(k) {}
    int fd() const override { return -1; }
    int poll_fd() const override { return k_->ready_fd_; }
    absl::Status Send(std::span<const uint8_t> request) override { return k_->Send(request); }
    netlink::RecvResult TryReceive(std::span<uint8_t> buf, size_t* len, int* err) override {
      return k_->Receive(buf, len, err, absl::Nanoseconds(1));
    }

   private:
    FakeKernel* const k_;
  };

  absl::Status Send(std::span<const uint8_t> req) {
    if (req.size() < 24) return absl::InvalidArgumentError("short request");
    FakeRequest r;
    std::memcpy(&r.type, req.data() + 4, 2);
    std::memcpy(&r.seq, req.data() + 8, 4);
    r.family = req[16];
    const bool compat = r.type == decode::kTcpDiagGetSock;
    if (compat && req.size() < decode::kCompatDumpRequestLen) {
      return absl::InvalidArgumentError("short compat request");
    }
    r.idiag_ext = compat ? req[19] : req[18];
    std::memcpy(&r.states, req.data() + (compat ? 68 : 20), 4);
    absl::MutexLock lock(&mu_);
    absl::Cleanup ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { UpdateReadyLocked(); };
    if (fail_sends_) return absl::UnavailableError("netlink send: fake failure");
    requests_.push_back(r);
    if (compat && refuse_compat_ != 0) {
      NlBuilder b;
      b.Error(r.seq, refuse_compat_);
      queue_.push_back(b.Take());
      return absl::OkStatus();
    }
    if (compat) {
      QueueCompatReply(r.seq);
      return absl::OkStatus();
    }
    auto it = dumps_.find(r.family);
    if (it == dumps_.end()) {
      queue_.push_back(DoneOf(r.seq));
      return absl::OkStatus();
    }
    for (Datagram d : it->second) {
      Renumber(&d, r.seq);
      queue_.push_back(std::move(d));
    }
    return absl::OkStatus();
  }

  // Both families' replies as one dump of `seq` (see the class comment).
  void QueueCompatReply(uint32_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
      auto it = dumps_.find(family);
      if (it == dumps_.end()) continue;
      for (const Datagram& in : it->second) {
        Datagram out;
        bool error = false;
        for (size_t off = 0; off + decode::kNlmsgHdrLen <= in.size() && !error;) {
          uint32_t len = 0;
          uint16_t type = 0;
          std::memcpy(&len, in.data() + off, 4);
          std::memcpy(&type, in.data() + off + 4, 2);
          if (len < decode::kNlmsgHdrLen || off + len > in.size()) break;
          const size_t next = std::min(in.size(), off + decode::Align4(len));
          error = type == decode::kNlmsgError;
          if (type != decode::kNlmsgDone) {
            const size_t at = out.size();
            out.insert(out.end(), in.begin() + static_cast<ptrdiff_t>(off),
                       in.begin() + static_cast<ptrdiff_t>(next));
            if (type == decode::kSockDiagByFamily) {
              const uint16_t t18 = decode::kTcpDiagGetSock;
              std::memcpy(out.data() + at + 4, &t18, 2);
            }
          }
          off = next;
        }
        if (!out.empty()) {
          Renumber(&out, seq);
          queue_.push_back(std::move(out));
        }
        if (error) return;  // the kernel sends nothing after an NLMSG_ERROR
      }
    }
    queue_.push_back(DoneOf(seq));
  }

  netlink::RecvResult Take(std::span<uint8_t> buf, size_t* len, int* err, absl::Duration timeout,
                           absl::Duration* linger) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !held_ && !queue_.empty(); };
    const absl::Duration wait = timeout > absl::ZeroDuration() ? timeout : absl::InfiniteDuration();
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), wait)) {
      *err = EAGAIN;
      *len = 0;
      return netlink::RecvResult::kTimeout;
    }
    if (handed_out_++ == slow_nth_) *linger = slow_delay_;
    Datagram d = std::move(queue_.front());
    queue_.pop_front();
    UpdateReadyLocked();
    const size_t n = std::min(d.size(), buf.size());
    std::memcpy(buf.data(), d.data(), n);
    *len = n;
    return n < d.size() ? netlink::RecvResult::kTruncated : netlink::RecvResult::kData;
  }

  // Keeps ready_fd_ readable exactly while a datagram can be taken.
  void UpdateReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const bool ready = !held_ && !queue_.empty();
    if (ready == signalled_) return;
    uint64_t v = 1;
    if (ready) {
      (void)!::write(ready_fd_, &v, sizeof(v));
    } else {
      (void)!::read(ready_fd_, &v, sizeof(v));
    }
    signalled_ = ready;
  }

  static Datagram DoneOf(uint32_t seq) {
    NlBuilder b;
    b.Done(seq);
    return b.Take();
  }

  mutable absl::Mutex mu_;
  std::map<uint8_t, std::vector<Datagram>> dumps_ ABSL_GUARDED_BY(mu_);
  std::deque<Datagram> queue_ ABSL_GUARDED_BY(mu_);
  const int ready_fd_;
  bool signalled_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<FakeRequest> requests_ ABSL_GUARDED_BY(mu_);
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_sends_ ABSL_GUARDED_BY(mu_) = false;
  int32_t refuse_compat_ ABSL_GUARDED_BY(mu_) = 0;
  size_t handed_out_ ABSL_GUARDED_BY(mu_) = 0;
  size_t slow_nth_ ABSL_GUARDED_BY(mu_) = SIZE_MAX;
  absl::Duration slow_delay_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xtcp::testing
