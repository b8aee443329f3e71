// xtcp2ctl: one call of a running daemon's ConfigService per run — print the config, change it,
// trigger polls. Usage, flags and exit codes: docs/grpc.md ("xtcp2ctl").
//
//   xtcp2ctl <command> [flags] [field=value ...]

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "tools/client_common.h"
#include "tools/config_edit.h"
#include "xtcp_config/v1/xtcp_config.grpc.pb.h"

namespace xtcp::tools {
namespace {

namespace pb = ::xtcp_config::v1;

constexpr char kProgram[] = "xtcp2ctl";

void PrintError(absl::string_view line) { std::cerr << kProgram << ": " << line << "\n"; }

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  absl::Duration rem;
  out.set_seconds(absl::IDivDuration(d, absl::Seconds(1), &rem));
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rem)));
  return out;
}

// One command's run: its flags (the connection flags, -pretty, its own), its arguments, a stub.
class Call {
 public:
  // `timeout_names`: the names of the call-deadline flag (see AddConnectionFlags); `timeout` its
  // default.
  explicit Call(std::string_view command,
                std::vector<std::string> timeout_names = {"timeout", "rpcTimeout"},
                absl::Duration timeout = absl::Seconds(10))
      : command_(command), flags_(absl::StrCat(kProgram, " ", AsAbsl(command))) {
    conn_.timeout = timeout;
    AddConnectionFlags(&flags_, &conn_, std::move(timeout_names));
    flags_.Bool({"pretty"}, &pretty_, "print the JSON answer indented over several lines");
  }

  FlagSet& flags() { return flags_; }
  const std::vector<std::string>& positional() const { return positional_; }

  // Parses `args`; returns -1 to go on, else the exit code (help printed, or a usage error).
  // `max_positional`: how many arguments the command takes.
  int Parse(const std::vector<std::string>& args, size_t max_positional,
            std::string_view synopsis) {
    if (std::string err = flags_.Parse(args, &positional_); !err.empty()) {
      PrintError(err);
      return kExitUsage;
    }
    if (flags_.help_requested()) {
      std::cout << "Usage: " << kProgram << " " << synopsis << "\n\nFlags:\n" << flags_.Usage();
      return kExitOk;
    }
    if (positional_.size() > max_positional) {
      PrintError(absl::StrCat("unexpected argument \"", positional_[max_positional], "\" for ",
                              AsAbsl(command_), " (see ", kProgram, " ", AsAbsl(command_), " -h)"));
      return kExitUsage;
    }
    auto channel = MakeChannel(conn_);
    if (!channel.ok()) {
      PrintError(channel.status().message());
      return kExitUsage;
    }
    stub_ = pb::ConfigService::NewStub(*channel);
    return -1;
  }

  pb::ConfigService::Stub& stub() { return *stub_; }

  // A context whose deadline is -timeout from now (0: none); fail-fast, so an unreachable daemon
  // is an error at once rather than at the deadline.
  std::unique_ptr<grpc::ClientContext> Context() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (conn_.timeout > absl::ZeroDuration()) {
      ctx->set_deadline(absl::ToChronoTime(absl::Now() + conn_.timeout));
    }
    return ctx;
  }

  // Reports a failed call (`what` names it) and returns its exit code.
  int Fail(const grpc::Status& status, std::string_view what) const {
    const Failure f = DescribeFailure(status, what, conn_);
    PrintError(f.line);
    return f.exit_code;
  }

  int Print(const google::protobuf::Message& answer) const {
    std::cout << ConfigToJson(answer, pretty_) << "\n" << std::flush;
    return std::cout ? kExitOk : kExitFailure;
  }

 private:
  std::string_view command_;
  ConnectionOptions conn_;
  bool pretty_ = false;
  FlagSet flags_;
  std::vector<std::string> positional_;
  std::unique_ptr<pb::ConfigService::Stub> stub_;
};

int RunGet(std::string_view name, const std::vector<std::string>& args) {
  Call call(name);
  if (int rc = call.Parse(args, 0, "get [flags]"); rc >= 0) return rc;
  pb::GetResponse resp;
  const grpc::Status st = call.stub().Get(call.Context().get(), pb::GetRequest(), &resp);
  if (!st.ok()) return call.Fail(st, "get");
  return call.Print(resp.config());
}

// Reads the whole of `path` ("-": standard input).
bool ReadInput(const std::string& path, std::string* out) {
  if (path == "-") {
    out->assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return !std::cin.bad();
  }
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  const bool ok = ferror(f) == 0;
  fclose(f);
  return ok;
}

