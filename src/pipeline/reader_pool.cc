#include "pipeline/reader_pool.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "netlink/uring_receiver.h"
#include "prometheus/counter.h"

namespace xtcp::pipeline {
namespace {
constexpr uint64_t kStopTag = 0;

void Bump(prometheus::Counter* c, double by = 1) {
  if (c != nullptr && by > 0) c->Increment(by);
}

int WaitMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 1000;
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 1, std::numeric_limits<int>::max()));
}

void Signal(int fd) {
  const uint64_t one = 1;
  (void)!::write(fd, &one, sizeof(one));
}
}  // namespace

// One io_uring reader thread's mailbox: Add/Remove are commands its thread carries out (the ring is
// SINGLE_ISSUER), signalled through wake_fd.
struct ReaderPool::Ring {
  struct Command {
    bool add = true;
    Entry* entry = nullptr;
    int fd = -1;
    bool done = false;
    absl::Status status;
  };
  uint32_t id = 0;
  int wake_fd = -1;
  size_t load = 0;  // sources placed here; guarded by the pool's mu_

  absl::Mutex mu;
  std::vector<Ring::Command*> commands ABSL_GUARDED_BY(mu);
  bool created ABSL_GUARDED_BY(mu) = false;
  bool exited ABSL_GUARDED_BY(mu) = false;
  absl::Status create_status ABSL_GUARDED_BY(mu);

  // Posts `c` and waits until the ring's thread carried it out (or exited).
  void Run(Command* c) {
    {
      absl::MutexLock lock(&mu);
      if (exited) {
        c->status = absl::UnavailableError("-ioUring: the reader has exited");
        return;
      }
      commands.push_back(c);
    }
    Signal(wake_fd);
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&c->done));
  }
};

ReaderPool::ReaderPool(ReaderPoolOptions opts) : opts_(std::move(opts)) {}

ReaderPool::~ReaderPool() { Stop(); }

ReaderState ReaderPool::MakeState(uint32_t id, bool with_buffer) {
  ReaderState st;
  st.id = id;
  if (with_buffer) {
    st.storage = std::make_unique_for_overwrite<uint8_t[]>(opts_.buffer_size);
    st.buffer = std::span<uint8_t>(st.storage.get(), opts_.buffer_size);
  }
  if (opts_.make_local) st.local = opts_.make_local(id);
  return st;
}

absl::Status ReaderPool::Start() {
  if (started_) return absl::FailedPreconditionError("reader pool already started");
  started_ = true;
  const uint32_t n = opts_.threads == 0 ? 1 : opts_.threads;
  if (!opts_.io_uring) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll: ", std::strerror(errno)));
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: once signalled, every reader sees it
    ev.data.u64 = kStopTag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev) != 0) {
      return absl::InternalError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
    }
    for (uint32_t i = 0; i < n; ++i) threads_.emplace_back([this, i] { RunSyscall(i); });
    return absl::OkStatus();
  }
  for (uint32_t i = 0; i < n; ++i) {
    auto r = std::make_unique<Ring>();
    r->id = i;
    r->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->wake_fd < 0) {
      Stop();
      return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
    }
    rings_.push_back(std::move(r));
  }
  for (auto& r : rings_) threads_.emplace_back([this, p = r.get()] { RunUring(p); });
  // Rings are SINGLE_ISSUER: each is built on its own thread. Wait for all of them so a kernel
  // without the needed features is a clear startup error.
  absl::Status err;
  for (auto& r : rings_) {
    absl::MutexLock lock(&r->mu);
    const bool settled = r->mu.AwaitWithTimeout(absl::Condition(&r->created), absl::Seconds(10));
    if (!settled) {
      err = absl::DeadlineExceededError("-ioUring: a reader did not set up its ring within 10s");
    } else if (!r->create_status.ok() && err.ok()) {
      err = r->create_status;
    }
  }
  if (!err.ok()) Stop();
  return err;
}

