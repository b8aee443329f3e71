// null, stdout, stderr and file: sinks that write to a local file descriptor.
//
// Delivery: a Send() that returns OK has been written (to the page cache; no fsync). A closed
// stdout/stderr (EPIPE: the reader of a pipe went away) is Aborted: the output stage stops and
// the daemon ends quietly, as `ss | head` does. A failed write to file: (ENOSPC, EIO, EFBIG) is cut
// back with ftruncate to the size before it, so the file only ever holds whole records and the
// failed payload is counted lost as a whole; the next record starts on a clean line.
// file: is created 0640 (existing files keep narrower modes and lose group-write and other bits)
// and never followed through a symlink (O_NOFOLLOW); Reopen() reopens the path (SIGHUP, for
// logrotate without copytruncate).
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "common/write_all.h"
#include "sink/sinks.h"

namespace xtcp::sink {
namespace {

class NullSink final : public Sink {
 public:
  explicit NullSink(Metrics* m) : flushes_(m ? &m->Count("destNull", "start", "count") : nullptr) {}
  std::string_view scheme() const override { return "null"; }
  absl::Status Send(std::string_view) override {
    if (flushes_) flushes_->Increment();
    return absl::OkStatus();
  }
  absl::Status SendParts(std::span<const std::string_view>) override {
    if (flushes_) flushes_->Increment();
    return absl::OkStatus();
  }

 private:
  prometheus::Counter* flushes_;
};

// Opens `path` for appending: 0640, no symlinks; an existing file loses group-write and other
// permission bits.
absl::StatusOr<int> OpenAppend(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    const int e = errno;
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"file:", path, "\" for flag -dest: ",
        e == ELOOP ? "is a symbolic link (refused: give the real path)" : std::strerror(e)));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && (st.st_mode & 0027) != 0) {
    (void)::fchmod(fd, st.st_mode & 07750);
  }
  return fd;
}

// Writes to a descriptor it may own (file:, reopened by path) or borrow (stdout, stderr).
class FdSink final : public Sink {
 public:
  FdSink(std::string_view scheme, std::string_view fn, int fd, std::string path, Metrics* m)
      : scheme_(scheme), fd_(fd), path_(std::move(path)) {
    if (m != nullptr) {
      flushes_ = &m->Count(fn, "start", "count");
      errors_ = &m->Count(fn, "Write", "error");
      bytes_ = &m->Count(fn, "WriteBytes", "count");
      truncated_ = &m->Count(fn, "truncate", "count");
      reopens_ = &m->Count(fn, "reopen", "count");
    }
  }
  ~FdSink() override {
    if (owned()) ::close(fd_);
  }
  std::string_view scheme() const override { return scheme_; }
  absl::Status Send(std::string_view payload) override {
    const std::string_view one[] = {payload};
    return SendParts(one);
  }
  absl::Status SendParts(std::span<const std::string_view> parts) override {
    if (flushes_) flushes_->Increment();
    size_t total = 0;
    for (std::string_view p : parts) total += p.size();
    // O_APPEND writes at the end: remember where this payload starts, to cut a torn one off.
    const off_t before = owned() ? ::lseek(fd_, 0, SEEK_END) : -1;
    absl::Status s = WriteAllParts(fd_, parts);
    if (!s.ok()) {
      if (errors_) errors_->Increment();
      if (before >= 0 && ::ftruncate(fd_, before) == 0 && truncated_) truncated_->Increment();
      return s;
    }
    if (bytes_) bytes_->Increment(static_cast<double>(total));
    return absl::OkStatus();
  }
  absl::Status Reopen() override {
    if (!owned()) return absl::OkStatus();
    auto fd = OpenAppend(path_);
    if (!fd.ok()) return absl::UnavailableError(fd.status().message());
    ::close(fd_);
    fd_ = *fd;
    if (reopens_) reopens_->Increment();
    return absl::OkStatus();
  }

 private:
  bool owned() const { return !path_.empty(); }

  std::string scheme_;
  int fd_;
  const std::string path_;  // file: only
  prometheus::Counter* truncated_ = nullptr;
  prometheus::Counter* reopens_ = nullptr;
  prometheus::Counter* flushes_ = nullptr;
  prometheus::Counter* errors_ = nullptr;
  prometheus::Counter* bytes_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewNull(const SinkOptions& opts, std::string_view) {
  return std::make_unique<NullSink>(opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewStdout(const SinkOptions& opts, std::string_view) {
  return std::make_unique<FdSink>("stdout", "destStdout", STDOUT_FILENO, "", opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewStderr(const SinkOptions& opts, std::string_view) {
  return std::make_unique<FdSink>("stderr", "destStderr", STDERR_FILENO, "", opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewFile(const SinkOptions& opts, std::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "invalid value for flag -dest: file: needs a path (file:/path)");
  }
  std::string p(path);
  auto fd = OpenAppend(p);
  if (!fd.ok()) return fd.status();
  return std::make_unique<FdSink>("file", "destFile", *fd, std::move(p), opts.metrics);
}

}  // namespace xtcp::sink
