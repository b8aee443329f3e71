#pragma once
// LogLimiter: at most one log line per period from one source (a failing sink or stage must not
// flood stderr); the line that gets through says how many were held back since the previous one.
//
// Not thread-safe: one per source, used by the one thread that reports its errors.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"

namespace xtcp {

class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration period = absl::Seconds(10)) : period_(period) {}

  // Logs "<who>: <what>[ (N similar messages suppressed)]" at `level` if a line may go out now.
  void Log(LogLevel level, absl::string_view who, absl::string_view what);
  void Warn(absl::string_view who, absl::string_view what) { Log(LogLevel::kWarn, who, what); }

  // The decision alone, for callers that must log outside their own lock or word the line
  // themselves: true if a line may go out now, with *held = the lines held back since the
  // previous one (then reset); false counts this one as held back.
  bool Admit(uint64_t* held);

 private:
  const absl::Duration period_;
  absl::Time next_ = absl::InfinitePast();
  uint64_t held_ = 0;
};

}  // namespace xtcp
