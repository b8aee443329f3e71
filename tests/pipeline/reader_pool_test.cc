// ReaderPool: a fixed set of readers serving many sources (epoll and io_uring), one datagram at a
// time per source with the next reader free to take the next one, and removal that waits for the
// readers inside a source.
#include "pipeline/reader_pool.h"

#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pipeline/namespace_set.h"

namespace xtcp::testing {
namespace {

using pipeline::ReaderPool;
using pipeline::ReaderPoolOptions;
using pipeline::ReaderSource;
using pipeline::ReaderState;

size_t OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  size_t n = 0;
  while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n - 1;  // the directory's own fd
}

// Waits (bounded) until `pred` holds.
template <typename P>
bool Eventually(P pred, absl::Duration limit = absl::Seconds(10)) {
  const absl::Time until = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

// An eventfd-backed queue of `pending` items: readable while items are left; each OnReadable takes
// one. Optionally holds readers inside after re-arming.
class CountingSource final : public ReaderSource {
 public:
  CountingSource() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) {}
  ~CountingSource() override { ::close(fd_); }
  int fd() const { return fd_; }
  void Queue(uint64_t n) { (void)!::write(fd_, &n, sizeof(n)); }

  void OnReadable(ReaderState& state, absl::FunctionRef<void()> rearm) override {
    uint64_t v = 0;
    const bool got = ::read(fd_, &v, sizeof(v)) == sizeof(v);  // semaphore: takes one
    rearm();
    if (!got) return;
    const int now = inside_.fetch_add(1) + 1;
    int seen = max_inside_.load();
    while (now > seen && !max_inside_.compare_exchange_weak(seen, now)) {
    }
    if (hold > absl::ZeroDuration()) absl::SleepFor(hold);
    readers_seen_[state.id % 64].store(true);
    taken_.fetch_add(1);
    inside_.fetch_sub(1);
  }
  void OnDatagram(ReaderState&, std::span<const uint8_t>, bool) override { ADD_FAILURE(); }

  uint64_t taken() const { return taken_.load(); }
  int max_inside() const { return max_inside_.load(); }
  int inside() const { return inside_.load(); }
  absl::Duration hold;

 private:
  const int fd_;
  std::atomic<uint64_t> taken_{0};
  std::atomic<int> inside_{0}, max_inside_{0};
  std::atomic<bool> readers_seen_[64] = {};
};

ReaderPoolOptions Syscall(uint32_t threads) {
  ReaderPoolOptions o;
  o.threads = threads;
  o.buffer_size = 4096;
  o.idle_wait = absl::Milliseconds(50);
  return o;
}

TEST(ReaderPool, ManySourcesShareAFixedSetOfThreads) {
  ReaderPool pool(Syscall(3));
  ASSERT_TRUE(pool.Start().ok());
  EXPECT_EQ(pool.threads(), 3u);
  const size_t threads_before = pipeline::ProcessThreads();
  const size_t fds_before = OpenFds();
  std::vector<std::unique_ptr<CountingSource>> sources;
  for (int i = 0; i < 100; ++i) {
    sources.push_back(std::make_unique<CountingSource>());
    ASSERT_TRUE(pool.Add(sources.back().get(), sources.back()->fd(), -1).ok());
    sources.back()->Queue(static_cast<uint64_t>(i % 7 + 1));
  }
  EXPECT_EQ(pool.sources(), 100u);
  for (int i = 0; i < 100; ++i) {
    CountingSource* s = sources[static_cast<size_t>(i)].get();
    const uint64_t want = static_cast<uint64_t>(i % 7 + 1);
    ASSERT_TRUE(Eventually([&] { return s->taken() == want; })) << i << ": " << s->taken();
  }
  EXPECT_EQ(pipeline::ProcessThreads(), threads_before);  // no thread per source
  EXPECT_EQ(OpenFds(), fds_before + 100);                 // the sources' own fds only
  for (auto& s : sources) pool.Remove(s.get());
  EXPECT_EQ(pool.sources(), 0u);
  sources.clear();
  EXPECT_EQ(OpenFds(), fds_before);
  EXPECT_EQ(pipeline::ProcessThreads(), threads_before);
}

TEST(ReaderPool, TheNextReaderTakesTheNextItemWhileTheFirstIsStillInside) {
  ReaderPool pool(Syscall(2));
  ASSERT_TRUE(pool.Start().ok());
  CountingSource s;
  s.hold = absl::Milliseconds(300);
  ASSERT_TRUE(pool.Add(&s, s.fd(), -1).ok());
  s.Queue(2);
  ASSERT_TRUE(Eventually([&] { return s.taken() == 2; }));
  EXPECT_EQ(s.max_inside(), 2);  // re-armed before handling: both readers were inside at once
  pool.Remove(&s);
}

TEST(ReaderPool, RemoveWaitsForTheReaderInsideAndNoneEntersAfter) {
  ReaderPool pool(Syscall(2));
  ASSERT_TRUE(pool.Start().ok());
  CountingSource s;
  s.hold = absl::Milliseconds(200);
  ASSERT_TRUE(pool.Add(&s, s.fd(), -1).ok());
  s.Queue(1);
  ASSERT_TRUE(Eventually([&] { return s.inside() == 1; }));
  pool.Remove(&s);
  EXPECT_EQ(s.inside(), 0);
  EXPECT_EQ(s.taken(), 1u);
  s.Queue(3);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(s.taken(), 1u);
  pool.Remove(&s);  // unknown now: ignored
  EXPECT_EQ(pool.sources(), 0u);
}

TEST(ReaderPool, ASourceIsAddedOnceAndNeedsARunningPool) {
  ReaderPool idle(Syscall(1));
  CountingSource s;
  EXPECT_EQ(idle.Add(&s, s.fd(), -1).code(), absl::StatusCode::kFailedPrecondition);
  ReaderPool pool(Syscall(1));
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(pool.Add(&s, s.fd(), -1).ok());
  EXPECT_EQ(pool.Add(&s, s.fd(), -1).code(), absl::StatusCode::kAlreadyExists);
  pool.Remove(&s);
  pool.Stop();
  EXPECT_EQ(pool.Add(&s, s.fd(), -1).code(), absl::StatusCode::kFailedPrecondition);
}

// A datagram socket pair per source; io_uring receives from one end.
class PairSource final : public ReaderSource {
 public:
  PairSource() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_), 0); }
  ~PairSource() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int rx() const { return fds_[0]; }
  void Send(uint32_t v) { EXPECT_EQ(::send(fds_[1], &v, sizeof(v), 0), 4); }
  void OnReadable(ReaderState&, absl::FunctionRef<void()>) override { ADD_FAILURE(); }
  void OnDatagram(ReaderState& st, std::span<const uint8_t> d, bool truncated) override {
    ASSERT_EQ(d.size(), 4u);
    EXPECT_FALSE(truncated);
    uint32_t v = 0;
    std::memcpy(&v, d.data(), 4);
    absl::MutexLock lock(&mu_);
    got_.push_back(v);
    threads_.push_back(st.id);
  }
  std::vector<uint32_t> got() const {
    absl::MutexLock lock(&mu_);
    return got_;
  }
  std::vector<uint32_t> ids() const {
    absl::MutexLock lock(&mu_);
    return threads_;
  }

 private:
  int fds_[2] = {-1, -1};
  mutable absl::Mutex mu_;
  std::vector<uint32_t> got_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> threads_ ABSL_GUARDED_BY(mu_);
};

