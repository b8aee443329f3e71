#include "observe/capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/log.h"

namespace xtcp::observe {
namespace {

struct NeededCapability {
  int bit;
  const char* name;  // as systemd and capabilities(7) spell it
  bool fatal;
  bool io_uring_only;  // needed (warned about, and named in the remedies) only with -ioUring
  const char* why;
};

// Display order: fatal first. CAP_NET_RAW is not here: nothing in this build opens a raw or packet
// socket, and the privilege drop (privileges.cc) removes it anyway.
constexpr NeededCapability kNeeded[] = {
    {CAP_NET_ADMIN, "CAP_NET_ADMIN", true, false,
     "sock_diag dumps of every socket with marks and full attributes through netlink"},
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN", true, false,
     "setns(2) into each network namespace to open its netlink socket, and back"},
    {CAP_SYS_PTRACE, "CAP_SYS_PTRACE", false, false,
     "opening /proc/<pid>/ns/net of other users' and non-dumpable processes; without it only "
     "namespaces visible in /run/netns and /run/docker/netns (and our own) are monitored"},
    {CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE", false, true,
     "raising RLIMIT_MEMLOCK for the -ioUring rings; without it large rings may fail to "
     "allocate"},
};

bool Has(CapabilityMask mask, int bit) { return (mask >> bit) & 1u; }

}  // namespace

CapabilityVerdict EvaluateCapabilities(CapabilityMask effective, bool io_uring) {
  CapabilityVerdict v;
  std::vector<const NeededCapability*> fatal;
  for (const NeededCapability& c : kNeeded) {
    if (Has(effective, c.bit) || (c.io_uring_only && !io_uring)) continue;
    if (c.fatal) {
      fatal.push_back(&c);
    } else {
      v.warnings.push_back(absl::StrCat("missing capability ", c.name, ": ", c.why));
    }
  }
  if (fatal.empty()) return v;

  std::vector<std::string> names;
  for (const NeededCapability* c : fatal) names.push_back(c->name);
  std::string all, docker, setcap;
  for (const NeededCapability& c : kNeeded) {
    if (c.io_uring_only && !io_uring) continue;
    absl::StrAppend(&all, all.empty() ? "" : " ", c.name);
    const absl::string_view short_name = absl::string_view(c.name).substr(4);  // drop "CAP_"
    absl::StrAppend(&docker, " --cap-add ", short_name);
    std::string lower(c.name);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    absl::StrAppend(&setcap, setcap.empty() ? "" : ",", lower);
  }
  std::string msg = absl::StrCat("cannot start: missing required capabilities ",
                                 absl::StrJoin(names, ", "), "\n");
  for (const NeededCapability* c : fatal) {
    absl::StrAppend(&msg, "  - ", c->name, ": needed for ", c->why, "\n");
  }
  absl::StrAppend(&msg, "Grant them in one of these ways:\n",
                  "  systemd unit ([Service] section):\n", "    AmbientCapabilities=", all, "\n",
                  "    CapabilityBoundingSet=", all, "\n", "  docker / podman:\n   ", docker,
                  "   (with -v /run/netns:/run/netns:rslave --pid host)\n",
                  "  file capabilities:\n", "    setcap ", setcap, "+ep /usr/bin/xtcp2\n",
                  "  or run xtcp2 as root.");
  v.status = absl::FailedPreconditionError(msg);
  return v;
}

absl::StatusOr<CapabilityMask> ReadEffectiveCapabilities() {
  __user_cap_header_struct header = {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;  // this thread
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return absl::InternalError(absl::StrCat("capget: ", std::strerror(errno)));
  }
  return static_cast<CapabilityMask>(data[0].effective) |
         (static_cast<CapabilityMask>(data[1].effective) << 32);
}

absl::Status CheckCapabilities(bool io_uring) {
  auto mask = ReadEffectiveCapabilities();
  if (!mask.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot start: capability check failed: ", mask.status().message()));
  }
  CapabilityVerdict v = EvaluateCapabilities(*mask, io_uring);
  for (const std::string& w : v.warnings) XTCP_LOG(kWarn, "%s", w);
  return v.status;
}

}  // namespace xtcp::observe
