#pragma once
// Logging to stderr. Records never go through here (stdout belongs to the records).
//
// Levels follow the -d flag (upstream default 111):
//   kError/kWarn  always
//   kInfo         d >= 1: startup summary, one line per poll, lifecycle events
//   kDebug        d > 111: per-namespace and per-flush detail
//   kTrace        d > 500: per-datagram detail
// Line formats (-logFormat, and where stderr goes):
//   text     "2026-12-02T14:00:00.000Z INFO message"
//   json     {"time":"2026-12-02T14:00:00.000Z","level":"INFO","msg":"message"} (valid UTF-8:
//            invalid bytes become U+FFFD)
//   journal  "<6>message": stderr is the systemd journal (JOURNAL_STREAM names stderr's device
//            and inode), which keeps its own timestamps and reads the sd-daemon priority prefix
//            (3 error, 4 warning, 6 info, 7 debug). With -logFormat json the JSON line follows the
//            prefix.
// Thread-safe: each line is written with one write(2).

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace xtcp {

enum class LogLevel { kError, kWarn, kInfo, kDebug, kTrace };

enum class LogFormat { kText, kJson };

void SetDebugLevel(uint32_t d);
void SetLogFormat(LogFormat f);
// Priority prefixes on every line (stderr is the journal). See StderrIsJournal().
void SetJournalPrefix(bool on);
// True when $JOURNAL_STREAM ("<dev>:<ino>", set by systemd) names the file stderr is open on.
bool StderrIsJournal(const char* journal_stream);
// The line LogLine() writes, without the trailing newline (tests).
std::string FormatLogLine(LogLevel level, std::string_view message, absl::Time now);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(level)) LogLine(level, absl::StrFormat(format, args...));
}

}  // namespace xtcp

#define XTCP_LOG(level, ...) ::xtcp::Log(::xtcp::LogLevel::level, __VA_ARGS__)
