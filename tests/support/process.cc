#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"

extern char** environ;

namespace xtcp::testing {
namespace {

int DecodeStatus(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return -WTERMSIG(st);
  return -1;
}

}  // namespace

std::string BuildPath(const std::string& rel) { return std::string(XTCP_BINARY_DIR) + "/" + rel; }

Child Child::Start(const std::vector<std::string>& argv, const std::string& stderr_path) {
  Child c;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return c;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  if (!stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return c;
  }
  c.pid_ = pid;
  c.stdin_fd_ = in[1];
  c.stdout_fd_ = out[0];
  return c;
}

Child::Child(Child&& o) noexcept { *this = std::move(o); }

Child& Child::operator=(Child&& o) noexcept {
  std::swap(pid_, o.pid_);
  std::swap(stdin_fd_, o.stdin_fd_);
  std::swap(stdout_fd_, o.stdout_fd_);
  std::swap(pending_, o.pending_);
  std::swap(status_, o.status_);
  std::swap(usage_, o.usage_);
  return *this;
}

Child::~Child() {
  if (pid_ > 0) Finish(absl::Seconds(5));
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::string Child::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || stdout_fd_ < 0) return "";
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) return "";
    pending_.append(buf, static_cast<size_t>(n));
  }
}

void Child::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Child::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return status_;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = ::wait4(pid_, &st, WNOHANG, &usage_);
    if (r == pid_) {
      status_ = DecodeStatus(st);
      pid_ = -1;
      return status_;
    }
    if (absl::Now() >= deadline) return -1000;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

int Child::Finish(absl::Duration timeout) {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ <= 0) return status_;
  int st = Wait(timeout);
  if (st == -1000) {
    ::kill(pid_, SIGKILL);
    st = Wait(absl::Seconds(5));
    status_ = -1000;
    return -1000;
  }
  return st;
}

std::string Child::ReadAll(absl::Duration timeout) {
  std::string out = std::move(pending_);
  pending_.clear();
  const absl::Time deadline = absl::Now() + timeout;
  while (stdout_fd_ >= 0) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void Child::WriteStdinAndClose(const std::string& text) {
  size_t off = 0;
  while (stdin_fd_ >= 0 && off < text.size()) {
    const ssize_t n = ::write(stdin_fd_, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

RunResult Run(const std::vector<std::string>& argv, absl::Duration timeout,
              const std::string& stdin_text) {
  RunResult r;
  char err_path[] = "/tmp/xtcp-run-err-XXXXXX";
  const int efd = ::mkstemp(err_path);
  if (efd >= 0) ::close(efd);
  Child c = Child::Start(argv, err_path);
  if (!c.ok()) {
    r.err = "spawn failed";
    ::unlink(err_path);
    return r;
  }
  const absl::Time deadline = absl::Now() + timeout;
  c.WriteStdinAndClose(stdin_text);
  r.out = c.ReadAll(timeout);  // until the child closes stdout (exits) or the deadline
  r.exit_code = c.Wait(std::max(absl::ZeroDuration(), deadline - absl::Now()));
  if (r.exit_code == -1000) c.Finish(absl::Seconds(1));
  r.usage = c.usage();
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  ::unlink(err_path);
  return r;
}

}  // namespace xtcp::testing
