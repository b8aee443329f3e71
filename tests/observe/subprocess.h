#pragma once
// Test helper: run a program (fork + execve) with a bounded run time, capturing stdout and stderr,
// or keep it running in the background and read its stdout line by line. No shell involved.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace xtcp::testing {

struct RunResult {
  int exit_code = -1;  // 128+signal when killed by a signal; -1 when it could not start
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Environment of the child: this process's environment with `set` applied (value "\x01unset"
// removes a variable).
using EnvChanges = std::map<std::string, std::string>;
inline constexpr const char* kUnset = "\x01unset";

// Runs argv[0] (a path) to completion, or kills it after `timeout`. `stdin_data` is fed to it.
RunResult RunProgram(const std::vector<std::string>& argv, const EnvChanges& env = {},
                     absl::Duration timeout = absl::Seconds(60),
                     const std::string& stdin_data = "");

// A background child with its stdout readable line by line; killed (SIGKILL) and reaped by the
// destructor if still running.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const EnvChanges& env = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Next stdout line (without '\n'), or "" after `timeout` / EOF.
  std::string ReadLine(absl::Duration timeout);
  // Sends `sig` and waits up to `timeout`; returns the exit code as in RunResult (SIGKILL after
  // the timeout).
  int Stop(int sig, absl::Duration timeout);
  // Everything the child wrote to stderr so far (drained without blocking).
  std::string DrainStderr();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_buf_;
  std::string err_buf_;
};

// Path of a file in the build tree (XTCP_BINARY_DIR) or source tree (XTCP_SOURCE_DIR).
std::string BuildPath(const std::string& rel);
std::string SourcePath(const std::string& rel);
// Full path of `tool` on PATH, or "" when absent.
std::string FindTool(const std::string& tool);

}  // namespace xtcp::testing
