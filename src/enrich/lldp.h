#pragma once
// LLDP neighbours of the uplinks, from the local lldpd through its own client library
// (liblldpctl), which speaks every lldpd version's control protocol (-enrichLldp, -lldpdSocket).

#include <map>
#include <string>

#include "absl/status/statusor.h"

struct lldpctl_conn_t;  // <lldpctl.h>

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

// One liblldpctl connection kept for the daemon's life: the first Fetch() connects (lldpd's
// socket is _lldpd:_lldpd 0770, so that is done before the privilege drop) and later ones reuse
// the descriptor. An lldpd restarted since cannot be reached again without the privileges.
// Thread-compatible (one user at a time).
class LldpClient {
 public:
  explicit LldpClient(std::string socket_path);
  ~LldpClient();
  LldpClient(const LldpClient&) = delete;
  LldpClient& operator=(const LldpClient&) = delete;
  absl::StatusOr<std::map<std::string, LldpNeighbor>> Fetch();

 private:
  const std::string path_;
  ::lldpctl_conn_t* conn_ = nullptr;
};

}  // namespace xtcp::enrich
