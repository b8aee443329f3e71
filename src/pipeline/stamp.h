#pragma once
// Record metadata that comes from configuration and the host, stamped on every record.

#include <string>

#include "absl/status/statusor.h"
#include "record/flat_record.h"

namespace xtcp::pipeline {

// Owns the strings that RecordMeta borrows; must outlive every record stamped from it.
struct Stamps {
  std::string daemon_version;
  std::string hostname;
  std::string location;
  std::string label;
  std::string tag;

  // `s` with an empty hostname filled from gethostname() (never the HOSTNAME variable).
  static absl::StatusOr<Stamps> WithHostname(Stamps s);

  // schema_version, daemon_version, hostname, location, label, tag.
  void Apply(record::RecordMeta* meta) const;
};

}  // namespace xtcp::pipeline
