#pragma once
// The daemon's Config, as the options of src/pipeline (which never sees Config).

#include "absl/status/statusor.h"
#include "config/config.h"
#include "pipeline/engine.h"
#include "pipeline/replay.h"
#include "pipeline/stamp.h"

namespace xtcp::main {

pipeline::EngineOptions EngineOptionsFromConfig(const config::Config& cfg);

// -replay's decoding options.
pipeline::ReplayOptions ReplayOptionsFromConfig(const config::Config& cfg);

// What every record is stamped with; hostname falls back to gethostname().
absl::StatusOr<pipeline::Stamps> StampsFromConfig(const config::Config& cfg);

}  // namespace xtcp::main
