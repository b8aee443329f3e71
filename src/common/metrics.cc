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
  counts_ =
      &prometheus::BuildCounter().Name("xtcp_counts").Help("xtcp counts").Register(*registry_);
  summaries_ = &prometheus::BuildSummary()
                    .Name("xtcp_histograms")
                    .Help("xtcp historgrams")
                    .Register(*registry_);
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
  return counts_->Add(Triple(f, v, t));
}

prometheus::Summary& Metrics::Summary(std::string_view f, std::string_view v, std::string_view t) {
  return summaries_->Add(Triple(f, v, t),
                         prometheus::Summary::Quantiles{{0.1, 0.05}, {0.5, 0.05}, {0.99, 0.05}},
                         std::chrono::minutes(5));
}

prometheus::Gauge& Metrics::Gauge(std::string_view f, std::string_view v, std::string_view t) {
  return gauges_->Add(Triple(f, v, t));
}

double Metrics::CountValue(std::string_view f, std::string_view v, std::string_view t) {
  const auto labels = Triple(f, v, t);
  if (!counts_->Has(labels)) return 0;
  return counts_->Add(labels).Value();
}

}  // namespace xtcp
