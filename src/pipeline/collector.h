#pragma once
// NamespaceCollector: one network namespace's netlink socket and the reader threads that share it.
//
//   poller --StartPoll()--> send dump(AF_INET, seq s1)
//   readers: recv -> decode -> RowBatch -> batcher          (N threads, one socket)
//   reader seeing DONE(s1) --> send dump(AF_INET6, seq s2) ... DONE(s2) -->
//   listener->DumpFinished()
//
// With both families wanted (and compat_dump on) a dump is instead ONE TCPDIAG_GETSOCK request
// (seq s): the kernel walks its socket hash once and returns both families; DONE(s) ends it. An
// NLMSG_ERROR to it sends the v2 pair at once for that dump; -EINVAL/-EOPNOTSUPP (the kernel does
// not serve it) also switches every collector of the context to the v2 pair for good.
//
// At most one dump runs per namespace (the kernel allows one per socket); StartPoll() on a busy
// collector returns false and the namespace sits that poll out. Every record is stamped with the
// time its dump request was sent, looked up by the reply's sequence number, so replies processed
// late by a slow reader are still stamped right and never end a later dump.
//
// The collector owns no thread: the shared reader pool (reader_pool.h) serves its socket. Start()
// registers it there and Stop() takes it out (returning once no reader is inside it), so deleting a
// namespace takes milliseconds, not a receive timeout.
//
// A dump's end is reported only once no reader still holds one of its datagrams: reader B may take
// datagram k+1 (the DONE) while reader A, which took k before it, is still decoding. The socket is
// EPOLLONESHOT in the pool, so readers receive from it one at a time, and a reader counts its
// datagram as "in hand" before re-arming the socket for the next reader: every datagram the kernel
// handed out before the DONE is counted before the DONE is seen, and the reader that brings the
// count back to zero reports the end. With io_uring one ring serves the socket and hands its
// datagrams over in the kernel's order, on one thread.
//
// Locks: dump_mu_ guards the dump state machine (which family/seq is current, for which poll);
// name_mu_ guards the name. Neither is held while calling the listener, which takes the poller's
// lock: the order is never collector -> poller. The DumpSlots are lock-free (atomics), read by
// every reader for every datagram.
//
// Thread-safe. Start() once; Stop() is idempotent.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "decode/walker.h"
#include "enrich/cgroup.h"
#include "enrich/docker.h"
#include "netlink/dump_socket.h"
#include "pipeline/envelope.h"
#include "pipeline/reader_pool.h"
#include "pipeline/stamp.h"

namespace prometheus {
class Counter;
}

