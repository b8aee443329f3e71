#pragma once
// Namespace discovery: every network namespace of the host, keyed by its nsfs inode.
//
// Sources (upstream §8.2, plus inotify in watcher.h):
//   * the daemon's own namespace  -> name "default"
//   * bind mounts in /run/netns and /run/docker/netns  -> name = file name (made valid UTF-8:
//                                                         each invalid byte becomes U+FFFD)
//   * /proc/<pid>/ns/net of every process  -> name = container id found in /proc/<pid>/cgroup
//                                              (first run of 64 lowercase hex), else
//                                              "netns:[<inode>]"
// A bind-mount entry that is not an nsfs file (e.g. `ip netns add` still in progress, or a plain
// file bind-mounted there) is skipped and counted, never guessed at.
//
// Thread-compatible: one Discoverer is used by one thread at a time.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace xtcp::netns {

struct NamespaceInfo {
  uint64_t inode = 0;
  std::string name;
  std::string handle;  // path to open for setns(); empty for the daemon's own namespace
  pid_t pid = 0;       // representative process (0 for bind mounts and self)
  bool self = false;
};

struct DiscoveryOptions {
  std::string proc_root = "/proc";
  std::vector<std::string> bind_dirs = {"/run/netns", "/run/docker/netns"};
};

struct DiscoveryStats {
  uint64_t found = 0;
  uint64_t from_proc = 0;
  uint64_t from_bind_mounts = 0;
  uint64_t skipped = 0;        // processes that vanished or could not be read
  uint64_t not_namespace = 0;  // bind-mount entries that are not nsfs files
  // Bind-mount names that were not valid UTF-8 (the namespace is kept, its name repaired: every
  // record carries it in a protobuf string field, which must be UTF-8).
  uint64_t invalid_utf8_names = 0;
  std::vector<std::string> not_namespace_paths;
};

class Discoverer {
 public:
  explicit Discoverer(DiscoveryOptions opts = {});

  // Inode of the namespace the calling thread is in (via <proc_root>/thread-self/ns/net).
  absl::StatusOr<uint64_t> CurrentInode() const;

  // All namespaces, the daemon's own first, each inode once.
  std::vector<NamespaceInfo> Discover(uint64_t self_inode, DiscoveryStats* stats) const;

  const DiscoveryOptions& options() const { return opts_; }

 private:
  DiscoveryOptions opts_;
};

// Parses "net:[4026531840]".
bool ParseNsLink(const std::string& link, uint64_t* inode);

// First run of >= 64 lowercase hex characters in `text`, cut to 64; "" if none.
std::string FindContainerId(const std::string& text);

// Whether `path` is an nsfs file (a namespace handle), and its inode.
bool IsNamespaceFile(const std::string& path, uint64_t* inode);

}  // namespace xtcp::netns
