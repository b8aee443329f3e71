#pragma once
// Least privilege for the daemon (docs/security.md): keep only the capabilities collection needs,
// set no_new_privs, then confine the process to a seccomp allow-list of system calls.
//
//   Privileges::Drop()   before the first thread starts. Capability sets and no_new_privs are
//                        per thread in Linux (capset(2) and prctl(2) change the calling thread
//                        only) and a new thread copies its creator's, so dropping while the
//                        process is still single-threaded is what makes the drop process-wide.
//                        Kept in the effective and permitted sets (when the process has them):
//                          CAP_NET_ADMIN     sock_diag dumps with marks and every attribute
//                          CAP_SYS_ADMIN     setns(2) into namespaces found later
//                          CAP_SYS_PTRACE    /proc/<pid>/ns/net of other users' processes
//                          CAP_SYS_RESOURCE  only with -ioUring
//                          CAP_NET_BIND_SERVICE  only when -promListen has a port below 1024
//                        Everything else leaves the bounding set too; inheritable and ambient are
//                        cleared.
//   LockDown()           after start-up (namespaces entered once, sinks and HTTP up): installs the
//                        seccomp policy (seccomp_policy.h) on every thread, unless disabled.
//
// Not root and without the capabilities: Drop() keeps what there is, logs it, and still sets
// no_new_privs. Thread-safety: Drop() and LockDown() from one thread; blocked_calls() from any.
// Lifetime: the object must outlive the use of the process (the seccomp supervisor thread answers
// blocked calls; after destruction they fail with ENOSYS instead of EPERM).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "observe/capabilities.h"
#include "observe/seccomp_policy.h"

namespace xtcp::observe {

struct PrivilegeOptions {
  bool seccomp = true;         // -seccomp: install the system call allow-list in LockDown()
  bool io_uring = false;       // -ioUring: keep CAP_SYS_RESOURCE
  bool bind_low_port = false;  // -promListen port < 1024: keep CAP_NET_BIND_SERVICE
};

// The capabilities Drop() keeps for `opts` (before intersecting with what the process has).
CapabilityMask KeptCapabilities(const PrivilegeOptions& opts);

// True when the port of a -promListen value ("host:port", ":port", "[v6]:port") is 1..1023.
bool ListenNeedsBindService(const std::string& listen);

// "CAP_NET_ADMIN, CAP_SYS_ADMIN" (capabilities(7) names, ascending bit order; "none").
std::string CapabilityNames(CapabilityMask mask);

// What Drop() did, for the log line and the tests.
struct PrivilegeReport {
  CapabilityMask kept = 0;              // effective = permitted after the drop
  CapabilityMask bounding_dropped = 0;  // removed from the bounding set
  bool bounding_left = false;           // no CAP_SETPCAP: the bounding set could not be reduced
  int threads = 1;                      // threads of the process at the drop (1 = process-wide)
};

class Privileges {
 public:
  // Drops capabilities and sets no_new_privs for the calling thread (see above). Errors: a
  // capset/prctl failure (Internal).
  static absl::StatusOr<std::unique_ptr<Privileges>> Drop(const PrivilegeOptions& opts);
  ~Privileges();
  Privileges(const Privileges&) = delete;
  Privileges& operator=(const Privileges&) = delete;

  const PrivilegeReport& report() const { return report_; }

  // Installs the seccomp policy on every thread (no-op when opts.seccomp is false or it is already
  // installed). Blocked calls are counted in `metrics` (xtcp_counts{function="seccomp",
  // variable="blocked",type="count"}); `metrics` must outlive this object.
  absl::Status LockDown(Metrics* metrics);

  // System calls the policy refused so far.
  uint64_t blocked_calls() const;

 private:
  explicit Privileges(const PrivilegeOptions& opts) : opts_(opts) {}
  PrivilegeOptions opts_;
  PrivilegeReport report_;
  std::unique_ptr<SeccompPolicy> seccomp_;
};

}  // namespace xtcp::observe
