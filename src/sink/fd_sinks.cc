// null, stdout, stderr and file: sinks that write to a local file descriptor.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

// Writes to a descriptor it may own (file:) or borrow (stdout, stderr).
class FdSink final : public Sink {
 public:
  FdSink(std::string_view scheme, std::string_view fn, int fd, bool owned, Metrics* m)
      : scheme_(scheme), fd_(fd), owned_(owned) {
    if (m != nullptr) {
      flushes_ = &m->Count(fn, "start", "count");
      errors_ = &m->Count(fn, "Write", "error");
      bytes_ = &m->Count(fn, "WriteBytes", "count");
    }
  }
  ~FdSink() override {
    if (owned_) ::close(fd_);
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
    absl::Status s = WriteAllParts(fd_, parts);
    if (!s.ok()) {
      if (errors_) errors_->Increment();
      return s;
    }
    if (bytes_) bytes_->Increment(static_cast<double>(total));
    return absl::OkStatus();
  }

 private:
  std::string scheme_;
  int fd_;
  bool owned_;
  prometheus::Counter* flushes_ = nullptr;
  prometheus::Counter* errors_ = nullptr;
  prometheus::Counter* bytes_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewNull(const SinkOptions& opts, std::string_view) {
  return std::make_unique<NullSink>(opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewStdout(const SinkOptions& opts, std::string_view) {
  return std::make_unique<FdSink>("stdout", "destStdout", STDOUT_FILENO, false, opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewStderr(const SinkOptions& opts, std::string_view) {
  return std::make_unique<FdSink>("stderr", "destStderr", STDERR_FILENO, false, opts.metrics);
}

absl::StatusOr<std::unique_ptr<Sink>> NewFile(const SinkOptions& opts, std::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "invalid value for flag -dest: file: needs a path (file:/path)");
  }
  const std::string p(path);
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"file:", p, "\" for flag -dest: ", std::strerror(errno)));
  }
  return std::make_unique<FdSink>("file", "destFile", fd, true, opts.metrics);
}

}  // namespace xtcp::sink
