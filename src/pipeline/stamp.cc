#include "pipeline/stamp.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace xtcp::pipeline {

absl::StatusOr<Stamps> Stamps::Create(const StampOptions& o) {
  Stamps s;
  s.daemon_version = o.daemon_version;
  s.location = o.location;
  s.label = o.label;
  s.tag = o.tag;
  s.hostname = o.hostname;
  if (s.hostname.empty()) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) {
      return absl::InternalError(absl::StrCat("gethostname: ", std::strerror(errno)));
    }
    s.hostname = buf;
    // The kernel's hostname is any bytes; a record string must be UTF-8 (flags are checked by
    // the parser, this one is repaired rather than refused).
    s.hostname_repaired = MakeValidUtf8(&s.hostname) != 0;
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
