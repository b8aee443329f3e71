// ThreadSanitizer build only (XTCP_TSAN): teaches TSan what Debian's prebuilt abseil does.
//
// absl::Mutex, absl::CondVar and absl::Notification are implemented in libabsl_synchronization.so,
// which Debian compiles without -fsanitize=thread, so TSan never sees their acquire/release and
// reports every ABSL_GUARDED_BY member as a race. abseil's own TSan annotations exist, but only in
// an abseil built with TSan. This file, linked into every executable of the TSan build, interposes
// the out-of-line entry points our code calls: each forwards to the library's definition (found
// with dlsym(RTLD_NEXT)) and tells TSan the happens-before edge with __tsan_acquire/__tsan_release
// on the mutex's address. Nothing here is compiled into the daemon of any other build.
//
// Coverage: every Mutex/CondVar/Notification member the tree calls that is not inline in the
// headers. Inline members (MutexLock, Notification::HasBeenNotified's atomic load) reach these.

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}

namespace {

// The library's definition of the member whose mangled name is `symbol`.
template <typename Fn>
Fn Real(const char* symbol) {
  void* p = dlsym(RTLD_NEXT, symbol);
  if (p == nullptr) {
    std::fprintf(stderr, "tsan_absl_shim: %s not found in abseil: %s\n", symbol, dlerror());
    std::abort();
  }
  Fn fn;
  static_assert(sizeof(fn) == sizeof(p));
  __builtin_memcpy(&fn, &p, sizeof(p));
  return fn;
}

void* Addr(const void* p) { return const_cast<void*>(p); }

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

namespace {
using MutexFn = void (*)(Mutex*);
using MutexBoolFn = bool (*)(Mutex*);
using MutexCondFn = void (*)(Mutex*, const Condition&);
using MutexCondBoolDurFn = bool (*)(Mutex*, const Condition&, Duration);
using MutexCondBoolTimeFn = bool (*)(Mutex*, const Condition&, Time);
using CvWaitFn = void (*)(CondVar*, Mutex*);
using CvWaitDurFn = bool (*)(CondVar*, Mutex*, Duration);
using CvWaitTimeFn = bool (*)(CondVar*, Mutex*, Time);
using NoteFn = void (*)(Notification*);
using NoteWaitFn = void (*)(const Notification*);
using NoteWaitDurFn = bool (*)(const Notification*, Duration);
using NoteWaitTimeFn = bool (*)(const Notification*, Time);

// Itanium mangling of absl::<ns>::Class::member; <ns> is ABSL_OPTION_INLINE_NAMESPACE_NAME.
#define XTCP_STR2(x) #x
#define XTCP_STR(x) XTCP_STR2(x)
#define XTCP_NS XTCP_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME)
constexpr int NsLen() {
  int n = 0;
  while (XTCP_NS[n] != '\0') ++n;
  return n;
}
// The mangled name of absl::<ns>::<rest>: "_ZN" (or "_ZNK" for a const member) "4absl", the
// inline namespace's length and name, then the class, member and parameters. Each result is kept
// in a function-local static of its caller, so the buffers are only used once per member.
const char* Mangle(const char* rest, bool is_const = false) {
  static char buf[32][160];
  static std::atomic<int> used{0};
  char* out = buf[used.fetch_add(1) % 32];
  std::snprintf(out, sizeof(buf[0]), "_ZN%s4absl%d%s%s", is_const ? "K" : "", NsLen(), XTCP_NS,
                rest);
  return out;
}
// absl evaluates a Condition while it holds the mutex internally (in the waiting thread, or in the
// thread that unlocks), which TSan cannot see: wrap it so each evaluation acquires the mutex's
// happens-before edge and hands it on.
struct TsanCondition {
  const Condition* cond;
  Mutex* mu;
  static bool Eval(void* self) {
    auto* c = static_cast<TsanCondition*>(self);
    __tsan_acquire(c->mu);
    const bool r = c->cond->Eval();
    __tsan_release(c->mu);
    return r;
  }
};
}  // namespace

void Mutex::Lock() {
  static const auto real = Real<MutexFn>(Mangle("5Mutex4LockEv"));
  real(this);
  __tsan_acquire(this);
}
void Mutex::Unlock() {
  static const auto real = Real<MutexFn>(Mangle("5Mutex6UnlockEv"));
  __tsan_release(this);
  real(this);
}
void Mutex::ReaderLock() {
  static const auto real = Real<MutexFn>(Mangle("5Mutex10ReaderLockEv"));
  real(this);
  __tsan_acquire(this);
}
void Mutex::ReaderUnlock() {
  static const auto real = Real<MutexFn>(Mangle("5Mutex12ReaderUnlockEv"));
  __tsan_release(this);
  real(this);
}
bool Mutex::TryLock() {
  static const auto real = Real<MutexBoolFn>(Mangle("5Mutex7TryLockEv"));
  const bool got = real(this);
  if (got) __tsan_acquire(this);
  return got;
}
bool Mutex::ReaderTryLock() {
  static const auto real = Real<MutexBoolFn>(Mangle("5Mutex13ReaderTryLockEv"));
  const bool got = real(this);
  if (got) __tsan_acquire(this);
  return got;
}
void Mutex::LockWhen(const Condition& cond) {
  TsanCondition wrap{&cond, this};
  static const auto real = Real<MutexCondFn>(Mangle("5Mutex8LockWhenERKNS0_9ConditionE"));
  real(this, Condition(&TsanCondition::Eval, &wrap));
  __tsan_acquire(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  TsanCondition wrap{&cond, this};
  static const auto real = Real<MutexCondBoolDurFn>(
      Mangle("5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE"));
  const bool r = real(this, Condition(&TsanCondition::Eval, &wrap), timeout);
  __tsan_acquire(this);  // held on return either way
  return r;
}
bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  TsanCondition wrap{&cond, this};
  static const auto real =
      Real<MutexCondBoolTimeFn>(Mangle("5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE"));
  const bool r = real(this, Condition(&TsanCondition::Eval, &wrap), deadline);
  __tsan_acquire(this);
  return r;
}
void Mutex::Await(const Condition& cond) {
  TsanCondition wrap{&cond, this};
  static const auto real = Real<MutexCondFn>(Mangle("5Mutex5AwaitERKNS0_9ConditionE"));
  __tsan_release(this);
  real(this, Condition(&TsanCondition::Eval, &wrap));
  __tsan_acquire(this);
}
bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  TsanCondition wrap{&cond, this};
  static const auto real =
      Real<MutexCondBoolDurFn>(Mangle("5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE"));
  __tsan_release(this);
  const bool r = real(this, Condition(&TsanCondition::Eval, &wrap), timeout);
  __tsan_acquire(this);
  return r;
}
bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  TsanCondition wrap{&cond, this};
  static const auto real =
      Real<MutexCondBoolTimeFn>(Mangle("5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE"));
  __tsan_release(this);
  const bool r = real(this, Condition(&TsanCondition::Eval, &wrap), deadline);
  __tsan_acquire(this);
  return r;
}