TEST(ReaderPool, IoUringSpreadsSocketsOverItsRingsInOrder) {
  ReaderPoolOptions o = Syscall(2);
  o.io_uring = true;
  o.uring_recv_batch = 4;
  o.uring_cqe_batch = 16;
  ReaderPool pool(o);
  const absl::Status started = pool.Start();
  ASSERT_TRUE(started.ok()) << started;  // io_uring works on the machines we test on
  const size_t threads_before = pipeline::ProcessThreads();
  std::vector<std::unique_ptr<PairSource>> sources;
  for (int i = 0; i < 20; ++i) {
    sources.push_back(std::make_unique<PairSource>());
    ASSERT_TRUE(pool.Add(sources.back().get(), sources.back()->rx(), sources.back()->rx()).ok());
  }
  // More datagrams than the ring has buffers: the recv ends (ENOBUFS) and is re-armed, nothing
  // lost.
  for (uint32_t v = 0; v < 30; ++v) {
    for (auto& s : sources) s->Send(v);
  }
  std::vector<uint32_t> want(30);
  for (uint32_t v = 0; v < 30; ++v) want[v] = v;
  std::set<uint32_t> rings;
  for (auto& s : sources) {
    ASSERT_TRUE(Eventually([&] { return s->got().size() == 30; })) << s->got().size();
    EXPECT_EQ(s->got(), want);  // the kernel's order
    const std::vector<uint32_t> ids = s->ids();
    EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), 1u);  // one ring per socket
    rings.insert(ids[0]);
  }
  EXPECT_EQ(rings.size(), 2u);  // spread over both
  EXPECT_EQ(pipeline::ProcessThreads(), threads_before);
  for (auto& s : sources) pool.Remove(s.get());
  EXPECT_EQ(pool.sources(), 0u);
  sources[0]->Send(99);  // removed: never handed over
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(sources[0]->got().size(), 30u);
}

TEST(ReaderPool, IoUringRefusesASocketWithoutAnFd) {
  ReaderPoolOptions o = Syscall(1);
  o.io_uring = true;
  ReaderPool pool(o);
  ASSERT_TRUE(pool.Start().ok());
  CountingSource s;
  const absl::Status st = pool.Add(&s, s.fd(), -1);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("kernel socket"), std::string::npos) << st;
}

}  // namespace
}  // namespace xtcp::testing
