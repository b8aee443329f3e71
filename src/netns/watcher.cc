#include "netns/watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xtcp::netns {

Watcher::Watcher(std::vector<std::string> dirs, std::function<void()> on_change)
    : dirs_(std::move(dirs)), on_change_(std::move(on_change)) {}

Watcher::~Watcher() { Stop(); }

absl::Status Watcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0)
    return absl::InternalError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  AddWatches();
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Watcher::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

void Watcher::AddWatches() {
  // inotify_add_watch on an already-watched path returns the same descriptor: idempotent.
  for (const std::string& dir : dirs_) {
    if (::inotify_add_watch(
            inotify_fd_, dir.c_str(),
            IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB | IN_ONLYDIR) >= 0) {
      continue;
    }
    // Not there yet: watch the parent for its creation.
    const std::string parent = dir.substr(0, dir.find_last_of('/'));
    if (!parent.empty())
      ::inotify_add_watch(inotify_fd_, parent.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
  }
}

void Watcher::Run() {
  alignas(inotify_event) char buf[4096];
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    bool changed = false;
    for (;;) {
      const ssize_t n = ::read(inotify_fd_, buf, sizeof(buf));
      if (n <= 0) break;
      changed = true;
    }
    if (changed) {
      AddWatches();  // a watched-for directory may have appeared
      events_.fetch_add(1);
      on_change_();
    }
  }
}

}  // namespace xtcp::netns
