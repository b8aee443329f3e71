#pragma once
// The output side every mode that writes records builds the same way: -marshal, -dest and the
// output stage in front of them; plus how main reports a startup error.

#include <memory>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "config/config.h"
#include "pipeline/output.h"

namespace xtcp::main {

// The marshaller of -marshal/-columns and the sink of -dest behind an output stage (not started).
// Bad flag values are InvalidArgument; `metrics` must outlive the stage.
// `base` carries the mode's choices (block_when_full, on_sink_closed); sizes come from `cfg`.
// With -dest kafka: it first registers the record schema (-kafkaSchemaUrl, -xtcpProtoFile): at
// most SchemaRegistryOptions::budget (3 s), a warning when that fails, never an error.
absl::StatusOr<std::unique_ptr<pipeline::OutputStage>> MakeOutputStage(
    const config::Config& cfg, Metrics* metrics, pipeline::OutputOptions base = {});

// Exit status of a run (daemon or replay) that lost rows on the way to the sink
// (docs/operations.md).
inline constexpr int kExitRowsLost = 3;

// Prints "xtcp2: <message>" on stderr and returns the exit code: 2 for bad input
// (InvalidArgument, NotFound), `otherwise` for anything else.
int ReportStartupError(const absl::Status& s, int otherwise = 1);

}  // namespace xtcp::main
