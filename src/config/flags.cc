// The command line: a Go-`flag`-compatible parser over the flag table (flag_table.cc), the
// environment, XTCP_CONFIG_JSON, -help, -conf and secret masking.
//
// No gflags: its registry is process-global mutable state (every parse had to reset it), it
// cannot say a flag's environment variable, topic, status or secrecy, and its syntax is not Go's
// (see docs/configuration.md). The table gives all of that; this file is the ~300 lines it costs.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "config/config.h"
#include "config/flag_table.h"

extern char** environ;

namespace xtcp::config {
namespace {

using ::xtcp_config::v1::XtcpConfig;

// Where a flag's value came from; flags not in the map have their default.
enum class Source { kFlag, kEnv, kJson };

std::string ReadTrimmedFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  *ok = static_cast<bool>(in);
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

CliResult Fail(std::string line) {
  CliResult r;
  r.action = CliResult::Action::kExit;
  r.exit_code = 2;
  r.error = std::move(line);
  return r;
}

CliResult Exit(int code, std::string output) {
  CliResult r;
  r.action = CliResult::Action::kExit;
  r.exit_code = code;
  r.output = std::move(output);
  return r;
}

// The first line of a library message, so an error stays one line.
std::string FirstLine(const std::string& s) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(s).substr(0, s.find('\n'))));
}

// Why `row`'s value (shown as `value`) is refused, naming where it came from.
std::string Refusal(const FlagRow& row, Source source, const std::string& value,
                    std::string_view why) {
  switch (source) {
    case Source::kEnv:
      return absl::StrCat("invalid value \"", value, "\" in environment variable ", AsAbsl(row.env),
                          " (for -", AsAbsl(row.name), "): ", AsAbsl(why));
    case Source::kJson:
      return absl::StrCat("invalid value \"", value, "\" for flag -", AsAbsl(row.name), " (field ",
                          AsAbsl(row.proto), " of XTCP_CONFIG_JSON): ", AsAbsl(why));
    case Source::kFlag:
      break;
  }
  return absl::StrCat("invalid value \"", value, "\" for flag -", AsAbsl(row.name), ": ",
                      AsAbsl(why));
}

// Secret string fields of `p` masked in place.
void MaskProto(XtcpConfig* p) {
  const auto* d = p->GetDescriptor();
  for (const FlagRow& row : Flags()) {
    if (row.secret == Secret::kNone || row.proto.empty()) continue;
    const auto* fd = d->FindFieldByName(std::string(row.proto));
    const auto* r = p->GetReflection();
    r->SetString(p, fd, MaskValue(row, r->GetString(*p, fd)));
  }
}

std::string ConfigJson(const XtcpConfig& p) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(p, &json, opts);
  return json;
}

// The XtcpConfig fields XTCP_CONFIG_JSON names (by proto or JSON name).
std::set<std::string> PresentFields(const std::string& json) {
  std::set<std::string> present;
  google::protobuf::Struct st;
  if (!google::protobuf::util::JsonStringToMessage(json, &st).ok()) return present;
  const auto* d = XtcpConfig::descriptor();
  for (const auto& [key, value] : st.fields()) {
    for (int i = 0; i < d->field_count(); ++i) {
      const auto* fd = d->field(i);
      if (fd->json_name() == key || fd->name() == key) present.insert(std::string(fd->name()));
    }
  }
  return present;
}

// Applies XTCP_CONFIG_JSON: the fields it names replace what flags/env/defaults gave.
std::string ApplyConfigJson(const std::string& json, const Vocabulary& vocab, Config* c,
                            std::map<const FlagRow*, Source>* sources) {
  XtcpConfig p;
  const auto st = google::protobuf::util::JsonStringToMessage(json, &p);
  if (!st.ok()) {
    return absl::StrCat("invalid XTCP_CONFIG_JSON: ", FirstLine(std::string(st.message())));
  }
  const std::set<std::string> present = PresentFields(json);
  if (absl::Status s = FromProtoFields(p, &present, c, vocab); !s.ok()) {
    return absl::StrCat(s.message(), " (from XTCP_CONFIG_JSON)");
  }
  for (const FlagRow& row : Flags()) {
    if (!row.proto.empty() && present.count(std::string(row.proto))) {
      (*sources)[&row] = Source::kJson;
    }
  }
  return "";
}