namespace xtcp {
class Metrics;
namespace pipeline {

class CollectorReader;

struct CollectorOptions {
  uint32_t readers = 4;  // threads of the shared reader pool (-netlinkers)
  size_t buffer_size = 32768;
  absl::Duration recv_timeout = absl::Seconds(1);  // a pool reader's idle wait (zero: 1s)
  uint64_t modulus = 1;
  std::vector<uint8_t> families = {2, 10};  // AF_INET, AF_INET6
  // With families exactly {AF_INET, AF_INET6}: one TCPDIAG_GETSOCK dump (one walk of the kernel's
  // socket hash) instead of the two SOCK_DIAG_BY_FAMILY dumps. False forces the v2 pair.
  bool compat_dump = true;
  uint8_t idiag_ext = 0xfe;
  decode::DecodeOptions decode;
  bool io_uring = false;
  uint32_t uring_recv_batch = 64;
  uint32_t uring_cqe_batch = 128;
  // -writeFiles: the first `write_files` datagrams of each pool reader are saved raw under
  // capture_path (files created 0600; a symlink in the way is refused).
  uint32_t write_files = 0;
  std::string capture_path = "./";
};

// Whether `o` asks for the one TCPDIAG_GETSOCK dump (both families, compat_dump on).
bool UsesCompatDump(const CollectorOptions& o);

// Told when a collector's dump of every family finished (or failed). Called on a reader thread (or
// the thread calling StartPoll()), with no collector lock held.
class DumpListener {
 public:
  virtual ~DumpListener() = default;
  virtual void DumpFinished(uint64_t poll_id, uint64_t inode) = 0;
};

// Metric handles shared by every collector, resolved once.
struct CollectorMetrics {
  explicit CollectorMetrics(Metrics* m);
  Metrics* metrics;
  prometheus::Counter *packets, *bytes, *messages, *sockets, *timeouts, *recv_errors, *truncated;
  prometheus::Counter *stale, *dumps, *dump_errors, *send_errors, *write_file_errors,
      *modulus_skipped;
  prometheus::Counter *uring_rearms, *uring_no_buffers, *reader_errors;
  prometheus::Counter* compat_refused;  // refusals of the TCPDIAG_GETSOCK request
  // Upstream's per-call counts: receive calls of the syscall path, datagrams handed to the
  // decoder and their bytes.
  prometheus::Counter *recv_calls, *deserialize_start, *deserialize_bytes;
  prometheus::Counter* cgroup_misses;  // -resolveContainerId: sockets of cgroups not in the map
  // Decode problems by Problem index.
  std::vector<prometheus::Counter*> problems;
};

// Process-wide services every collector uses; all outlive the collectors.
struct CollectorContext {
  CollectorOptions opts;
  EnvelopeBatcher* batcher = nullptr;
  const Stamps* stamps = nullptr;
  CollectorMetrics* metrics = nullptr;
  DumpListener* listener = nullptr;
  std::atomic<uint32_t>* next_seq = nullptr;  // netlink sequence numbers, process-wide
  ReaderPool* pool = nullptr;                 // serves every collector's socket
  // -resolveContainerId: each socket's container from its cgroup (null: off). Must outlive the
  // readers.
  enrich::CgroupResolver* cgroups = nullptr;
  // -enrichContainer: each namespace's Docker container (null: off). Must outlive the readers.
  enrich::DockerIndex* docker = nullptr;
  // Set once the kernel refused a TCPDIAG_GETSOCK dump: every later dump is the v2 pair.
  std::atomic<bool> compat_refused{false};
};

// The pool's reader state for collectors (ReaderPoolOptions::make_local of MakeReaderPool()).
std::unique_ptr<ReaderLocal> MakeCollectorReader(const CollectorContext* ctx, uint32_t id);

// A reader pool for `ctx`'s options (threads, io_uring, buffers, idle wait, counters); not started.
std::unique_ptr<ReaderPool> MakeReaderPool(const CollectorContext* ctx);

class NamespaceCollector final : private ReaderSource {
 public:
  // Takes ownership of `socket`, which already lives in the namespace. `name` is what records
  // carry as netns. `ctx` must outlive the collector.
  NamespaceCollector(uint64_t inode, std::string name, std::unique_ptr<netlink::DumpSocket> socket,
                     CollectorContext* ctx);
  ~NamespaceCollector();
  NamespaceCollector(const NamespaceCollector&) = delete;
  NamespaceCollector& operator=(const NamespaceCollector&) = delete;

