#pragma once
// Container identity by cgroup (-resolveContainerId): a socket's INET_DIAG_CGROUP_ID is the inode
// of its cgroup v2 directory, and the directory's path names the container that made the socket.
//
//   /proc/self/mountinfo --FindCgroup2Mount()--> the cgroup2 mount (/sys/fs/cgroup, or
//                                                /sys/fs/cgroup/unified on a hybrid host)
//   one bounded walk of that tree --BuildCgroupMap()--> CgroupMap: every directory's inode ->
//                                                the container its path names, or "none"
//   readers: CgroupMap::Find(c_group) per socket  (a hash probe, no allocation, no system call)
//
// Every directory goes into the map, containers or not, so a host socket is a hit ("no
// container") and not a miss. A miss is a cgroup the last walk did not see. cgroup ids only grow
// (kernfs numbers its nodes in increasing order), so a miss above the largest id of the walk is a
// cgroup made since, worth a rebuild soon (`rebuild_after_new`); a miss below it is a cgroup
// removed since (its socket outlived it) or outside this mount's view, which another walk would
// not find either: it only asks for a late rebuild (`rebuild_after_old`), in case the cgroup was
// made while the walk ran.
//
// Thread-safety: CgroupMap is immutable once built and shared (shared_ptr) by the readers.
// CgroupResolver is thread-safe; its own thread does every walk, so readers never touch the
// filesystem.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "record/record_codec.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace xtcp {
class Metrics;
namespace enrich {

// Container columns as upstream fills them: a 64-hex id and one of "docker", "containerd",
// "crio", "podman", "cgroupfs" (a bare id whose runtime the path does not say).
struct ContainerRef {
  std::string_view id;
  std::string_view runtime;
  bool empty() const { return id.empty(); }
};

// The container a cgroup path names ("/system.slice/docker-<id>.scope", "/docker/<id>", ...;
// '/'-separated, from the hierarchy's root). Components are tried deepest first, so a sub-cgroup
// of a container (".../docker-<id>.scope/init") is that container. The views point into `path`.
// Empty for anything else: host slices, malformed or short ids, upper-case hex, conmon scopes.
ContainerRef ParseContainerPath(std::string_view path);

// The cgroup2 mount in a mountinfo text: its mount point and the hierarchy path it shows (the
// mount's root, "/" unless a subtree is mounted). Octal escapes (\040) are decoded.
struct Cgroup2Mount {
  std::string mount_point;
  std::string root = "/";
};
absl::StatusOr<Cgroup2Mount> FindCgroup2Mount(std::string_view mountinfo);
// The same, reading `path` (normally /proc/self/mountinfo).
absl::StatusOr<Cgroup2Mount> ReadCgroup2Mount(const std::string& path);

// One container's columns, and their protobuf encoding ready to be copied into a row
// (record::RowEncoder::Append).
struct ContainerIdentity {
  std::string id;
  std::string runtime;
  record::ContainerColumns columns;
};

// What a lookup found.
struct CgroupHit {
  bool known = false;                            // the walk saw this cgroup
  const ContainerIdentity* container = nullptr;  // null: no container (or not known)
};

class CgroupMap {
 public:
  CgroupHit Find(uint64_t cgroup_id) const {
    auto it = by_id_.find(cgroup_id);
    if (it == by_id_.end()) return {};
    return {true, it->second};
  }
  size_t cgroups() const { return by_id_.size(); }
  size_t containers() const { return identities_.size(); }
  uint64_t max_id() const { return max_id_; }
  bool truncated() const { return truncated_; }  // the walk hit its directory cap