void ReaderPool::Stop() {
  if (stop_.exchange(true)) return;
  if (stop_fd_ >= 0) Signal(stop_fd_);
  for (auto& r : rings_) Signal(r->wake_fd);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  for (auto& r : rings_) ::close(r->wake_fd);
  rings_.clear();
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  stop_fd_ = epoll_fd_ = -1;
}

size_t ReaderPool::sources() const {
  absl::MutexLock lock(&mu_);
  return by_source_.size();
}

absl::Status ReaderPool::Add(ReaderSource* source, int poll_fd, int fd) {
  if (!started_ || stop_.load()) return absl::FailedPreconditionError("reader pool not running");
  if (opts_.io_uring && fd < 0) {
    return absl::FailedPreconditionError("-ioUring needs a kernel socket (this one has no fd)");
  }
  Entry* e = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (by_source_.contains(source)) return absl::AlreadyExistsError("source already served");
    auto entry = std::make_unique<Entry>();
    entry->source = source;
    entry->tag = next_tag_++;
    entry->poll_fd = poll_fd;
    e = entry.get();
    by_tag_.emplace(e->tag, std::move(entry));
    by_source_.emplace(source, e->tag);
  }
  absl::Status s;
  if (opts_.io_uring) {
    s = AddUring(e, fd);
  } else {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = e->tag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, poll_fd, &ev) != 0) {
      s = absl::InternalError(absl::StrCat("epoll_ctl add: ", std::strerror(errno)));
    }
  }
  if (!s.ok()) {
    absl::MutexLock lock(&mu_);
    by_source_.erase(source);
    by_tag_.erase(e->tag);
  }
  return s;
}

void ReaderPool::Remove(ReaderSource* source) {
  Entry* e = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_source_.find(source);
    if (it == by_source_.end()) return;
    e = by_tag_.at(it->second).get();
    by_source_.erase(it);
    // From here on no reader enters one of its callbacks: lookups go through by_source_... and
    // by_tag_, whose entry is marked gone by clearing its source.
    e->source = nullptr;
  }
  if (opts_.io_uring) {
    RemoveUring(e);
  } else {
    (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, e->poll_fd, nullptr);
  }
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](Entry* x) { return x->users == 0; }, e));
  by_tag_.erase(e->tag);
}

void ReaderPool::RunSyscall(uint32_t id) {
  ReaderState st = MakeState(id, true);
  const int wait_ms = WaitMillis(opts_.idle_wait);
  while (!stop_.load(std::memory_order_relaxed)) {
    epoll_event ev{};
    const int n = ::epoll_wait(epoll_fd_, &ev, 1, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      Bump(opts_.counters.errors);
      XTCP_LOG(kWarn, "reader %d: epoll_wait: %s", id, std::strerror(errno));
      absl::SleepFor(absl::Milliseconds(10));  // a persistent error must not spin
      continue;
    }
    if (n == 0) {
      Bump(opts_.counters.idle_wait);
      continue;
    }
    const uint64_t tag = ev.data.u64;
    if (tag == kStopTag) break;
    Entry* e = nullptr;
    ReaderSource* source = nullptr;
    {
      absl::MutexLock lock(&mu_);
      auto it = by_tag_.find(tag);
      if (it == by_tag_.end() || it->second->source == nullptr) continue;  // being removed
      e = it->second.get();
      source = e->source;
      ++e->users;
    }
    bool rearmed = false;
    auto rearm = [&] {
      if (rearmed) return;
      rearmed = true;
      epoll_event m{};
      m.events = EPOLLIN | EPOLLONESHOT;
      m.data.u64 = tag;
      // ENOENT: Remove() took it out meanwhile.
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e->poll_fd, &m) != 0 && errno != ENOENT) {
        Bump(opts_.counters.errors);
      }
    };
    source->OnReadable(st, rearm);
    rearm();
    absl::MutexLock lock(&mu_);
    --e->users;
  }
}

