#pragma once
// Record metadata that comes from configuration and the host, stamped on every record.

#include <string>

#include "absl/status/statusor.h"
#include "record/flat_record.h"

namespace xtcp::pipeline {

// What the record stamps are made of (main fills it from -label, -tag, -location, -hostname).
struct StampOptions {
  std::string daemon_version;  // VersionString() of the build
  std::string hostname;        // "" = gethostname()
  std::string location;
  std::string label;
  std::string tag;
};

// Owns the strings that RecordMeta borrows; must outlive every record stamped from it.
struct Stamps {
  std::string daemon_version;
  std::string hostname;
  std::string location;
  std::string label;
  std::string tag;
  // gethostname() returned bytes that are not UTF-8; `hostname` holds them repaired (U+FFFD).
  bool hostname_repaired = false;

  // From the options; hostname falls back to gethostname() (never the HOSTNAME variable).
  static absl::StatusOr<Stamps> Create(const StampOptions& o);

  // schema_version, daemon_version, hostname, location, label, tag.
  void Apply(record::RecordMeta* meta) const;
};

}  // namespace xtcp::pipeline
