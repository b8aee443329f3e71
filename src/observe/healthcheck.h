#pragma once
// -healthcheck (reference §12.4): probe the local daemon's /readyz and turn the answer into an exit
// code, for container HEALTHCHECKs and scripts. Never starts the daemon.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xtcp::observe {

inline constexpr uint16_t kDefaultHealthcheckPort = 9088;
inline constexpr absl::Duration kHealthcheckTimeout = absl::Seconds(3);

struct HealthcheckTarget {
  std::string host;  // IP literal, no brackets
  uint16_t port = kDefaultHealthcheckPort;
};

// Where to probe for a -promListen value (flag, else PROM_LISTEN, else ":9088" — the Config
// already applied that precedence):
//   port  the port part; unparsable or 0 -> 9088 (as upstream)
//   host  127.0.0.1 for "", 0.0.0.0 and [::] (as upstream); ::1 is never guessed; a specific IP
//         literal the daemon was told to listen on is probed there (upstream would probe
//         127.0.0.1 and fail); host names -> 127.0.0.1.
HealthcheckTarget ResolveHealthcheckTarget(absl::string_view prom_listen);

// GET http://<target>/readyz with `timeout`; 0 on 200, 1 otherwise (the reason logged to stderr).
int ProbeReadyz(const HealthcheckTarget& target, absl::Duration timeout = kHealthcheckTimeout);

}  // namespace xtcp::observe
