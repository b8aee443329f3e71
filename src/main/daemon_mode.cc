// The daemon: metrics, output stage, batcher and engine wired together; signals; clean shutdown.
//
// Shutdown (SIGINT/SIGTERM, -maxLoops polls done, or a closed stdout/stderr sink): stop polling,
// stop every reader, flush the last Envelope ("shutdown"), let the output stage send what is
// queued and drain the sink; all within -shutdownTimeout from the signal, whatever the sink does
// (a writer stuck in a send is abandoned: what it held is counted lost and the process exits
// without waiting for it). A second signal exits at once (status 1).
// SIGHUP: flush the current Envelope and reopen a file: sink (logrotate), one log line.
// Exit status: 0 nothing lost (or the reader of stdout went away), 3 rows were lost, 1 runtime
// failure; start-up errors 1 or 2 (ReportStartupError).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "main/modes.h"
#include "main/options.h"
#include "main/output_setup.h"
#include "observe/capabilities.h"
#include "observe/http_server.h"
#include "observe/privileges.h"
#include "observe/profiling.h"
#include "observe/readiness.h"
#include "observe/startup_summary.h"
#include "observe/systemd_notify.h"
#include "pipeline/engine.h"
#include "pipeline/output.h"
#include "pipeline/stamp.h"

namespace xtcp::main {

int RunDaemon(const config::Config& cfg, const std::string& cmdline) {
  // Heap sampling must be on before anything else runs: it may re-execute the binary once.
  observe::EnsureHeapSampling();
  if (absl::Status caps = observe::CheckCapabilities(cfg.io_uring); !caps.ok())
    return ReportStartupError(caps);
  // systemd Type=notify (a no-op elsewhere). After the heap-sampling re-exec, which keeps the pid
  // and the environment; before the seccomp policy.
  const std::unique_ptr<observe::SystemdNotifier> notifier =
      observe::SystemdNotifier::FromEnvironment();
  auto profile = observe::OneShotProfile::Start(cfg.profile_mode);
  if (!profile.ok()) return ReportStartupError(profile.status());

  // Signals are taken by one thread (sigtimedwait) and never interrupt the others.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGUSR2);  // internal: ends the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished stream peer is an error return, not a death

  Metrics metrics;
  metrics.Count("Run", "start", "counter").Increment();
  observe::Readiness readiness;
  // Before dropping privileges: -enrichLldp connects to lldpd's socket (_lldpd:_lldpd 0770).
  auto stamps = pipeline::Stamps::Create(StampOptionsFrom(cfg));
  if (!stamps.ok()) return ReportStartupError(stamps.status());
  if (stamps->hostname_repaired) {
    XTCP_LOG(kWarn,
             "the kernel's hostname is not valid UTF-8; records carry \"%s\" (-hostname "
             "sets another)",
             stamps->hostname);
  }

  // Upstream's initEnrichers triples for the enrichers built here (all made when the enricher is
  // on, so a dashboard sees a zero rather than no series).
  const std::shared_ptr<const pipeline::UplinkSnapshot> up = stamps->uplinks->Current();
  if (cfg.enrich_nic || cfg.enrich_lldp) {
    metrics.Count("initEnrichers", "uplinks", "none").Increment(up->uplinks.empty() ? 1 : 0);
    metrics.Count("initEnrichers", "uplinks", "physical_fallback")
        .Increment(up->uplinks_from == "physical interfaces" ? 1 : 0);
  }
  if (cfg.enrich_nic) {
    metrics.Count("initEnrichers", "nic", "collected")
        .Increment(static_cast<double>(up->uplinks.size()));
  }
  if (cfg.enrich_lldp) {
    size_t found = 0;
    for (const auto& n : up->neighbors) found += n.chassis_name.empty() ? 0 : 1;
    metrics.Count("initEnrichers", "lldp", "error").Increment(up->lldp_status.ok() ? 0 : 1);
    metrics.Count("initEnrichers", "lldp", "neighbors").Increment(static_cast<double>(found));
  }

  if (cfg.enrich_nic) {
    std::string names;
    for (const auto& u : up->uplinks) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", u.ifname, " (",
                      u.driver.empty() ? "?" : u.driver,
                      u.speed_mbps ? absl::StrCat(", ", u.speed_mbps, " Mb/s") : "", ")");
    }
    XTCP_LOG(kInfo, "-enrichNic: uplinks from %s: %s", up->uplinks_from,
             names.empty() ? "none (uplink columns left empty)" : names);
  }

