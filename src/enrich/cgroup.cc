#include "enrich/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/unique_fd.h"
#include "record/record_codec.h"

namespace xtcp::enrich {
namespace {

constexpr size_t kIdLen = 64;

bool IsContainerId(std::string_view s) {
  if (s.size() != kIdLen) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool CutPrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

bool CutSuffix(std::string_view* s, std::string_view suffix) {
  if (s->size() < suffix.size() || s->substr(s->size() - suffix.size()) != suffix) return false;
  s->remove_suffix(suffix.size());
  return true;
}

// Scope prefixes of the systemd cgroup driver, and the runtime each one means.
struct ScopePrefix {
  std::string_view prefix;
  std::string_view runtime;
};
constexpr ScopePrefix kScopes[] = {
    {"docker-", "docker"},
    {"cri-containerd-", "containerd"},
    {"crio-", "crio"},
    {"libpod-", "podman"},
};

// One path component (and the one above it): the container it names, if any.
ContainerRef ParseComponent(std::string_view name, std::string_view parent) {
  std::string_view rest = name;
  if (CutSuffix(&rest, ".scope")) {
    for (const ScopePrefix& s : kScopes) {
      std::string_view id = rest;
      if (CutPrefix(&id, s.prefix) && IsContainerId(id)) return {id, s.runtime};
    }
    return {};
  }
  // podman's cgroupfs manager: libpod_parent/libpod-<id>.
  if (std::string_view id = name; CutPrefix(&id, "libpod-") && IsContainerId(id)) {
    return {id, "podman"};
  }
  // The cgroupfs driver: a bare id. Docker puts it under /docker; Kubernetes (any CRI runtime)
  // under /kubepods/<qos>/pod<uid>, which does not say which runtime.
  if (IsContainerId(name)) return {name, parent == "docker" ? "docker" : "cgroupfs"};
  return {};
}

// "\040" and friends, as the kernel escapes spaces, tabs, newlines and backslashes in mountinfo.
std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

ContainerRef ParseContainerPath(std::string_view path) {
  // Components from the deepest; `end` is one past the current component.
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  while (end > 0) {
    const size_t slash = path.rfind('/', end - 1);
    const size_t begin = slash == std::string_view::npos ? 0 : slash + 1;
    const std::string_view name = path.substr(begin, end - begin);
    std::string_view parent;
    if (begin > 0) {
      size_t pend = begin - 1;
      while (pend > 0 && path[pend - 1] == '/') --pend;
      const size_t ps = pend == 0 ? std::string_view::npos : path.rfind('/', pend - 1);
      const size_t pbegin = ps == std::string_view::npos ? 0 : ps + 1;
      parent = path.substr(pbegin, pend - pbegin);
    }
    if (!name.empty()) {
      if (ContainerRef c = ParseComponent(name, parent); !c.empty()) return c;
    }
    if (begin == 0) break;
    end = begin - 1;
    while (end > 0 && path[end - 1] == '/') --end;
  }
  return {};
}

absl::StatusOr<Cgroup2Mount> FindCgroup2Mount(std::string_view mountinfo) {
  // id parent major:minor root mount-point options [optional...] - fstype source super-options
  for (absl::string_view line : absl::StrSplit(
           absl::string_view(mountinfo.data(), mountinfo.size()), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 1 >= f.size() || f[dash + 1] != "cgroup2") continue;
    Cgroup2Mount m;
    m.root = Unescape(std::string_view(f[3].data(), f[3].size()));
    m.mount_point = Unescape(std::string_view(f[4].data(), f[4].size()));
    return m;
  }
  return absl::NotFoundError(
      "no cgroup2 file system is mounted (cgroup v1 only?): -resolveContainerId needs cgroup v2");
}

absl::StatusOr<Cgroup2Mount> ReadCgroup2Mount(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return FindCgroup2Mount(ss.str());
}

absl::StatusOr<std::unique_ptr<CgroupMap>> BuildCgroupMap(const Cgroup2Mount& mount,
                                                          size_t max_dirs) {
  auto map = std::make_unique<CgroupMap>();
  const std::string root = mount.root == "/" ? std::string() : mount.root;
  UniqueFd top(::open(mount.mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top) {
    return absl::NotFoundError(
        absl::StrCat("cgroup2 at ", mount.mount_point, ": ", std::strerror(errno)));
  }
  struct stat top_st {};
  if (::fstat(top.get(), &top_st) != 0) {
    return absl::InternalError(
        absl::StrCat("fstat ", mount.mount_point, ": ", std::strerror(errno)));
  }
  // Same identity for every container's sub-cgroups: one ContainerIdentity per id.
  absl::flat_hash_map<std::string, const ContainerIdentity*> by_name;
  // Depth-first over relative paths; each directory is opened by its path from the top.
  std::vector<std::string> todo = {""};
  size_t seen = 0;
  while (!todo.empty()) {
    if (seen >= max_dirs) {
      map->truncated_ = true;
      break;
    }
    const std::string rel = std::move(todo.back());
    todo.pop_back();
    UniqueFd fd(rel.empty() ? ::dup(top.get())
                            : ::openat(top.get(), rel.c_str(),
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) continue;  // removed since its parent was read, or unreadable
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || st.st_dev != top_st.st_dev) continue;
    ++seen;
    const std::string path = absl::StrCat(root, "/", rel);
    const ContainerRef c = ParseContainerPath(path);
    const ContainerIdentity* identity = nullptr;
    if (!c.empty()) {
      std::string key(c.runtime);
      key.append("/").append(c.id);
      auto [it, fresh] = by_name.try_emplace(key, nullptr);
      if (fresh) {
        ContainerIdentity& n = map->identities_.emplace_back();
        n.id = std::string(c.id);
        n.runtime = std::string(c.runtime);
        // Always fits: a 64-character id and a short runtime name.
        record::ContainerColumns::Encode(n.id, n.runtime, &n.columns);
        it->second = &n;
      }
      identity = it->second;
    }
    const uint64_t id = static_cast<uint64_t>(st.st_ino);
    map->by_id_[id] = identity;
    if (id > map->max_id_) map->max_id_ = id;

    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr) continue;
    fd.release();  // the DIR owns it now
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      if (e->d_type == DT_UNKNOWN) {
        struct stat cst {};
        if (::fstatat(::dirfd(dir), e->d_name, &cst, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(cst.st_mode)) {
          continue;
        }
      }
      todo.push_back(rel.empty() ? std::string(name) : rel + "/" + std::string(name));
    }
    ::closedir(dir);
  }
  return map;
}

CgroupResolver::CgroupResolver(CgroupResolverOptions opts, Cgroup2Mount mount, Metrics* metrics)
    : opts_(std::move(opts)), mount_(std::move(mount)) {
  if (metrics != nullptr) {
    rebuilds_ = &metrics->Count("cgroupResolver", "rebuild", "count");
    rebuild_errors_ = &metrics->Count("cgroupResolver", "rebuild", "error");
    cgroups_gauge_ = &metrics->Gauge("cgroupResolver", "cgroups", "count");
    containers_gauge_ = &metrics->Gauge("cgroupResolver", "containers", "count");
  }
}

absl::StatusOr<std::unique_ptr<CgroupResolver>> CgroupResolver::Create(CgroupResolverOptions opts,
                                                                       Metrics* metrics) {
  Cgroup2Mount mount;
  if (!opts.mount_point.empty()) {
    mount.mount_point = opts.mount_point;
  } else {
    auto found = ReadCgroup2Mount(opts.mountinfo);
    if (!found.ok()) return found.status();
    mount = std::move(*found);
  }
  std::unique_ptr<CgroupResolver> r(new CgroupResolver(std::move(opts), std::move(mount), metrics));
  if (absl::Status s = r->Rebuild(); !s.ok()) return s;
  return r;
}

CgroupResolver::~CgroupResolver() { Stop(); }

void CgroupResolver::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void CgroupResolver::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const CgroupMap> CgroupResolver::Current() const {
  absl::MutexLock lock(&mu_);
  return map_;
}

void CgroupResolver::NoteMiss(const CgroupMap& map, uint64_t cgroup_id) {
  std::atomic<bool>& want = cgroup_id > map.max_id() ? want_new_ : want_old_;
  if (want.load(std::memory_order_relaxed) || want.exchange(true)) return;
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

absl::Status CgroupResolver::Rebuild() {
  auto built = BuildCgroupMap(mount_, opts_.max_dirs);
  absl::MutexLock lock(&mu_);
  last_build_ = absl::Now();
  if (!built.ok()) {
    if (rebuild_errors_ != nullptr) rebuild_errors_->Increment();
    return built.status();
  }
  if ((*built)->truncated() && (map_ == nullptr || !map_->truncated())) {
    XTCP_LOG(kWarn, "-resolveContainerId: %s holds more than %d cgroups; the rest are not resolved",
             mount_.mount_point, opts_.max_dirs);
  }
  if (rebuilds_ != nullptr) rebuilds_->Increment();
  if (cgroups_gauge_ != nullptr) cgroups_gauge_->Set(static_cast<double>((*built)->cgroups()));
  if (containers_gauge_ != nullptr) {
    containers_gauge_->Set(static_cast<double>((*built)->containers()));
  }
  XTCP_LOG(kDebug, "-resolveContainerId: %d cgroups, %d containers under %s", (*built)->cgroups(),
           (*built)->containers(), mount_.mount_point);
  map_ = std::shared_ptr<const CgroupMap>(std::move(*built));
  generation_.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

void CgroupResolver::Loop() {
  mu_.Lock();
  auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  // Rate limit: a new cgroup waits out rebuild_after_new from the last walk, an old one the
  // longer rebuild_after_old (a new-id miss arriving meanwhile shortens the wait).
  auto due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return last_build_ + (want_new_.load() ? opts_.rebuild_after_new : opts_.rebuild_after_old);
  };
  while (true) {
    mu_.Await(absl::Condition(&woken));
    if (stop_) break;
    bool stopping = false;
    for (int i = 0; i < 100000 && !stopping && absl::Now() < due(); ++i) {
      // Slices of at most a second, so a new-id miss is seen soon while waiting for an old one.
      const absl::Time until = std::min(due(), absl::Now() + absl::Seconds(1));
      stopping = mu_.AwaitWithDeadline(absl::Condition(&stopped), until);
    }
    if (stopping) break;
    wake_ = false;
    // Cleared before the walk: a miss during it asks again.
    want_new_.store(false);
    want_old_.store(false);
    mu_.Unlock();
    const absl::Status s = Rebuild();
    if (!s.ok()) {
      XTCP_LOG(kWarn, "-resolveContainerId: %s; keeping the previous cgroups",
               std::string(s.message()));
    }
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace xtcp::enrich
