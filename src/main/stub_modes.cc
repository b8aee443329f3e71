// Modes that later issues fill in.
#include <cstdio>
#include <string>

#include "main/modes.h"
#include "observe/capabilities.h"

namespace xtcp::main {

int RunDaemon(const config::Config&) {
  // Daemon mode starts with the capability check (reference §9.5); the engine keeps this call.
  if (absl::Status caps = observe::CheckCapabilities(); !caps.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(caps.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "xtcp2: the collection engine is not built yet; use -replay\n");
  return 1;
}

int RunDecode(const config::Config&) {
  std::fprintf(stderr, "xtcp2: -decode is not built yet\n");
  return 1;
}

}  // namespace xtcp::main
