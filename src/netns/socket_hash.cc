#include "netns/socket_hash.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace xtcp::netns {

SocketHashInfo ParseEhashEntries(std::string_view text) {
  int64_t v = 0;
  const absl::string_view t =
      absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  if (!absl::SimpleAtoi(t, &v) || v == 0) return {};
  if (v > 0) return {.kind = SocketHash::kOwn, .buckets = static_cast<uint64_t>(v)};
  return {.kind = SocketHash::kShared, .buckets = static_cast<uint64_t>(-(v + 1)) + 1};
}

SocketHashInfo ReadSocketHash() {
  const int fd = ::open("/proc/sys/net/ipv4/tcp_ehash_entries", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};  // before Linux 6.1, or no /proc
  char buf[32];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return {};
  return ParseEhashEntries(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace xtcp::netns
