#pragma once
// Record metadata that comes from configuration and the host, stamped on every record.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "enrich/lldp.h"
#include "enrich/nic.h"
#include "record/flat_record.h"

namespace xtcp::pipeline {

// What the record stamps are made of (main fills it from -label, -tag, -location, -hostname).
struct StampOptions {
  std::string daemon_version;  // VersionString() of the build
  std::string hostname;        // "" = gethostname()
  std::string location;
  std::string label;
  std::string tag;
  bool enrich_nic = false;   // -enrichNic: describe the uplinks (enrich/nic.h)
  bool enrich_lldp = false;  // -enrichLldp: their LLDP neighbours (enrich/lldp.h)
  std::string lldpd_socket = "/run/lldpd.socket";
  enrich::UplinkOptions uplinks;
};

// Owns the strings that RecordMeta borrows; must outlive every record stamped from it.
struct Stamps {
  std::string daemon_version;
  std::string hostname;
  std::string location;
  std::string label;
  std::string tag;
  // -enrichNic: the uplinks described in uplink1_* / uplink2_*, and where they were chosen from.
  // With only -enrichLldp a NicInfo holds just the interface name.
  std::vector<enrich::NicInfo> uplinks;
  std::vector<enrich::LldpNeighbor> neighbors;  // parallel to `uplinks` (-enrichLldp)
  std::string uplinks_from;
  absl::Status lldp_status;  // -enrichLldp: why there are no neighbours (lldpd unreachable...)
  // gethostname() returned bytes that are not UTF-8; `hostname` holds them repaired (U+FFFD).
  bool hostname_repaired = false;

  // From the options; hostname falls back to gethostname() (never the HOSTNAME variable).
  static absl::StatusOr<Stamps> Create(const StampOptions& o);

  // schema_version, daemon_version, hostname, location, label, tag, the uplink columns.
  void Apply(record::RecordMeta* meta) const;
};

}  // namespace xtcp::pipeline
