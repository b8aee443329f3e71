#include "main/output_setup.h"

#include <cstdio>
#include <string>
#include <utility>

#include "main/options.h"
#include "sink/schema_registry.h"

namespace xtcp::main {

absl::StatusOr<std::unique_ptr<pipeline::OutputStage>> MakeOutputStage(
    const config::Config& cfg, Metrics* metrics, pipeline::OutputOptions base) {
  auto marshaller = CreateMarshaller({cfg.marshal, cfg.csv_columns});
  if (!marshaller.ok()) return marshaller.status();
  SinkOptions sink_opts;
  sink_opts.dest = cfg.dest;
  sink_opts.content_type = std::string((*marshaller)->content_type());
  sink_opts.topic = cfg.topic;
  sink_opts.kafka_compression = cfg.kafka_compression;
  sink_opts.produce_timeout = cfg.produce_timeout;
  sink_opts.metrics = metrics;
  auto sink = CreateSink(sink_opts);
  if (!sink.ok()) return sink.status();
  // Informational and never fatal (as upstream); bounded, so it cannot hold start-up for long.
  // -kafkaSchemaUrl off: no registry (ours; upstream always tries).
  if ((*sink)->scheme() == "kafka" && cfg.kafka_schema_url != "off")
    sink::RegisterSchemaAtStartup(SchemaRegistryOptionsFrom(cfg, metrics));
  pipeline::OutputOptions opts = std::move(base);
  opts.envelope_reserve = cfg.EffectiveFlushBytes() + 4096;
  return std::make_unique<pipeline::OutputStage>(std::move(*marshaller), std::move(*sink), metrics,
                                                 opts);
}

int ReportStartupError(const absl::Status& s, int otherwise) {
  std::fprintf(stderr, "xtcp2: %s\n", std::string(s.message()).c_str());
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) ? 2 : otherwise;
}

}  // namespace xtcp::main
