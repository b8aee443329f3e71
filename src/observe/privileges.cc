#include "observe/privileges.h"

#include <dirent.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/log.h"

namespace xtcp::observe {
namespace {

constexpr CapabilityMask Bit(int cap) { return CapabilityMask{1} << cap; }

// capabilities(7) names, by number, up to CAP_LAST_CAP of the headers we build with.
constexpr const char* kCapNames[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

struct CapSets {
  CapabilityMask effective = 0, permitted = 0, inheritable = 0;
};

absl::StatusOr<CapSets> GetCaps() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return absl::InternalError(absl::StrCat("capget: ", std::strerror(errno)));
  }
  auto join = [](uint32_t lo, uint32_t hi) {
    return CapabilityMask{lo} | CapabilityMask{hi} << 32;
  };
  return CapSets{join(data[0].effective, data[1].effective),
                 join(data[0].permitted, data[1].permitted),
                 join(data[0].inheritable, data[1].inheritable)};
}

absl::Status SetCaps(CapabilityMask mask) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < 2; ++i) {
    const auto word = static_cast<uint32_t>(mask >> (32 * i));
    data[i].effective = data[i].permitted = word;
    data[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    return absl::InternalError(absl::StrCat("capset: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Highest capability the running kernel knows (it may be newer or older than our headers).
int LastCap() {
  int last = CAP_LAST_CAP;
  while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) ++last;
  while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0) --last;
  return last;
}

int CountThreads() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return 1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

}  // namespace

CapabilityMask KeptCapabilities(const PrivilegeOptions& opts) {
  CapabilityMask keep = Bit(CAP_NET_ADMIN) | Bit(CAP_SYS_ADMIN) | Bit(CAP_SYS_PTRACE);
  if (opts.io_uring) keep |= Bit(CAP_SYS_RESOURCE);
  if (opts.bind_low_port) keep |= Bit(CAP_NET_BIND_SERVICE);
  return keep;
}

bool ListenNeedsBindService(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return false;
  }
  return port >= 1 && port < 1024;
}

std::string CapabilityNames(CapabilityMask mask) {
  std::vector<std::string> names;
  for (int c = 0; c < 64; ++c) {
    if ((mask & Bit(c)) == 0) continue;
    names.push_back(c < static_cast<int>(std::size(kCapNames)) ? kCapNames[c]
                                                               : absl::StrCat("cap_", c));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::StatusOr<std::unique_ptr<Privileges>> Privileges::Drop(const PrivilegeOptions& opts) {
  std::unique_ptr<Privileges> p(new Privileges(opts));
  PrivilegeReport& r = p->report_;
  r.threads = CountThreads();
  auto before = GetCaps();
  if (!before.ok()) return before.status();
  r.kept = KeptCapabilities(opts) & before->permitted;

  // The bounding set first: PR_CAPBSET_DROP needs CAP_SETPCAP, which the capset below removes.
  if (before->effective & Bit(CAP_SETPCAP)) {
    for (int c = 0; c <= LastCap(); ++c) {
      if ((r.kept & Bit(c)) != 0 || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
      if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
        return absl::InternalError(
            absl::StrCat("PR_CAPBSET_DROP ", CapabilityNames(Bit(c)), ": ", std::strerror(errno)));
      }
      r.bounding_dropped |= Bit(c);
    }
  } else {
    r.bounding_left = true;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return absl::InternalError(absl::StrCat("PR_CAP_AMBIENT_CLEAR_ALL: ", std::strerror(errno)));
  }
  if (before->effective != r.kept || before->permitted != r.kept || before->inheritable != 0) {
    if (absl::Status s = SetCaps(r.kept); !s.ok()) return s;
  }
  // execve can no longer grant anything (set-user-ID bits, file capabilities); also what lets
  // an unprivileged process load a seccomp filter.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::InternalError(absl::StrCat("PR_SET_NO_NEW_PRIVS: ", std::strerror(errno)));
  }

  XTCP_LOG(kInfo, "privileges: keeping %s%s; no_new_privs set", CapabilityNames(r.kept),
           r.bounding_left ? " (bounding set left as is: no CAP_SETPCAP)" : "");
  if ((KeptCapabilities(opts) & ~r.kept) != 0) {
    XTCP_LOG(kInfo, "privileges: not held, so not kept: %s",
             CapabilityNames(KeptCapabilities(opts) & ~r.kept));
  }
  if (r.threads > 1) {
    XTCP_LOG(kWarn, "privileges: dropped with %d threads running; the others keep their sets",
             r.threads);
  }
  return p;
}

Privileges::~Privileges() = default;

absl::Status Privileges::LockDown(Metrics* metrics) {
  if (!opts_.seccomp || seccomp_ != nullptr) return absl::OkStatus();
  auto policy = SeccompPolicy::Install(
      metrics != nullptr ? &metrics->Count("seccomp", "blocked", "count") : nullptr);
  if (!policy.ok()) return policy.status();
  seccomp_ = std::move(*policy);
  XTCP_LOG(kInfo, "seccomp: %d system calls allowed; others fail with EPERM and are logged",
           SeccompPolicy::AllowedNames().size());
  return absl::OkStatus();
}

uint64_t Privileges::blocked_calls() const { return seccomp_ != nullptr ? seccomp_->blocked() : 0; }

}  // namespace xtcp::observe