absl::Status ReaderPool::AddUring(Entry* e, int fd) {
  Ring* ring = nullptr;
  {
    absl::MutexLock lock(&mu_);
    for (auto& r : rings_) {
      if (ring == nullptr || r->load < ring->load) ring = r.get();
    }
    if (ring == nullptr) return absl::FailedPreconditionError("reader pool has no rings");
    ++ring->load;
    e->ring = static_cast<int>(ring->id);
  }
  Ring::Command c;
  c.add = true;
  c.entry = e;
  c.fd = fd;
  ring->Run(&c);
  if (!c.status.ok()) {
    absl::MutexLock lock(&mu_);
    --ring->load;
  }
  return c.status;
}

void ReaderPool::RemoveUring(Entry* e) {
  Ring* ring = rings_[static_cast<size_t>(e->ring)].get();
  Ring::Command c;
  c.add = false;
  c.entry = e;
  ring->Run(&c);
  absl::MutexLock lock(&mu_);
  --ring->load;
}

void ReaderPool::RunUring(Ring* ring) {
  auto rx = netlink::UringReceiver::Create(opts_.buffer_size, opts_.uring_recv_batch,
                                           opts_.uring_cqe_batch, ring->wake_fd);
  {
    absl::MutexLock lock(&ring->mu);
    ring->created = true;
    ring->create_status = rx.ok() ? absl::OkStatus() : rx.status();
    if (!rx.ok()) {
      ring->exited = true;
      return;
    }
  }
  ReaderState st = MakeState(ring->id, false);
  absl::flat_hash_map<uint64_t, Entry*> served;  // this thread only
  const absl::Duration wait =
      opts_.idle_wait > absl::ZeroDuration() ? opts_.idle_wait : absl::Seconds(1);
  uint64_t rearms = 0, nobufs = 0;
  auto run_commands = [&] {
    std::vector<Ring::Command*> todo;
    {
      absl::MutexLock lock(&ring->mu);
      todo.swap(ring->commands);
    }
    for (Ring::Command* c : todo) {
      if (c->add) {
        c->status = (*rx)->Add(c->fd, c->entry->tag);
        if (c->status.ok()) served[c->entry->tag] = c->entry;
      } else {
        (*rx)->Remove(c->entry->tag);
        served.erase(c->entry->tag);
      }
    }
    absl::MutexLock lock(&ring->mu);
    for (Ring::Command* c : todo) c->done = true;
  };
  while (!stop_.load(std::memory_order_relaxed)) {
    run_commands();
    auto n = (*rx)->Poll(wait, [&](uint64_t tag, std::span<const uint8_t> d, bool truncated) {
      auto it = served.find(tag);
      if (it != served.end()) it->second->source->OnDatagram(st, d, truncated);
    });
    if (!n.ok()) {
      Bump(opts_.counters.errors);
      XTCP_LOG(kWarn, "reader %d: %s", ring->id, std::string(n.status().message()));
      absl::SleepFor(absl::Milliseconds(10));
    } else if (*n == 0 && !(*rx)->woken()) {
      Bump(opts_.counters.idle_wait);
    }
    if ((*rx)->woken()) {
      uint64_t v = 0;
      (void)!::read(ring->wake_fd, &v, sizeof(v));
      if (absl::Status s = (*rx)->RearmWake(); !s.ok()) {
        Bump(opts_.counters.errors);
        XTCP_LOG(kWarn, "reader %d: %s", ring->id, std::string(s.message()));
      }
    }
    const netlink::UringStats& stats = (*rx)->stats();
    Bump(opts_.counters.uring_rearms, static_cast<double>(stats.rearms - rearms));
    Bump(opts_.counters.uring_no_buffers, static_cast<double>(stats.no_buffers - nobufs));
    rearms = stats.rearms;
    nobufs = stats.no_buffers;
  }
  // Stopping: fail what is still posted, so no Add()/Remove() waits forever.
  std::vector<Ring::Command*> left;
  {
    absl::MutexLock lock(&ring->mu);
    ring->exited = true;
    left.swap(ring->commands);
    for (Ring::Command* c : left) {
      if (c->add) c->status = absl::UnavailableError("-ioUring: the reader pool is stopping");
      c->done = true;
    }
  }
  for (auto& [tag, e] : served) (*rx)->Remove(tag);
}

}  // namespace xtcp::pipeline
