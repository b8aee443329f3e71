#include <string>

#include "common/log.h"
#include "common/metrics.h"
#include "main/modes.h"
#include "pipeline/output.h"
#include "pipeline/replay.h"

namespace xtcp::main {

int RunReplay(const config::Config& cfg) {
  Metrics metrics;
  auto marshaller = CreateMarshaller({cfg.marshal, cfg.csv_columns});
  if (!marshaller.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(marshaller.status().message()).c_str());
    return 2;
  }
  SinkOptions sink_opts;
  sink_opts.dest = cfg.dest;
  sink_opts.content_type = std::string((*marshaller)->content_type());
  sink_opts.topic = cfg.topic;
  sink_opts.kafka_compression = cfg.kafka_compression;
  sink_opts.produce_timeout = cfg.produce_timeout;
  sink_opts.metrics = &metrics;
  auto sink = CreateSink(sink_opts);
  if (!sink.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(sink.status().message()).c_str());
    return 2;
  }
  auto stamps = pipeline::Stamps::FromConfig(cfg);
  if (!stamps.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(stamps.status().message()).c_str());
    return 1;
  }
  pipeline::OutputOptions output_opts;
  output_opts.envelope_reserve = cfg.EffectiveFlushBytes() + 4096;
  pipeline::OutputStage output(std::move(*marshaller), std::move(*sink), &metrics, output_opts);
  pipeline::EnvelopeBatcher batcher(cfg.EffectiveFlushRows(), cfg.EffectiveFlushBytes(), &output);
  output.Start();
  auto stats = pipeline::Replay(cfg.replay, cfg, *stamps, &batcher, &metrics);
  const absl::Status stopped = output.Stop(cfg.shutdown_timeout);
  if (!stats.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(stats.status().message()).c_str());
    return stats.status().code() == absl::StatusCode::kNotFound ||
                   stats.status().code() == absl::StatusCode::kInvalidArgument
               ? 2
               : 1;
  }
  XTCP_LOG(kInfo, "replay: %d files, %d datagrams, %d records, %d decode problems, %d rows lost",
           stats->files, stats->datagrams, stats->records, stats->problems.Total(),
           output.rows_lost());
  if (!stopped.ok()) {
    XTCP_LOG(kError, "replay: output did not drain: %s", std::string(stopped.message()));
    return 1;
  }
  return output.rows_lost() == 0 ? 0 : 1;
}

}  // namespace xtcp::main
