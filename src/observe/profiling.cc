#include "observe/profiling.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "observe/pprof_proto.h"

#if defined(XTCP_HAVE_GPERFTOOLS)
#include <gperftools/heap-profiler.h>
#include <gperftools/malloc_extension.h>
#include <gperftools/profiler.h>
#endif

namespace xtcp::observe {
namespace {

// The process has one gperftools CPU profiler; whoever holds this flag owns it.
absl::Mutex g_cpu_mu;
bool g_cpu_busy ABSL_GUARDED_BY(g_cpu_mu) = false;

[[maybe_unused]] bool AcquireCpuProfiler() {
  absl::MutexLock lock(&g_cpu_mu);
  if (g_cpu_busy) return false;
#if defined(XTCP_HAVE_GPERFTOOLS)
  ProfilerState state = {};
  ProfilerGetCurrentState(&state);
  if (state.enabled) return false;  // e.g. started by the CPUPROFILE environment variable
#endif
  g_cpu_busy = true;
  return true;
}

[[maybe_unused]] void ReleaseCpuProfiler() {
  absl::MutexLock lock(&g_cpu_mu);
  g_cpu_busy = false;
}

#if defined(XTCP_HAVE_GPERFTOOLS)
// ProfilerFlush + ProfilerStop without gperftools' "PROFILE: interrupts/evictions/bytes = ..."
// line, which 2.10 fprintf()s to stderr unconditionally (profiledata.cc, no environment variable
// turns it off) and which would land in the log stream as a line that is not ours.
// fd 2 points at a pipe while the profiler stops; afterwards everything else that arrived there
// (other threads keep logging meanwhile) is written back to the real stderr, in order, so no log
// line is lost: only delayed by the duration of the stop. A writer that fills the pipe blocks
// until the drain below, which cannot deadlock: the stop takes no lock a logger holds. When the
// pipe cannot be set up the line is simply let through.
void StopCpuProfilerQuietly() {
  int pipe_fds[2];
  const int saved = dup(STDERR_FILENO);
  if (saved < 0 || pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (saved >= 0) close(saved);
    ProfilerFlush();
    ProfilerStop();
    return;
  }
  fflush(stderr);
  dup2(pipe_fds[1], STDERR_FILENO);
  close(pipe_fds[1]);
  ProfilerFlush();
  ProfilerStop();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);  // the pipe's last write end goes once in-flight writes finish
  close(saved);
  std::string held;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    held.append(buf, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  std::string keep;
  for (size_t pos = 0; pos < held.size();) {
    size_t end = held.find('\n', pos);
    end = end == std::string::npos ? held.size() : end + 1;
    const absl::string_view line(held.data() + pos, end - pos);
    if (!absl::StartsWith(line, "PROFILE: ")) keep.append(line.data(), line.size());
    pos = end;
  }
  for (size_t off = 0; off < keep.size();) {
    const ssize_t n = write(STDERR_FILENO, keep.data() + off, keep.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}
#endif

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("read ", path, ": ", std::strerror(err)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// Profiles reveal the process's memory layout and code: the files are the owner's only (0600,
// whatever the umask, and also when the file existed), and a symbolic link in their place is
// refused rather than followed (it could point anywhere the daemon may write).
[[maybe_unused]] absl::Status WriteWholeFile(const std::string& path, absl::string_view data) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == ELOOP) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to write ", path, ": it is a symbolic link"));
  }
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  if (fchmod(fd, 0600) != 0) {
    const int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("chmod ", path, ": ", std::strerror(err)));
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    return absl::InternalError(absl::StrCat("close ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// A symbolic link at `path` is refused up front, so -profile.mode fails at start-up, not at exit.
[[maybe_unused]] absl::Status RefuseSymlink(const std::string& path) {
  struct stat st = {};
  if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to write ", path, ": it is a symbolic link"));
  }
  return absl::OkStatus();
}

// A fresh directory only we can enter ($TMPDIR or /tmp): gperftools opens its output files by
// name (following links, mode 0666 & ~umask), so they are written only in here.
[[maybe_unused]] absl::StatusOr<std::string> PrivateDir() {
  const char* tmpdir = getenv("TMPDIR");
  std::string path =
      absl::StrCat(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp", "/xtcp2-profile-XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", path, ": ", std::strerror(errno)));
  }
  return path;
}

// Removes a PrivateDir() and the files in it.
[[maybe_unused]] void RemovePrivateDir(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        unlinkat(dirfd(d), e->d_name, 0);
      }
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

[[maybe_unused]] absl::Status NotBuilt() {
  return absl::UnimplementedError(
      "profiling is not available: this build does not link gperftools (sanitizer build)");
}

[[maybe_unused]] std::string JoinPath(const std::string& dir, const char* name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? absl::StrCat(dir, name) : absl::StrCat(dir, "/", name);
}

}  // namespace

bool ProfilingAvailable() {
#if defined(XTCP_HAVE_GPERFTOOLS)
  return true;
#else
  return false;
#endif
}

bool HeapSamplingEnabled() {
  const char* v = getenv(kHeapSampleEnv);
  int64_t rate = 0;
  return ProfilingAvailable() && v != nullptr && absl::SimpleAtoi(v, &rate) && rate > 0;
}

namespace {

// execv("/proc/self/exe") names the new image "exe" (/proc/<pid>/comm, what ps, top and pkill
// show); give it back the name of argv[0]. Exec'ing the readlink()ed path instead would start a
// different binary if a package upgrade replaced the file meanwhile.
void RestoreNameAfterReExec() {
  char comm[32] = {};
  if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0 || std::strcmp(comm, "exe") != 0) return;
  const char* name = program_invocation_short_name;  // glibc: basename of argv[0]
  if (name != nullptr && name[0] != '\0') prctl(PR_SET_NAME, name, 0, 0, 0);  // kernel cuts at 15
}

}  // namespace

void EnsureHeapSampling() {
  if (getenv(kHeapSampleEnv) != nullptr) RestoreNameAfterReExec();
  if (!ProfilingAvailable() || getenv(kHeapSampleEnv) != nullptr) return;
  auto cmdline = ReadWholeFile("/proc/self/cmdline");
  if (!cmdline.ok() || cmdline->empty()) {
    XTCP_LOG(kWarn, "heap sampling stays off: cannot read /proc/self/cmdline");
    return;
  }
  std::vector<char*> argv;
  for (size_t i = 0; i < cmdline->size(); i += std::strlen(cmdline->data() + i) + 1) {
    argv.push_back(cmdline->data() + i);
  }
  argv.push_back(nullptr);
  setenv(kHeapSampleEnv, kHeapSampleParameter, 1);
  execv("/proc/self/exe", argv.data());
  const int err = errno;
  unsetenv(kHeapSampleEnv);
  XTCP_LOG(kWarn, "heap sampling stays off: re-exec with %s failed: %s", kHeapSampleEnv,
           std::strerror(err));
}

absl::StatusOr<std::string> CaptureCpuProfile(absl::Duration duration,
                                              const absl::Notification* cancel) {
#if defined(XTCP_HAVE_GPERFTOOLS)
  if (!AcquireCpuProfiler()) {
    return absl::FailedPreconditionError("a CPU profile is already being recorded; try later");
  }
  auto dir = PrivateDir();
  if (!dir.ok()) {
    ReleaseCpuProfiler();
    return dir.status();
  }
  const std::string path = JoinPath(*dir, "cpu.prof");
  if (!ProfilerStart(path.c_str())) {
    RemovePrivateDir(*dir);
    ReleaseCpuProfiler();
    return absl::InternalError("the gperftools CPU profiler did not start");
  }
  bool cancelled = false;
  if (cancel != nullptr) {
    cancelled = cancel->WaitForNotificationWithTimeout(duration);
  } else {
    absl::SleepFor(duration);
  }
  StopCpuProfilerQuietly();
  auto bytes = ReadWholeFile(path);
  RemovePrivateDir(*dir);
  ReleaseCpuProfiler();
  if (cancelled) return absl::CancelledError("the server is shutting down");
  return bytes;
#else
  (void)duration;
  (void)cancel;
  return NotBuilt();
#endif
}

absl::StatusOr<std::string> HeapSample() {
#if defined(XTCP_HAVE_GPERFTOOLS)
  if (!HeapSamplingEnabled()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "heap sampling is off: start xtcp2 with ", kHeapSampleEnv, "=", kHeapSampleParameter,
        " in its environment (xtcp2 does this itself unless the variable is set, e.g. to 0)"));
  }
  std::string out;
  MallocExtension::instance()->GetHeapSample(&out);
  return out;
#else
  return NotBuilt();
#endif
}

