#pragma once
// SystemdNotifier: the service manager's notification protocol (sd_notify(3)) without libsystemd.
//
//   $NOTIFY_SOCKET   "/run/systemd/notify" (a path) or "@name" (abstract namespace: '@' -> '\0')
//   datagram         "READY=1\nSTATUS=polling 3 namespaces" — newline-separated KEY=VALUE lines,
//                    one AF_UNIX SOCK_DGRAM datagram each, sent with sendto(2) to that address;
//                    systemd reads the sender's pid from the kernel's credentials
//                    (NotifyAccess=main wants it to be the main pid, which it is: this process)
//   $WATCHDOG_USEC   the unit's WatchdogSec in µs; when set (and $WATCHDOG_PID is unset or this
//                    pid) systemd expects "WATCHDOG=1" at least that often: we send at half of it
//
// What xtcp2 sends: READY=1 with a STATUS= line once the first poll is under way (HTTP already
// serves), WATCHDOG=1 from the poll loop (Poller heartbeat: it stops when the loop stalls, so
// systemd restarts a hung daemon), STOPPING=1 with a STATUS= line when shutdown begins.
//
// Without $NOTIFY_SOCKET (not started by systemd with Type=notify) every call does nothing. The
// socket is opened once by FromEnvironment(), before the seccomp policy (which allows sendto).
// Thread-safe: Send() is one sendto(2) on a descriptor that does not change.

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace xtcp::observe {

// The variables the protocol reads ("" = unset), and the pid WATCHDOG_PID is compared with.
struct NotifyEnvironment {
  std::string notify_socket;
  std::string watchdog_usec;
  std::string watchdog_pid;
  pid_t pid = 0;
  static NotifyEnvironment FromProcess();  // getenv() and getpid()
};

class SystemdNotifier {
 public:
  // A disabled notifier (no socket) when notify_socket is empty. Errors: a NOTIFY_SOCKET that is
  // neither a path nor an abstract name or is too long, a WATCHDOG_USEC or WATCHDOG_PID that is
  // not a positive number, socket(2) failing. The daemon logs those and runs without notifying.
  static absl::StatusOr<std::unique_ptr<SystemdNotifier>> Create(const NotifyEnvironment& env);
  // Create(NotifyEnvironment::FromProcess()); on error logs one WARN line and returns a disabled
  // notifier.
  static std::unique_ptr<SystemdNotifier> FromEnvironment();

  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_.valid(); }
  // Half of WATCHDOG_USEC when the watchdog is asked of this process, else InfiniteDuration().
  absl::Duration watchdog_interval() const { return watchdog_interval_; }
  bool watchdog_enabled() const {
    return enabled() && watchdog_interval_ != absl::InfiniteDuration();
  }

  // Sends `state` as one datagram; false when disabled or sendto(2) failed (not retried: a lost
  // READY or STOPPING is the service manager's to time out, a lost ping is followed by the next).
  bool Send(absl::string_view state) const;
  bool Ready(absl::string_view status) const;
  bool Stopping(absl::string_view status) const;
  bool Watchdog() const;

 private:
  SystemdNotifier() = default;

  UniqueFd fd_;
  std::string address_;  // sun_path bytes (abstract: leading NUL), no terminator
  absl::Duration watchdog_interval_ = absl::InfiniteDuration();
};

}  // namespace xtcp::observe
