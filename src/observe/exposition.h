#pragma once
// Exposition formats of GET <prom_path>: which one a scraper asked for, and the OpenMetrics text
// serializer (prometheus-cpp only writes the Prometheus text format 0.0.4).
//
// Upstream serves through Go's promhttp with EnableOpenMetrics, so a default Prometheus (which
// prefers OpenMetrics in its Accept header) stores the counter family xtcp_counts as the series
// xtcp_counts_total. Serving the same format keeps stored series names, recording rules and
// dashboards interchangeable between the two daemons. Without an Accept header asking for it the
// reply stays text 0.0.4 (curl, promtool, older scrapers).
//
// OpenMetrics 1.0 as written here:
//   # HELP <family> <help, \\ \n \" escaped>
//   # TYPE <family> counter|gauge|summary|histogram|unknown
//   counter     <family>_total{labels} value    (family name without a trailing _total)
//   gauge       <family>{labels} value
//   summary     <family>{labels,quantile="q"} v, <family>_sum, <family>_count
//   histogram   <family>_bucket{labels,le="b"} n ... le="+Inf", <family>_sum, <family>_count
//   unknown     <family>{labels} value            (prometheus-cpp's Untyped)
//   # EOF
// Values use the shortest text that reads back to the same double; NaN, +Inf, -Inf spelled so.
// A timestamp (prometheus-cpp keeps milliseconds) is written in seconds, as OpenMetrics wants.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/metric_family.h"

namespace xtcp::observe {

enum class Exposition {
  kText004,          // text/plain; version=0.0.4
  kOpenMetrics100,   // application/openmetrics-text; version=1.0.0
  kOpenMetrics0001,  // application/openmetrics-text; version=0.0.1 (same text, older name)
};

// The format for a request's Accept header (several Accept lines joined by ","; "" when absent).
// OpenMetrics wins when a media range names application/openmetrics-text (version 1.0.0, 0.0.1 or
// none) with a q above 0 and at least as high as the best range text 0.0.4 matches (text/plain
// with version 0.0.4 or none, text/*, */*). Anything else, malformed parts included, is text.
Exposition NegotiateExposition(absl::string_view accept);

// The Content-Type header value of a reply in `format`.
absl::string_view ExpositionContentType(Exposition format);

// `families` in OpenMetrics text, ending with "# EOF\n".
std::string SerializeOpenMetrics(const std::vector<prometheus::MetricFamily>& families);

}  // namespace xtcp::observe
