// xtcp2client: streams a running daemon's records (XTCPFlatRecordService) and prints them with
// any of the daemon's marshallers. Usage, flags and exit codes: docs/grpc.md ("xtcp2client").
//
//   xtcp2client [-poll [-pollFrequency D]] [-format F [-columns C]] [-n N] [-reconnect] [flags]
//
// Each streamed record is turned into a one-row Envelope and handed to the marshaller exactly as
// the daemon's output stage hands it a flush, so `-format csv` prints what `-marshal csv` would
// (one header per process), and jsonl lines are byte for byte the daemon's.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "common/varint.h"
#include "common/write_all.h"
#include "config/config.h"
#include "record/record_codec.h"
#include "tools/client_common.h"
#include "xtcp/marshaller.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.grpc.pb.h"

namespace xtcp::tools {
namespace {

namespace pb = ::xtcp_flat_record::v1;

constexpr char kProgram[] = "xtcp2client";

void PrintError(absl::string_view line) { std::cerr << kProgram << ": " << line << "\n"; }

// Writes each record to standard output in one -format.
class Printer {
 public:
  // "null" prints nothing (transport benchmarks, as upstream); "json" is jsonl (upstream's name).
  static absl::StatusOr<std::unique_ptr<Printer>> Create(std::string format,
                                                         const std::string& columns) {
    auto p = std::unique_ptr<Printer>(new Printer);
    if (format == "null") return p;
    if (format == "json") format = "jsonl";
    std::vector<std::string> names = MarshallerNames();
    bool known = false;
    for (const std::string& n : names) known = known || n == format;
    if (!known) {
      names.push_back("json (= jsonl)");
      names.push_back("null");
      return absl::InvalidArgumentError(absl::StrCat("invalid value \"", format,
                                                     "\" for flag -format: must be one of ",
                                                     absl::StrJoin(names, ", ")));
    }
    auto m = CreateMarshaller(MarshalOptions{format, columns});
    if (!m.ok()) return m.status();
    p->marshaller_ = *std::move(m);
    return p;
  }

  // Aborted: standard output was closed (a pipe's reader left); other errors: write or marshal
  // failures.
  absl::Status Print(const pb::XtcpFlatRecord& rec) {
    if (marshaller_ == nullptr) return absl::OkStatus();
    // A FlatRecordsResponse is field 1 around the record; an Envelope row is field 10 (tag 0x52).
    // Re-framing the record's own bytes makes the Envelope the daemon's batcher would build.
    record_.clear();
    rec.SerializeToString(&record_);
    uint8_t head[1 + kMaxVarintBytes];
    head[0] = record::kEnvelopeRowTag;
    const uint8_t* end = PutVarint(head + 1, static_cast<uint64_t>(record_.size()));
    row_.assign(reinterpret_cast<const char*>(head), static_cast<size_t>(end - head));
    row_.append(record_);
    out_.clear();
    if (absl::Status st = marshaller_->Marshal(EnvelopeView{row_, 1}, &out_); !st.ok()) return st;
    return WriteAll(STDOUT_FILENO, out_);
  }

 private:
  Printer() = default;
  std::unique_ptr<Marshaller> marshaller_;  // null: -format null
  std::string record_, row_, out_;
};

struct Options {
  ConnectionOptions conn;
  bool poll = false;
  absl::Duration poll_frequency = absl::Seconds(10);
  std::string format = "jsonl";
  bool json = false;
  std::string columns;
  uint64_t max_records = 0;  // -n; 0: no limit
  bool reconnect = false;
  uint64_t verbosity = 0;
};

// How one connection ended.
enum class End {
  kLimit,         // -n records printed
  kInterrupted,   // SIGINT/SIGTERM
  kOutputClosed,  // standard output went away
  kOutputError,   // a write or marshal error
  kServerEnded,   // the daemon closed the stream with OK
  kFailed,        // the call failed (status)
};

struct Session {
  End end = End::kFailed;
  grpc::Status status;
  absl::Status output;
  uint64_t records = 0;  // printed in this session
};

// Cancels a context on Ctrl-C while it lives.
class WatchGuard {
 public:
  explicit WatchGuard(grpc::ClientContext* ctx) { Interrupter::Get().Watch(ctx); }
  ~WatchGuard() { Interrupter::Get().Unwatch(); }
  WatchGuard(const WatchGuard&) = delete;
  WatchGuard& operator=(const WatchGuard&) = delete;
};

// Waits for the channel to connect, at most until `deadline`. False when it failed (the call made
// next fails at once, with gRPC's reason), timed out, or Ctrl-C came.
bool WaitConnected(grpc::Channel* channel, absl::Time deadline) {
  for (;;) {  // until READY, a failure, the deadline or Ctrl-C
    const grpc_connectivity_state s = channel->GetState(/*try_to_connect=*/true);
    if (s == GRPC_CHANNEL_READY) return true;
    if (s == GRPC_CHANNEL_TRANSIENT_FAILURE || s == GRPC_CHANNEL_SHUTDOWN) return false;
    const absl::Time now = absl::Now();
    if (now >= deadline || Interrupter::Get().interrupted()) return false;
    channel->WaitForStateChange(
        s, absl::ToChronoTime(std::min(deadline, now + absl::Milliseconds(200))));
  }
}

class Client {
 public:
  Client(const Options& opts, Printer* printer) : opts_(opts), printer_(printer) {}

