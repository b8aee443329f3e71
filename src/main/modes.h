#pragma once
// The daemon's modes; each returns the process exit code (reference §12.2, plus 2 for bad input).

#include <string>

#include "config/config.h"

namespace xtcp::main {

// `cmdline` is what /debug/pprof/cmdline serves: the command line with secrets masked
// (config::MaskedCommandLine).
int RunDaemon(const config::Config& cfg, const std::string& cmdline);
int RunReplay(const config::Config& cfg);
int RunDecode(const config::Config& cfg);
int RunHealthcheck(const config::Config& cfg);

}  // namespace xtcp::main
