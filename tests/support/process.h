#pragma once
// Test helpers for running real programs: child processes with a stdin pipe (closing it ends
// sockfarm), captured output, bounded waits.

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace xtcp::testing {

class Child {
 public:
  // Starts argv[0] (searched in PATH) with a pipe on stdin and stdout; stderr goes to `stderr_path`
  // if not empty (else inherited).
  static Child Start(const std::vector<std::string>& argv, const std::string& stderr_path = "");
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  ~Child();

  bool ok() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Reads one line from the child's stdout (without the newline); "" on EOF or timeout.
  std::string ReadLine(absl::Duration timeout);
  // Writes `text` to the child's stdin and closes it (the child sees EOF).
  void WriteStdinAndClose(const std::string& text);
  // Reads stdout until EOF or the timeout.
  std::string ReadAll(absl::Duration timeout);
  // Closes stdin, waits up to `timeout`, then SIGKILLs. Returns the exit status (or -signal).
  int Finish(absl::Duration timeout = absl::Seconds(10));
  // Sends a signal.
  void Signal(int sig);
  // Waits for exit up to `timeout` without closing stdin; -1000 if still running.
  int Wait(absl::Duration timeout);
  // Resource usage of the exited child (wait4), valid after Wait() returned its status.
  const rusage& usage() const { return usage_; }

 private:
  Child() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  int status_ = -1000;
  rusage usage_{};
};

struct RunResult {
  int exit_code = -1;  // -signal if killed, -1000 if it had to be killed at the timeout
  std::string out;
  std::string err;
  rusage usage{};  // of the child
};

// Runs a command to completion (bounded by `timeout`), capturing stdout and stderr; `stdin_text`
// is its whole standard input.
RunResult Run(const std::vector<std::string>& argv, absl::Duration timeout = absl::Seconds(60),
              const std::string& stdin_text = "");

// Path of a binary built by this project (relative to the build directory), e.g. "xtcp2".
std::string BuildPath(const std::string& rel);

}  // namespace xtcp::testing