  // One connection: connect, call, print until the stream ends, -n is reached or Ctrl-C.
  Session RunOnce(uint64_t* printed) {
    Session s;
    grpc::ChannelArguments args;
    // Keepalive pings on a quiet stream, spaced above the 5 min a default gRPC server wants
    // between pings when it sends no data (closer ones are strikes, and strikes end in GOAWAY),
    // so no server policy is needed; a vanished daemon is noticed within about six minutes.
    // Unlimited pings without data: the client sends none on a server stream.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 330 * 1000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    auto channel = MakeChannel(opts_.conn, args);
    if (!channel.ok()) {  // checked once before the first session; a TLS file may vanish later
      s.status = grpc::Status(grpc::StatusCode::UNKNOWN, std::string(channel.status().message()));
      return s;
    }
    const absl::Time deadline = opts_.conn.timeout > absl::ZeroDuration()
                                    ? absl::Now() + opts_.conn.timeout
                                    : absl::InfiniteFuture();
    if (!WaitConnected(channel->get(), deadline) &&
        (*channel)->GetState(false) != GRPC_CHANNEL_TRANSIENT_FAILURE) {
      if (Interrupter::Get().interrupted()) {
        s.end = End::kInterrupted;
        return s;
      }
      s.status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "not connected");
      return s;
    }
    auto stub = pb::XTCPFlatRecordService::NewStub(*channel);
    return opts_.poll ? Poll(stub.get(), printed) : Listen(stub.get(), printed);
  }

 private:
  // Prints one response; false (with s->end set) when the session must stop.
  template <typename Response>
  bool Handle(const Response& resp, uint64_t* printed, Session* s) {
    if (!resp.has_xtcp_flat_record()) return true;
    if (absl::Status st = printer_->Print(resp.xtcp_flat_record()); !st.ok()) {
      s->end = absl::IsAborted(st) ? End::kOutputClosed : End::kOutputError;
      s->output = st;
      return false;
    }
    ++s->records;
    if (++*printed == opts_.max_records) {
      s->end = End::kLimit;
      return false;
    }
    return true;
  }

  // After the call: who ended it.
  void Conclude(const grpc::Status& status, bool stopped_by_us, Session* s) {
    s->status = status;
    if (stopped_by_us) return;  // s->end already says why
    if (Interrupter::Get().interrupted()) {
      s->end = End::kInterrupted;
    } else {
      s->end = status.ok() ? End::kServerEnded : End::kFailed;
    }
  }

  Session Listen(pb::XTCPFlatRecordService::Stub* stub, uint64_t* printed) {
    Session s;
    grpc::ClientContext ctx;
    WatchGuard watch(&ctx);
    auto reader = stub->FlatRecords(&ctx, pb::FlatRecordsRequest());
    pb::FlatRecordsResponse resp;
    bool stopped = false;
    while (reader->Read(&resp)) {
      if (!Handle(resp, printed, &s)) {
        stopped = true;
        ctx.TryCancel();
        break;
      }
    }
    Conclude(reader->Finish(), stopped, &s);
    return s;
  }

  // PollFlatRecords: one request at once, then one every -pollFrequency from a sender thread,
  // while this thread reads.
  Session Poll(pb::XTCPFlatRecordService::Stub* stub, uint64_t* printed) {
    Session s;
    grpc::ClientContext ctx;
    WatchGuard watch(&ctx);
    auto stream = stub->PollFlatRecords(&ctx);
    absl::Mutex mu;
    bool stop = false;
    std::thread sender([&] {
      for (uint64_t sent = 1;; ++sent) {
        if (!stream->Write(pb::PollFlatRecordsRequest())) return;
        if (opts_.verbosity > 0) std::cerr << kProgram << ": poll request " << sent << " sent\n";
        absl::MutexLock lock(&mu);
        if (mu.AwaitWithTimeout(absl::Condition(&stop), opts_.poll_frequency)) return;
      }
    });
    pb::PollFlatRecordsResponse resp;
    bool stopped = false;
    while (stream->Read(&resp)) {
      if (!Handle(resp, printed, &s)) {
        stopped = true;
        break;
      }
    }
    {
      absl::MutexLock lock(&mu);
      stop = true;
    }
    // Ends a Write() the sender may be blocked in; the status of a call the daemon already ended
    // is kept.
    ctx.TryCancel();
    sender.join();
    Conclude(stream->Finish(), stopped, &s);
    return s;
  }

