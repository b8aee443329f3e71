#pragma once
// What xtcp2ctl and xtcp2client share: a Go-`flag`-syntax parser for their small flag sets, the
// connection flags (-target, -port, TLS), channel creation, one-line descriptions of failed RPCs
// with the documented exit codes, and Ctrl-C handling for long-running calls.
//
// Thread-safety: FlagSet and ConnectionOptions are used by the main thread only; Interrupter is
// safe from any thread.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xtcp::tools {

// Exit codes of both tools (docs/grpc.md).
inline constexpr int kExitOk = 0;        // done (also: -n reached, Ctrl-C, stdout closed)
inline constexpr int kExitFailure = 1;   // cannot connect, TLS failure, timeout, stream broke
inline constexpr int kExitUsage = 2;     // bad flag, argument, field=value or input file
inline constexpr int kExitRejected = 3;  // the server refused the request's content

// A flag set in Go `flag` syntax: -name value, -name=value, --name; a bool flag takes no value
// unless written -name=false. Flags may come before, between or after the positional arguments;
// "--" ends the flags. Each flag may have several names (aliases); the first is the one shown.
class FlagSet {
 public:
  explicit FlagSet(std::string program) : program_(std::move(program)) {}
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  // Registers a flag; `*out` holds the default and receives the value. The pointers must outlive
  // Parse().
  void String(std::vector<std::string> names, std::string* out, std::string help);
  void Bool(std::vector<std::string> names, bool* out, std::string help);
  // Go time.Duration syntax ("10s", "1m30s", "250ms"); a negative value is refused.
  void Duration(std::vector<std::string> names, absl::Duration* out, std::string help);
  // A decimal unsigned integer in [min, max].
  void Uint(std::vector<std::string> names, uint64_t* out, uint64_t min, uint64_t max,
            std::string help);

  // Parses `args` (without the program name). Non-flag arguments are appended to `*positional`.
  // Returns "" or one line naming the problem (the caller exits kExitUsage). -h, -help and --help
  // set help_requested() and stop parsing.
  std::string Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);

  bool help_requested() const { return help_requested_; }
  // True if the flag (by any of its names) appeared on the command line.
  bool IsSet(std::string_view name) const;
  // One line per flag: "  -name value\n    \thelp (default ...)", Go's PrintDefaults layout.
  std::string Usage() const;

 private:
  enum class Kind { kString, kBool, kDuration, kUint };
  struct Flag {
    std::vector<std::string> names;
    Kind kind;
    void* out;
    uint64_t min = 0, max = 0;
    std::string help;
    std::string default_text;
    bool set = false;
  };
  Flag* Find(std::string_view name);
  const Flag* Find(std::string_view name) const;
  // "" or why `value` is not valid for `flag`.
  static std::string Assign(Flag* flag, const std::string& value);

  std::string program_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

// Go's ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
bool ParseGoBool(std::string_view text, bool* out);

// Where and how to connect.
struct ConnectionOptions {
  std::string target = "localhost";  // host name, IP address, or unix:/path (-port is unused then)
  uint64_t port = 8889;              // the daemon's -grpcPort default
  absl::Duration timeout = absl::Seconds(10);
  bool tls = false;             // TLS with the system's CA roots (implied by any -tls* file flag)
  std::string tls_ca;           // PEM file of the CA(s) the server's certificate must chain to
  std::string tls_cert;         // client certificate chain (mutual TLS), with tls_key
  std::string tls_key;          // client private key
  std::string tls_server_name;  // name to verify in the server's certificate (SNI too)
};

// Registers -target, -port, -tls, -tlsCa, -tlsCert, -tlsKey, -tlsServerName; and -timeout under
// `timeout_names` (xtcp2ctl's frequency command keeps "-timeout" for the poll timeout).
void AddConnectionFlags(FlagSet* flags, ConnectionOptions* opts,
                        std::vector<std::string> timeout_names = {"timeout"});

// The gRPC target: "host:port", "[v6]:port", or the unix: target unchanged.
std::string Address(const ConnectionOptions& opts);

// A channel to Address(opts) with transport credentials from the TLS options. InvalidArgument for
// an unreadable PEM file or -tlsCert without -tlsKey (usage errors). `args` may add channel
// arguments (keepalive, ...).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectionOptions& opts,
                                                           grpc::ChannelArguments args = {});

// A failed RPC as the tools report it.
struct Failure {
  int exit_code = kExitFailure;
  std::string line;  // one line, without the program prefix and without a newline
};

// Describes `status` (not OK) of the RPC `what` (e.g. "get", "stream"): the server's refusal of
// the request (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, RESOURCE_EXHAUSTED:
// kExitRejected, its message verbatim); unreachable, TLS, timeout and everything else:
// kExitFailure.
Failure DescribeFailure(const grpc::Status& status, std::string_view what,
                        const ConnectionOptions& opts);

// The canonical name of a status code ("INVALID_ARGUMENT").
std::string_view CodeName(grpc::StatusCode code);

// gRPC's own log lines (a failed TLS handshake logs one at ERROR) go nowhere, unless the
// environment sets GRPC_VERBOSITY: the tools report every failure themselves, in one line.
void QuietGrpcLogs();

// "<program> commit:<c>\tdate(UTC):<d>\tversion:<v>", the daemon's -v line with our name.
std::string VersionLine(std::string_view program);

// SIGINT and SIGTERM for long-running calls: Install() blocks them in every thread (call it before
// creating any channel, so gRPC's threads inherit the mask) and starts a thread that waits for
// them; a signal cancels the watched ClientContext and wakes Sleep(). Process-wide.
class Interrupter {
 public:
  static Interrupter& Get();
  void Install();
  bool interrupted() const ABSL_LOCKS_EXCLUDED(mu_);
  // Watches `ctx` (cancelled at once if a signal already came) until Unwatch().
  void Watch(grpc::ClientContext* ctx) ABSL_LOCKS_EXCLUDED(mu_);
  void Unwatch() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits for `d`; false if interrupted (at once or during the wait).
  bool Sleep(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);
  // What a signal does: marks the process interrupted, cancels the watched call, ends sleeps.
  void Interrupt() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Interrupter() = default;
  mutable absl::Mutex mu_;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watched_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace xtcp::tools
