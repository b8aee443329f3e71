#pragma once
// ProcessCollector: process-level Prometheus families computed at scrape time, named as the
// Prometheus client libraries name them so stock dashboards work:
//
//   process_cpu_seconds_total        counter  user+system CPU (getrusage)
//   process_resident_memory_bytes    gauge    RSS (/proc/self/statm)
//   process_virtual_memory_bytes     gauge    VSZ (/proc/self/statm)
//   process_open_fds                 gauge    entries of /proc/self/fd
//   process_max_fds                  gauge    RLIMIT_NOFILE soft limit
//   process_start_time_seconds       gauge    Unix time the process started (/proc/self/stat)
//   process_threads                  gauge    threads of the process (/proc/self/stat)
//   xtcp2_build_info{version}        gauge    1
//   xtcp2_tcmalloc_bytes{property}   gauge    tcmalloc numeric properties (gperftools builds only)
//
// Collect() is thread-safe (reads the kernel each time; no state).

#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace xtcp::observe {

class ProcessCollector : public prometheus::Collectable {
 public:
  explicit ProcessCollector(std::string version) : version_(std::move(version)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string version_;
};

}  // namespace xtcp::observe
