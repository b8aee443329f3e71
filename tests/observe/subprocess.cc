#include "observe/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace xtcp::testing {
namespace {

std::vector<std::string> ChildEnvironment(const EnvChanges& changes) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& [k, v] : changes) {
    if (v == kUnset) {
      env.erase(k);
    } else {
      env[k] = v;
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// fork+execve with the given pipes as stdin/stdout/stderr; -1 on failure.
pid_t Spawn(const std::vector<std::string>& argv, const EnvChanges& env, int in_fd, int out_fd,
            int err_fd) {
  std::vector<std::string> envs = ChildEnvironment(env);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  return pid;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void ReadAvailable(int fd, std::string* into, bool* eof) {
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof(buf));
  if (n > 0) {
    into->append(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    *eof = true;
  }
}

}  // namespace

RunResult RunProgram(const std::vector<std::string>& argv, const EnvChanges& env,
                     absl::Duration timeout, const std::string& stdin_data) {
  RunResult r;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return r;
  }
  const pid_t pid = Spawn(argv, env, in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) return r;
  // Small inputs only (fits the pipe); then EOF.
  if (!stdin_data.empty()) (void)!write(in[1], stdin_data.data(), stdin_data.size());
  close(in[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  const absl::Time deadline = absl::Now() + timeout;
  bool out_eof = false, err_eof = false;
  while (!(out_eof && err_eof)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd p[2] = {{out_eof ? -1 : out[0], POLLIN, 0}, {err_eof ? -1 : err[0], POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) < 0 && errno != EINTR) {
      break;
    }
    if (!out_eof && p[0].revents) ReadAvailable(out[0], &r.out, &out_eof);
    if (!err_eof && p[1].revents) ReadAvailable(err[0], &r.err, &err_eof);
  }
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = DecodeStatus(status);
  return r;
}

Child::Child(const std::vector<std::string>& argv, const EnvChanges& env) {
  int out[2], err[2];
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
  pid_ = Spawn(argv, env, devnull, out[1], err[1]);
  close(devnull);
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

Child::~Child() {
  if (pid_ > 0) Stop(SIGKILL, absl::Seconds(10));
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

std::string Child::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  bool eof = false;
  for (;;) {
    if (const size_t nl = out_buf_.find('\n'); nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (eof || left <= absl::ZeroDuration() || out_fd_ < 0) return "";
    pollfd p = {out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) > 0) {
      ReadAvailable(out_fd_, &out_buf_, &eof);
    }
  }
}

std::string Child::DrainStderr() {
  bool eof = false;
  for (int i = 0; i < 1000 && !eof && err_fd_ >= 0; ++i) {
    const size_t before = err_buf_.size();
    ReadAvailable(err_fd_, &err_buf_, &eof);
    if (err_buf_.size() == before) break;
  }
  return err_buf_;
}

int Child::Stop(int sig, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) break;
    if (got < 0 && errno != EINTR) return -1;
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  pid_ = -1;
  return DecodeStatus(status);
}

std::string BuildPath(const std::string& rel) { return std::string(XTCP_BINARY_DIR) + "/" + rel; }
std::string SourcePath(const std::string& rel) { return std::string(XTCP_SOURCE_DIR) + "/" + rel; }

std::string FindTool(const std::string& tool) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = std::string(dir) + "/" + tool;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/lib/go/bin"}) {
    std::string candidate = std::string(dir) + "/" + tool;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace xtcp::testing
