#include "observe/seccomp_policy.h"

#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace xtcp::observe {
namespace {

// The allow-list. Grouped by who needs it; a name this libseccomp or architecture does not know is
// skipped. Left out on purpose (they fail with EPERM and are reported): execve/execveat,
// fork/vfork, ptrace, process_vm_*, mount, umount2, pivot_root, chroot, unshare, bpf,
// perf_event_open,
// *_module, kexec_*, reboot, swap*, set*uid/set*gid/setgroups, capset, keyctl/add_key/request_key,
// userfaultfd, *_by_handle_at. clone is allowed without looking at its flags (glibc's pthreads
// use clone3, whose flags live in memory a filter cannot read); with execve blocked a cloned
// process can only run this binary's code.
constexpr const char* kAllowedSyscalls[] = {
    // files: /proc and /run/netns reading, the file: sink, config and NSS files, lazy dlopen
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "open",
    "openat",
    "openat2",
    "close",
    "close_range",
    "lseek",
    "fstat",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "statfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents",
    "getdents64",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "ioctl",
    "mkdir",
    "mkdirat",
    "rmdir",  // -profile.mode removes its private gperftools directory
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "ftruncate",
    "truncate",
    "fsync",
    "fdatasync",
    "fallocate",
    "fadvise64",
    "flock",
    "sync_file_range",
    "fchmod",
    "umask",
    "getcwd",
    "sendfile",
    // memory: malloc/tcmalloc, thread stacks, dlopen
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "msync",
    "mincore",
    "membarrier",
    "get_mempolicy",
    // threads (std::thread, civetweb, librdkafka, libcurl's resolver) and process identity
    "clone",
    "clone3",
    "futex",
    "futex_waitv",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "set_tid_address",
    "gettid",
    "getpid",
    "getppid",
    "tgkill",
    "tkill",
    "sched_yield",
    "sched_getaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "getcpu",
    "prctl",
    "arch_prctl",
    "getrlimit",
    "prlimit64",
    "getrusage",
    "times",
    "sysinfo",
    "uname",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getresuid",
    "getresgid",
    "capget",
    "getpriority",
    "exit",
    "exit_group",
    "wait4",
    // signals: the signal thread (sigtimedwait), gperftools' SIGPROF, SIGPIPE ignored
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "rt_sigpending",
    "rt_sigsuspend",
    "sigaltstack",
    "restart_syscall",
    "kill",
    // time: clocks, sleeps, gperftools' profiling timer, librdkafka/libcurl timers
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "setitimer",
    "getitimer",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_delete",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    // waiting: the HTTP server, librdkafka, libcurl, the seccomp supervisor
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    // sockets: netlink collection, tcp/udp/unix/kafka/http sinks, DNS, the HTTP server
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    // namespaces: entering namespaces that appear later; their discovery (inotify on /run/netns)
    "setns",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    // -ioUring collection
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    // randomness: jitter, TLS and librdkafka
    "getrandom",
};

// Sanitizer builds (tests only): the ASan/TSan runtimes fork and exec llvm-symbolizer to print a
// report's stack, and LeakSanitizer stops the process's threads with ptrace for its exit-time
// check; blocking that would hide the report the build exists for.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define XTCP_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define XTCP_SANITIZER_BUILD 1
#endif
#endif
#ifdef XTCP_SANITIZER_BUILD
constexpr std::array<const char*, 6> kSanitizerSyscalls = {"fork",     "vfork",  "execve",
                                                           "execveat", "ptrace", "waitid"};
#else
constexpr std::array<const char*, 0> kSanitizerSyscalls = {};
#endif

}  // namespace

std::vector<std::string> SeccompPolicy::AllowedNames() {
  std::vector<std::string> names(std::begin(kAllowedSyscalls), std::end(kAllowedSyscalls));
  names.insert(names.end(), kSanitizerSyscalls.begin(), kSanitizerSyscalls.end());
  return names;
}

absl::StatusOr<std::unique_ptr<SeccompPolicy>> SeccompPolicy::Install(
    prometheus::Counter* blocked_counter) {
  // Asked now: seccomp(2) itself is not on the list, and the supervisor must never make a call
  // that is (it would wait for its own answer).
  seccomp_notif_sizes sizes{};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    return absl::InternalError(
        absl::StrCat("seccomp: no user notification in this kernel: ", std::strerror(errno)));
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
  if (ctx == nullptr) return absl::InternalError("seccomp: seccomp_init failed");
  auto fail = [&](const char* what, int rc) {
    seccomp_release(ctx);
    return absl::InternalError(absl::StrCat("seccomp: ", what, ": ", std::strerror(-rc)));
  };
  for (const std::string& name : AllowedNames()) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc != 0) {
      return fail(name.c_str(), rc);
    }
  }
  // Every thread at once; fails instead of leaving a thread unconfined.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return fail("TSYNC", rc);
  }
  if (int rc = seccomp_load(ctx); rc != 0) return fail("seccomp_load", rc);
  const int fd = seccomp_notify_fd(ctx);
  seccomp_release(ctx);  // the loaded filter and the notification fd stay
  if (fd < 0) return absl::InternalError("seccomp: no notification fd");
  return std::unique_ptr<SeccompPolicy>(new SeccompPolicy(fd, sizes, blocked_counter));
}

SeccompPolicy::SeccompPolicy(int notify_fd, const seccomp_notif_sizes& sizes,
                             prometheus::Counter* counter)
    : notify_fd_(notify_fd), sizes_(sizes), counter_(counter) {
  supervisor_ = std::thread([this] { Supervise(); });
}

SeccompPolicy::~SeccompPolicy() {
  stop_.store(true);
  supervisor_.join();
  ::close(notify_fd_);
}

void SeccompPolicy::Supervise() {
  // Sized as the kernel said (it may be newer than our headers); a receive buffer must be zeroed.
  std::vector<char> req_buf(std::max<size_t>(sizes_.seccomp_notif, sizeof(seccomp_notif)));
  std::vector<char> resp_buf(
      std::max<size_t>(sizes_.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
  auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
  while (!stop_.load()) {
    pollfd p{notify_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if ((p.revents & POLLIN) == 0) break;  // POLLHUP: no task is under the filter any more
    std::memset(req_buf.data(), 0, req_buf.size());
    if (::ioctl(notify_fd_, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) continue;  // caller went away
    // Counted before the answer, so the caller sees its call in blocked() once it returns.
    const uint64_t n = blocked_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (counter_ != nullptr) counter_->Increment();
    std::memset(resp_buf.data(), 0, resp_buf.size());
    resp->id = req->id;
    resp->error = -EPERM;
    (void)::ioctl(notify_fd_, SECCOMP_IOCTL_NOTIF_SEND, resp);  // ENOENT: the caller was killed
    if (n <= kLoggedCalls) {
      char* name = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
      XTCP_LOG(kError, "seccomp: blocked system call %d (%s) in thread %d; it fails with EPERM%s",
               req->data.nr, name != nullptr ? name : "?", req->pid,
               n == kLoggedCalls ? " (further ones are only counted)" : "");
      std::free(name);
    }
  }
}

}  // namespace xtcp::observe
