#pragma once
// Test helper: the fields of /proc/<pid>/status ("CapEff", "NoNewPrivs", "Seccomp", ...).

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace xtcp::testing {

// Field name -> value with surrounding blanks removed, from the text of a status file.
inline std::map<std::string, std::string> StatusFields(const std::string& text) {
  std::map<std::string, std::string> f;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    f[kv.first] = std::string(absl::StripAsciiWhitespace(kv.second));
  }
  return f;
}

// The fields of a status file (empty when it cannot be read: e.g. the thread ended).
inline std::map<std::string, std::string> ReadStatusFields(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return StatusFields(ss.str());
}

// A capability mask field ("000001fffeffffff"); all ones when it is missing or malformed.
inline uint64_t CapMask(const std::string& hex) {
  uint64_t v = 0;
  return absl::SimpleHexAtoi(hex, &v) ? v : ~uint64_t{0};
}

}  // namespace xtcp::testing
