#include "netns/discovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace xtcp::netns {

bool ParseNsLink(const std::string& link, uint64_t* inode) {
  constexpr std::string_view kPrefix = "net:[";
  if (link.size() < kPrefix.size() + 2 || link.compare(0, kPrefix.size(), kPrefix) != 0 ||
      link.back() != ']') {
    return false;
  }
  return absl::SimpleAtoi(
      absl::string_view(link).substr(kPrefix.size(), link.size() - kPrefix.size() - 1), inode);
}

std::string FindContainerId(const std::string& text) {
  size_t run = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool hex = i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                                         (text[i] >= 'a' && text[i] <= 'f'));
    if (hex) {
      ++run;
      continue;
    }
    if (run >= 64) return text.substr(i - run, 64);
    run = 0;
  }
  return "";
}

bool IsNamespaceFile(const std::string& path, uint64_t* inode) {
  struct statfs sfs {};
  if (::statfs(path.c_str(), &sfs) != 0 || static_cast<uint64_t>(sfs.f_type) != NSFS_MAGIC)
    return false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  *inode = st.st_ino;
  return true;
}

Discoverer::Discoverer(DiscoveryOptions opts) : opts_(std::move(opts)) {}

absl::StatusOr<uint64_t> Discoverer::CurrentInode() const {
  const std::string path = opts_.proc_root + "/thread-self/ns/net";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InternalError(absl::StrCat("stat ", path, ": ", std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.st_ino);
}

std::vector<NamespaceInfo> Discoverer::Discover(uint64_t self_inode, DiscoveryStats* stats) const {
  std::vector<NamespaceInfo> out;
  std::unordered_set<uint64_t> seen;
  out.push_back({self_inode, "default", "", 0, true});
  seen.insert(self_inode);

  // Bind mounts first: they name their namespace.
  std::unordered_map<uint64_t, std::string> bind_names;
  std::vector<std::pair<uint64_t, std::string>> bind_order;
  for (const std::string& dir : opts_.bind_dirs) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;  // a missing directory is normal
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      const std::string path = dir + "/" + n;
      uint64_t ino = 0;
      if (!IsNamespaceFile(path, &ino)) {
        ++stats->not_namespace;
        stats->not_namespace_paths.push_back(path);
        continue;
      }
      std::string name = n;
      if (MakeValidUtf8(&name) != 0) ++stats->invalid_utf8_names;
      if (bind_names.emplace(ino, std::move(name)).second) bind_order.emplace_back(ino, path);
    }
  }

  // Every process, lowest pid first: a namespace is named after (and entered through) the oldest
  // process in it, typically a container's init.
  const int proc_fd = ::open(opts_.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::vector<pid_t> pids;
  if (proc_fd >= 0) {
    if (DIR* d = ::fdopendir(::dup(proc_fd)); d != nullptr) {
      while (dirent* e = ::readdir(d)) {
        pid_t pid = 0;
        if (absl::SimpleAtoi(e->d_name, &pid) && pid > 0) pids.push_back(pid);
      }
      ::closedir(d);
    }
  }
  std::sort(pids.begin(), pids.end());
  char link[64];
  for (const pid_t pid : pids) {
    const std::string rel = absl::StrCat(pid, "/ns/net");
    const ssize_t n = ::readlinkat(proc_fd, rel.c_str(), link, sizeof(link) - 1);
    if (n <= 0) {
      ++stats->skipped;  // gone, or not ours to read
      continue;
    }
    link[n] = '\0';
    uint64_t ino = 0;
    if (!ParseNsLink(link, &ino)) {
      ++stats->skipped;
      continue;
    }
    if (!seen.insert(ino).second) continue;
    NamespaceInfo info;
    info.inode = ino;
    info.pid = pid;
    info.handle = absl::StrCat(opts_.proc_root, "/", pid, "/ns/net");
    if (auto it = bind_names.find(ino); it != bind_names.end()) {
      info.name = it->second;
    } else {
      std::ifstream cg(absl::StrCat(opts_.proc_root, "/", pid, "/cgroup"));
      std::stringstream ss;
      ss << cg.rdbuf();
      info.name = FindContainerId(ss.str());
      if (info.name.empty()) info.name = absl::StrCat("netns:[", ino, "]");
    }
    ++stats->from_proc;
    out.push_back(std::move(info));
  }
  if (proc_fd >= 0) ::close(proc_fd);

  // Bind-mounted namespaces no process is in: entered through the mount.
  for (const auto& [ino, path] : bind_order) {
    if (!seen.insert(ino).second) {
      // A process-found namespace with a bind mount: prefer the stable mount as handle.
      for (NamespaceInfo& info : out) {
        if (info.inode == ino && !info.self) info.handle = path;
      }
      continue;
    }
    ++stats->from_bind_mounts;
    out.push_back({ino, bind_names[ino], path, 0, false});
  }
  stats->found = out.size();
  return out;
}

}  // namespace xtcp::netns
