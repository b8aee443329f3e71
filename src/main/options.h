#pragma once
// Config -> the small options structs of the layers below (they never see config::Config), and
// the vocabulary main hands the flag parser from the decode/marshal/sink registries.

#include "config/config.h"
#include "observe/startup_summary.h"
#include "pipeline/replay.h"
#include "pipeline/stamp.h"

namespace xtcp::main {

// Deserializer keys (and what "default" means), -marshal names and -dest schemes as built.
config::Vocabulary BuiltinVocabulary();

pipeline::StampOptions StampOptionsFrom(const config::Config& cfg);
pipeline::ReplayOptions ReplayOptionsFrom(const config::Config& cfg);
observe::StartupSummaryOptions SummaryOptionsFrom(const config::Config& cfg);

}  // namespace xtcp::main
