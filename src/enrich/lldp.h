#pragma once
// LLDP neighbours of the uplinks, from the local lldpd through its own client library
// (liblldpctl), which speaks every lldpd version's control protocol (-enrichLldp, -lldpdSocket).

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace xtcp::enrich {

struct LldpNeighbor {
  std::string chassis_name;
  std::string chassis_id;
  std::string mgmt_ip;  // the first management address
  std::string port_id;
  std::string port_descr;
};

// The first neighbour seen on each local interface, by interface name. An error when lldpd's
// control socket cannot be reached or answers with an error.
absl::StatusOr<std::map<std::string, LldpNeighbor>> FetchLldpNeighbors(
    const std::string& socket_path);

}  // namespace xtcp::enrich
