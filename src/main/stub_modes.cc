// Modes that later issues fill in.
#include <cstdio>

#include "main/modes.h"

namespace xtcp::main {

int RunHealthcheck(const config::Config&) {
  std::fprintf(stderr, "xtcp2: -healthcheck is not built yet\n");
  return 1;
}

}  // namespace xtcp::main
