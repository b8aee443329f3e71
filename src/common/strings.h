#pragma once
// Bridges std::string_view into abseil's own string_view (Debian's abseil is built with
// ABSL_OPTION_USE_STD_STRING_VIEW=0, so the two types do not convert implicitly).

#include <string_view>

#include "absl/strings/string_view.h"

namespace xtcp {

inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace xtcp