absl::StatusOr<std::unique_ptr<OneShotProfile>> OneShotProfile::Start(
    const std::string& mode, const std::string& directory) {
  if (mode.empty()) return nullptr;
  if (mode == "mutex" || mode == "block" || mode == "trace" || mode == "goroutine") {
    XTCP_LOG(kWarn, "-profile.mode %s is a Go-runtime profile; ignored (use cpu or mem)", mode);
    return nullptr;
  }
  if (mode != "cpu" && mode != "mem" && mode != "memheap") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", mode, "\" for flag -profile.mode: want cpu or mem"));
  }
#if defined(XTCP_HAVE_GPERFTOOLS)
  const bool cpu = mode == "cpu";
  const char* stem = cpu ? "cpu" : "mem";
  std::string path = JoinPath(directory, cpu ? "cpu.pprof" : "mem.pprof");
  std::string legacy_path = JoinPath(directory, cpu ? "cpu.prof" : "mem.prof");
  for (const std::string* p : {&path, &legacy_path}) {
    if (absl::Status s = RefuseSymlink(*p); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("-profile.mode ", mode, ": ", s.message()));
    }
  }
  const std::string dir_shown = directory.empty() ? "." : directory;
  if (access(dir_shown.c_str(), W_OK) != 0) {
    return absl::InternalError(absl::StrCat("-profile.mode ", mode, ": cannot write to ", dir_shown,
                                            ": ", std::strerror(errno)));
  }
  if (cpu && !AcquireCpuProfiler()) {
    return absl::FailedPreconditionError("-profile.mode cpu: the CPU profiler is already in use");
  }
  if (!cpu && IsHeapProfilerRunning()) {
    return absl::FailedPreconditionError("-profile.mode mem: the heap profiler is already running");
  }
  auto tmp = PrivateDir();
  if (!tmp.ok()) {
    if (cpu) ReleaseCpuProfiler();
    return tmp.status();
  }
  std::unique_ptr<OneShotProfile> p(new OneShotProfile(cpu ? Kind::kCpu : Kind::kHeap, path));
  p->legacy_path_ = std::move(legacy_path);
  p->private_dir_ = *tmp;
  p->start_ = absl::Now();
  if (cpu) {
    if (!ProfilerStart(JoinPath(*tmp, "cpu.prof").c_str())) {
      ReleaseCpuProfiler();
      RemovePrivateDir(*tmp);
      p->stopped_ = true;
      return absl::InternalError("-profile.mode cpu: the gperftools CPU profiler did not start");
    }
  } else {
    HeapProfilerStart(JoinPath(*tmp, stem).c_str());  // its periodic dumps stay in there
  }
  XTCP_LOG(kInfo, "profile: %s profiling enabled, %s", cpu ? "cpu" : "memory", path);
  return p;
