#include "netns/enter.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace xtcp::netns {
namespace {

uint64_t ThreadNsInode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

// Runs on the helper thread.
absl::StatusOr<EnterResult> EnterAndOpen(const std::string& handle, uint64_t inode) {
  const int orig = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0)
    return absl::InternalError(absl::StrCat("open own namespace: ", std::strerror(errno)));
  const uint64_t orig_inode = ThreadNsInode();

  const int target = ::open(handle.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    const int e = errno;
    ::close(orig);
    return absl::UnavailableError(absl::StrCat("open ", handle, ": ", std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(target, &st) != 0 || st.st_ino != inode) {
    ::close(target);
    ::close(orig);
    return absl::UnavailableError(absl::StrCat(handle, " is no longer namespace ", inode));
  }
  if (::setns(target, CLONE_NEWNET) != 0) {
    const int e = errno;
    ::close(target);
    ::close(orig);
    return absl::PermissionDeniedError(absl::StrCat("setns ", handle, ": ", std::strerror(e)));
  }
  ::close(target);

  absl::StatusOr<std::unique_ptr<netlink::NetlinkSocket>> sock;
  EnterResult result;
  if (ThreadNsInode() != inode) {
    sock = absl::InternalError(absl::StrCat("setns ", handle, " landed in the wrong namespace"));
  } else {
    sock = netlink::NetlinkSocket::Open();
    result.socket_hash = ReadSocketHash();
  }

  const bool restored = ::setns(orig, CLONE_NEWNET) == 0 && ThreadNsInode() == orig_inode;
  ::close(orig);
  result.restore_failed = !restored;
  if (!sock.ok()) return sock.status();
  result.socket = std::move(*sock);
  return result;
}

}  // namespace

absl::StatusOr<EnterResult> OpenSocketInNamespace(const std::string& handle, uint64_t inode) {
  absl::StatusOr<EnterResult> result = absl::InternalError("not run");
  // A dedicated thread: it exits right after, whatever namespace it ends up in.
  std::thread helper([&] { result = EnterAndOpen(handle, inode); });
  helper.join();
  return result;
}

}  // namespace xtcp::netns