  const Options& opts_;
  Printer* printer_;
};

std::string Usage(const FlagSet& flags) {
  return absl::StrCat(
      "Usage: ", kProgram, " [flags]\n\n",
      "Streams the records of a running xtcp2 daemon (FlatRecords; with -poll, PollFlatRecords,\n"
      "one poll request at once and then every -pollFrequency) and prints them in -format.\n\n"
      "Flags:\n",
      flags.Usage(),
      "\nExit status: 0 done (-n reached, Ctrl-C, stream ended by the daemon, stdout closed),\n"
      "1 connection or stream failure, 2 usage.\n");
}

int Main(int argc, char** argv) {
  QuietGrpcLogs();
  Options opts;
  FlagSet flags(kProgram);
  bool version = false;
  AddConnectionFlags(&flags, &opts.conn);
  flags.Bool({"poll"}, &opts.poll,
             "drive the polls: PollFlatRecords, one request per -pollFrequency");
  flags.Duration({"pollFrequency"}, &opts.poll_frequency, "time between poll requests (-poll)");
  flags.String({"format"}, &opts.format,
               absl::StrCat("output format: ", absl::StrJoin(MarshallerNames(), ", "),
                            ", json (= jsonl) or null (print nothing)"));
  flags.Bool({"json"}, &opts.json, "same as -format jsonl (upstream's old flag)");
  flags.String({"columns"}, &opts.columns,
               "csv/tsv: comma-separated XtcpFlatRecord JSON names (default: all)");
  flags.Uint({"n"}, &opts.max_records, 0, UINT64_MAX, "stop after this many records (0: never)");
  flags.Bool({"reconnect"}, &opts.reconnect,
             "when the connection fails or the stream ends, reconnect after a jittered backoff "
             "(1s doubling to 30s)");
  flags.Uint({"d"}, &opts.verbosity, 0, UINT64_MAX, "verbosity on stderr (1: each poll request)");
  flags.Bool({"v", "version"}, &version, "print the version and exit");

  std::vector<std::string> positional;
  if (std::string err = flags.Parse(std::vector<std::string>(argv + 1, argv + argc), &positional);
      !err.empty()) {
    PrintError(err);
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::cout << Usage(flags);
    return kExitOk;
  }
  if (version) {
    std::cout << VersionLine(kProgram) << "\n";
    return kExitOk;
  }
  if (!positional.empty()) {
    PrintError(absl::StrCat("unexpected argument \"", positional[0], "\" (see ", kProgram, " -h)"));
    return kExitUsage;
  }
  if (opts.poll_frequency <= absl::ZeroDuration()) {
    PrintError("invalid value \"0s\" for flag -pollFrequency: must be above zero");
    return kExitUsage;
  }
  if (opts.json) opts.format = "jsonl";
  auto printer = Printer::Create(opts.format, opts.columns);
  if (!printer.ok()) {
    PrintError(std::string(printer.status().message()));
    return kExitUsage;
  }
  if (auto channel = MakeChannel(opts.conn); !channel.ok()) {
    PrintError(std::string(channel.status().message()));
    return kExitUsage;
  }

  // Before any gRPC thread exists, so they all inherit the blocked signals.
  signal(SIGPIPE, SIG_IGN);
  Interrupter::Get().Install();

  Client client(opts, printer->get());
  std::mt19937_64 rng(std::random_device{}());
  absl::Duration backoff = absl::Seconds(1);
  uint64_t printed = 0;
  const std::string what = opts.poll ? "poll stream" : "stream";
  for (;;) {
    const Session s = client.RunOnce(&printed);
    std::string why;
    switch (s.end) {
      case End::kLimit:
      case End::kInterrupted:
      case End::kOutputClosed:
        return kExitOk;
      case End::kOutputError:
        PrintError(absl::StrCat("writing the output: ", s.output.message()));
        return kExitFailure;
      case End::kServerEnded:
        if (!opts.reconnect) {
          if (opts.max_records != 0) {
            PrintError(absl::StrCat("the daemon ended the ", what, " after ", printed, " of ",
                                    opts.max_records, " records"));
            return kExitFailure;
          }
          return kExitOk;
        }
        why = absl::StrCat(what, ": the daemon ended the stream");
        break;
      case End::kFailed: {
        const Failure f = DescribeFailure(s.status, what, opts.conn);
        if (!opts.reconnect) {
          PrintError(f.line);
          return f.exit_code;
        }
        why = f.line;
        break;
      }
    }
    if (s.records > 0) backoff = absl::Seconds(1);
    std::uniform_real_distribution<double> jitter(1.0, 1.5);
    const absl::Duration wait = backoff * jitter(rng);
    PrintError(absl::StrCat(why, "; reconnecting in ",
                            config::FormatGoDuration(absl::Trunc(wait, absl::Milliseconds(1)))));
    if (!Interrupter::Get().Sleep(wait)) return kExitOk;
    backoff = std::min(backoff * 2, absl::Seconds(30));
  }
}

}  // namespace
}  // namespace xtcp::tools

int main(int argc, char** argv) { return xtcp::tools::Main(argc, argv); }