 private:
  friend absl::StatusOr<std::unique_ptr<CgroupMap>> BuildCgroupMap(const Cgroup2Mount&, size_t);
  absl::flat_hash_map<uint64_t, const ContainerIdentity*> by_id_;
  std::deque<ContainerIdentity> identities_;  // stable addresses; one per container id
  uint64_t max_id_ = 0;
  bool truncated_ = false;
};

// A reader's cache in front of a CgroupMap: 256 direct-mapped slots (cgroup id -> columns), so the
// sockets of a datagram, which come from a few cgroups, cost a multiply, a load and a compare each
// instead of a hash-map probe. Holds views into the map: Reset() whenever the map changes.
// Thread-compatible (one per reader).
class CgroupCache {
 public:
  // The container columns of `cgroup` in `map` (null for a cgroup without container); false
  // when `map` does not know it (a miss, not cached).
  bool Lookup(const CgroupMap& map, uint64_t cgroup, const record::ContainerColumns** columns) {
    Slot& s = slots_[(cgroup * 0x9e3779b97f4a7c15ull) >> (64 - kBits)];
    if (s.id == cgroup && cgroup != 0) {
      *columns = s.columns;
      return true;
    }
    const CgroupHit hit = map.Find(cgroup);
    if (!hit.known) return false;
    s.id = cgroup;
    s.columns = hit.container != nullptr ? &hit.container->columns : nullptr;
    *columns = s.columns;
    return true;
  }
  void Reset() {
    for (Slot& s : slots_) s = Slot{};
  }

 private:
  static constexpr int kBits = 8;
  struct Slot {
    uint64_t id = 0;
    const record::ContainerColumns* columns = nullptr;
  };
  Slot slots_[1 << kBits];
};

// Walks the tree under `mount.mount_point` (at most `max_dirs` directories, depth-first, without
// following symlinks or leaving the file system), keying each directory by its inode and naming
// it by `mount.root` + its relative path. Unreadable subtrees are skipped; an unreadable mount
// point is an error.
absl::StatusOr<std::unique_ptr<CgroupMap>> BuildCgroupMap(const Cgroup2Mount& mount,
                                                          size_t max_dirs = 200000);

struct CgroupResolverOptions {
  std::string mountinfo = "/proc/self/mountinfo";
  std::string mount_point;  // set: walk this instead of the cgroup2 mount of `mountinfo`
  size_t max_dirs = 200000;
  absl::Duration rebuild_after_new = absl::Seconds(1);   // least time between walks, new ids
  absl::Duration rebuild_after_old = absl::Seconds(60);  // ... when only old ids missed
};

class CgroupResolver {
 public:
  // Finds the mount and walks it once (a failure is a start-up error). `metrics` (may be null)
  // must outlive the resolver.
  static absl::StatusOr<std::unique_ptr<CgroupResolver>> Create(CgroupResolverOptions opts,
                                                                Metrics* metrics);
  ~CgroupResolver();  // Stop()
  CgroupResolver(const CgroupResolver&) = delete;
  CgroupResolver& operator=(const CgroupResolver&) = delete;

  // Starts the thread that rebuilds the map when readers miss; Stop() is idempotent.
  void Start();
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Bumped at every new map: a reader compares it with the one it holds and calls Current()
  // only when it changed (one relaxed load per datagram).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const CgroupMap> Current() const ABSL_LOCKS_EXCLUDED(mu_);

  // A reader found no entry for `cgroup_id` in `map` (its current one). Cheap and lock-free
  // after the first call per rebuild; never walks.
  void NoteMiss(const CgroupMap& map, uint64_t cgroup_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Walks now and installs the result (the thread's work; tests).
  absl::Status Rebuild() ABSL_LOCKS_EXCLUDED(mu_);

  const Cgroup2Mount& mount() const { return mount_; }

 private:
  CgroupResolver(CgroupResolverOptions opts, Cgroup2Mount mount, Metrics* metrics);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  const CgroupResolverOptions opts_;
  const Cgroup2Mount mount_;
  prometheus::Counter* rebuilds_ = nullptr;
  prometheus::Counter* rebuild_errors_ = nullptr;
  prometheus::Gauge* cgroups_gauge_ = nullptr;
  prometheus::Gauge* containers_gauge_ = nullptr;

  std::atomic<uint64_t> generation_{0};
  // Fast checks of NoteMiss(), so readers take mu_ at most once per rebuild.
  std::atomic<bool> want_new_{false};
  std::atomic<bool> want_old_{false};

  mutable absl::Mutex mu_;
  std::shared_ptr<const CgroupMap> map_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_build_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace enrich
}  // namespace xtcp