#else
  (void)directory;
  XTCP_LOG(kWarn, "-profile.mode %s ignored: %s", mode, NotBuilt().message());
  return nullptr;
#endif
}

absl::StatusOr<std::string> OneShotProfile::Stop() {
  if (stopped_) return path_;
  stopped_ = true;
#if defined(XTCP_HAVE_GPERFTOOLS)
  // Both the gperftools file (*.prof, for google-pprof) and symbolized profile.proto (*.pprof,
  // for go tool pprof) are left behind; see pprof_proto.h for why both.
  std::string legacy;
  if (kind_ == Kind::kCpu) {
    StopCpuProfilerQuietly();
    ReleaseCpuProfiler();
    auto bytes = ReadWholeFile(JoinPath(private_dir_, "cpu.prof"));
    RemovePrivateDir(private_dir_);
    if (!bytes.ok()) return bytes.status();
    legacy = std::move(*bytes);
  } else {
    char* profile = GetHeapProfile();
    HeapProfilerStop();
    RemovePrivateDir(private_dir_);
    if (profile == nullptr) return absl::InternalError("-profile.mode mem: no heap profile");
    legacy = profile;
    free(profile);
  }
  if (absl::Status s = WriteWholeFile(legacy_path_, legacy); !s.ok()) return s;
  auto proto = kind_ == Kind::kCpu ? CpuProfileToPprof(legacy, start_, absl::Now() - start_)
                                   : HeapSampleToPprof(legacy);
  if (!proto.ok()) return proto.status();
  if (absl::Status s = WriteWholeFile(path_, *proto); !s.ok()) return s;
  XTCP_LOG(kInfo, "profile: %s profiling disabled, %s (google-pprof: %s)",
           kind_ == Kind::kCpu ? "cpu" : "memory", path_, legacy_path_);
  return path_;
#else
  return NotBuilt();
#endif
}

OneShotProfile::~OneShotProfile() {
  if (auto s = Stop(); !s.ok()) XTCP_LOG(kWarn, "profile: %s", s.status().message());
}

}  // namespace xtcp::observe
