#include "observe/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace xtcp::observe {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

NotifyEnvironment NotifyEnvironment::FromProcess() {
  return {Getenv("NOTIFY_SOCKET"), Getenv("WATCHDOG_USEC"), Getenv("WATCHDOG_PID"), getpid()};
}

absl::StatusOr<std::unique_ptr<SystemdNotifier>> SystemdNotifier::Create(
    const NotifyEnvironment& env) {
  std::unique_ptr<SystemdNotifier> n(new SystemdNotifier());
  if (env.notify_socket.empty()) return n;
  std::string address = env.notify_socket;
  if (address[0] == '@') {
    address[0] = '\0';
  } else if (address[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("NOTIFY_SOCKET=", env.notify_socket,
                                                   ": neither a path nor an @abstract name"));
  }
  if (address.size() < 2 || address.size() > sizeof(sockaddr_un::sun_path) - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("NOTIFY_SOCKET=", env.notify_socket, ": empty or too long"));
  }
  if (!env.watchdog_usec.empty()) {
    uint64_t usec = 0;
    if (!absl::SimpleAtoi(env.watchdog_usec, &usec) || usec == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("WATCHDOG_USEC=", env.watchdog_usec, ": not a positive number"));
    }
    int64_t pid = 0;
    if (!env.watchdog_pid.empty() && (!absl::SimpleAtoi(env.watchdog_pid, &pid) || pid <= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("WATCHDOG_PID=", env.watchdog_pid, ": not a pid"));
    }
    // WATCHDOG_PID names another process (a parent that execs us keeps it): not ours to ping.
    if (env.watchdog_pid.empty() || pid == env.pid) {
      n->watchdog_interval_ = absl::Microseconds(static_cast<int64_t>(usec / 2));
    }
  }
  n->fd_ = UniqueFd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!n->fd_) {
    return absl::InternalError(absl::StrCat("NOTIFY_SOCKET: socket: ", std::strerror(errno)));
  }
  n->address_ = std::move(address);
  return n;
}

std::unique_ptr<SystemdNotifier> SystemdNotifier::FromEnvironment() {
  auto n = Create(NotifyEnvironment::FromProcess());
  if (n.ok()) return std::move(*n);
  XTCP_LOG(kWarn, "systemd notification off: %s", std::string(n.status().message()));
  return std::unique_ptr<SystemdNotifier>(new SystemdNotifier());
}

bool SystemdNotifier::Send(absl::string_view state) const {
  if (!enabled()) return false;
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address_.data(), address_.size());
  // An abstract name is exactly its bytes; a path may carry its terminator or not.
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  ssize_t sent = -1;
  do {
    sent = sendto(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&sa), len);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(state.size())) {
    XTCP_LOG(kDebug, "NOTIFY_SOCKET: sendto: %s", std::strerror(errno));
    return false;
  }
  return true;
}

bool SystemdNotifier::Ready(absl::string_view status) const {
  return Send(absl::StrCat("READY=1\nSTATUS=", status));
}

bool SystemdNotifier::Stopping(absl::string_view status) const {
  return Send(absl::StrCat("STOPPING=1\nSTATUS=", status));
}

bool SystemdNotifier::Watchdog() const { return Send("WATCHDOG=1"); }

}  // namespace xtcp::observe
