#include "common/log.h"

#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace xtcp {
namespace {
std::atomic<uint32_t> g_debug_level{111};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kTrace:
      return "TRACE";
  }
  return "?";
}
}  // namespace

void SetDebugLevel(uint32_t d) { g_debug_level.store(d, std::memory_order_relaxed); }

bool LogEnabled(LogLevel level) {
  const uint32_t d = g_debug_level.load(std::memory_order_relaxed);
  switch (level) {
    case LogLevel::kError:
    case LogLevel::kWarn:
      return true;
    case LogLevel::kInfo:
      return d >= 1;
    case LogLevel::kDebug:
      return d > 111;
    case LogLevel::kTrace:
      return d > 500;
  }
  return false;
}

void LogLine(LogLevel level, std::string_view message) {
  std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(), absl::UTCTimeZone());
  line += LevelName(level);
  line += ' ';
  line += message;
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace xtcp
