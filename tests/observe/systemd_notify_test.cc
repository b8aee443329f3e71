// SystemdNotifier against a real AF_UNIX datagram socket bound where NOTIFY_SOCKET points (a path
// and an abstract name), the environment parsing, and what is refused.
#include "observe/systemd_notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace xtcp::observe {
namespace {

// A datagram socket bound at `address` (sun_path bytes; a leading '@' means abstract).
UniqueFd BindReceiver(const std::string& address) {
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address.data(), address.size());
  if (address[0] == '@') sa.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
    ADD_FAILURE() << "bind " << address << ": " << std::strerror(errno);
  }
  return fd;
}

// The next datagram within 5 s, or "" (timeout).
std::string Receive(const UniqueFd& fd) {
  pollfd p = {fd.get(), POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return "";
  char buf[4096];
  const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::unique_ptr<SystemdNotifier> Make(const NotifyEnvironment& env) {
  auto n = SystemdNotifier::Create(env);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? std::move(*n) : nullptr;
}

std::string AbstractName() { return absl::StrCat("@xtcp2-notify-test-", getpid()); }

TEST(SystemdNotifier, SendsToAFilesystemPath) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/notify-", getpid());
  unlink(path.c_str());
  const UniqueFd rx = BindReceiver(path);
  auto n = Make({.notify_socket = path, .pid = getpid()});
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->enabled());
  EXPECT_TRUE(n->Ready("polling 3 namespaces"));
  EXPECT_EQ(Receive(rx), "READY=1\nSTATUS=polling 3 namespaces");
  unlink(path.c_str());
}

TEST(SystemdNotifier, SendsToAnAbstractName) {
  const UniqueFd rx = BindReceiver(AbstractName());
  auto n = Make({.notify_socket = AbstractName(), .pid = getpid()});
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->Watchdog());
  EXPECT_TRUE(n->Stopping("signal 15"));
  EXPECT_EQ(Receive(rx), "WATCHDOG=1");
  EXPECT_EQ(Receive(rx), "STOPPING=1\nSTATUS=signal 15");
}

TEST(SystemdNotifier, WatchdogIntervalIsHalfOfWatchdogUsecForThisPidOnly) {
  const std::string sock = AbstractName();
  EXPECT_EQ(
      Make({.notify_socket = sock, .watchdog_usec = "30000000", .pid = 42})->watchdog_interval(),
      absl::Seconds(15));
  auto mine = Make({sock, "400000", "42", 42});
  EXPECT_EQ(mine->watchdog_interval(), absl::Milliseconds(200));
  EXPECT_TRUE(mine->watchdog_enabled());
  auto other = Make({sock, "400000", "43", 42});  // WATCHDOG_PID names another process
  EXPECT_EQ(other->watchdog_interval(), absl::InfiniteDuration());
  EXPECT_FALSE(other->watchdog_enabled());
  EXPECT_FALSE(Make({sock, "", "", 42})->watchdog_enabled());
}

TEST(SystemdNotifier, WithoutNotifySocketNothingIsSent) {
  auto n = Make({.watchdog_usec = "400000", .pid = getpid()});
  ASSERT_NE(n, nullptr);
  EXPECT_FALSE(n->enabled());
  EXPECT_FALSE(n->watchdog_enabled());
  EXPECT_FALSE(n->Ready("x"));
}

TEST(SystemdNotifier, RefusesMalformedVariables) {
  const std::string too_long = "/" + std::string(sizeof(sockaddr_un::sun_path), 'a');
  for (const NotifyEnvironment& env :
       {NotifyEnvironment{"relative/path", "", "", 1}, NotifyEnvironment{"@", "", "", 1},
        NotifyEnvironment{too_long, "", "", 1}, NotifyEnvironment{"vsock:2:1", "", "", 1},
        NotifyEnvironment{"/run/n", "abc", "", 1}, NotifyEnvironment{"/run/n", "0", "", 1},
        NotifyEnvironment{"/run/n", "100", "-3", 1}}) {
    auto n = SystemdNotifier::Create(env);
    EXPECT_FALSE(n.ok()) << env.notify_socket << " " << env.watchdog_usec;
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(SystemdNotifier, NoReceiverIsAFailedSendNotAnError) {
  auto n = Make({.notify_socket = absl::StrCat(AbstractName(), "-nobody"), .pid = getpid()});
  ASSERT_NE(n, nullptr);
  EXPECT_FALSE(n->Watchdog());  // ECONNREFUSED: counted by the caller as nothing, never fatal
}

}  // namespace
}  // namespace xtcp::observe
