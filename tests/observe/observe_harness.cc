// observe_harness: the daemon's observability stack without the collection engine, for
// binary-level tests of what an operator does against a running xtcp2 (curl + pprof, healthcheck,
// heap sampling out of the box, -profile.mode). Same command line as xtcp2. Prints "port=<N>" on
// stdout once serving, then burns CPU in HarnessBusyLoop and holds memory allocated by
// HarnessHoldMemory until SIGTERM/SIGINT. XTCP_HARNESS_NOT_READY=1 keeps /readyz at 503.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/metrics.h"
#include "config/config.h"
#include "observe/http_server.h"
#include "observe/profiling.h"
#include "observe/readiness.h"

namespace {

std::atomic<bool> g_run{true};
std::vector<std::unique_ptr<char[]>> g_held;

__attribute__((noinline)) uint64_t HarnessBusyLoop() {
  volatile uint64_t x = 0;
  while (g_run.load(std::memory_order_relaxed)) {
    for (int i = 0; i < 100000; ++i) x = x * 33 + static_cast<uint64_t>(i);
  }
  return x;
}

__attribute__((noinline)) void HarnessHoldMemory() {
  for (int i = 0; i < 128; ++i) {
    g_held.emplace_back(new char[256 * 1024]);
    g_held.back()[0] = static_cast<char>(i);
  }
}

}  // namespace

int main(int argc, char** argv) {
  xtcp::observe::EnsureHeapSampling();
  auto cli = xtcp::config::ParseCommandLine(argc, argv, xtcp::config::ProcessEnvironment());
  if (cli.action == xtcp::config::CliResult::Action::kExit) {
    std::fprintf(stderr, "%s%s\n", cli.output.c_str(), cli.error.c_str());
    return cli.exit_code;
  }
  xtcp::SetDebugLevel(cli.config.debug_level);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread: all inherit the mask

  auto profile = xtcp::observe::OneShotProfile::Start(cli.config.profile_mode);
  if (!profile.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(profile.status().message()).c_str());
    return 1;
  }
  xtcp::Metrics metrics;
  xtcp::observe::Readiness readiness;
  // As src/main/daemon_mode.cc fills them.
  xtcp::observe::HttpServerOptions http;
  http.listen = cli.config.prom_listen;
  http.ipv4_ttl = cli.config.ipv4_ttl;
  http.ipv6_hop_limit = cli.config.ipv6_hop_limit;
  http.prom_path = cli.config.prom_path;
  http.daemon_version = cli.config.daemon_version;
  http.cmdline = xtcp::observe::ProcessCmdline();
  auto server = xtcp::observe::HttpServer::Start(http, &metrics, &readiness);
  if (!server.ok()) {
    std::fprintf(stderr, "xtcp2: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  HarnessHoldMemory();
  std::thread busy(HarnessBusyLoop);
  readiness.Set(std::getenv("XTCP_HARNESS_NOT_READY") == nullptr);
  std::printf("port=%d heap_sampling=%d\n", (*server)->port(),
              xtcp::observe::HeapSamplingEnabled() ? 1 : 0);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&sigs, &sig);
  readiness.Set(false);
  (*server)->Stop();
  g_run = false;
  busy.join();
  profile->reset();  // writes cpu.pprof / mem.pprof
  return 0;
}
