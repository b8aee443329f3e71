#pragma once
// The daemon's Config, as the collection engine's options (the engine never sees Config).

#include "config/config.h"
#include "pipeline/engine.h"

namespace xtcp::main {

pipeline::EngineOptions EngineOptionsFromConfig(const config::Config& cfg);

}  // namespace xtcp::main
