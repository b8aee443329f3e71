#include "observe/exposition.h"

#include <charconv>
#include <cmath>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace xtcp::observe {
namespace {

constexpr absl::string_view kOpenMetricsType = "application/openmetrics-text";

// One media range of an Accept header, lower-cased: "type/subtype", its version parameter (empty
// when absent) and its q (1 when absent; nullopt when the range is malformed).
struct MediaRange {
  std::string type;
  std::string version;
  double q = 1;
};

std::optional<MediaRange> ParseRange(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ';');
  MediaRange r;
  r.type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[0]));
  if (r.type.find('/') == std::string::npos) return std::nullopt;
  for (size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view p = absl::StripAsciiWhitespace(parts[i]);
    const size_t eq = p.find('=');
    if (eq == absl::string_view::npos) continue;
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(p.substr(0, eq)));
    absl::string_view value = absl::StripAsciiWhitespace(p.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (name == "q") {
      if (!absl::SimpleAtod(value, &r.q) || !(r.q >= 0 && r.q <= 1)) return std::nullopt;
    } else if (name == "version") {
      r.version = std::string(value);
    }
  }
  return r;
}

void AppendDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, res.ptr);
  }
}

// Escapes \, newline and " (label values and HELP text share OpenMetrics' escaping).
void AppendEscaped(std::string* out, absl::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// name{labels[,extra_name="extra_value"]} value[ timestamp]\n
void AppendSample(std::string* out, absl::string_view name, absl::string_view suffix,
                  const prometheus::ClientMetric& m, double value,
                  absl::string_view extra_name = {}, std::optional<double> extra_value = {}) {
  absl::StrAppend(out, name, suffix);
  if (!m.label.empty() || !extra_name.empty()) {
    out->push_back('{');
    bool first = true;
    for (const auto& l : m.label) {
      if (!first) out->push_back(',');
      first = false;
      out->append(l.name);
      out->append("=\"");
      AppendEscaped(out, l.value);
      out->push_back('"');
    }
    if (!extra_name.empty()) {
      if (!first) out->push_back(',');
      absl::StrAppend(out, extra_name, "=\"");
      AppendDouble(out, *extra_value);
      out->push_back('"');
    }
    out->push_back('}');
  }
  out->push_back(' ');
  AppendDouble(out, value);
  if (m.timestamp_ms != 0) {
    out->push_back(' ');
    AppendDouble(out, static_cast<double>(m.timestamp_ms) / 1000.0);
  }
  out->push_back('\n');
}

absl::string_view TypeName(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Untyped:
      break;
  }
  return "unknown";
}

}  // namespace

Exposition NegotiateExposition(absl::string_view accept) {
  double best_text = 0;
  double best_om = 0;
  Exposition om = Exposition::kOpenMetrics100;
  for (absl::string_view item : absl::StrSplit(accept, ',', absl::SkipWhitespace())) {
    const std::optional<MediaRange> r = ParseRange(item);
    if (!r.has_value()) continue;
    if (r->type == kOpenMetricsType) {
      if (!r->version.empty() && r->version != "1.0.0" && r->version != "0.0.1") continue;
      const Exposition which =
          r->version == "0.0.1" ? Exposition::kOpenMetrics0001 : Exposition::kOpenMetrics100;
      // The better q wins; on a tie 1.0.0 is preferred.
      if (r->q > best_om || (r->q == best_om && which == Exposition::kOpenMetrics100)) {
        best_om = r->q;
        om = which;
      }
    } else if ((r->type == "text/plain" && (r->version.empty() || r->version == "0.0.4")) ||
               r->type == "text/*" || r->type == "*/*") {
      best_text = std::max(best_text, r->q);
    }
  }
  return best_om > 0 && best_om >= best_text ? om : Exposition::kText004;
}

absl::string_view ExpositionContentType(Exposition format) {
  switch (format) {
    case Exposition::kOpenMetrics100:
      return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case Exposition::kOpenMetrics0001:
      return "application/openmetrics-text; version=0.0.1; charset=utf-8";
    case Exposition::kText004:
      break;
  }
  return "text/plain; version=0.0.4; charset=utf-8";
}

std::string SerializeOpenMetrics(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  for (const prometheus::MetricFamily& f : families) {
    absl::string_view name = f.name;
    if (f.type == prometheus::MetricType::Counter && absl::EndsWith(name, "_total")) {
      name.remove_suffix(6);  // the family is named without it; samples carry it
    }
    if (!f.help.empty()) {
      absl::StrAppend(&out, "# HELP ", name, " ");
      AppendEscaped(&out, f.help);
      out.push_back('\n');
    }
    absl::StrAppend(&out, "# TYPE ", name, " ", TypeName(f.type), "\n");
    for (const prometheus::ClientMetric& m : f.metric) {
      switch (f.type) {
        case prometheus::MetricType::Counter:
          AppendSample(&out, name, "_total", m, m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          AppendSample(&out, name, "", m, m.gauge.value);
          break;
        case prometheus::MetricType::Untyped:
          AppendSample(&out, name, "", m, m.untyped.value);
          break;
        case prometheus::MetricType::Summary:
          for (const auto& q : m.summary.quantile) {
            AppendSample(&out, name, "", m, q.value, "quantile", q.quantile);
          }
          AppendSample(&out, name, "_sum", m, m.summary.sample_sum);
          AppendSample(&out, name, "_count", m, static_cast<double>(m.summary.sample_count));
          break;
        case prometheus::MetricType::Histogram: {
          bool have_inf = false;
          for (const auto& b : m.histogram.bucket) {
            have_inf = have_inf || std::isinf(b.upper_bound);
            AppendSample(&out, name, "_bucket", m, static_cast<double>(b.cumulative_count), "le",
                         b.upper_bound);
          }
          if (!have_inf) {  // OpenMetrics requires the +Inf bucket
            AppendSample(&out, name, "_bucket", m, static_cast<double>(m.histogram.sample_count),
                         "le", HUGE_VAL);
          }
          AppendSample(&out, name, "_sum", m, m.histogram.sample_sum);
          AppendSample(&out, name, "_count", m, static_cast<double>(m.histogram.sample_count));
          break;
        }
      }
    }
  }
  out.append("# EOF\n");
  return out;
}

}  // namespace xtcp::observe
