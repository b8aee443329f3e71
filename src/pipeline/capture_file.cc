#include "pipeline/capture_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xtcp::pipeline {

absl::StatusOr<std::string> WriteCaptureFile(const std::string& base,
                                             std::span<const uint8_t> data) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string path = attempt == 0 ? base : absl::StrCat(base, ".", attempt);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int e = errno;
      struct stat st {};
      if ((e == EEXIST || e == ELOOP) && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        return absl::PermissionDeniedError(
            absl::StrCat(path, ": is a symlink; refusing to write a capture through it"));
      }
      if (e == EEXIST) continue;
      return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(e)));
    }
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) {
        const int e = n < 0 ? errno : EIO;
        ::close(fd);
        return absl::UnavailableError(absl::StrCat(path, ": write: ", std::strerror(e)));
      }
      off += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) {
      return absl::UnavailableError(absl::StrCat(path, ": close: ", std::strerror(errno)));
    }
    return path;
  }
  return absl::AlreadyExistsError(absl::StrCat(base, " and its 99 numbered variants exist"));
}

}  // namespace xtcp::pipeline
