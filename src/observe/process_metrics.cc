#include "observe/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

#if defined(XTCP_HAVE_GPERFTOOLS)
#include <gperftools/malloc_extension.h>
#endif

namespace xtcp::observe {
namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddGauge(std::vector<prometheus::MetricFamily>* out, std::string name, std::string help,
              double value) {
  auto f = Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
  prometheus::ClientMetric m;
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
  out->push_back(std::move(f));
}

int CountOpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory stream's own fd
}

// Fields of /proc/self/stat after "pid (comm)"; index 0 is field 3 (state).
std::vector<std::string> StatFields() {
  const std::string stat = ReadSmallFile("/proc/self/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 > stat.size()) return {};
  return absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(6), &v)) return v;
    }
  }
  return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  rusage ru = {};
  getrusage(RUSAGE_SELF, &ru);
  {
    auto f = Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                    prometheus::MetricType::Counter);
    prometheus::ClientMetric m;
    m.counter.value = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    f.metric.push_back(std::move(m));
    out.push_back(std::move(f));
  }
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::vector<std::string> statm =
      absl::StrSplit(ReadSmallFile("/proc/self/statm"), ' ', absl::SkipEmpty());
  double size_pages = 0, rss_pages = 0;
  if (statm.size() >= 2 && absl::SimpleAtod(statm[0], &size_pages) &&
      absl::SimpleAtod(statm[1], &rss_pages)) {
    AddGauge(&out, "process_resident_memory_bytes", "Resident memory size in bytes.",
             rss_pages * page);
    AddGauge(&out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
             size_pages * page);
  }
  if (const int fds = CountOpenFds(); fds >= 0) {
    AddGauge(&out, "process_open_fds", "Number of open file descriptors.", fds);
  }
  rlimit rl = {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    AddGauge(&out, "process_max_fds", "Maximum number of open file descriptors.",
             static_cast<double>(rl.rlim_cur));
  }
  const std::vector<std::string> stat = StatFields();
  // field 20 = num_threads, field 22 = starttime (clock ticks since boot)
  double threads = 0, start_ticks = 0;
  if (stat.size() > 19 && absl::SimpleAtod(stat[17], &threads)) {
    AddGauge(&out, "process_threads", "Number of OS threads in the process.", threads);
  }
  if (stat.size() > 19 && absl::SimpleAtod(stat[19], &start_ticks)) {
    AddGauge(&out, "process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.",
             BootTimeSeconds() + start_ticks / static_cast<double>(sysconf(_SC_CLK_TCK)));
  }
  {
    auto f = Family("xtcp2_build_info", "xtcp2 build: version label, value 1.",
                    prometheus::MetricType::Gauge);
    prometheus::ClientMetric m;
    m.label.push_back({"version", absl::StrReplaceAll(version_, {{"\t", " "}})});
    m.gauge.value = 1;
    f.metric.push_back(std::move(m));
    out.push_back(std::move(f));
  }
#if defined(XTCP_HAVE_GPERFTOOLS)
  {
    auto f = Family("xtcp2_tcmalloc_bytes", "tcmalloc numeric properties in bytes.",
                    prometheus::MetricType::Gauge);
    for (const char* prop : {"generic.current_allocated_bytes", "generic.heap_size",
                             "tcmalloc.pageheap_free_bytes", "tcmalloc.pageheap_unmapped_bytes"}) {
      size_t v = 0;
      if (!MallocExtension::instance()->GetNumericProperty(prop, &v)) continue;
      prometheus::ClientMetric m;
      m.label.push_back({"property", prop});
      m.gauge.value = static_cast<double>(v);
      f.metric.push_back(std::move(m));
    }
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
#endif
  return out;
}

}  // namespace xtcp::observe