// Reads the environment for every flag not given on the command line.
std::string ApplyEnvironment(const Environment& env, Config* c,
                             std::map<const FlagRow*, Source>* sources) {
  for (const FlagRow& row : Flags()) {
    if (row.env.empty() || sources->count(&row)) continue;
    auto it = env.find(std::string(row.env));
    if (it == env.end()) continue;
    // An empty variable sets a string flag to empty (as upstream); for other kinds it is unset.
    if (it->second.empty() && row.field.type != Type::kString) continue;
    if (!IsValidUtf8(it->second)) {
      return absl::StrCat("environment variable ", AsAbsl(row.env), " (for -", AsAbsl(row.name),
                          ") is not valid UTF-8");
    }
    if (std::string why = row.field.parse(it->second, row.lo, row.hi, c); !why.empty()) {
      return Refusal(row, Source::kEnv, MaskValue(row, it->second), why);
    }
    (*sources)[&row] = Source::kEnv;
  }
  // Secret files (NAME_FILE) win over the plain variables (as upstream), but not over flags.
  for (const FlagRow& row : Flags()) {
    if (row.secret != Secret::kWhole || row.env.empty()) continue;
    const std::string file_env = absl::StrCat(AsAbsl(row.env), "_FILE");
    auto it = env.find(file_env);
    if (it == env.end() || (sources->count(&row) && sources->at(&row) == Source::kFlag)) continue;
    bool ok = false;
    const std::string secret = ReadTrimmedFile(it->second, &ok);
    if (!ok)
      return absl::StrCat("cannot read ", file_env, "=", it->second, " (for -", AsAbsl(row.name),
                          ")");
    if (!IsValidUtf8(secret))
      return absl::StrCat(file_env, " (for -", AsAbsl(row.name), "): not UTF-8");
    row.field.parse(secret, row.lo, row.hi, c);  // a string: cannot fail
    (*sources)[&row] = Source::kEnv;
  }
  return "";
}

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

