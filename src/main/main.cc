// xtcp2: flags -> Config -> the selected mode. Nothing else lives here.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"
#include "common/metrics.h"
#include "config/config.h"
#include "main/alloc_hook.h"
#include "main/modes.h"
#include "main/options.h"
#include "observe/profiling.h"

int main(int argc, char** argv) {
  const auto env = xtcp::config::ProcessEnvironment();
  xtcp::config::CliResult cli =
      xtcp::config::ParseCommandLine(argc, argv, env, xtcp::main::BuiltinVocabulary());
  if (cli.action == xtcp::config::CliResult::Action::kExit) {
    // -help, -v/-version and -conf print to stdout; errors are one line on stderr.
    if (!cli.output.empty()) std::fputs(cli.output.c_str(), stdout);
    if (!cli.error.empty()) std::fprintf(stderr, "xtcp2: %s\n", cli.error.c_str());
    return cli.exit_code;
  }
  const xtcp::config::Config& cfg = cli.config;
  xtcp::main::InstallAllocationCounter();
  xtcp::SetDebugLevel(cfg.debug_level);
  xtcp::SetLogFormat(cfg.log_format == "json" ? xtcp::LogFormat::kJson : xtcp::LogFormat::kText);
  xtcp::SetJournalPrefix(xtcp::StderrIsJournal(std::getenv("JOURNAL_STREAM")));
  if (cfg.healthcheck) return xtcp::main::RunHealthcheck(cfg);
  if (!cfg.decode.empty()) return xtcp::main::RunDecode(cfg);
  // The daemon may re-execute itself once for heap sampling (RunDaemon calls it again, a no-op
  // then): before the warnings, so each is logged once.
  if (cfg.replay.empty()) xtcp::observe::EnsureHeapSampling();
  // Flags set but not built yet: one WARN line each.
  for (const std::string& w : cli.warnings) XTCP_LOG(kWarn, "%s", w);
  if (!cfg.replay.empty()) return xtcp::main::RunReplay(cfg);
  return xtcp::main::RunDaemon(cfg, xtcp::config::MaskedCommandLine(argc, argv));
}