  if (cfg.enrich_lldp) {
    if (!up->lldp_status.ok()) {
      XTCP_LOG(kWarn, "-enrichLldp: %s; LLDP columns left empty",
               std::string(up->lldp_status.message()));
    } else {
      std::string found;
      for (size_t i = 0; i < up->uplinks.size(); ++i) {
        const auto& n = up->neighbors[i];
        absl::StrAppend(&found, found.empty() ? "" : ", ", up->uplinks[i].ifname, " -> ",
                        n.chassis_name.empty() ? "(no neighbour)" : n.chassis_name,
                        n.port_descr.empty() ? "" : absl::StrCat(" ", n.port_descr));
      }
      XTCP_LOG(kInfo, "-enrichLldp: %s", found.empty() ? "no uplink" : found);
    }
  }

  // Least privilege (docs/security.md): capabilities now, while the process has one thread (they
  // are per thread); the seccomp policy once started up, just before the first poll.
  auto privs = observe::Privileges::Drop(
      {.seccomp = cfg.seccomp,
       .io_uring = cfg.io_uring,
       .bind_low_port = observe::ListenNeedsBindService(cfg.prom_listen) ||
                        observe::ListenNeedsBindService(cfg.pprof_listen)});
  if (!privs.ok()) return ReportStartupError(privs.status());
  // After the drop (capabilities are per thread: it needs the process single-threaded). The
  // lldpd connection opened above is reused by every refresh.
  stamps->uplinks->StartRefresh(cfg.enrich_refresh);
  auto started =
      observe::HttpServer::Start(HttpServerOptionsFrom(cfg, cmdline), &metrics, &readiness);
  std::unique_ptr<observe::HttpServer> http;
  if (started.ok()) {
    http = std::move(*started);
  } else if (cfg.max_loops > 0 && !cfg.prom_listen_explicit &&
             (cfg.pprof_listen.empty() || cfg.pprof_listen == "off")) {
    // A one-shot run next to a running service (which holds :9088) should not need the port: the
    // default address may fail, an asked-for -promListen or -pprofListen may not.
    XTCP_LOG(kWarn, "-maxLoops %d: running without metrics and pprof: %s", cfg.max_loops,
             std::string(started.status().message()));
  } else {
    return ReportStartupError(started.status());
  }
  auto stage = MakeOutputStage(cfg, &metrics);  // a closed sink is seen by the signal thread
  if (!stage.ok()) return ReportStartupError(stage.status());
  pipeline::OutputStage& output = **stage;
  pipeline::EnvelopeBatcher batcher(cfg.EffectiveFlushRows(), cfg.EffectiveFlushBytes(), &output);
  output.Start();
  pipeline::EngineOptions engine_opts = EngineOptionsFrom(cfg);
  if (notifier->watchdog_enabled()) {
    // From the poll loop itself: a stalled loop stops the pings and systemd restarts us.
    engine_opts.poller.heartbeat = [n = notifier.get()] { n->Watchdog(); };
    engine_opts.poller.heartbeat_interval = notifier->watchdog_interval();
  }
  auto engine = pipeline::Engine::Create(std::move(engine_opts), &batcher, &*stamps, &metrics);
  if (!engine.ok()) {
    (void)output.Stop(absl::Seconds(1));
    return ReportStartupError(engine.status());
  }
  std::atomic<bool> stopping_sent{false};
  auto notify_stopping = [&](absl::string_view why) {
    if (!stopping_sent.exchange(true)) {
      notifier->Stopping(absl::StrCat(why, ": flushing and draining the sink"));
    }
  };
  std::atomic<bool> finished{false};
  std::atomic<int> signals{0};
  std::atomic<int64_t> stop_requested_ns{0};  // absl::ToUnixNanos of the first stop request
  bool closed_seen = false;                   // signal thread only
  std::thread signal_thread([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!finished.load()) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig <= 0 && output.sink_closed() && !closed_seen) {
        // stdout/stderr closed (`xtcp2 -dest stdout | head`): stop quietly, as ss does.
        closed_seen = true;
        int64_t none = 0;
        stop_requested_ns.compare_exchange_strong(none, absl::ToUnixNanos(absl::Now()));
        (*engine)->Stop();
        continue;
      }
      if (sig <= 0 || sig == SIGUSR2) continue;
      if (sig == SIGHUP) {
        batcher.Flush(FlushReason::kPollEnd);
        output.RequestReopen();  // the writer logs the one line once it reopened
        continue;
      }
      if (signals.fetch_add(1) == 0) {
        int64_t none = 0;
        stop_requested_ns.compare_exchange_strong(none, absl::ToUnixNanos(absl::Now()));
        XTCP_LOG(kInfo,
                 "signal %d caught: stopping polls, flushing and draining (-shutdownTimeout %s)",
                 sig, absl::FormatDuration(cfg.shutdown_timeout));
        notify_stopping(absl::StrCat("signal ", sig));
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
    if (absl::Status s = (*privs)->LockDown(&metrics); !s.ok()) XTCP_LOG(kError, "%s", s.message());
    readiness.Set(true);
    const uint64_t namespaces = (*engine)->stats().namespaces;
    notifier->Ready(absl::StrCat(
        "polling ", namespaces, namespaces == 1 ? " namespace" : " namespaces", " every ",
        absl::FormatDuration(cfg.poll_frequency), " to ", std::string(output.sink().scheme())));
  });
  readiness.Set(false);
  notify_stopping(ran.ok() ? "polls done" : "polling failed");
  // -shutdownTimeout counts from the signal (or from now, for -maxLoops).
  const int64_t requested = stop_requested_ns.load();
  const absl::Time deadline =
      (requested != 0 ? absl::FromUnixNanos(requested) : absl::Now()) + cfg.shutdown_timeout;
  engine->reset();  // stops every reader: nothing more reaches the batcher
  batcher.Flush(FlushReason::kShutdown);
  const absl::Status drained = output.Stop(std::max(absl::ZeroDuration(), deadline - absl::Now()));
  finished.store(true);
  pthread_kill(signal_thread.native_handle(), SIGUSR2);
  signal_thread.join();
  if (http != nullptr) http->Stop();
  if (*profile != nullptr) {
    if (auto written = (*profile)->Stop(); written.ok()) {
      XTCP_LOG(kInfo, "-profile.mode: wrote %s", *written);
    } else {
      XTCP_LOG(kError, "-profile.mode: %s", std::string(written.status().message()));
    }
  }

  if (!drained.ok()) XTCP_LOG(kError, "shutdown: %s", std::string(drained.message()));
  int code = 0;
  if (!ran.ok()) {
    XTCP_LOG(kError, "%s", std::string(ran.message()));
    code = 1;
  } else if (output.sink_closed()) {
    code = 0;  // the reader went away: what it did not read is not an error of this run
  } else if (output.rows_lost() > 0) {
    code = kExitRowsLost;
  }
  Log(output.rows_lost() > 0 && !output.sink_closed() ? LogLevel::kWarn : LogLevel::kInfo,
      "stopped: %d rows accepted by the sink %s, %d rows lost (%d dropped while the sink was "
      "behind)%s; exit %d",
      output.rows_sent(), std::string(output.sink().scheme()), output.rows_lost(),
      output.rows_dropped_queue_full(), output.sink_closed() ? ", the sink's reader went away" : "",
      code);
  if (output.abandoned()) {
    // The writer is still inside the sink: do not wait for it (nor run destructors that would).
    std::fflush(nullptr);
    _exit(code);
  }
  return code;
}

}  // namespace xtcp::main
