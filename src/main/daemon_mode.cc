// The daemon: metrics, output stage, batcher and engine wired together; signals; clean shutdown.
//
// Shutdown (SIGINT/SIGTERM, -maxLoops polls done, or a closed stdout/stderr sink): stop polling,
// stop every reader, flush the last Envelope ("shutdown"), let the output stage send what is
// queued and drain the sink; all within -shutdownTimeout from the signal, whatever the sink does
// (a writer stuck in a send is abandoned: what it held is counted lost and the process exits
// without waiting for it). A second signal exits at once (status 1).
// SIGHUP: flush the current Envelope and reopen a file: sink (logrotate), one log line.
// gRPC (-grpcListen): the server lives as long as the process; a ConfigService.Set that cannot be
// applied live restarts the pipeline in-process (main/control.h): the engine stops, the last
// Envelope is flushed and the sink drained as at shutdown (within -shutdownTimeout), then output,
// batcher and engine are built anew from the new configuration. Rows sent and lost add up over
// every pipeline of the run.
// Exit status: 0 nothing lost (or the reader of stdout went away), 3 rows were lost, 1 runtime
// failure; start-up errors 1 or 2 (ReportStartupError).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "main/control.h"
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
#include "rpc/grpc_server.h"
#include "rpc/record_fanout.h"