void CondVar::Wait(Mutex* mu) {
  static const auto real = Real<CvWaitFn>(Mangle("7CondVar4WaitEPNS0_5MutexE"));
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static const auto real =
      Real<CvWaitDurFn>(Mangle("7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE"));
  __tsan_release(mu);
  const bool r = real(this, mu, timeout);
  __tsan_acquire(mu);
  return r;
}
bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static const auto real =
      Real<CvWaitTimeFn>(Mangle("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE"));
  __tsan_release(mu);
  const bool r = real(this, mu, deadline);
  __tsan_acquire(mu);
  return r;
}

void Notification::Notify() {
  static const auto real = Real<NoteFn>(Mangle("12Notification6NotifyEv"));
  __tsan_release(Addr(this));
  real(this);
}
void Notification::WaitForNotification() const {
  static const auto real = Real<NoteWaitFn>(Mangle("12Notification19WaitForNotificationEv", true));
  real(this);
  __tsan_acquire(Addr(this));
}
bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static const auto real = Real<NoteWaitDurFn>(
      Mangle("12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true));
  const bool r = real(this, timeout);
  if (r) __tsan_acquire(Addr(this));
  return r;
}
bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static const auto real = Real<NoteWaitTimeFn>(
      Mangle("12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true));
  const bool r = real(this, deadline);
  if (r) __tsan_acquire(Addr(this));
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl
