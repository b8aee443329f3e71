#include "observe/startup_summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace xtcp::observe {

std::string RedactDestination(const std::string& dest) {
  const size_t scheme_end = dest.find("://");
  if (scheme_end == std::string::npos) return dest;
  const size_t authority = scheme_end + 3;
  const size_t path = dest.find('/', authority);
  const size_t at = dest.rfind('@', path == std::string::npos ? dest.size() : path);
  if (at == std::string::npos || at < authority) return dest;
  const size_t colon = dest.find(':', authority);
  if (colon == std::string::npos || colon > at) return dest;
  return absl::StrCat(dest.substr(0, colon + 1), "***", dest.substr(at));
}

std::string StartupSummary(const config::Config& cfg, size_t namespaces_found) {
  // VersionString() is "xtcp commit:<c>\tdate(UTC):<d>\tversion:<v>"; keep it on one line.
  std::string version = cfg.daemon_version.empty() ? config::VersionString() : cfg.daemon_version;
  version = absl::StrReplaceAll(version, {{"xtcp ", ""}, {"\t", " "}, {"date(UTC):", "date:"}});
  return absl::StrCat(
      "xtcp2 starting: ", version, " dest=", RedactDestination(cfg.dest), " marshal=", cfg.marshal,
      " namespaces=", namespaces_found, " families=", absl::StrJoin(cfg.families, ","),
      " frequency=", config::FormatGoDuration(cfg.poll_frequency),
      " timeout=", config::FormatGoDuration(cfg.poll_timeout),
      " deserializers=", cfg.deserializers_spec.empty() ? "\"\"" : cfg.deserializers_spec,
      " promListen=", cfg.prom_listen);
}

}  // namespace xtcp::observe
