#include "common/metrics.h"

#include <chrono>
#include <string>

namespace xtcp {
namespace {
prometheus::Labels Triple(std::string_view f, std::string_view v, std::string_view t) {
  return {{"function", std::string(f)}, {"variable", std::string(v)}, {"type", std::string(t)}};
}
}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  static constexpr const char* kPrefix[] = {"xtcp", "xtcp_config_grpc", "xtcp_record_grpc"};
  for (size_t i = 0; i < 3; ++i) {
    const std::string prefix = kPrefix[i];
    counts_[i] = &prometheus::BuildCounter()
                      .Name(prefix + "_counts")
                      .Help(i == 0 ? "xtcp counts" : prefix + " counts")
                      .Register(*registry_);
    summaries_[i] = &prometheus::BuildSummary()
                         .Name(prefix + "_histograms")
                         .Help(i == 0 ? "xtcp historgrams" : prefix + " histograms")
                         .Register(*registry_);
  }
  namespace_gauge_ = &prometheus::BuildGauge()
                          .Name("xtcp_gauge")
                          .Help("xtcp network namespace gauge")
                          .Register(*registry_)
                          .Add({});
  gauges_ = &prometheus::BuildGauge()
                 .Name("xtcp_gauges")
                 .Help("xtcp2 gauges: threads, file descriptors, queue depths")
                 .Register(*registry_);
}

prometheus::Counter& Metrics::Count(std::string_view f, std::string_view v, std::string_view t) {
  return Count(Subsystem::kCore, f, v, t);
}

prometheus::Summary& Metrics::Summary(std::string_view f, std::string_view v, std::string_view t) {
  return Summary(Subsystem::kCore, f, v, t);
}

prometheus::Counter& Metrics::Count(Subsystem s, std::string_view f, std::string_view v,
                                    std::string_view t) {
  return counts_[static_cast<size_t>(s)]->Add(Triple(f, v, t));
}

prometheus::Summary& Metrics::Summary(Subsystem s, std::string_view f, std::string_view v,
                                      std::string_view t) {
  return summaries_[static_cast<size_t>(s)]->Add(
      Triple(f, v, t), prometheus::Summary::Quantiles{{0.1, 0.05}, {0.5, 0.05}, {0.99, 0.05}},
      std::chrono::minutes(5));
}

prometheus::Gauge& Metrics::Gauge(std::string_view f, std::string_view v, std::string_view t) {
  return gauges_->Add(Triple(f, v, t));
}

double Metrics::CountValue(std::string_view f, std::string_view v, std::string_view t) {
  const auto labels = Triple(f, v, t);
  if (!counts_[0]->Has(labels)) return 0;
  return counts_[0]->Add(labels).Value();
}

}  // namespace xtcp
