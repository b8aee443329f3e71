#include "common/mask.h"

#include "absl/strings/str_cat.h"

namespace xtcp {

std::string MaskUrlUserinfo(const std::string& value) {
  const size_t scheme_end = value.find("://");
  if (scheme_end == std::string::npos) return value;
  const size_t authority = scheme_end + 3;
  const size_t path = value.find_first_of("/?#", authority);
  const size_t at = value.rfind('@', path == std::string::npos ? value.size() : path);
  if (at == std::string::npos || at < authority) return value;
  const size_t colon = value.find(':', authority);
  if (colon == std::string::npos || colon > at) {
    // No password: the user part alone may be a token.
    return absl::StrCat(value.substr(0, authority), "***", value.substr(at));
  }
  return absl::StrCat(value.substr(0, colon + 1), "***", value.substr(at));
}

}  // namespace xtcp
