// -healthcheck: probe the running daemon's /readyz (reference §12.4). Exit 0 when it answers 200,
// 1 otherwise. The daemon is not started and no capability is needed.
#include "main/modes.h"
#include "observe/healthcheck.h"

namespace xtcp::main {

int RunHealthcheck(const config::Config& cfg) {
  return observe::ProbeReadyz(observe::ResolveHealthcheckTarget(cfg.prom_listen));
}

}  // namespace xtcp::main
