// End-to-end benchmark harness: builds its own load (idle loopback TCP connections, IPv4 and IPv6,
// cubic and bbr, spread over M fresh network namespaces), then measures in one run:
//
//   dump_only   the naive program, the kernel's own cost: a minimal program dumping the same
//               namespaces K times, an IPv4 and an IPv6 dump each (two walks of the socket hash)
//   dump_one    the same minimal program with the single TCPDIAG_GETSOCK dump (one walk)
//   xtcp2       -dest null -marshal protobufList -maxLoops K        (syscall readers)
//   xtcp2-uring the same with -ioUring
//   xtcp2-jsonl / xtcp2-csv   other marshallers
//   ss          `ss -tinm` K times in every namespace
//
// and prints CPU per socket per poll (user, sys), wall per poll, peak RSS, peak threads, heap
// allocations per poll after warm-up, and the ratios the targets are stated in.
//
//   xtcp_e2e_bench [-sockets 18000] [-namespaces 1] [-loops 20] [-repeat 3] [-cases a,b,...]
//                  [-childEhash N] [-out FILE]
//
// -childEhash N: the namespaces are created with net.ipv4.tcp_child_ehash_entries=N (Linux 6.1+),
// so each has a TCP socket hash of its own instead of sharing the host's (0, the default: shared);
// the sysctl is restored once they exist.
//
// Each case runs -repeat times, interleaved with the others, and the report shows the run with the
// median CPU: this machine's timings move by ±15% from run to run.
//
// Needs root (namespaces). Everything it creates is removed at exit.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::bench {
namespace {

using testing::BuildPath;
using testing::Child;
using testing::TestNetns;

struct Options {
  int sockets = 18000;
  int namespaces = 1;
  int loops = 20;
  int repeat = 3;  // each case runs this many times; the report takes the median by CPU
  int soak = 0;    // > 0: also run the daemon for this many polls and report RSS over time
  std::vector<std::string> cases = {"dump_only",   "dump_one",  "xtcp2", "xtcp2-uring",
                                    "xtcp2-jsonl", "xtcp2-csv", "ss"};
  std::string out;
  int child_ehash = 0;
};

struct Result {
  std::string name;
  double user_s = 0, sys_s = 0, wall_s = 0;
  double wall_per_poll_ms = 0;  // from the daemon's poll lines (median), else wall / loops
  long peak_rss_kb = 0;
  size_t peak_threads = 0;
  double allocs_per_poll = -1;  // median after warm-up; -1 = not available
  uint64_t sockets_per_poll = 0;
  int exit_code = 0;
};

size_t CountDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return 0;
  size_t n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteKnob(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  if (value.empty() || value.back() != '\n') out << "\n";
  out.close();
  return out.good();
}

// Runs one process to completion, sampling its thread count.
Result Measure(const std::string& name, const std::vector<std::string>& argv, int loops) {
  Result r;
  r.name = name;
  const std::string err = testing::TempPath("bench-err");
  const absl::Time t0 = absl::Now();
  Child c = Child::Start(argv, err);
  const std::string task = absl::StrCat("/proc/", c.pid(), "/task");
  int st = -1000;
  // Peak RSS comes from VmHWM, sampled while it runs: the rusage of a spawned child also counts
  // the parent's memory at the time of the spawn.
  const std::string status = absl::StrCat("/proc/", c.pid(), "/status");
  for (int i = 0; i < 60000 && st == -1000; ++i) {
    r.peak_threads = std::max(r.peak_threads, CountDir(task));
    const std::string s = ReadFile(status);
    if (const size_t at = s.find("VmHWM:"); at != std::string::npos) {
      r.peak_rss_kb = std::max(r.peak_rss_kb, std::strtol(s.c_str() + at + 6, nullptr, 10));
    }
    st = c.Wait(absl::Milliseconds(10));
  }
  if (st == -1000) st = c.Finish(absl::Seconds(1));
  r.wall_s = absl::ToDoubleSeconds(absl::Now() - t0);
  r.exit_code = st;
  r.user_s = Seconds(c.usage().ru_utime);
  r.sys_s = Seconds(c.usage().ru_stime);
  // The daemon's per-poll lines: "poll N: M namespaces, S sockets, done in X.XXXms (CPU: kernel
  // K.KKKms, user U.UUUms[, slowest namespace ...]), A allocations"
  const std::string log = ReadFile(err);
  static const std::regex kPoll(
      R"(poll (\d+): .*?(\d+) sockets, \S+ in ([0-9.]+)ms(?: \([^)]*\))?(?:, (\d+) allocations)?)");
  std::vector<double> walls, allocs, socks;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), kPoll); it != std::sregex_iterator();
       ++it) {
    const int poll = std::stoi((*it)[1]);
    if (poll <= 2) continue;  // warm-up
    socks.push_back(std::stod((*it)[2]));
    walls.push_back(std::stod((*it)[3]));
    if ((*it)[4].matched) allocs.push_back(std::stod((*it)[4]));
  }
  r.wall_per_poll_ms = walls.empty() ? r.wall_s * 1000 / loops : Median(walls);
  r.allocs_per_poll = Median(allocs);
  r.sockets_per_poll = static_cast<uint64_t>(Median(socks) < 0 ? 0 : Median(socks));
  if (st != 0) std::fprintf(stderr, "%s exited %d:\n%s\n", name.c_str(), st, log.c_str());
  ::unlink(err.c_str());
  return r;
}

