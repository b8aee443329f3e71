// Modes that later issues fill in.
#include <cstdio>
#include <string>

#include "main/modes.h"
#include "observe/capabilities.h"
#include "observe/profiling.h"

namespace xtcp::main {

int RunDaemon(const config::Config&) {
  // Daemon mode starts here, in this order (the engine keeps both calls): turn on tcmalloc heap
  // sampling (may re-execute the binary once, so nothing may precede it), then the capability
  // check (reference §9.5).
  observe::EnsureHeapSampling();
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
