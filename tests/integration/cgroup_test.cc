// -resolveContainerId against the real cgroup v2 hierarchy: the test makes cgroup directories named
// as each container runtime names them (under its own subtree of the cgroup2 mount, removed
// afterwards), moves a child process into each, lets it open a listening loopback socket there
// (a socket belongs to the cgroup of the process that made it), runs build/xtcp2 and checks the
// container columns of each socket's records.
#include "enrich/cgroup.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

const std::string kDocker = std::string(60, 'd') + "0001";
const std::string kContainerd = std::string(60, 'c') + "0002";
const std::string kCrio = std::string(60, 'e') + "0003";
const std::string kPodman = std::string(60, 'f') + "0004";
const std::string kDockerFs = std::string(60, 'a') + "0005";
const std::string kKubeFs = std::string(60, 'b') + "0006";

// A subtree of the cgroup2 hierarchy owned by one test; Create() says why not in `why`.
class CgroupSubtree {
 public:
  static std::unique_ptr<CgroupSubtree> Create(std::string* why) {
    if (::geteuid() != 0) {
      *why = "not root";
      return nullptr;
    }
    auto mount = enrich::ReadCgroup2Mount("/proc/self/mountinfo");
    if (!mount.ok()) {
      *why = std::string(mount.status().message());
      return nullptr;
    }
    std::unique_ptr<CgroupSubtree> t(new CgroupSubtree);
    t->top_ = absl::StrCat(mount->mount_point, "/xtcp-test-", ::getpid());
    if (::mkdir(t->top_.c_str(), 0755) != 0 && errno != EEXIST) {
      *why = absl::StrCat("cannot create a cgroup v2 directory under ", mount->mount_point, ": ",
                          std::strerror(errno));
      return nullptr;
    }
    t->made_.push_back(t->top_);
    return t;
  }
  // Removes every directory made, deepest first (each is empty once its processes are reaped).
  ~CgroupSubtree() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      for (int i = 0; i < 100 && ::rmdir(it->c_str()) != 0 && errno == EBUSY; ++i) {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  }
  // Makes top/rel (and its parents); returns its path.
  std::string Make(const std::string& rel) {
    std::string path = top_;
    std::stringstream parts(rel);
    for (std::string part; std::getline(parts, part, '/');) {
      path += "/" + part;
      if (::mkdir(path.c_str(), 0755) == 0) made_.push_back(path);
    }
    return path;
  }

 private:
  CgroupSubtree() = default;
  std::string top_;
  std::vector<std::string> made_;
};