CliResult ParseCommandLine(int argc, const char* const* argv, const Environment& env,
                           const Vocabulary& vocab) {
  Config c;
  std::map<const FlagRow*, Source> sources;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      if (i + 1 < argc) return Fail(absl::StrCat("unexpected argument \"", argv[i + 1], "\""));
      break;
    }
    if (!IsValidUtf8(arg)) return Fail(absl::StrCat("argument ", i, " is not valid UTF-8"));
    if (arg.size() < 2 || arg[0] != '-') {
      return Fail(
          absl::StrCat("unexpected argument \"", arg, "\" (flags start with -; see -help)"));
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      return Fail(absl::StrCat("bad flag syntax: ", arg, " (see -help)"));
    }
    std::string name = body, value;
    bool has_value = false;
    if (const size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "h" || name == "help") return Exit(0, Usage(vocab));
    const FlagRow* row = FindFlag(name);
    if (row == nullptr) {
      return Fail(absl::StrCat("flag provided but not defined: -", name, " (see -help)"));
    }
    if (!has_value) {
      if (row->field.type == Type::kBool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
        if (!IsValidUtf8(value)) {
          return Fail(absl::StrCat("value of flag -", name, " is not valid UTF-8"));
        }
      } else {
        return Fail(absl::StrCat("flag needs an argument: -", name));
      }
    }
    if (std::string why = row->field.parse(value, row->lo, row->hi, &c); !why.empty()) {
      return Fail(Refusal(*row, Source::kFlag, MaskValue(*row, value), why));
    }
    sources[row] = Source::kFlag;
  }

  if (std::string err = ApplyEnvironment(env, &c, &sources); !err.empty()) return Fail(err);
  // Upstream soft-restart carry: an XtcpConfig as JSON; the fields it names win.
  if (auto it = env.find("XTCP_CONFIG_JSON"); it != env.end() && !it->second.empty()) {
    if (std::string err = ApplyConfigJson(it->second, vocab, &c, &sources); !err.empty()) {
      return Fail(err);
    }
  }
  // -timeout left at its default follows a short -frequency: half of it, at most the default.
  const FlagRow* timeout = FindFlag("timeout");
  const FlagRow* frequency = FindFlag("frequency");
  if (!sources.count(timeout))
    c.poll_timeout = std::min(Config{}.poll_timeout, c.poll_frequency / 2);

  c.prom_listen_explicit = sources.count(FindFlag("promListen")) > 0;
  c.grpc_explicit =
      sources.count(FindFlag("grpcListen")) > 0 || sources.count(FindFlag("grpcPort")) > 0;
  c.daemon_version = VersionString();
  if (c.version) return Exit(0, VersionString() + "\n");
  if (c.print_config) {
    XtcpConfig p = ToProto(c, vocab);
    MaskProto(&p);
    return Exit(0, ConfigJson(p));
  }
  if (c.healthcheck) {
    // -healthcheck only probes /readyz: it reads -promListen alone (an unparsable value means port
    // 9088, as upstream), so the rest of the configuration is not validated.
    CliResult r;
    r.config = std::move(c);
    return r;
  }
  if (auto bad = FindInvalid(c, vocab)) {
    auto src = sources.find(bad->row);
    std::string why = bad->why;
    if (bad->row == timeout && sources.count(timeout) && sources.count(frequency)) {
      absl::StrAppend(&why, "; lower -timeout or raise -frequency");
    }
    return Fail(Refusal(*bad->row, src == sources.end() ? Source::kFlag : src->second,
                        ShownValue(*bad->row, c), why));
  }
  if (!vocab.deserializers.empty())
    c.deserializers = ResolveDeserializers(c.deserializers_spec, vocab);

  CliResult r;
  const Config defaults;
  for (const auto& [row, source] : sources) {
    if (row->status != Status::kInert) continue;
    // A soft-restart JSON carries every field: only a value that differs from the default counts.
    if (source == Source::kJson && row->field.format(c) == row->field.format(defaults)) continue;
    r.warnings.push_back(absl::StrCat("-", AsAbsl(row->name),
                                      " is accepted for compatibility but not built yet: it has "
                                      "no effect"));
  }
  r.config = std::move(c);
  return r;
}

namespace {

const char* TypeWord(Type t) {
  switch (t) {
    case Type::kBool:
      return "bool";
    case Type::kUint:
      return "uint";
    case Type::kInt:
      return "int";
    case Type::kString:
      return "string";
    case Type::kDuration:
      return "duration";
  }
  return "";
}

}  // namespace

std::string FlagTableMarkdown() {
  const Config defaults;
  std::string out;
  for (int t = 0; t <= static_cast<int>(Topic::kOneShot); ++t) {
    absl::StrAppend(&out, "\n### ", AsAbsl(TopicTitle(static_cast<Topic>(t))), "\n\n",
                    "| Flag | Type | Default | Environment | Validation (else exit 2) | Help |\n",
                    "|---|---|---|---|---|---|\n");
    for (const FlagRow& f : Flags()) {
      if (f.topic != static_cast<Topic>(t)) continue;
      std::string def = f.field.format(defaults);
      if (f.field.type == Type::kString) def = absl::StrCat("\"", def, "\"");
      std::string rule = RangeWords(f);
      if (f.check != nullptr) rule = rule.empty() ? "values in Help" : rule + "; values in Help";
      std::string help(f.help);
      for (size_t pos = 0; (pos = help.find('|', pos)) != std::string::npos; pos += 2) {
        help.replace(pos, 1, "\\|");
      }
      absl::StrAppend(
          &out, "| `-", AsAbsl(f.name), "` | ", TypeWord(f.field.type), " | `", def, "` | ",
          f.env.empty() ? "—" : absl::StrCat("`", AsAbsl(f.env), "`"), " | ",
          rule.empty() ? "—" : rule, " | ",
          f.status == Status::kInert ? "**not built yet** (accepted for compatibility). " : "",
          f.secret != Secret::kNone ? "*Secret: masked when shown.* " : "", help, " |\n");
    }
  }
  return out;
}

