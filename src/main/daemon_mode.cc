// The daemon: metrics, output stage, batcher and engine wired together; signals; clean shutdown.
//
// Shutdown (SIGINT/SIGTERM, or -maxLoops polls done): stop polling, stop every reader, flush the
// last Envelope ("shutdown"), let the output stage send what is queued and drain the sink within
// -shutdownTimeout, exit 0. A second signal exits at once (status 1).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "main/modes.h"
#include "main/options.h"
#include "main/output_setup.h"
#include "observe/capabilities.h"
#include "observe/http_server.h"
#include "observe/profiling.h"
#include "observe/readiness.h"
#include "observe/startup_summary.h"
#include "pipeline/engine.h"
#include "pipeline/output.h"
#include "pipeline/stamp.h"

namespace xtcp::main {

int RunDaemon(const config::Config& cfg) {
  // Heap sampling must be on before anything else runs: it may re-execute the binary once.
  observe::EnsureHeapSampling();
  if (absl::Status caps = observe::CheckCapabilities(); !caps.ok()) return ReportStartupError(caps);
  auto profile = observe::OneShotProfile::Start(cfg.profile_mode);
  if (!profile.ok()) return ReportStartupError(profile.status());

  // Signals are taken by one thread (sigtimedwait) and never interrupt the others.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR2);  // internal: ends the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished stream peer is an error return, not a death

  Metrics metrics;
  metrics.Count("Run", "start", "counter").Increment();
  observe::Readiness readiness;
  auto http = observe::HttpServer::Start(cfg, &metrics, &readiness);
  if (!http.ok()) return ReportStartupError(http.status());
  auto stage = MakeOutputStage(cfg, &metrics);
  if (!stage.ok()) return ReportStartupError(stage.status());
  pipeline::OutputStage& output = **stage;
  auto stamps = pipeline::Stamps::Create(StampOptionsFrom(cfg));
  if (!stamps.ok()) return ReportStartupError(stamps.status());

  pipeline::EnvelopeBatcher batcher(cfg.EffectiveFlushRows(), cfg.EffectiveFlushBytes(), &output);
  output.Start();
  auto engine = pipeline::Engine::Create(cfg, &batcher, &*stamps, &metrics);
  if (!engine.ok()) {
    (void)output.Stop(absl::Seconds(1));
    return ReportStartupError(engine.status());
  }
  std::atomic<bool> finished{false};
  std::atomic<int> signals{0};
  std::thread signal_thread([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!finished.load()) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig <= 0 || sig == SIGUSR2) continue;
      if (signals.fetch_add(1) == 0) {
        XTCP_LOG(kInfo,
                 "signal %d caught: stopping polls, flushing and draining (-shutdownTimeout %s)",
                 sig, absl::FormatDuration(cfg.shutdown_timeout));
        (*engine)->Stop();
      } else {
        XTCP_LOG(kError, "second signal: exiting without draining");
        _exit(1);
      }
    }
  });

  const absl::Status ran = (*engine)->Run([&] {
    // Namespaces are known now: the one startup line, then ready.
    XTCP_LOG(kInfo, "%s",
             observe::StartupSummary(SummaryOptionsFrom(cfg), (*engine)->stats().namespaces));
    readiness.Set(true);
  });
  readiness.Set(false);
  const absl::Time deadline = absl::Now() + cfg.shutdown_timeout;
  engine->reset();  // stops every reader: nothing more reaches the batcher
  batcher.Flush(FlushReason::kShutdown);
  const absl::Status drained = output.Stop(std::max(absl::ZeroDuration(), deadline - absl::Now()));
  finished.store(true);
  pthread_kill(signal_thread.native_handle(), SIGUSR2);
  signal_thread.join();
  (*http)->Stop();
  if (*profile != nullptr) {
    if (auto written = (*profile)->Stop(); written.ok()) {
      XTCP_LOG(kInfo, "-profile.mode: wrote %s", *written);
    } else {
      XTCP_LOG(kError, "-profile.mode: %s", std::string(written.status().message()));
    }
  }

  if (!ran.ok()) {
    XTCP_LOG(kError, "%s", std::string(ran.message()));
    return 1;
  }
  XTCP_LOG(kInfo, "stopped: %d rows accepted by the sink, %d rows lost before it",
           output.rows_sent(), output.rows_lost());
  if (!drained.ok()) XTCP_LOG(kError, "shutdown: %s", std::string(drained.message()));
  return 0;
}

}  // namespace xtcp::main
