#include "pipeline/stamp.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "config/config.h"

namespace xtcp::pipeline {

absl::StatusOr<Stamps> Stamps::FromConfig(const config::Config& c) {
  Stamps s;
  s.daemon_version = c.daemon_version;
  s.location = c.location;
  s.label = c.label;
  s.tag = c.tag;
  s.hostname = c.hostname;
  if (s.hostname.empty()) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) {
      return absl::InternalError(absl::StrCat("gethostname: ", std::strerror(errno)));
    }
    s.hostname = buf;
  }
  return s;
}

void Stamps::Apply(record::RecordMeta* meta) const {
  meta->schema_version = record::kSchemaVersion;
  meta->daemon_version = daemon_version;
  meta->hostname = hostname;
  meta->location = location;
  meta->label = label;
  meta->tag = tag;
}

}  // namespace xtcp::pipeline