std::string DestHelp(const std::vector<std::string>& syntaxes) {
  return absl::StrCat("Destination scheme:address: ", absl::StrJoin(syntaxes, ", "));
}

std::string Usage(const Vocabulary& vocab) {
  const Config defaults;
  std::string out =
      "Usage of xtcp2:\n  -h, -help\n    \tPrint this help and exit\n"
      "Flags marked (not built yet) are accepted for compatibility with the upstream daemon and "
      "have no effect.\n";
  for (int t = 0; t <= static_cast<int>(Topic::kOneShot); ++t) {
    absl::StrAppend(&out, "\n", AsAbsl(TopicTitle(static_cast<Topic>(t))), ":\n");
    for (const FlagRow& f : Flags()) {
      if (f.topic != static_cast<Topic>(t)) continue;
      absl::StrAppend(&out, "  -", AsAbsl(f.name));
      if (f.field.type != Type::kBool) absl::StrAppend(&out, " ", TypeWord(f.field.type));
      const std::string help = f.name == "dest" && !vocab.dest_syntaxes.empty()
                                   ? DestHelp(vocab.dest_syntaxes)
                                   : std::string(f.help);
      absl::StrAppend(&out, "\n    \t", f.status == Status::kInert ? "(not built yet) " : "", help);
      const std::string def = f.field.format(defaults);
      const bool zero = def.empty() || def == "0" || def == "false" || def == "0s";
      if (!zero) {
        absl::StrAppend(&out, f.field.type == Type::kString
                                  ? absl::StrCat(" (default \"", def, "\")")
                                  : absl::StrCat(" (default ", def, ")"));
      }
      if (!f.env.empty()) absl::StrAppend(&out, " [env ", AsAbsl(f.env), "]");
      out += '\n';
    }
  }
  return out;
}

std::vector<std::string> MaskedArguments(int argc, const char* const* argv) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const FlagRow* row = nullptr;
    std::string prefix, value;
    bool has_value = false;
    if (i > 0 && !flags_done && arg.size() >= 2 && arg[0] == '-' && arg != "--") {
      const size_t start = arg[1] == '-' ? 2 : 1;
      const size_t eq = arg.find('=');
      row = FindFlag(arg.substr(start, eq == std::string::npos ? std::string::npos : eq - start));
      if (eq != std::string::npos) {
        prefix = arg.substr(0, eq + 1);
        value = arg.substr(eq + 1);
        has_value = true;
      }
    } else if (i > 0) {
      flags_done = true;
    }
    if (row == nullptr || row->secret == Secret::kNone) {
      // Unknown words may still carry a URL with a password.
      out.push_back(MaskUrlUserinfo(arg));
      if (row != nullptr && !has_value && row->field.type != Type::kBool && i + 1 < argc) {
        out.push_back(MaskUrlUserinfo(argv[++i]));
      }
      continue;
    }
    if (has_value) {
      out.push_back(prefix + MaskValue(*row, value));
    } else {
      out.push_back(arg);
      if (i + 1 < argc) out.push_back(MaskValue(*row, argv[++i]));
    }
  }
  return out;
}

std::string MaskedCommandLine(int argc, const char* const* argv) {
  std::string out;
  const std::vector<std::string> args = MaskedArguments(argc, argv);
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back('\0');
    out += args[i];
  }
  return out;
}

Environment MaskedEnvironment(const Environment& env) {
  Environment out = env;
  for (const FlagRow& row : Flags()) {
    if (row.secret == Secret::kNone || row.env.empty()) continue;
    if (auto it = out.find(std::string(row.env)); it != out.end()) {
      it->second = MaskValue(row, it->second);
    }
  }
  if (auto it = out.find("XTCP_CONFIG_JSON"); it != out.end() && !it->second.empty()) {
    XtcpConfig p;
    if (google::protobuf::util::JsonStringToMessage(it->second, &p).ok()) {
      MaskProto(&p);
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(p, &json);
      it->second = json;
    } else {
      it->second = "***";  // unparsable: cannot tell the secrets apart
    }
  }
  return out;
}

}  // namespace xtcp::config
