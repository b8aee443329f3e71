#pragma once
// -enrichContainer: which Docker container owns each network namespace, from the Docker Engine
// API on its Unix socket (docs/enrichment.md).
//
//   thread (Loop)                                    readers (per datagram)
//   GET /version (else /_ping) -> API version        generation() != mine?
//   GET /v<ver>/containers/json                        -> Current(), Find(netns inode)
//   GET /v<ver>/containers/<id>/json, per container    -> the meta's container_* strings
//   stat(SandboxKey) or /proc/<State.Pid>/ns/net -> inode
//   install the map (a new generation) if it changed
//   GET /v<ver>/events?filters={container start/die/destroy}: a list again on each event;
//   the stream ends or fails: wait, list again, reopen (each failure counted, WARN rate-limited)
//
// Every request has a deadline (connect, head and body: `request_timeout`); the event stream's
// body has none (it is idle between events) but Stop() or RequestRefresh() wake it at once. So an
// engine that is absent, slow or gone costs the readers nothing: they keep the last map (empty
// until a list succeeded) and never wait for this thread.
//
// Thread-safe: Start()/Stop() from the owner; generation(), Current(), RequestRefresh() from any
// thread.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log_limiter.h"
#include "common/unique_fd.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace xtcp {
class Metrics;
namespace enrich {

// One container, as the record columns carry it.
struct DockerContainer {
  std::string id;     // the full 64-hex id
  std::string name;   // without Docker's leading '/'
  std::string image;  // Config.Image (what it was started from), else Image (the image id)
  std::string runtime = "docker";
  uint64_t netns_inode = 0;
  bool operator==(const DockerContainer&) const = default;
};

// An immutable snapshot: netns inode -> container.
class DockerMap {
 public:
  const DockerContainer* Find(uint64_t netns_inode) const {
    auto it = by_inode_.find(netns_inode);
    return it == by_inode_.end() ? nullptr : &it->second;
  }
  size_t size() const { return by_inode_.size(); }
  bool operator==(const DockerMap& o) const { return by_inode_ == o.by_inode_; }
  // Keeps the first container of an inode (see BuildDockerMap).
  void Add(DockerContainer c) { by_inode_.try_emplace(c.netns_inode, std::move(c)); }

 private:
  absl::flat_hash_map<uint64_t, DockerContainer> by_inode_;
};

// ---- the pieces, pure or over a socket path (tests use them directly) ----

// "1.44" < "1.5" is false: dotted numbers compared part by part, missing parts are 0.
int CompareApiVersion(std::string_view a, std::string_view b);
// The version to speak: the server's ApiVersion capped at `ours`, raised to its MinAPIVersion.
std::string NegotiateApiVersion(std::string_view server, std::string_view server_min,
                                std::string_view ours);

// One HTTP/1.1 response (Content-Length, chunked or until close).
struct HttpResponse {
  int status = 0;
  std::string api_version;  // the API-Version header (/_ping)
  std::string body;
};
// GET `target` on the Unix socket `path`, all of it within `timeout`, the body at most 16 MiB.
// `wake_fd` (>= 0) readable cancels it.
absl::StatusOr<HttpResponse> UnixHttpGet(const std::string& path, std::string_view target,
                                         absl::Duration timeout, int wake_fd = -1);

// What one inspect reply says, before the namespace is resolved.
struct DockerInspect {
  DockerContainer container;
  std::string sandbox_key;
  std::string network_mode;
  int64_t pid = 0;
};
absl::StatusOr<DockerInspect> ParseInspect(std::string_view json);
// The ids of a GET /containers/json reply.
absl::StatusOr<std::vector<std::string>> ParseContainerList(std::string_view json);
// True for an /events line that should make the index list again (container start/die/destroy).
bool IsRefreshEvent(std::string_view line);

struct DockerIndexOptions {
  std::string socket = "/run/docker.sock";
  std::string max_api_version = "1.44";  // as upstream: the newest version spoken
  absl::Duration request_timeout = absl::Seconds(2);
  absl::Duration retry_delay = absl::Seconds(1);     // after the event stream ended
  absl::Duration retry_max = absl::Seconds(30);      // backoff cap while the engine is unreachable
  absl::Duration warn_interval = absl::Seconds(60);  // at most one WARN per interval
  size_t max_containers = 4096;                      // inspected per list; the rest are skipped
  std::string proc = "/proc";
};

class DockerIndex {
 public:
  // Nothing is asked until Start(). `metrics` (may be null) must outlive the index.
  static absl::StatusOr<std::unique_ptr<DockerIndex>> Create(DockerIndexOptions opts,
                                                             Metrics* metrics);
  ~DockerIndex();  // Stop()
  DockerIndex(const DockerIndex&) = delete;
  DockerIndex& operator=(const DockerIndex&) = delete;

  void Start();
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Bumped when a list installs a map that differs from the last one; readers compare it with
  // the one they hold (one acquire load per datagram) and call Current() when it moved.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const DockerMap> Current() const ABSL_LOCKS_EXCLUDED(mu_);
  // A namespace appeared (reconcile): list again soon (coalesced).
  void RequestRefresh() ABSL_LOCKS_EXCLUDED(mu_);

  // Negotiates if needed, lists and installs (the thread's work; tests).
  absl::Status Refresh() ABSL_LOCKS_EXCLUDED(mu_);
  std::string api_prefix() const ABSL_LOCKS_EXCLUDED(mu_);  // "/v1.44", "" = unversioned

 private:
  DockerIndex(DockerIndexOptions opts, UniqueFd wake, Metrics* metrics);
  void Loop();
  absl::Status Negotiate();
  // GET on the engine's socket within request_timeout; Stop() cancels it.
  absl::StatusOr<HttpResponse> Fetch(std::string_view target);
  absl::StatusOr<DockerMap> List(const std::string& prefix);
  uint64_t ResolveInode(const DockerInspect& in) const;
  void Install(DockerMap map) ABSL_LOCKS_EXCLUDED(mu_);
  // Follows the event stream until it ends, fails, or a stop/refresh wakes it.
  absl::Status FollowEvents(const std::string& prefix);
  void Failed(std::string_view what, const absl::Status& s);
  // Sleeps up to `d`; false if stopping.
  bool Pause(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);
  bool TakeRefresh() ABSL_LOCKS_EXCLUDED(mu_);
  void DrainWake();

  const DockerIndexOptions opts_;
  const UniqueFd wake_;  // eventfd: Stop() and RequestRefresh() wake the thread's polls
  prometheus::Counter* init_enabled_ = nullptr;  // upstream's: the first list worked
  prometheus::Counter* init_error_ = nullptr;    // ... failed (ours goes on trying)
  bool first_list_done_ = false;                 // the thread's
  prometheus::Counter* lists_ = nullptr;
  prometheus::Counter* list_errors_ = nullptr;
  prometheus::Counter* events_ = nullptr;
  prometheus::Counter* event_errors_ = nullptr;
  prometheus::Gauge* containers_gauge_ = nullptr;
  LogLimiter warn_;  // the thread's only

  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_fast_{false};

  mutable absl::Mutex mu_;
  std::shared_ptr<const DockerMap> map_ ABSL_GUARDED_BY(mu_);
  std::string prefix_ ABSL_GUARDED_BY(mu_);
  bool negotiated_ ABSL_GUARDED_BY(mu_) = false;
  bool listed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool refresh_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace enrich
}  // namespace xtcp
