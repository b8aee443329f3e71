#pragma once
// Watches the bind-mount directories (/run/netns, /run/docker/netns) with inotify and calls back
// when an entry appears or disappears, so a new namespace is picked up without waiting for the
// next rescan. Directories that do not exist yet are watched for through their parent.
//
// Thread-safe; Start() once, Stop() is idempotent. The callback runs on the watcher thread.

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace xtcp::netns {

class Watcher {
 public:
  explicit Watcher(std::vector<std::string> dirs, std::function<void()> on_change);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  absl::Status Start();
  void Stop();
  uint64_t events() const { return events_.load(); }

 private:
  void Run();
  void AddWatches();

  const std::vector<std::string> dirs_;
  const std::function<void()> on_change_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> events_{0};
};

}  // namespace xtcp::netns
