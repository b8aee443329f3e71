#include <string>

#include "common/log.h"
#include "common/metrics.h"
#include "main/modes.h"
#include "main/options.h"
#include "main/output_setup.h"
#include "pipeline/output.h"
#include "pipeline/replay.h"

namespace xtcp::main {

int RunReplay(const config::Config& cfg) {
  Metrics metrics;
  // No poll cadence to protect: a slow sink slows the replay down instead of losing rows.
  auto stage = MakeOutputStage(cfg, &metrics, {.block_when_full = true});
  if (!stage.ok()) return ReportStartupError(stage.status());
  pipeline::OutputStage& output = **stage;
  auto stamps = pipeline::Stamps::Create(StampOptionsFrom(cfg));
  if (!stamps.ok()) return ReportStartupError(stamps.status());
  pipeline::EnvelopeBatcher batcher(cfg.EffectiveFlushRows(), cfg.EffectiveFlushBytes(), &output);
  output.Start();
  auto stats = pipeline::Replay(cfg.replay, ReplayOptionsFrom(cfg), *stamps, &batcher, &metrics);
  const absl::Status stopped = output.Stop(cfg.shutdown_timeout);
  if (!stats.ok()) return ReportStartupError(stats.status());
  XTCP_LOG(kInfo, "replay: %d files, %d datagrams, %d records, %d decode problems, %d rows lost",
           stats->files, stats->datagrams, stats->records, stats->problems.Total(),
           output.rows_lost());
  if (!stopped.ok()) {
    XTCP_LOG(kError, "replay: output did not drain: %s", std::string(stopped.message()));
    return 1;
  }
  return output.rows_lost() == 0 ? 0 : kExitRowsLost;
}

}  // namespace xtcp::main
