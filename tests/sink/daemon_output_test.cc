// The xtcp2 binary against sinks that misbehave: a FIFO nobody reads (a sink stuck in write(2)),
// a stdout whose reader goes away, a file renamed under it (SIGHUP). Needs root (the daemon's
// capabilities); the sockets it reports are this test's own loopback listeners.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observe/subprocess.h"

namespace xtcp {
namespace {

using testing::BuildPath;
using testing::Child;
using ::testing::HasSubstr;

// `n` listening TCP sockets on 127.0.0.1: rows for every poll.
class Listeners {
 public:
  explicit Listeners(int n) {
    for (int i = 0; i < n; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) ::listen(fd, 1);
      fds_.push_back(fd);
    }
  }
  ~Listeners() {
    for (int fd : fds_) ::close(fd);
  }

 private:
  std::vector<int> fds_;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/xtcp-daemon-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)std::system(("rm -rf " + path_).c_str()); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

off_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

std::vector<std::string> Args(std::vector<std::string> extra) {
  std::vector<std::string> a = {
      BuildPath("xtcp2"), "-promListen", "127.0.0.1:0", "-d",   "1", "-marshal", "jsonl",
      "-frequency",       "1s",          "-timeout",    "500ms"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

class DaemonOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the daemon needs CAP_NET_ADMIN and CAP_SYS_ADMIN";
  }
  Listeners listeners_{60};
  TempDir dir_;
};

// A FIFO whose reader never reads: the file sink blocks in write(2) once the pipe is full.
int StuckFifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) return -1;
  return ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

TEST_F(DaemonOutput, StuckSinkDoesNotStallPollingAndALossyRunExits3) {
  const int reader = StuckFifo(dir_ / "fifo");
  ASSERT_GE(reader, 0);
  // 6 polls must finish on time although the sink is stuck after the first.
  const auto r = testing::RunProgram(
      Args({"-dest", "file:" + (dir_ / "fifo"), "-maxLoops", "6", "-shutdownTimeout", "2s"}), {},
      absl::Seconds(30));
  ::close(reader);
  EXPECT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("rows lost"));
  EXPECT_THAT(r.err, HasSubstr("exit 3"));
}

TEST_F(DaemonOutput, SigtermEndsWithinShutdownTimeoutWhileTheSinkIsStuck) {
  const int reader = StuckFifo(dir_ / "fifo");
  ASSERT_GE(reader, 0);
  Child d(Args({"-dest", "file:" + (dir_ / "fifo"), "-shutdownTimeout", "2s"}));
  ASSERT_TRUE(d.started());
  absl::SleepFor(absl::Seconds(4));  // a few polls: the pipe is full, the writer is stuck
  const absl::Time t0 = absl::Now();
  const int code = d.Stop(SIGTERM, absl::Seconds(20));
  const absl::Duration took = absl::Now() - t0;
  ::close(reader);
  const std::string err = d.DrainStderr();
  EXPECT_EQ(code, 3) << err;
  EXPECT_LT(took, absl::Seconds(5)) << err;  // -shutdownTimeout 2s, plus a poll in progress
  EXPECT_THAT(err, HasSubstr("still blocked in a send"));
}

TEST_F(DaemonOutput, SighupFlushesAndReopensTheFile) {
  const std::string log = dir_ / "x.jsonl";
  Child d(Args({"-dest", "file:" + log}));
  ASSERT_TRUE(d.started());
  ASSERT_TRUE(WaitFor([&] { return FileSize(log) > 0; }, absl::Seconds(20))) << d.DrainStderr();
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return FileSize(log) > 0; }, absl::Seconds(20)));
  EXPECT_EQ(::kill(d.pid(), 0), 0);  // still running
  EXPECT_EQ(d.Stop(SIGTERM, absl::Seconds(20)), 0);
  const std::string err = d.DrainStderr();
  EXPECT_THAT(err, HasSubstr("SIGHUP: flushed, sink file reopened"));
  EXPECT_GT(FileSize(log + ".1"), 0);
}

TEST_F(DaemonOutput, ClosedStdoutEndsTheDaemonQuicklyAndQuietly) {
  int out[2], err[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  const std::vector<std::string> args = Args({"-dest", "stdout"});
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  char c = 0;
  ASSERT_EQ(::read(out[0], &c, 1), 1);  // `| head -c1`
  ::close(out[0]);
  int status = 0;
  const bool exited =
      WaitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, absl::Seconds(5));
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof(buf))) > 0;) text.append(buf, n);
  ::close(err[0]);
  EXPECT_TRUE(exited) << text;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Broken pipe"))) << text;
  EXPECT_THAT(text, ::testing::Not(HasSubstr("send failed"))) << text;
}

TEST(DaemonOutputFlags, KafkaWithoutBrokersIsAFlagError) {
  for (const char* dest : {"kafka", "kafka:", "kafka:,"}) {
    const auto r = testing::RunProgram(
        {BuildPath("xtcp2"), "-promListen", "127.0.0.1:0", "-dest", dest}, {}, absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 2) << dest << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("xtcp2: invalid value")) << r.err;  // the one error line
  }
}

}  // namespace
}  // namespace xtcp
