// Exposition negotiation (Accept header -> format) and the OpenMetrics serializer, on families
// built by hand so every line of the output is known; plus the server answering both formats.
#include "observe/exposition.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observe/test_server.h"

namespace xtcp::observe {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

// What Prometheus 2.x sends by default (scrape/scrape.go's scrapeAcceptHeader).
constexpr char kPrometheusAccept[] =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

TEST(NegotiateExposition, DefaultPrometheusGetsOpenMetrics) {
  EXPECT_EQ(NegotiateExposition(kPrometheusAccept), Exposition::kOpenMetrics100);
  EXPECT_EQ(NegotiateExposition("application/openmetrics-text"), Exposition::kOpenMetrics100);
  EXPECT_EQ(NegotiateExposition("Application/OpenMetrics-Text; Version=\"1.0.0\""),
            Exposition::kOpenMetrics100);
}

TEST(NegotiateExposition, OlderOpenMetricsVersionIsNamedInTheReply) {
  EXPECT_EQ(NegotiateExposition("application/openmetrics-text;version=0.0.1"),
            Exposition::kOpenMetrics0001);
  EXPECT_EQ(NegotiateExposition("application/openmetrics-text;version=0.0.1;q=0.9,"
                                "application/openmetrics-text;version=1.0.0;q=0.9"),
            Exposition::kOpenMetrics100);
}

TEST(NegotiateExposition, EverythingElseIsText) {
  for (const char* accept :
       {"", "*/*", "text/plain", "text/plain;version=0.0.4", "application/json", "garbage",
        "application/openmetrics-text;version=2.0.0", "application/openmetrics-text;q=0",
        "application/openmetrics-text;q=bad", "application/openmetrics-text;q=0.4,text/plain",
        "text/*;q=0.8,application/openmetrics-text;q=0.5"}) {
    EXPECT_EQ(NegotiateExposition(accept), Exposition::kText004) << accept;
  }
}

TEST(NegotiateExposition, ContentTypes) {
  EXPECT_EQ(ExpositionContentType(Exposition::kOpenMetrics100),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(ExpositionContentType(Exposition::kOpenMetrics0001),
            "application/openmetrics-text; version=0.0.1; charset=utf-8");
  EXPECT_EQ(ExpositionContentType(Exposition::kText004),
            "text/plain; version=0.0.4; charset=utf-8");
}

prometheus::ClientMetric Labelled(std::vector<std::pair<std::string, std::string>> labels) {
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({k, v});
  return m;
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                std::vector<prometheus::ClientMetric> metrics) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.metric = std::move(metrics);
  return f;
}

TEST(SerializeOpenMetrics, CountersCarryTotalOnSamplesOnly) {
  auto c = Labelled({{"function", "Poller"}, {"type", "count"}, {"variable", "pollingLoops"}});
  c.counter.value = 3;
  prometheus::ClientMetric cpu;
  cpu.counter.value = 0.25;
  const std::string out = SerializeOpenMetrics(
      {Family("xtcp_counts", "xtcp counts", prometheus::MetricType::Counter, {c}),
       Family("process_cpu_seconds_total", "CPU", prometheus::MetricType::Counter, {cpu})});
  EXPECT_EQ(out,
            "# HELP xtcp_counts xtcp counts\n"
            "# TYPE xtcp_counts counter\n"
            "xtcp_counts_total{function=\"Poller\",type=\"count\",variable=\"pollingLoops\"} 3\n"
            "# HELP process_cpu_seconds CPU\n"
            "# TYPE process_cpu_seconds counter\n"
            "process_cpu_seconds_total 0.25\n"
            "# EOF\n");
}

TEST(SerializeOpenMetrics, SummaryGaugeUnknownAndHistogram) {
  auto s = Labelled({{"function", "Poller"}});
  s.summary.sample_count = 2;
  s.summary.sample_sum = 1.5;
  s.summary.quantile = {{0.1, 0.5}, {0.99, std::nan("")}};
  prometheus::ClientMetric g;
  g.gauge.value = -4;
  g.timestamp_ms = 1500;
  prometheus::ClientMetric u;
  u.untyped.value = 1e21;
  prometheus::ClientMetric h;
  h.histogram.sample_count = 3;
  h.histogram.sample_sum = 7;
  h.histogram.bucket = {{1, 0.5}, {2, 1}};  // no +Inf bucket given: one is added
  const std::string out =
      SerializeOpenMetrics({Family("lat", "", prometheus::MetricType::Summary, {s}),
                            Family("g", "", prometheus::MetricType::Gauge, {g}),
                            Family("u", "", prometheus::MetricType::Untyped, {u}),
                            Family("h", "", prometheus::MetricType::Histogram, {h})});
  EXPECT_EQ(out,
            "# TYPE lat summary\n"
            "lat{function=\"Poller\",quantile=\"0.1\"} 0.5\n"
            "lat{function=\"Poller\",quantile=\"0.99\"} NaN\n"
            "lat_sum{function=\"Poller\"} 1.5\n"
            "lat_count{function=\"Poller\"} 2\n"
            "# TYPE g gauge\n"
            "g -4 1.5\n"
            "# TYPE u unknown\n"
            "u 1e+21\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"0.5\"} 1\n"
            "h_bucket{le=\"1\"} 2\n"
            "h_bucket{le=\"+Inf\"} 3\n"
            "h_sum 7\n"
            "h_count 3\n"
            "# EOF\n");
}

TEST(SerializeOpenMetrics, EscapesHelpAndLabelValues) {
  auto g = Labelled({{"v", "a\\b\"c\nd"}});
  g.gauge.value = HUGE_VAL;
  const std::string out =
      SerializeOpenMetrics({Family("g", "say \"x\"\\\nnext", prometheus::MetricType::Gauge, {g})});
  EXPECT_EQ(out,
            "# HELP g say \\\"x\\\"\\\\\\nnext\n"
            "# TYPE g gauge\n"
            "g{v=\"a\\\\b\\\"c\\nd\"} +Inf\n"
            "# EOF\n");
}

std::string MetricsRequest(const std::string& accept) {
  return absl::StrCat("GET /metrics HTTP/1.1\r\nHost: x\r\n", accept, "\r\n");
}

TEST(HttpServerExposition, AcceptSelectsOpenMetrics) {
  auto ts = xtcp::testing::StartServer();
  ASSERT_NE(ts, nullptr);
  ts->metrics.Count("Poller", "pollingLoops", "count").Increment(3);
  const std::string reply = xtcp::testing::Exchange(
      ts->port(), MetricsRequest(absl::StrCat("Accept: ", kPrometheusAccept, "\r\n")),
      absl::Seconds(10));
  EXPECT_THAT(reply, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\nContent-Type: application/openmetrics-text; version=1.0.0; "
                               "charset=utf-8\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\nVary: Accept\r\n"));
  EXPECT_THAT(reply, HasSubstr("\n# TYPE xtcp_counts counter\n"));
  EXPECT_THAT(
      reply,
      HasSubstr("\nxtcp_counts_total{function=\"Poller\",type=\"count\",variable=\"pollingLoops\"}"
                " 3\n"));
  EXPECT_THAT(reply, HasSubstr("\n# TYPE process_cpu_seconds counter\n"));
  EXPECT_THAT(reply, EndsWith("\n# EOF\n"));
}

TEST(HttpServerExposition, NoOrOtherAcceptStaysText) {
  auto ts = xtcp::testing::StartServer();
  ASSERT_NE(ts, nullptr);
  ts->metrics.Count("Poller", "pollingLoops", "count").Increment(3);
  for (const std::string accept : {"", "Accept: */*\r\n", "Accept: text/plain\r\n"}) {
    const std::string reply =
        xtcp::testing::Exchange(ts->port(), MetricsRequest(accept), absl::Seconds(10));
    EXPECT_THAT(reply, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        << accept;
    EXPECT_THAT(reply, HasSubstr("\nxtcp_counts{function=\"Poller\""));
    EXPECT_THAT(reply, Not(HasSubstr("# EOF")));
  }
}

}  // namespace
}  // namespace xtcp::observe
