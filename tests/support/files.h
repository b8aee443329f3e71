#pragma once
// Whole-file reads for tests.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace xtcp::testing {

absl::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path);
absl::StatusOr<std::string> ReadFileText(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace xtcp::testing
