#include "tools/client_common.h"

#include <grpc/support/log.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "config/config.h"

namespace xtcp::tools {

// ---- FlagSet ----

void FlagSet::String(std::vector<std::string> names, std::string* out, std::string help) {
  flags_.push_back({std::move(names), Kind::kString, out, 0, 0, std::move(help),
                    out->empty() ? "" : absl::StrCat("\"", *out, "\"")});
}

void FlagSet::Bool(std::vector<std::string> names, bool* out, std::string help) {
  flags_.push_back({std::move(names), Kind::kBool, out, 0, 0, std::move(help), *out ? "true" : ""});
}

void FlagSet::Duration(std::vector<std::string> names, absl::Duration* out, std::string help) {
  flags_.push_back({std::move(names), Kind::kDuration, out, 0, 0, std::move(help),
                    *out == absl::ZeroDuration() ? "" : config::FormatGoDuration(*out)});
}

void FlagSet::Uint(std::vector<std::string> names, uint64_t* out, uint64_t min, uint64_t max,
                   std::string help) {
  flags_.push_back({std::move(names), Kind::kUint, out, min, max, std::move(help),
                    *out == 0 ? "" : absl::StrCat(*out)});
}

FlagSet::Flag* FlagSet::Find(std::string_view name) {
  for (Flag& f : flags_) {
    for (const std::string& n : f.names) {
      if (n == name) return &f;
    }
  }
  return nullptr;
}

const FlagSet::Flag* FlagSet::Find(std::string_view name) const {
  return const_cast<FlagSet*>(this)->Find(name);
}

bool FlagSet::IsSet(std::string_view name) const {
  const Flag* f = Find(name);
  return f != nullptr && f->set;
}

bool ParseGoBool(std::string_view text, bool* out) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (text == t) return *out = true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (text == f) {
      *out = false;
      return true;
    }
  }
  return false;
}

std::string FlagSet::Assign(Flag* flag, const std::string& value) {
  switch (flag->kind) {
    case Kind::kString:
      *static_cast<std::string*>(flag->out) = value;
      return "";
    case Kind::kBool:
      return ParseGoBool(value, static_cast<bool*>(flag->out)) ? "" : "parse error (want a bool)";
    case Kind::kDuration: {
      absl::Duration d;
      if (!config::ParseGoDuration(value, &d)) return "parse error (want a duration such as 10s)";
      if (d < absl::ZeroDuration()) return "must not be negative";
      *static_cast<absl::Duration*>(flag->out) = d;
      return "";
    }
    case Kind::kUint: {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(value, &v)) return "parse error (want an unsigned integer)";
      if (v < flag->min || v > flag->max) {
        return absl::StrCat("out of range [", flag->min, ", ", flag->max, "]");
      }
      *static_cast<uint64_t*>(flag->out) = v;
      return "";
    }
  }
  return "unknown kind";
}

std::string FlagSet::Parse(const std::vector<std::string>& args,
                           std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + static_cast<long>(i) + 1, args.end());
      return "";
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional->push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      return absl::StrCat("bad flag syntax: ", arg);
    }
    std::string name = body, value;
    bool has_value = false;
    if (const size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "h" || name == "help") {
      help_requested_ = true;
      return "";
    }
    Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::StrCat("flag provided but not defined: -", name, " (see ", program_, " -h)");
    }
    if (!has_value) {
      if (flag->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::StrCat("flag needs an argument: -", name);
      }
    }
    if (std::string why = Assign(flag, value); !why.empty()) {
      return absl::StrCat("invalid value \"", value, "\" for flag -", name, ": ", why);
    }
    flag->set = true;
  }
  return "";
}

std::string FlagSet::Usage() const {
  std::string out;
  for (const Flag& f : flags_) {
    std::vector<std::string> shown;
    for (const std::string& n : f.names) shown.push_back("-" + n);
    const char* arg = "";
    switch (f.kind) {
      case Kind::kString:
        arg = " string";
        break;
      case Kind::kBool:
        break;
      case Kind::kDuration:
        arg = " duration";
        break;
      case Kind::kUint:
        arg = " uint";
        break;
    }
    absl::StrAppend(&out, "  ", absl::StrJoin(shown, ", "), arg, "\n    \t", f.help);
    if (!f.default_text.empty()) absl::StrAppend(&out, " (default ", f.default_text, ")");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

// ---- connections ----

void AddConnectionFlags(FlagSet* flags, ConnectionOptions* opts,
                        std::vector<std::string> timeout_names) {
  flags->String({"target"}, &opts->target,
                "daemon host name or address, or unix:/path of a Unix socket");
  flags->Uint({"port"}, &opts->port, 1, 65535, "daemon gRPC port (its -grpcPort)");
  flags->Duration(std::move(timeout_names), &opts->timeout,
                  "deadline of each call (xtcp2client: of connecting); 0: none");
  flags->Bool({"tls"}, &opts->tls, "use TLS, verifying the server against the system's CAs");
  flags->String({"tlsCa"}, &opts->tls_ca,
                "PEM file of the CA that signed the server's certificate (enables TLS)");
  flags->String({"tlsCert"}, &opts->tls_cert,
                "PEM file of this client's certificate chain, for mutual TLS (with -tlsKey)");
  flags->String({"tlsKey"}, &opts->tls_key, "PEM file of this client's private key");
  flags->String({"tlsServerName"}, &opts->tls_server_name,
                "name the server's certificate must carry (default: the -target host)");
}

std::string Address(const ConnectionOptions& opts) {
  const std::string& t = opts.target;
  if (absl::StartsWith(t, "unix:") || absl::StartsWith(t, "unix-abstract:")) return t;
  // A bare IPv6 address gets brackets; "[v6]" and host names get the port appended.
  if (t.find(':') != std::string::npos && t.front() != '[') {
    return absl::StrCat("[", t, "]:", opts.port);
  }
  return absl::StrCat(t, ":", opts.port);
}

namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the -", AsAbsl(flag), " file ", path, ": ", strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.empty() || !absl::StrContains(text, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("the -", AsAbsl(flag), " file ", path, " holds no PEM data"));
  }
  return text;
}

