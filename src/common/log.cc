#include "common/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/utf8.h"

namespace xtcp {
namespace {
std::atomic<uint32_t> g_debug_level{111};
std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<bool> g_journal{false};

int JournalPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return 3;
    case LogLevel::kWarn:
      return 4;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kDebug:
    case LogLevel::kTrace:
      return 7;
  }
  return 6;
}

// Appends `s` as the inside of a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced.
void AppendJsonString(std::string_view s, std::string* out) {
  std::string valid(s);
  MakeValidUtf8(&valid);
  for (const char ch : valid) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          *out += ch;
        }
    }
  }
}

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
void SetLogFormat(LogFormat f) { g_format.store(f, std::memory_order_relaxed); }
void SetJournalPrefix(bool on) { g_journal.store(on, std::memory_order_relaxed); }

bool StderrIsJournal(const char* journal_stream) {
  if (journal_stream == nullptr) return false;
  uintmax_t dev = 0, ino = 0;
  if (std::sscanf(journal_stream, "%ju:%ju", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == ino;
}

std::string FormatLogLine(LogLevel level, std::string_view message, absl::Time now) {
  std::string line;
  const bool journal = g_journal.load(std::memory_order_relaxed);
  if (journal) absl::StrAppend(&line, "<", JournalPriority(level), ">");
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone());
  if (g_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"time\":\"", time, "\",\"level\":\"", LevelName(level),
                    "\",\"msg\":\"");
    AppendJsonString(message, &line);
    line += "\"}";
    return line;
  }
  if (!journal) absl::StrAppend(&line, time, " ");  // the journal stamps lines itself
  line += LevelName(level);
  line += ' ';
  line += message;
  return line;
}

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
  std::string line = FormatLogLine(level, message, absl::Now());
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace xtcp
