#pragma once
// Metrics: the Prometheus families of xtcp2 on one prometheus-cpp registry.
//
//   xtcp_counts{function,variable,type}      counter   (upstream family, label triples of §9.3)
//   xtcp_histograms{function,variable,type}  summary   (upstream family; seconds, q 0.1/0.5/0.99)
//   xtcp_gauge                               gauge     (upstream: namespaces currently tracked)
//   xtcp_gauges{function,variable,type}      gauge     (ours: threads, fds, queue depths, …)
//   xtcp_config_grpc_counts / _histograms    the gRPC ConfigService's (upstream's subsystem)
//   xtcp_record_grpc_counts / _histograms    the gRPC XTCPFlatRecordService's
//
// Thread-safe. Look-ups take a mutex: resolve a metric once and keep the reference (references
// stay valid for the life of the Metrics object). Hot paths add per-datagram deltas, not
// per-socket.

#include <memory>
#include <string_view>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "prometheus/summary.h"

namespace xtcp {

class Metrics {
 public:
  // Which counts/histograms family: upstream keeps the gRPC services' triples in their own.
  enum class Subsystem { kCore, kConfigGrpc, kRecordGrpc };

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  prometheus::Counter& Count(std::string_view function, std::string_view variable,
                             std::string_view type);
  prometheus::Summary& Summary(std::string_view function, std::string_view variable,
                               std::string_view type);
  prometheus::Counter& Count(Subsystem s, std::string_view function, std::string_view variable,
                             std::string_view type);
  prometheus::Summary& Summary(Subsystem s, std::string_view function, std::string_view variable,
                               std::string_view type);
  prometheus::Gauge& Gauge(std::string_view function, std::string_view variable,
                           std::string_view type);
  prometheus::Gauge& NamespaceGauge() { return *namespace_gauge_; }

  // Current value of a counter (0 if it was never created); for tests and logs.
  double CountValue(std::string_view function, std::string_view variable, std::string_view type);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* counts_[3];
  prometheus::Family<prometheus::Summary>* summaries_[3];
  prometheus::Family<prometheus::Gauge>* gauges_;
  prometheus::Gauge* namespace_gauge_;
};

}  // namespace xtcp
