#pragma once
// Logging to stderr. Records never go through here (stdout belongs to the records).
//
// Levels follow the -d flag (upstream default 111):
//   kError/kWarn  always
//   kInfo         d >= 1: startup summary, one line per poll, lifecycle events
//   kDebug        d > 111: per-namespace and per-flush detail
//   kTrace        d > 500: per-datagram detail
// Thread-safe: each line is written with one write(2).

#include <atomic>
#include <cstdint>
#include <string_view>

#include "absl/strings/str_format.h"

namespace xtcp {

enum class LogLevel { kError, kWarn, kInfo, kDebug, kTrace };

void SetDebugLevel(uint32_t d);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(level)) LogLine(level, absl::StrFormat(format, args...));
}

}  // namespace xtcp

#define XTCP_LOG(level, ...) ::xtcp::Log(::xtcp::LogLevel::level, __VA_ARGS__)
