#include "observe/profiling.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
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

[[maybe_unused]] absl::Status WriteWholeFile(const std::string& path, absl::string_view data) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
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

void EnsureHeapSampling() {
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
  const char* tmpdir = getenv("TMPDIR");
  std::string path =
      absl::StrCat(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp", "/xtcp2-cpu-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    const int err = errno;
    ReleaseCpuProfiler();
    return absl::InternalError(absl::StrCat("mkstemp ", path, ": ", std::strerror(err)));
  }
  close(fd);
  if (!ProfilerStart(path.c_str())) {
    unlink(path.c_str());
    ReleaseCpuProfiler();
    return absl::InternalError("the gperftools CPU profiler did not start");
  }
  bool cancelled = false;
  if (cancel != nullptr) {
    cancelled = cancel->WaitForNotificationWithTimeout(duration);
  } else {
    absl::SleepFor(duration);
  }
  ProfilerFlush();
  ProfilerStop();
  auto bytes = ReadWholeFile(path);
  unlink(path.c_str());
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
  if (mode == "cpu") {
    if (!AcquireCpuProfiler()) {
      return absl::FailedPreconditionError("-profile.mode cpu: the CPU profiler is already in use");
    }
    const std::string legacy = JoinPath(directory, "cpu.prof");
    if (!ProfilerStart(legacy.c_str())) {
      ReleaseCpuProfiler();
      return absl::InternalError(absl::StrCat("-profile.mode cpu: cannot start profiling to ",
                                              legacy, " (is the directory writable?)"));
    }
    std::string path = JoinPath(directory, "cpu.pprof");
    XTCP_LOG(kInfo, "profile: cpu profiling enabled, %s", path);
    return std::unique_ptr<OneShotProfile>(new OneShotProfile(Kind::kCpu, std::move(path)));
  }
  if (IsHeapProfilerRunning()) {
    return absl::FailedPreconditionError("-profile.mode mem: the heap profiler is already running");
  }
  const std::string prefix = JoinPath(directory, "mem");
  HeapProfilerStart(prefix.c_str());
  std::string path = JoinPath(directory, "mem.pprof");
  XTCP_LOG(kInfo, "profile: memory profiling enabled, %s", path);
  return std::unique_ptr<OneShotProfile>(new OneShotProfile(Kind::kHeap, std::move(path)));
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
  const std::string legacy_path = path_.substr(0, path_.size() - 5) + "prof";
  std::string legacy;
  if (kind_ == Kind::kCpu) {
    ProfilerFlush();
    ProfilerStop();
    ReleaseCpuProfiler();
    auto bytes = ReadWholeFile(legacy_path);
    if (!bytes.ok()) return bytes.status();
    legacy = std::move(*bytes);
  } else {
    char* profile = GetHeapProfile();
    HeapProfilerStop();
    if (profile == nullptr) return absl::InternalError("-profile.mode mem: no heap profile");
    legacy = profile;
    free(profile);
    if (absl::Status s = WriteWholeFile(legacy_path, legacy); !s.ok()) return s;
  }
  auto proto = kind_ == Kind::kCpu ? CpuProfileToPprof(legacy) : HeapSampleToPprof(legacy);
  if (!proto.ok()) return proto.status();
  if (absl::Status s = WriteWholeFile(path_, *proto); !s.ok()) return s;
  XTCP_LOG(kInfo, "profile: %s profiling disabled, %s (google-pprof: %s)",
           kind_ == Kind::kCpu ? "cpu" : "memory", path_, legacy_path);
  return path_;
#else
  return NotBuilt();
#endif
}

OneShotProfile::~OneShotProfile() {
  if (auto s = Stop(); !s.ok()) XTCP_LOG(kWarn, "profile: %s", s.status().message());
}

}  // namespace xtcp::observe