Result MeasureSs(const std::vector<std::string>& namespaces, int loops) {
  Result r;
  r.name = "ss";
  const absl::Time t0 = absl::Now();
  for (int l = 0; l < loops; ++l) {
    std::vector<std::vector<std::string>> cmds = {{"ss", "-tinm"}};
    for (const auto& ns : namespaces) cmds.push_back({"ss", "-N", ns, "-tinm"});
    for (const auto& cmd : cmds) {
      const testing::RunResult rr = testing::Run(cmd, absl::Minutes(5));
      r.user_s += Seconds(rr.usage.ru_utime);
      r.sys_s += Seconds(rr.usage.ru_stime);
      r.peak_rss_kb = std::max(r.peak_rss_kb, rr.usage.ru_maxrss);
      if (rr.exit_code != 0) r.exit_code = rr.exit_code;
    }
  }
  r.wall_s = absl::ToDoubleSeconds(absl::Now() - t0);
  r.wall_per_poll_ms = r.wall_s * 1000 / loops;
  r.peak_threads = 1;
  return r;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "-sockets") {
      o.sockets = std::stoi(v);
    } else if (a == "-namespaces") {
      o.namespaces = std::max(1, std::stoi(v));
    } else if (a == "-soak") {
      o.soak = std::stoi(v);
    } else if (a == "-repeat") {
      o.repeat = std::max(1, std::stoi(v));
    } else if (a == "-loops") {
      o.loops = std::max(3, std::stoi(v));
    } else if (a == "-cases") {
      o.cases = absl::StrSplit(v, ',');
    } else if (a == "-out") {
      o.out = v;
    } else if (a == "-childEhash") {
      o.child_ehash = std::max(0, std::stoi(v));
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (const std::string why = testing::NetnsUnavailableReason(); !why.empty()) {
    std::fprintf(stderr, "xtcp_e2e_bench needs root and `ip netns`: %s\n", why.c_str());
    return 1;
  }

  // ---- load: per namespace, four farms (v4/v6 x cubic/bbr), split further to stay < 20k fds ----
  std::vector<std::unique_ptr<TestNetns>> nss;
  std::vector<Child> farms;
  const int per_ns = o.sockets / o.namespaces;
  int opened = 0;
  const absl::Time setup0 = absl::Now();
  const char* const child_knob = "/proc/sys/net/ipv4/tcp_child_ehash_entries";
  const std::string child_before = ReadFile(child_knob);
  if (o.child_ehash > 0 && !WriteKnob(child_knob, std::to_string(o.child_ehash))) {
    std::fprintf(stderr, "cannot set %s (a kernel before 6.1?)\n", child_knob);
    return 1;
  }
  for (int n = 0; n < o.namespaces; ++n) {
    nss.push_back(TestNetns::Create("xtcpb"));
    if (!nss.back()) {
      std::fprintf(stderr, "ip netns add failed\n");
      return 1;
    }
    const int per_variant = per_ns / 4;
    for (const auto& variant : std::vector<std::vector<std::string>>{
             {"-cc", "cubic"}, {"-cc", "bbr"}, {"-6", "-cc", "cubic"}, {"-6", "-cc", "bbr"}}) {
      for (int left = per_variant; left > 2;) {
        const int chunk = std::min(left, 18000);
        const int conns = std::max(1, (chunk - 1) / 2);
        std::vector<std::string> cmd = {BuildPath("tests/tools/sockfarm"), "-n",
                                        std::to_string(conns)};
        cmd.insert(cmd.end(), variant.begin(), variant.end());
        farms.push_back(Child::Start(nss.back()->Exec(cmd)));
        const std::string line = farms.back().ReadLine(absl::Minutes(2));
        if (line.rfind("ready ", 0) != 0) {
          std::fprintf(stderr, "sockfarm failed: %s\n", line.c_str());
          return 1;
        }
        opened += std::stoi(line.substr(6));
        left -= 2 * conns + 1;
      }
    }
  }
  if (o.child_ehash > 0) WriteKnob(child_knob, child_before);
  std::fprintf(stderr, "load: %d sockets in %d namespaces (%s socket hash), %zu processes, %.1fs\n",
               opened, o.namespaces,
               o.child_ehash > 0 ? absl::StrCat("own ", o.child_ehash, "-bucket").c_str()
                                 : "the host's shared",
               farms.size(), absl::ToDoubleSeconds(absl::Now() - setup0));

  std::vector<std::string> ns_names, ns_paths = {"/proc/self/ns/net"};
  for (const auto& ns : nss) {
    ns_names.push_back(ns->name());
    ns_paths.push_back("/run/netns/" + ns->name());
  }

  // ---- cases ----
  auto want = [&](const std::string& c) {
    return std::find(o.cases.begin(), o.cases.end(), c) != o.cases.end();
  };
  std::vector<std::string> dump_cmd = {BuildPath("bench/dump_only"), "-loops",
                                       std::to_string(o.loops)};
  dump_cmd.insert(dump_cmd.end(), ns_paths.begin(), ns_paths.end());
  std::vector<std::string> dump_one_cmd = {BuildPath("bench/dump_only"), "-families", "one",
                                           "-loops", std::to_string(o.loops)};
  dump_one_cmd.insert(dump_one_cmd.end(), ns_paths.begin(), ns_paths.end());
  // The kernel's cost first: it also tells how long a poll takes, to space the daemon's polls.
  const Result probe = Measure("dump_only", dump_cmd, o.loops);
  const double dump_ms = probe.wall_s * 1000 / o.loops;
  const int freq_ms = std::max(100, static_cast<int>(dump_ms * 4) + 50);
  const std::vector<std::string> daemon = {BuildPath("xtcp2"),
                                           "-promListen",
                                           "127.0.0.1:0",
                                           "-dest",
                                           "null",
                                           "-maxLoops",
                                           std::to_string(o.loops),
                                           "-frequency",
                                           absl::StrCat(freq_ms, "ms"),
                                           "-timeout",
                                           absl::StrCat(freq_ms * 9 / 10, "ms"),
                                           "-pollJitterPct",
                                           "0",
                                           "-d",
                                           "111"};
  auto daemon_cmd = [&](std::vector<std::string> extra) {
    std::vector<std::string> cmd = daemon;
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    return cmd;
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"dump_only", dump_cmd},
      {"dump_one", dump_one_cmd},
      {"xtcp2", daemon_cmd({"-marshal", "protobufList"})},
      {"xtcp2-uring", daemon_cmd({"-marshal", "protobufList", "-ioUring"})},
      {"xtcp2-n1", daemon_cmd({"-marshal", "protobufList", "-netlinkers", "1"})},
      {"xtcp2-norescan", daemon_cmd({"-marshal", "protobufList", "-reconcileBeforePoll=false"})},
      {"xtcp2-jsonl", daemon_cmd({"-marshal", "jsonl"})},
      {"xtcp2-csv", daemon_cmd({"-marshal", "csv"})},
  };
  std::map<std::string, std::vector<Result>> runs;
  for (int rep = 0; rep < o.repeat; ++rep) {
    for (const auto& [name, cmd] : cases) {
      if (want(name)) runs[name].push_back(Measure(name, cmd, o.loops));
    }
    if (want("ss")) runs["ss"].push_back(MeasureSs(ns_names, o.loops));
  }
  // Ratios are taken within each repetition (cases of one repetition run back to back), then the
  // median over repetitions: the machine's speed drifts more between repetitions than within.
  auto paired = [&](const std::string& a, const std::string& b, bool rss) {
    std::vector<double> v;
    for (size_t i = 0; i < std::min(runs[a].size(), runs[b].size()); ++i) {
      const Result& x = runs[a][i];
      const Result& y = runs[b][i];
      v.push_back(rss ? static_cast<double>(x.peak_rss_kb) / y.peak_rss_kb
                      : (x.user_s + x.sys_s) / (y.user_s + y.sys_s));
    }
    return Median(v);
  };
  std::map<std::string, Result> results;
  for (auto& [name, rs] : runs) {
    std::sort(rs.begin(), rs.end(), [](const Result& a, const Result& b) {
      return a.user_s + a.sys_s < b.user_s + b.sys_s;
    });
    results[name] = rs[rs.size() / 2];
  }
  if (!results.count("dump_only")) results["dump_only"] = probe;

  // ---- soak: RSS over many polls ----
  std::string soak_report;
  if (o.soak > 0) {
    std::vector<std::string> cmd = daemon_cmd({"-marshal", "protobufList"});
    for (size_t i = 0; i + 1 < cmd.size(); ++i) {
      if (cmd[i] == "-maxLoops") cmd[i + 1] = std::to_string(o.soak);
      if (cmd[i] == "-frequency") cmd[i + 1] = "100ms";
      if (cmd[i] == "-timeout") cmd[i + 1] = "90ms";
    }
    const std::string err = testing::TempPath("soak-err");
    Child c = Child::Start(cmd, err);
    const std::string status = absl::StrCat("/proc/", c.pid(), "/status");
    std::vector<long> rss;  // VmRSS in KiB, every 100 ms
    int st = -1000;
    for (int i = 0; i < 100000 && st == -1000; ++i) {
      const std::string text = ReadFile(status);
      if (const size_t at = text.find("VmRSS:"); at != std::string::npos) {
        rss.push_back(std::strtol(text.c_str() + at + 6, nullptr, 10));
      }
      st = c.Wait(absl::Milliseconds(100));
    }
    const std::string log = ReadFile(err);
    ::unlink(err.c_str());
    if (rss.size() >= 10) {
      auto at = [&](double f) {
        return rss[std::min(rss.size() - 1, static_cast<size_t>(f * rss.size()))] / 1024.0;
      };
      soak_report = absl::StrFormat(
          "\nsoak: %d polls at 100 ms, exit %d: RSS %.1f MiB at 5%%, %.1f at 25%%, %.1f at 50%%, "
          "%.1f at 75%%, "
          "%.1f MiB at the end (max %.1f)\n",
          o.soak, st, at(0.05), at(0.25), at(0.5), at(0.75), at(0.999),
          *std::max_element(rss.begin(), rss.end()) / 1024.0);
    }
  }

  // ---- report ----
  const double per = static_cast<double>(opened) * o.loops;
  std::string report = absl::StrFormat(
      "load: %d sockets (IPv4+IPv6, cubic+bbr) in %d namespace(s) + the host's; %d polls per run, "
      "median of %d runs; kernel %s\n\n"
      "| case | CPU µs/socket/poll (user+sys) | user | sys | wall ms/poll | peak RSS MiB | peak "
      "threads | "
      "allocs/poll |\n|---|---|---|---|---|---|---|---|\n",
      opened, o.namespaces, o.loops, o.repeat, testing::Run({"uname", "-r"}).out.substr(0, 40));
  if (!report.empty() && report[report.size() - 1] != '\n') report += '\n';
  for (const char* c : {"dump_only", "dump_one", "xtcp2", "xtcp2-n1", "xtcp2-norescan",
                        "xtcp2-uring", "xtcp2-jsonl", "xtcp2-csv", "ss"}) {
    if (!results.count(c)) continue;
    const Result& r = results[c];
    absl::StrAppendFormat(
        &report, "| %s | %.3f | %.3f | %.3f | %.2f | %.1f | %d | %s |\n", c,
        (r.user_s + r.sys_s) * 1e6 / per, r.user_s * 1e6 / per, r.sys_s * 1e6 / per,
        r.wall_per_poll_ms, r.peak_rss_kb / 1024.0, r.peak_threads,
        r.allocs_per_poll < 0 ? std::string("-") : absl::StrCat(r.allocs_per_poll));
  }
  report +=
      "\nratios, median over repetitions of the ratio within a repetition (targets in "
      "parentheses):\n";
  if (results.count("xtcp2")) {
    absl::StrAppendFormat(&report,
                          "  xtcp2 CPU / dump_only CPU      = %.2f  (<= 1.3 at 1 namespace; <= 0.6 "
                          "at 40+)\n",
                          paired("xtcp2", "dump_only", false));
    if (results.count("dump_one")) {
      absl::StrAppendFormat(&report, "  dump_one CPU / dump_only CPU   = %.2f\n",
                            paired("dump_one", "dump_only", false));
      absl::StrAppendFormat(&report, "  xtcp2 CPU / dump_one CPU       = %.2f\n",
                            paired("xtcp2", "dump_one", false));
    }
    if (results.count("xtcp2-norescan")) {
      absl::StrAppendFormat(&report, "  xtcp2 -reconcileBeforePoll=false / dump_only = %.2f\n",
                            paired("xtcp2-norescan", "dump_only", false));
    }
    if (results.count("xtcp2-n1")) {
      absl::StrAppendFormat(&report, "  xtcp2 -netlinkers 1 / dump_only = %.2f\n",
                            paired("xtcp2-n1", "dump_only", false));
    }
    if (results.count("ss")) {
      absl::StrAppendFormat(&report, "  xtcp2 CPU / ss -tinm CPU       = %.2f  (<= 0.3)\n",
                            paired("xtcp2", "ss", false));
    }
    if (results.count("xtcp2-uring")) {
      absl::StrAppendFormat(&report, "  io_uring CPU / syscall CPU     = %.2f  (<= 1.0)\n",
                            paired("xtcp2-uring", "xtcp2", false));
      absl::StrAppendFormat(
          &report, "  io_uring RSS / syscall RSS     = %.2f  (<= 1.2)\n",
          static_cast<double>(results["xtcp2-uring"].peak_rss_kb) / results["xtcp2"].peak_rss_kb);
    }
    absl::StrAppendFormat(&report,
                          "  xtcp2 peak RSS                 = %.1f MiB (<= 16 at ~18k sockets)\n",
                          results["xtcp2"].peak_rss_kb / 1024.0);
    absl::StrAppendFormat(
        &report,
        "  xtcp2 threads                  = %d at %d namespaces (<= 32, the same at every size)\n",
        results["xtcp2"].peak_threads, o.namespaces + 1);
  }
  report += soak_report;
  std::fputs(report.c_str(), stdout);
  if (!o.out.empty()) std::ofstream(o.out) << report;
  for (auto& f : farms) f.Finish(absl::Seconds(30));
  return 0;
}

}  // namespace
}  // namespace xtcp::bench

int main(int argc, char** argv) { return xtcp::bench::Main(argc, argv); }
