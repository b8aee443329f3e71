#include "common/log_limiter.h"

namespace xtcp {

bool LogLimiter::Admit(uint64_t* held) {
  const absl::Time now = absl::Now();
  if (now < next_) {
    ++held_;
    return false;
  }
  next_ = now + period_;
  *held = held_;
  held_ = 0;
  return true;
}

void LogLimiter::Log(LogLevel level, absl::string_view who, absl::string_view what) {
  uint64_t held = 0;
  if (!Admit(&held)) return;
  if (held == 0) {
    ::xtcp::Log(level, "%s: %s", who, what);
  } else {
    ::xtcp::Log(level, "%s: %s (%d similar messages suppressed)", who, what, held);
  }
}

}  // namespace xtcp