  // Registers the socket with ctx->pool. With -ioUring, fails if it is not a kernel socket.
  absl::Status Start() ABSL_LOCKS_EXCLUDED(dump_mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(dump_mu_);

  // Starts a dump of every family for `poll_id`. False if the previous dump is still running (or
  // the collector is stopped).
  bool StartPoll(uint64_t poll_id) ABSL_LOCKS_EXCLUDED(dump_mu_);
  bool busy() const ABSL_LOCKS_EXCLUDED(dump_mu_);

  uint64_t inode() const { return inode_; }
  // The name records carry; Rename() changes it for the records of datagrams read afterwards.
  std::string name() const ABSL_LOCKS_EXCLUDED(name_mu_);
  void Rename(std::string name) ABSL_LOCKS_EXCLUDED(name_mu_);
  // The nsid records carry (-populateNsid; 0: none), for datagrams read afterwards.
  void SetNsid(uint32_t nsid);
  int fd() const { return socket_->fd(); }
  uint64_t sockets_seen() const { return sockets_seen_.load(std::memory_order_relaxed); }

 private:
  // One in-flight or recent dump, found by sequence number.
  struct DumpSlot {
    std::atomic<uint32_t> seq{0};
    std::atomic<int64_t> sent_ns{0};
    std::atomic<uint64_t> next_index{0};  // modulus position within this dump
  };
  // ReaderSource (pool reader threads).
  void OnReadable(ReaderState& state, absl::FunctionRef<void()> rearm) override;
  void OnDatagram(ReaderState& state, std::span<const uint8_t> d, bool truncated) override;

  void HandleDatagram(CollectorReader* r, std::span<const uint8_t> d, bool truncated)
      ABSL_LOCKS_EXCLUDED(dump_mu_, name_mu_);
  // Points `r`'s record meta at this collector (its name, inode, socket).
  void Adopt(CollectorReader* r) ABSL_LOCKS_EXCLUDED(name_mu_);
  // Sends a dump's first request: the compat one if wanted and not refused, else the v2 request
  // of families[0]. Returns true when nothing could be sent: the dump is over (active_ is left
  // to the caller).
  bool SendFirstLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(dump_mu_);
  // Sends the dump request of families[family_idx] (or, if sending fails, of the next family that
  // can be sent). Returns true when no family is left: the dump is over.
  bool SendFromLocked(size_t family_idx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(dump_mu_);
  // A fresh sequence number whose DumpSlot is armed with the current time.
  uint32_t ArmSlotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(dump_mu_);
  void FamilyEnded(uint32_t seq) ABSL_LOCKS_EXCLUDED(dump_mu_);
  // A datagram counted in in_hand_ is finished; the last one out reports a pending end.
  void Release() ABSL_LOCKS_EXCLUDED(dump_mu_);
  // Reports a pending end if nothing is in hand any more.
  void MaybeReportEnd() ABSL_LOCKS_EXCLUDED(dump_mu_);
  // An NLMSG_ERROR of `code` for `seq`. True if it answered the current compat request: the v2
  // pair was sent instead (and the dump may be over). False: an ordinary dump error.
  bool CompatFailed(uint32_t seq, int32_t code) ABSL_LOCKS_EXCLUDED(dump_mu_);
  bool WantCompat() const;
  DumpSlot* FindSlot(uint32_t seq);
  void MaybeCapture(CollectorReader* r, std::span<const uint8_t> d);

  const uint64_t inode_;
  mutable absl::Mutex name_mu_;
  std::string name_ ABSL_GUARDED_BY(name_mu_);
  std::atomic<uint32_t> name_gen_{0};  // bumped by Rename() and SetNsid()
  std::atomic<uint32_t> nsid_{0};
  const std::unique_ptr<netlink::DumpSocket> socket_;
  CollectorContext* const ctx_;

  const uint64_t serial_;  // process-unique, never reused: which collector a reader last stamped
  std::atomic<bool> stop_{false};
  bool registered_ = false;  // with ctx_->pool
  std::atomic<uint64_t> sockets_seen_{0};
  std::atomic<uint32_t> in_hand_{0};  // datagrams received and not yet finished
  // The dump is over and its end waits for in_hand_ to drain. Written under dump_mu_ only; read
  // without it as the readers' fast check.
  std::atomic<bool> end_pending_{false};

  static constexpr size_t kSlots = 8;
  DumpSlot slots_[kSlots];

  mutable absl::Mutex dump_mu_;
  bool active_ ABSL_GUARDED_BY(dump_mu_) = false;
  uint64_t poll_id_ ABSL_GUARDED_BY(dump_mu_) = 0;
  size_t family_idx_ ABSL_GUARDED_BY(dump_mu_) = 0;
  bool compat_ ABSL_GUARDED_BY(dump_mu_) = false;  // the current request is TCPDIAG_GETSOCK
  uint32_t current_seq_ ABSL_GUARDED_BY(dump_mu_) = 0;
};

}  // namespace pipeline
}  // namespace xtcp