namespace xtcp::main {
namespace {

// Upstream's initEnrichers triples for the enrichers built here (all made when the enricher is
// on, so a dashboard sees a zero rather than no series), and the enrichment log lines.
void ReportEnrichment(const config::Config& cfg, const pipeline::Stamps& stamps, Metrics* metrics) {
  const std::shared_ptr<const pipeline::UplinkSnapshot> up = stamps.uplinks->Current();
  if (cfg.enrich_nic || cfg.enrich_lldp) {
    metrics->Count("initEnrichers", "uplinks", "none").Increment(up->uplinks.empty() ? 1 : 0);
    metrics->Count("initEnrichers", "uplinks", "physical_fallback")
        .Increment(up->uplinks_from == "physical interfaces" ? 1 : 0);
  }
  if (cfg.enrich_nic) {
    metrics->Count("initEnrichers", "nic", "collected")
        .Increment(static_cast<double>(up->uplinks.size()));
  }
  if (cfg.enrich_lldp) {
    size_t found = 0;
    for (const auto& n : up->neighbors) found += n.chassis_name.empty() ? 0 : 1;
    metrics->Count("initEnrichers", "lldp", "error").Increment(up->lldp_status.ok() ? 0 : 1);
    metrics->Count("initEnrichers", "lldp", "neighbors").Increment(static_cast<double>(found));
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
}

// True if the record stamps of `a` and `b` are made the same way (a restart may keep them).
bool SameStamps(const config::Config& a, const config::Config& b) {
  return a.hostname == b.hostname && a.location == b.location && a.label == b.label &&
         a.tag == b.tag && a.enrich_nic == b.enrich_nic && a.enrich_lldp == b.enrich_lldp &&
         a.lldpd_socket == b.lldpd_socket && a.uplink_count == b.uplink_count &&
         a.uplink_interfaces == b.uplink_interfaces && a.enrich_refresh == b.enrich_refresh;
}

// The pipeline the signal thread acts on (replaced on a gRPC restart).
struct Current {
  absl::Mutex mu;
  pipeline::Engine* engine ABSL_GUARDED_BY(mu) = nullptr;
  pipeline::OutputStage* output ABSL_GUARDED_BY(mu) = nullptr;
  pipeline::EnvelopeBatcher* batcher ABSL_GUARDED_BY(mu) = nullptr;
};

}  // namespace

int RunDaemon(const config::Config& initial, const std::string& cmdline) {
  config::Config cfg = initial;  // the configuration of the pipeline being built or run
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
  auto first_stamps = pipeline::Stamps::Create(StampOptionsFrom(cfg));
  if (!first_stamps.ok()) return ReportStartupError(first_stamps.status());
  auto stamps = std::make_unique<pipeline::Stamps>(*std::move(first_stamps));
  if (stamps->hostname_repaired) {
    XTCP_LOG(kWarn,
             "the kernel's hostname is not valid UTF-8; records carry \"%s\" (-hostname "
             "sets another)",
             stamps->hostname);
  }
  ReportEnrichment(cfg, *stamps, &metrics);

  const rpc::GrpcServerOptions grpc_opts = GrpcServerOptionsFrom(cfg);
  const bool grpc_on = cfg.grpc_listen != "off";

  // Least privilege (docs/security.md): capabilities now, while the process has one thread (they
  // are per thread); the seccomp policy once started up, just before the first poll.
  auto privs = observe::Privileges::Drop(
      {.seccomp = cfg.seccomp,
       .io_uring = cfg.io_uring,
       .bind_low_port = observe::ListenNeedsBindService(cfg.prom_listen) ||
                        observe::ListenNeedsBindService(cfg.pprof_listen) ||
                        (grpc_on && !grpc_opts.address.starts_with("unix:") &&
                         observe::ListenNeedsBindService(grpc_opts.address))});
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

  // gRPC: the process's, across pipeline restarts. A Set waits for its restart at most the
  // drain budget plus time to build the new pipeline.
  Control control(cfg, BuiltinVocabulary(), cfg.shutdown_timeout + absl::Seconds(30));
  rpc::RecordFanout fanout({.client_buffer_bytes = cfg.grpc_client_buffer}, &metrics);
  std::unique_ptr<rpc::GrpcServer> grpc;
  if (grpc_on) {
    auto g = rpc::GrpcServer::Start(grpc_opts, &control, &fanout, &metrics);
    if (g.ok()) {
      grpc = std::move(*g);
      XTCP_LOG(kInfo,
               "gRPC: ConfigService, XTCPFlatRecordService, health and reflection on %s (%s)",
               grpc->address(),
               !grpc->tls()                 ? "plaintext"
               : cfg.grpc_client_ca.empty() ? "TLS"
                                            : "mutual TLS");
    } else if (g.status().code() == absl::StatusCode::kUnavailable && !cfg.grpc_explicit) {
      // The default address taken (another xtcp2 on this host): collection matters more.
      XTCP_LOG(kWarn, "%s; running without gRPC", std::string(g.status().message()));
    } else {
      return ReportStartupError(g.status());
    }
  }

  Current current;
  std::atomic<bool> stopping_sent{false};
  auto notify_stopping = [&](absl::string_view why) {
    if (!stopping_sent.exchange(true)) {
      notifier->Stopping(absl::StrCat(why, ": flushing and draining the sink"));
    }
  };
  std::atomic<bool> finished{false};
  std::atomic<int> signals{0};
  std::atomic<bool> sink_closed{false};       // a pipeline's stdout/stderr reader went away
  std::atomic<int64_t> stop_requested_ns{0};  // absl::ToUnixNanos of the first stop request
  auto stop = [&] {
    control.SetStopping();
    absl::MutexLock lock(&current.mu);
    if (current.engine != nullptr) current.engine->Stop();
  };
  std::thread signal_thread([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!finished.load()) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig <= 0 && !sink_closed.load()) {
        bool closed = false;
        {
          absl::MutexLock lock(&current.mu);
          closed = current.output != nullptr && current.output->sink_closed();
        }
        if (closed) {
          // stdout/stderr closed (`xtcp2 -dest stdout | head`): stop quietly, as ss does.
          sink_closed.store(true);
          int64_t none = 0;
          stop_requested_ns.compare_exchange_strong(none, absl::ToUnixNanos(absl::Now()));
          stop();
          continue;
        }
      }
      if (sig <= 0 || sig == SIGUSR2) continue;
      if (sig == SIGHUP) {
        absl::MutexLock lock(&current.mu);
        if (current.batcher != nullptr) {
          current.batcher->Flush(FlushReason::kPollEnd);
          current.output->RequestReopen();  // the writer logs the one line once it reopened
        }
        continue;
      }
      if (signals.fetch_add(1) == 0) {
        int64_t none = 0;
        stop_requested_ns.compare_exchange_strong(none, absl::ToUnixNanos(absl::Now()));
        XTCP_LOG(kInfo,
                 "signal %d caught: stopping polls, flushing and draining (-shutdownTimeout %s)",
                 sig, absl::FormatDuration(cfg.shutdown_timeout));
        notify_stopping(absl::StrCat("signal ", sig));
        stop();
      } else {
        XTCP_LOG(kError, "second signal: exiting without draining");
        _exit(1);
      }
    }
  });
  // Ends the signal thread and the servers; `code` is returned (or _exit'ed with).
  auto finish = [&](int code, bool abandoned) {
    finished.store(true);
    pthread_kill(signal_thread.native_handle(), SIGUSR2);
    signal_thread.join();
    if (grpc != nullptr) grpc->Stop();
    if (http != nullptr) http->Stop();
    if (abandoned) {
      // A writer is still inside a sink: do not wait for it (nor run destructors that would).
      std::fflush(nullptr);
      _exit(code);
    }
    return code;
  };

  // Totals over every pipeline of the run.
  uint64_t rows_sent = 0, rows_lost = 0, rows_dropped_full = 0;
  bool abandoned = false;
  std::string sink_scheme;
  std::vector<std::unique_ptr<pipeline::OutputStage>> left_behind;  // abandoned by a restart
  absl::Status ran;
  bool locked_down = false;
  const config::Config* previous = nullptr;  // on a restart: the configuration to fall back to
  config::Config previous_cfg;
  for (bool first = true;; first = false) {
    // ---- build ----
    absl::Status built = absl::OkStatus();
    std::unique_ptr<pipeline::Stamps> new_stamps;
    if (!first && !SameStamps(cfg, previous_cfg)) {
      auto made = pipeline::Stamps::Create(StampOptionsFrom(cfg));
      if (made.ok()) {
        new_stamps = std::make_unique<pipeline::Stamps>(*std::move(made));
      } else {
        built = made.status();
      }
    }
    absl::StatusOr<std::unique_ptr<pipeline::OutputStage>> stage =
        built.ok() ? MakeOutputStage(cfg, &metrics) : built;
    if (!stage.ok()) {
      // At start-up, or the previous configuration failed to come back: give up.
      if (first || previous == nullptr) return finish(ReportStartupError(stage.status()), false);
      XTCP_LOG(kError, "gRPC Set: the new configuration could not start: %s; back to the previous",
               std::string(stage.status().message()));
      control.RestartDone(stage.status(), previous);
      cfg = previous_cfg;
      previous = nullptr;
      continue;  // the previous configuration built before: it builds again
    }
    if (new_stamps != nullptr) {
      stamps = std::move(new_stamps);
      stamps->uplinks->StartRefresh(cfg.enrich_refresh);
      ReportEnrichment(cfg, *stamps, &metrics);
    }
    pipeline::OutputStage& output = **stage;
    sink_scheme = std::string(output.sink().scheme());
    rpc::TeeConsumer tee(&fanout, &output);
    pipeline::EnvelopeBatcher batcher(
        cfg.EffectiveFlushRows(), cfg.EffectiveFlushBytes(),
        grpc != nullptr ? static_cast<pipeline::EnvelopeConsumer*>(&tee) : &output);
    output.Start();
    pipeline::EngineOptions engine_opts = EngineOptionsFrom(cfg);
    if (notifier->watchdog_enabled()) {
      // From the poll loop itself: a stalled loop stops the pings and systemd restarts us.
      engine_opts.poller.heartbeat = [n = notifier.get()] { n->Watchdog(); };
      engine_opts.poller.heartbeat_interval = notifier->watchdog_interval();
    }
    auto engine =
        pipeline::Engine::Create(std::move(engine_opts), &batcher, stamps.get(), &metrics);
    if (!engine.ok()) {
      (void)output.Stop(absl::Seconds(1));
      // At start-up, or the previous configuration failed to come back: give up.
      if (first || previous == nullptr) return finish(ReportStartupError(engine.status()), false);
      XTCP_LOG(kError, "gRPC Set: the new configuration could not start: %s; back to the previous",
               std::string(engine.status().message()));
      control.RestartDone(engine.status(), previous);
      cfg = previous_cfg;
      previous = nullptr;
      continue;
    }
    {
      absl::MutexLock lock(&current.mu);
      current.engine = engine->get();
      current.output = &output;
      current.batcher = &batcher;
    }
    control.Attach(engine->get());
    if (!first) control.RestartDone(absl::OkStatus(), nullptr);
    // A stop asked for while this pipeline was being built.
    if (signals.load() > 0 || sink_closed.load()) (*engine)->Stop();

    // ---- run ----
    ran = (*engine)->Run([&] {
      // Namespaces are known now: the one startup line, then ready.
      XTCP_LOG(kInfo, "%s",
               observe::StartupSummary(SummaryOptionsFrom(cfg), (*engine)->stats().namespaces));
      if (!locked_down) {
        locked_down = true;
        if (absl::Status s = (*privs)->LockDown(&metrics); !s.ok()) {
          XTCP_LOG(kError, "%s", s.message());
        }
      }
      readiness.Set(true);
      if (grpc != nullptr) grpc->SetServing(true);
      const uint64_t namespaces = (*engine)->stats().namespaces;
      notifier->Ready(absl::StrCat(
          "polling ", namespaces, namespaces == 1 ? " namespace" : " namespaces", " every ",
          absl::FormatDuration(cfg.poll_frequency), " to ", std::string(output.sink().scheme())));
    });
    readiness.Set(false);
    if (grpc != nullptr) grpc->SetServing(false);
    control.Attach(nullptr);
    {
      absl::MutexLock lock(&current.mu);
      current.engine = nullptr;
    }
    std::optional<config::Config> restart = control.TakeRestart();
    const bool restarting =
        restart.has_value() && ran.ok() && signals.load() == 0 && !sink_closed.load();
    if (!restarting) {
      control.SetStopping();
      notify_stopping(ran.ok() ? "polls done" : "polling failed");
    }
    // -shutdownTimeout counts from the signal (or from now, for -maxLoops and restarts).
    const int64_t requested = stop_requested_ns.load();
    const absl::Time deadline =
        (requested != 0 && !restarting ? absl::FromUnixNanos(requested) : absl::Now()) +
        cfg.shutdown_timeout;
    engine->reset();  // stops every reader: nothing more reaches the batcher
    batcher.Flush(FlushReason::kShutdown);
    const absl::Status drained =
        output.Stop(std::max(absl::ZeroDuration(), deadline - absl::Now()));
    {
      absl::MutexLock lock(&current.mu);
      current.output = nullptr;
      current.batcher = nullptr;
    }
    if (!drained.ok()) XTCP_LOG(kError, "shutdown: %s", std::string(drained.message()));
    rows_sent += output.rows_sent();
    rows_lost += output.rows_lost();
    rows_dropped_full += output.rows_dropped_queue_full();
    abandoned = abandoned || output.abandoned();
    if (!restarting) {
      if (restart.has_value()) {
        control.RestartDone(absl::UnavailableError("xtcp2 is stopping"), nullptr);
      }
      if (output.abandoned()) left_behind.push_back(std::move(*stage));
      break;
    }
    XTCP_LOG(kInfo,
             "gRPC Set: pipeline stopped (%d rows accepted by the sink %s, %d lost so far); "
             "starting the new one",
             rows_sent, sink_scheme, rows_lost);
    if (output.abandoned()) left_behind.push_back(std::move(*stage));  // never destroyed
    previous_cfg = cfg;
    previous = &previous_cfg;
    cfg = *std::move(restart);
  }

  if (*profile != nullptr) {
    if (auto written = (*profile)->Stop(); written.ok()) {
      XTCP_LOG(kInfo, "-profile.mode: wrote %s", *written);
    } else {
      XTCP_LOG(kError, "-profile.mode: %s", std::string(written.status().message()));
    }
  }

  int code = 0;
  if (!ran.ok()) {
    XTCP_LOG(kError, "%s", std::string(ran.message()));
    code = 1;
  } else if (sink_closed.load()) {
    code = 0;  // the reader went away: what it did not read is not an error of this run
  } else if (rows_lost > 0) {
    code = kExitRowsLost;
  }
  Log(rows_lost > 0 && !sink_closed.load() ? LogLevel::kWarn : LogLevel::kInfo,
      "stopped: %d rows accepted by the sink %s, %d rows lost (%d dropped while the sink was "
      "behind)%s; exit %d",
      rows_sent, sink_scheme, rows_lost, rows_dropped_full,
      sink_closed.load() ? ", the sink's reader went away" : "", code);
  if (abandoned) {
    for (auto& s : left_behind) (void)s.release();  // a writer is inside: never destroyed
  }
  return finish(code, abandoned);
}

}  // namespace xtcp::main