// A forked child that joins a cgroup, then opens a listening socket on 127.0.0.1 and holds it
// until destroyed. The child only makes system calls (it is forked from a threaded process).
class ListenerInCgroup {
 public:
  ListenerInCgroup(const std::string& cgroup, std::string* error) {
    int go[2], back[2];
    if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(back, O_CLOEXEC) != 0) {
      *error = "pipe";
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(go[1]);
      ::close(back[0]);
      char b = 0;
      if (::read(go[0], &b, 1) != 1) ::_exit(1);  // joined the cgroup
      const int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(a);
      if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
          ::listen(s, 4) != 0 || ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::_exit(2);
      }
      const uint16_t port = ntohs(a.sin_port);
      if (::write(back[1], &port, sizeof(port)) != sizeof(port)) ::_exit(3);
      ::pause();  // until killed
      ::_exit(0);
    }
    ::close(go[0]);
    ::close(back[1]);
    go_ = go[1];
    if (pid_ < 0) {
      *error = "fork";
      ::close(back[0]);
      return;
    }
    std::ofstream(cgroup + "/cgroup.procs") << pid_ << std::flush;
    const std::string procs = ReadAll(cgroup + "/cgroup.procs");
    if (procs.find(std::to_string(pid_)) == std::string::npos) {
      *error = "the child did not join " + cgroup;
    } else if (::write(go_, "g", 1) == 1) {
      pollfd p{back[0], POLLIN, 0};
      if (::poll(&p, 1, 10000) == 1 && ::read(back[0], &port_, sizeof(port_)) == sizeof(port_)) {
        error->clear();
      } else {
        *error = "the child opened no socket";
      }
    }
    ::close(back[0]);
  }
  // The child holds the pipes of listeners made before it (fork copies every descriptor), so
  // closing ours would not end it: it is killed, and reaped before its cgroup is removed.
  ~ListenerInCgroup() {
    if (go_ >= 0) ::close(go_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  ListenerInCgroup(const ListenerInCgroup&) = delete;
  ListenerInCgroup& operator=(const ListenerInCgroup&) = delete;
  uint16_t port() const { return port_; }

 private:
  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  pid_t pid_ = -1;
  int go_ = -1;
  uint16_t port_ = 0;
};

#define MAKE_SUBTREE(var)                       \
  std::string why_##var;                        \
  auto var = CgroupSubtree::Create(&why_##var); \
  if (var == nullptr) GTEST_SKIP() << "cgroup v2 not writable here: " << why_##var

std::vector<std::string> DaemonArgs(const std::string& out, int loops) {
  return {BuildPath("xtcp2"),
          "-promListen",
          "127.0.0.1:0",
          "-dest",
          "file:" + out,
          "-marshal",
          "protobufList",
          "-maxLoops",
          std::to_string(loops),
          "-pollJitterPct",
          "0",
          "-frequency",
          "1s",
          "-timeout",
          "900ms",
          "-resolveContainerId"};
}

// The LISTEN records of `port` in the daemon's own namespace.
std::vector<record::ProtoRecord> ListenersOn(const std::vector<record::ProtoRecord>& recs,
                                             uint16_t port) {
  std::vector<record::ProtoRecord> out;
  for (const auto& r : recs) {
    if (r.netns() == "default" && r.inet_diag_msg_state() == 10 &&
        r.inet_diag_msg_socket_source_port() == port) {
      out.push_back(r);
    }
  }
  return out;
}

struct Case {
  std::string rel;  // under the test's subtree
  std::string id;
  std::string runtime;
};

TEST(ResolveContainerId, EachRuntimesCgroupNamesItsSockets) {
  MAKE_SUBTREE(tree);
  const std::vector<Case> cases = {
      {"system.slice/docker-" + kDocker + ".scope", kDocker, "docker"},
      {"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod42.slice/cri-containerd-" +
           kContainerd + ".scope",
       kContainerd, "containerd"},
      {"kubepods.slice/crio-" + kCrio + ".scope", kCrio, "crio"},
      {"machine.slice/libpod-" + kPodman + ".scope/container", kPodman, "podman"},
      {"docker/" + kDockerFs, kDockerFs, "docker"},
      {"kubepods/besteffort/pod42/" + kKubeFs, kKubeFs, "cgroupfs"},
      {"system.slice/sshd.service", "", ""},
      {"machine.slice/libpod-conmon-" + kPodman + ".scope", "", ""},
  };
  std::vector<std::unique_ptr<ListenerInCgroup>> listeners;
  for (const Case& c : cases) {
    std::string error = "?";
    listeners.push_back(std::make_unique<ListenerInCgroup>(tree->Make(c.rel), &error));
    ASSERT_EQ(error, "") << c.rel;
  }
  const std::string out = TempPath("cgroup-records");
  const RunResult r = testing::Run(DaemonArgs(out, 1), absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("-resolveContainerId: cgroup2 at "), std::string::npos) << r.err;
  const auto recs = ReadProtobufList(out);
  ::unlink(out.c_str());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].rel);
    const auto mine = ListenersOn(recs, listeners[i]->port());
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].container_id(), cases[i].id);
    EXPECT_EQ(mine[0].container_runtime(), cases[i].runtime);
    EXPECT_EQ(mine[0].container_name(), "");
    EXPECT_NE(mine[0].c_group(), 0u);
  }
}

// A container started after the daemon: its first poll misses the cgroup, the resolver walks again
// within a second, and later polls name it.
TEST(ResolveContainerId, ACgroupMadeLaterIsFoundByTheNextWalk) {
  MAKE_SUBTREE(tree);
  const std::string out = TempPath("cgroup-late");
  const std::string err = TempPath("cgroup-late-err");
  Child daemon = Child::Start(DaemonArgs(out, 6), err);
  ASSERT_TRUE(daemon.ok());
  std::string log;
  for (int i = 0; i < 200 && log.find("poll 1:") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    std::ifstream in(err);
    std::stringstream ss;
    ss << in.rdbuf();
    log = ss.str();
  }
  ASSERT_NE(log.find("poll 1:"), std::string::npos) << log;
  std::string error = "?";
  ListenerInCgroup late(tree->Make("system.slice/docker-" + kDocker + ".scope"), &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(daemon.Wait(absl::Seconds(20)), 0);
  const auto mine = ListenersOn(ReadProtobufList(out), late.port());
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  // Polls 2..6 can see the socket; the first that does misses (the start-up walk did not see the
  // cgroup: unless another socket's miss made the resolver walk again meanwhile), the walk that
  // miss asks for comes within a second, and the polls after it name the container.
  ASSERT_GE(mine.size(), 2u);
  EXPECT_EQ(mine.back().container_id(), kDocker) << mine.size() << " polls saw the socket";
  EXPECT_EQ(mine.back().container_runtime(), "docker");
}

}  // namespace
}  // namespace xtcp::testing