// set [-file F] [field=value ...]: the config of -file (or, without it, the daemon's own, by Get)
// with the assignments applied, sent with Set. `reconfigure` (upstream's name) reads standard
// input when neither -file nor assignments are given.
int RunSet(std::string_view name, const std::vector<std::string>& args) {
  // The daemon answers a Set that needs a restart once the new pipeline runs: after a drain of up
  // to its -shutdownTimeout (10 s) plus up to 30 s to start.
  Call call(name, {"timeout", "rpcTimeout"}, absl::Seconds(60));
  std::string file;
  call.flags().String({"file"}, &file,
                      "JSON XtcpConfig to send (\"-\": standard input); assignments apply on top");
  if (int rc = call.Parse(args, SIZE_MAX, "set [flags] [-file F] [field=value ...]"); rc >= 0) {
    return rc;
  }
  if (file.empty() && call.positional().empty()) {
    if (name != "reconfigure") {
      PrintError("set needs -file F and/or field=value arguments (see xtcp2ctl set -h)");
      return kExitUsage;
    }
    file = "-";
  }
  pb::XtcpConfig cfg;
  if (!file.empty()) {
    std::string json;
    if (!ReadInput(file, &json)) {
      PrintError(absl::StrCat("cannot read -file ", file, ": ", strerror(errno)));
      return kExitUsage;
    }
    if (absl::Status st = ParseConfigJson(json, &cfg); !st.ok()) {
      PrintError(absl::StrCat("-file ", file, ": ", st.message()));
      return kExitUsage;
    }
  }
  // Check every assignment before talking to the daemon.
  {
    pb::XtcpConfig scratch;
    for (const std::string& a : call.positional()) {
      if (absl::Status st = ApplyAssignment(a, &scratch); !st.ok()) {
        PrintError(st.message());
        return kExitUsage;
      }
    }
  }
  if (file.empty()) {
    pb::GetResponse current;
    const grpc::Status st = call.stub().Get(call.Context().get(), pb::GetRequest(), &current);
    if (!st.ok()) return call.Fail(st, "set (reading the current config)");
    cfg = current.config();
  }
  for (const std::string& a : call.positional()) {
    if (absl::Status st = ApplyAssignment(a, &cfg); !st.ok()) {
      PrintError(st.message());
      return kExitUsage;
    }
  }
  pb::SetRequest req;
  *req.mutable_config() = std::move(cfg);
  pb::SetResponse resp;
  const grpc::Status st = call.stub().Set(call.Context().get(), req, &resp);
  if (!st.ok()) return call.Fail(st, "set");
  return call.Print(resp.config());
}

// frequency -frequency D -timeout D: -timeout is the poll timeout here (as upstream's
// set-poll-frequency); the call's own deadline is -rpcTimeout.
int RunFrequency(std::string_view name, const std::vector<std::string>& args) {
  Call call(name, {"rpcTimeout"});
  absl::Duration frequency = absl::ZeroDuration(), timeout = absl::ZeroDuration();
  call.flags().Duration({"frequency", "pollFrequency"}, &frequency,
                        "new poll frequency, e.g. 30s (required)");
  call.flags().Duration({"timeout", "pollTimeout"}, &timeout,
                        "new poll timeout, below the frequency (required)");
  if (int rc = call.Parse(args, 0, "frequency -frequency D -timeout D [flags]"); rc >= 0) {
    return rc;
  }
  if (!call.flags().IsSet("frequency") || !call.flags().IsSet("timeout")) {
    PrintError(absl::StrCat(AsAbsl(name), " needs -frequency and -timeout"));
    return kExitUsage;
  }
  pb::SetPollFrequencyRequest req;
  *req.mutable_poll_frequency() = ToProtoDuration(frequency);
  *req.mutable_poll_timeout() = ToProtoDuration(timeout);
  pb::SetPollFrequencyResponse resp;
  const grpc::Status st = call.stub().SetPollFrequency(call.Context().get(), req, &resp);
  if (!st.ok()) return call.Fail(st, name);
  return call.Print(resp.config());
}

int RunPoll(std::string_view name, const std::vector<std::string>& args) {
  Call call(name);
  if (int rc = call.Parse(args, 0, "poll [flags]"); rc >= 0) return rc;
  pb::TriggerPollResponse resp;
  const grpc::Status st =
      call.stub().TriggerPoll(call.Context().get(), pb::TriggerPollRequest(), &resp);
  if (!st.ok()) return call.Fail(st, name);
  return call.Print(resp);
}

int RunBurst(std::string_view name, const std::vector<std::string>& args) {
  Call call(name);
  uint64_t count = 6;
  absl::Duration interval = absl::Seconds(10);
  call.flags().Uint({"count"}, &count, 0, UINT32_MAX, "polls in the burst (the daemon: 1..1000)");
  call.flags().Duration({"interval"}, &interval,
                        "time between the polls (the daemon: above its poll timeout)");
  if (int rc = call.Parse(args, 0, "burst [-count N] [-interval D] [flags]"); rc >= 0) return rc;
  pb::TriggerPollBurstRequest req;
  req.set_count(static_cast<uint32_t>(count));
  *req.mutable_interval() = ToProtoDuration(interval);
  pb::TriggerPollBurstResponse resp;
  const grpc::Status st = call.stub().TriggerPollBurst(call.Context().get(), req, &resp);
  if (!st.ok()) return call.Fail(st, name);
  return call.Print(resp);
}