bool UsesTls(const ConnectionOptions& o) {
  return o.tls || !o.tls_ca.empty() || !o.tls_cert.empty() || !o.tls_key.empty();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectionOptions& opts,
                                                           grpc::ChannelArguments args) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (UsesTls(opts)) {
    if (opts.tls_cert.empty() != opts.tls_key.empty()) {
      return absl::InvalidArgumentError("-tlsCert and -tlsKey go together");
    }
    grpc::SslCredentialsOptions ssl;
    if (!opts.tls_ca.empty()) {
      auto ca = ReadPem(opts.tls_ca, "tlsCa");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!opts.tls_cert.empty()) {
      auto cert = ReadPem(opts.tls_cert, "tlsCert");
      if (!cert.ok()) return cert.status();
      auto key = ReadPem(opts.tls_key, "tlsKey");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    creds = grpc::SslCredentials(ssl);
    if (!opts.tls_server_name.empty()) args.SetSslTargetNameOverride(opts.tls_server_name);
  } else if (!opts.tls_server_name.empty()) {
    return absl::InvalidArgumentError("-tlsServerName needs TLS (-tlsCa or -tls)");
  }
  return grpc::CreateCustomChannel(Address(opts), creds, args);
}

std::string_view CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN_CODE";
  }
}

Failure DescribeFailure(const grpc::Status& status, std::string_view what_std,
                        const ConnectionOptions& opts) {
  const absl::string_view what = AsAbsl(what_std);
  const absl::string_view code = AsAbsl(CodeName(status.error_code()));
  // One line: gRPC's messages can carry newlines (a server's multi-line text, debug strings).
  std::string msg = absl::StrReplaceAll(status.error_message(), {{"\r", " "}, {"\n", " "}});
  absl::StripAsciiWhitespace(&msg);
  const std::string addr = Address(opts);
  const std::string lower = absl::AsciiStrToLower(msg);
  const bool tls_text = absl::StrContains(lower, "ssl") || absl::StrContains(lower, "handshake") ||
                        absl::StrContains(lower, "certificate") || absl::StrContains(lower, "tls");
  Failure f;
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // the daemon: a burst already running
      f.exit_code = kExitRejected;
      f.line = absl::StrCat(what, ": rejected by the server (", code, "): ", msg);
      return f;
    case grpc::StatusCode::UNAVAILABLE: {
      // The connection was made and then dropped before HTTP/2 got going: what a TLS server does
      // to a plaintext client, and a mutual-TLS server to a client without a certificate.
      const bool dropped =
          absl::StrContains(lower, "socket closed") || absl::StrContains(lower, "reset by peer");
      if (tls_text) {
        f.line = absl::StrCat(what, ": TLS handshake with ", addr, " failed: ", msg);
      } else if (UsesTls(opts)) {
        f.line = absl::StrCat(what, ": cannot reach ", addr, " over TLS: ", msg);
        if (dropped && opts.tls_cert.empty()) {
          absl::StrAppend(&f.line,
                          " (if the server requires a client certificate, pass -tlsCert/-tlsKey)");
        }
      } else {
        f.line = absl::StrCat(what, ": cannot reach ", addr, ": ", msg);
        if (dropped) absl::StrAppend(&f.line, " (if the server uses TLS, pass -tlsCa)");
      }
      return f;
    }
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      f.line = absl::StrCat(what, ": no answer from ", addr, " within ",
                            config::FormatGoDuration(opts.timeout), " (-timeout)");
      return f;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      f.line = absl::StrCat(what, ": refused by ", addr, " (", code, "): ", msg);
      return f;
    case grpc::StatusCode::UNIMPLEMENTED:
      f.line = absl::StrCat(what, ": ", addr, " does not serve this call (UNIMPLEMENTED): ", msg);
      return f;
    default:
      f.line = absl::StrCat(what, ": failed (", code, ") at ", addr, ": ", msg);
      return f;
  }
}

void QuietGrpcLogs() {
  if (getenv("GRPC_VERBOSITY") != nullptr) return;
  gpr_set_log_function([](gpr_log_func_args*) {});
}

std::string VersionLine(std::string_view program) {
  const std::string v = config::VersionString();
  return absl::StrCat(AsAbsl(program), " ", absl::StripPrefix(v, "xtcp "));
}

// ---- Interrupter ----

Interrupter& Interrupter::Get() {
  static Interrupter* const instance = new Interrupter;
  return *instance;
}

void Interrupter::Install() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Detached: it lives as long as the process and holds nothing that needs cleaning up.
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) Get().Interrupt();
    }
  }).detach();
}

bool Interrupter::interrupted() const {
  absl::MutexLock lock(&mu_);
  return interrupted_;
}

void Interrupter::Watch(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  watched_ = ctx;
  if (interrupted_) ctx->TryCancel();
}

void Interrupter::Unwatch() {
  absl::MutexLock lock(&mu_);
  watched_ = nullptr;
}

bool Interrupter::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&interrupted_), d);
  return !interrupted_;
}

void Interrupter::Interrupt() {
  absl::MutexLock lock(&mu_);
  interrupted_ = true;
  if (watched_ != nullptr) watched_->TryCancel();
}

}  // namespace xtcp::tools
