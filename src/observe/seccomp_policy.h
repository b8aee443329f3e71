#pragma once
// SeccompPolicy: the daemon's system call allow-list (docs/security.md, "seccomp").
//
// Built with libseccomp from kAllowedSyscalls (seccomp_policy.cc): what collection, every sink,
// the HTTP server, profiles, thread creation and exit use. Loaded with TSYNC, so every thread of
// the process is confined at once, and threads started later inherit it.
//
// A call outside the list is reported, not fatal: the default action is SCMP_ACT_NOTIFY. The
// kernel suspends the calling thread and hands the call to the supervisor thread of this object,
// which logs it (the first kLoggedCalls, one line each: "seccomp: blocked system call N (name)
// in thread T; it fails with EPERM"), counts it, and answers EPERM; the caller carries on with
// that error. Unlike SCMP_ACT_TRAP (SIGSYS), this reaches threads that block every signal
// (librdkafka's do) without the kernel killing the process.
//
// Thread-safety: blocked() from any thread. Lifetime: the filter cannot be removed; the destructor
// stops the supervisor, after which blocked calls fail with ENOSYS, unlogged. The supervisor thread
// itself must only make allowed calls (poll, ioctl, write, futex, malloc's): a blocked one would
// wait for its own answer.

#include <linux/seccomp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"

namespace xtcp::observe {

class SeccompPolicy {
 public:
  static constexpr int kLoggedCalls = 5;

  // Installs the policy on every thread. `blocked_counter` (may be null; must outlive this object)
  // is incremented per blocked call. Errors: libseccomp or the kernel refused (Internal), e.g. a
  // kernel without seccomp user notification (5.5+ with TSYNC_ESRCH: 5.7+).
  static absl::StatusOr<std::unique_ptr<SeccompPolicy>> Install(
      prometheus::Counter* blocked_counter);
  ~SeccompPolicy();
  SeccompPolicy(const SeccompPolicy&) = delete;
  SeccompPolicy& operator=(const SeccompPolicy&) = delete;

  uint64_t blocked() const { return blocked_.load(std::memory_order_relaxed); }

  // The names in the allow-list, in table order (for the docs and the tests).
  static std::vector<std::string> AllowedNames();

 private:
  SeccompPolicy(int notify_fd, const seccomp_notif_sizes& sizes, prometheus::Counter* counter);
  void Supervise();

  const int notify_fd_;
  const seccomp_notif_sizes sizes_;
  prometheus::Counter* const counter_;
  std::atomic<uint64_t> blocked_{0};
  std::atomic<bool> stop_{false};
  std::thread supervisor_;
};

}  // namespace xtcp::observe