// s3: only what is given is sent (an unset field means "unchanged" to the daemon).
int RunS3(std::string_view name, const std::vector<std::string>& args) {
  Call call(name);
  absl::Duration flush = absl::ZeroDuration();
  uint64_t threshold = 0;
  call.flags().Duration({"flushInterval", "flush-interval"}, &flush,
                        "new s3parquet flush interval, e.g. 5s");
  call.flags().Uint({"thresholdBytes", "threshold-bytes"}, &threshold, 0, UINT32_MAX,
                    "new s3parquet size cap in bytes before an upload");
  if (int rc = call.Parse(args, 0, "s3 [-flushInterval D] [-thresholdBytes N] [flags]"); rc >= 0) {
    return rc;
  }
  const bool has_flush = call.flags().IsSet("flushInterval");
  const bool has_threshold = call.flags().IsSet("thresholdBytes");
  if (!has_flush && !has_threshold) {
    PrintError(absl::StrCat(AsAbsl(name), " needs -flushInterval and/or -thresholdBytes"));
    return kExitUsage;
  }
  pb::SetS3UploadRequest req;
  if (has_flush) *req.mutable_s3_flush_interval() = ToProtoDuration(flush);
  if (has_threshold) req.set_s3_parquet_flush_threshold_bytes(static_cast<uint32_t>(threshold));
  pb::SetS3UploadResponse resp;
  const grpc::Status st = call.stub().SetS3Upload(call.Context().get(), req, &resp);
  if (!st.ok()) return call.Fail(st, name);
  return call.Print(resp.config());
}

struct Command {
  std::string_view name;
  std::string_view upstream;  // upstream xtcp2ctl's name, accepted as an alias
  std::string_view rpc;
  std::string_view summary;
  int (*run)(std::string_view name, const std::vector<std::string>& args);
};

constexpr Command kCommands[] = {
    {"get", "", "Get", "print the daemon's config as JSON", &RunGet},
    {"set", "reconfigure", "Set",
     "send a config: -file F (JSON, - for stdin) and/or field=value on top of the current one",
     &RunSet},
    {"frequency", "set-poll-frequency", "SetPollFrequency",
     "change the poll frequency and timeout: -frequency D -timeout D", &RunFrequency},
    {"poll", "trigger-poll", "TriggerPoll", "poll once now", &RunPoll},
    {"burst", "poll-burst", "TriggerPollBurst", "poll -count N times, -interval D apart",
     &RunBurst},
    {"s3", "set-s3", "SetS3Upload",
     "change the s3parquet upload timing: -flushInterval D and/or -thresholdBytes N", &RunS3},
};

std::string Usage() {
  std::string out = absl::StrCat(
      "Usage: ", kProgram, " <command> [flags] [arguments]\n\n",
      "Calls the ConfigService of a running xtcp2 daemon and prints its answer as JSON.\n\n"
      "Commands (upstream's names also work):\n");
  for (const Command& c : kCommands) {
    absl::StrAppend(&out, "  ", AsAbsl(c.name),
                    std::string(c.name.size() < 10 ? 10 - c.name.size() : 1, ' '),
                    AsAbsl(c.summary));
    if (!c.upstream.empty()) absl::StrAppend(&out, " (", AsAbsl(c.upstream), ")");
    absl::StrAppend(&out, "\n");
  }
  FlagSet common(kProgram);
  ConnectionOptions conn;
  AddConnectionFlags(&common, &conn, {"timeout", "rpcTimeout"});
  absl::StrAppend(&out, "\nFlags of every command:\n", common.Usage(), "\nRun '", kProgram,
                  " <command> -h' for a command's own flags.\n",
                  "Exit status: 0 ok, 1 connection or call failure, 2 usage, "
                  "3 request refused by the daemon.\n");
  return out;
}

int Main(int argc, char** argv) {
  QuietGrpcLogs();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << Usage();
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "-v" || first == "--v" || first == "-version" || first == "--version" ||
      first == "version") {
    std::cout << VersionLine(kProgram) << "\n";
    return kExitOk;
  }
  if (first == "-h" || first == "-help" || first == "--help" || first == "help") {
    std::cout << Usage();
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (first == c.name || (!c.upstream.empty() && first == c.upstream)) {
      return c.run(first, std::vector<std::string>(args.begin() + 1, args.end()));
    }
  }
  std::vector<std::string> names;
  for (const Command& c : kCommands) names.emplace_back(c.name);
  if (!first.empty() && first[0] == '-') {
    PrintError(absl::StrCat("the command comes first: ", kProgram,
                            " <command> [flags] (commands: ", absl::StrJoin(names, ", "), ")"));
  } else {
    PrintError(absl::StrCat("unknown command \"", first,
                            "\" (commands: ", absl::StrJoin(names, ", "), ")"));
  }
  return kExitUsage;
}

}  // namespace
}  // namespace xtcp::tools

int main(int argc, char** argv) { return xtcp::tools::Main(argc, argv); }
