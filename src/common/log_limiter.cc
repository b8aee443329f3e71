#include "common/log_limiter.h"

namespace xtcp {

void LogLimiter::Log(LogLevel level, absl::string_view who, absl::string_view what) {
  const absl::Time now = absl::Now();
  if (now < next_) {
    ++held_;
    return;
  }
  next_ = now + period_;
  if (held_ == 0) {
    ::xtcp::Log(level, "%s: %s", who, what);
  } else {
    ::xtcp::Log(level, "%s: %s (%d similar messages suppressed)", who, what, held_);
  }
  held_ = 0;
}

}  // namespace xtcp
