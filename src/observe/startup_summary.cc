#include "observe/startup_summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace xtcp::observe {

std::string StartupSummary(const StartupSummaryOptions& o, size_t namespaces_found) {
  // The version is "xtcp commit:<c>\tdate(UTC):<d>\tversion:<v>"; keep it on one line.
  std::string version = o.version.empty() ? "version:unknown" : o.version;
  version = absl::StrReplaceAll(version, {{"xtcp ", ""}, {"\t", " "}, {"date(UTC):", "date:"}});
  return absl::StrCat("xtcp2 starting: ", version, " dest=", o.dest, " marshal=", o.marshal,
                      " namespaces=", namespaces_found,
                      " families=", absl::StrJoin(o.families, ","), " frequency=", o.frequency,
                      " timeout=", o.timeout,
                      " deserializers=", o.deserializers.empty() ? "\"\"" : o.deserializers,
                      " promListen=", o.prom_listen);
}

}  // namespace xtcp::observe
