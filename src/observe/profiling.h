#pragma once
// Profiling with gperftools: on-demand CPU profiles and heap samples for /debug/pprof/*, the
// one-shot -profile.mode, and the heap-sampling start-up step.
//
// Formats: the CPU profile is gperftools' binary CPU profile (with /proc/self/maps appended); the
// heap sample is tcmalloc's "heap profile: ... @ heap_v2/<rate>" text. Both are read by
// google-pprof and by `go tool pprof` (legacy formats), given the binary for symbols.
//
// gperftools has one CPU profiler per process, so CPU profiles are serialised process-wide: the
// HTTP endpoint and -profile.mode cpu compete for it and the loser gets FailedPrecondition.
//
// The sanitizer builds do not link gperftools: ProfilingAvailable() is false and every call
// returns Unimplemented (the HTTP server answers 501 with that text).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace xtcp::observe {

// Heap sampling interval the daemon asks tcmalloc for (bytes between samples; Go's default
// MemProfileRate is the same 512 KiB).
inline constexpr const char* kHeapSampleParameter = "524288";
inline constexpr const char* kHeapSampleEnv = "TCMALLOC_SAMPLE_PARAMETER";

// Built with tcmalloc and the CPU profiler.
bool ProfilingAvailable();

// tcmalloc samples allocations only when TCMALLOC_SAMPLE_PARAMETER > 0 was in the environment when
// the process started; true when it was.
bool HeapSamplingEnabled();

// Makes heap sampling work out of the box: when gperftools is linked and TCMALLOC_SAMPLE_PARAMETER
// is absent from the environment, sets it to kHeapSampleParameter and re-executes the same binary
// (/proc/self/exe) with the same argv, once; the variable itself stops a second re-exec. Setting
// TCMALLOC_SAMPLE_PARAMETER=0 opts out. Returns only when no re-exec happened (or execve failed,
// then heap sampling stays off and a warning is logged). Call first thing in daemon mode, before
// any thread or socket exists. After the re-exec the process takes back argv[0]'s name
// (prctl(PR_SET_NAME); exec through /proc/self/exe would leave it "exe" in /proc/<pid>/comm).
void EnsureHeapSampling();

// Records a CPU profile of the whole process for `duration` (or until `cancel` is notified, then
// Cancelled) into a private temporary directory ($TMPDIR or /tmp) and returns its bytes.
// Errors: Unimplemented (no gperftools), FailedPrecondition (a CPU profile is already running),
// Internal (the profiler could not start or the file could not be read), Cancelled.
absl::StatusOr<std::string> CaptureCpuProfile(absl::Duration duration,
                                              const absl::Notification* cancel);

// tcmalloc's current heap sample (in-use sampled allocations with stacks).
// Errors: Unimplemented (no gperftools), FailedPrecondition (sampling off; the message says how to
// turn it on).
absl::StatusOr<std::string> HeapSample();

// -profile.mode: a profile of the whole run written to the working directory when stopped.
//   cpu            gperftools CPU profile -> cpu.pprof (symbolized profile.proto, go tool pprof)
//                  and cpu.prof (gperftools format, google-pprof)
//   mem, memheap   gperftools heap profiler (in-use and cumulative allocations) -> mem.pprof and
//                  mem.prof
// The files are created mode 0600 (whatever the umask) and a symbolic link in their place is
// refused (FailedPrecondition, at Start() and again when writing). Until Stop() gperftools writes
// into a private mkdtemp directory under $TMPDIR (or /tmp), removed at Stop().
//   mutex, block, trace, goroutine   Go-runtime profiles: accepted, ignored with a warning
// Stop() is idempotent and runs from the destructor.
class OneShotProfile {
 public:
  // nullptr when mode is empty or ignored. Errors: FailedPrecondition (CPU profiler busy, or a
  // target file is a symbolic link), Internal (directory not writable, profiler did not start).
  // `directory` "" means the working directory.
  static absl::StatusOr<std::unique_ptr<OneShotProfile>> Start(const std::string& mode,
                                                               const std::string& directory = "");
  ~OneShotProfile();
  OneShotProfile(const OneShotProfile&) = delete;
  OneShotProfile& operator=(const OneShotProfile&) = delete;

  // Writes the file and releases the profiler; returns the path written.
  absl::StatusOr<std::string> Stop();
  const std::string& path() const { return path_; }

 private:
  enum class Kind { kCpu, kHeap };
  OneShotProfile(Kind kind, std::string path) : kind_(kind), path_(std::move(path)) {}
  [[maybe_unused]] Kind kind_;  // read only in builds with gperftools
  std::string path_;            // *.pprof
  std::string legacy_path_;     // *.prof
  std::string private_dir_;     // where gperftools writes until Stop()
  absl::Time start_;
  bool stopped_ = false;
};

}  // namespace xtcp::observe
