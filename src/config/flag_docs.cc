#include "config/flag_docs.h"

#include <cstdint>
#include <cstdio>

#include "config/config.h"
#include "config/flag_table.h"

namespace xtcp::config {
namespace {

const char* ValueWord(Type t) {
  switch (t) {
    case Type::kBool:
      return "";
    case Type::kUint:
    case Type::kInt:
      return "n";
    case Type::kString:
      return "string";
    case Type::kDuration:
      return "duration";
  }
  return "";
}

// Text for a roff body line: \ -> \e, - -> \-, non-ASCII -> \[uXXXX], and a leading . or ' made
// harmless, so table text can never be read as a request.
std::string Roff(std::string_view text) {
  std::string out;
  if (!text.empty() && (text[0] == '.' || text[0] == '\'')) out += "\\&";
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (c == '\n') {
      out += ' ';
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // One UTF-8 sequence (the table is valid UTF-8; a stray byte is shown as U+FFFD).
      int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
      uint32_t cp = extra == 3 ? c & 0x07u : extra == 2 ? c & 0x0fu : c & 0x1fu;
      for (int k = 0; k < extra; ++k) {
        const size_t j = i + 1 + static_cast<size_t>(k);
        if (j >= text.size() || (static_cast<unsigned char>(text[j]) & 0xc0) != 0x80) {
          extra = -1;
          break;
        }
        cp = (cp << 6) | (static_cast<unsigned char>(text[j]) & 0x3fu);
      }
      if (extra < 0) {
        cp = 0xfffd;
      } else {
        i += static_cast<size_t>(extra);
      }
      char buf[16];
      std::snprintf(buf, sizeof(buf), "\\[u%04X]", static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out;
}

void Section(std::string* out, std::string_view title) {
  *out += ".SH ";
  *out += title;
  *out += '\n';
}

void Paragraph(std::string* out, std::string_view text) {
  *out += ".PP\n";
  *out += Roff(text);
  *out += '\n';
}

}  // namespace

std::string ManPage(std::string_view date, std::string_view version) {
  const Config defaults;
  std::string out;
  out += ".\\\" Generated from src/config/flag_table.cc by xtcp2_flag_docs; do not edit.\n";
  out += ".TH XTCP2 8 \"" + std::string(date) + "\" \"xtcp2 " + std::string(version) +
         "\" \"System Administration\"\n";
  Section(&out, "NAME");
  out += "xtcp2 \\- stream the kernel's TCP socket state of every network namespace\n";
  Section(&out, "SYNOPSIS");
  out += ".B xtcp2\n.RI [ flags ]\n";
  Section(&out, "DESCRIPTION");
  Paragraph(&out,
            "xtcp2 dumps inet_diag for every TCP socket in every network namespace on a fixed "
            "cadence and sends the records, batched in Envelopes, to a sink (-dest): Kafka, a "
            "file, stdout, TCP, UDP, Unix sockets or HTTP, encoded by -marshal (protobufList by "
            "default). It serves Prometheus metrics (OpenMetrics when asked), /healthz, /readyz "
            "and CPU and heap profiles on -promListen (:9088).");
  Paragraph(&out,
            "Flags are written -name value, -name=value or --name; a bool flag is -name or "
            "-name=false. Most flags have an environment variable; a flag on the command line "
            "beats its variable, and XTCP_CONFIG_JSON sets the fields it names. Durations use "
            "Go syntax (500ms, 10s, 1h30m).");
  Paragraph(&out,
            "It needs CAP_NET_ADMIN and CAP_SYS_ADMIN (CAP_SYS_PTRACE to read other users' "
            "/proc/<pid>/ns/net). Run it from systemd (xtcp2.service, configured in "
            "/etc/default/xtcp2) or as a container sidecar.");
  Section(&out, "OPTIONS");
  out += ".TP\n.B \\-h\\fR, \\fB\\-help\nPrint the flags and exit.\n";
  for (int t = 0; t <= static_cast<int>(Topic::kOneShot); ++t) {
    out += ".SS " + Roff(TopicTitle(static_cast<Topic>(t))) + "\n";
    for (const FlagRow& f : Flags()) {
      if (f.topic != static_cast<Topic>(t)) continue;
      out += ".TP\n";
      if (f.field.type == Type::kBool) {
        out += ".B \\-" + Roff(f.name) + "\n";
      } else {
        out += ".BI \\-" + Roff(f.name) + " \" " + ValueWord(f.field.type) + "\"\n";
      }
      std::string text;
      if (f.status == Status::kInert) text += "(Not built yet: accepted for compatibility.) ";
      text += f.help;
      if (!text.empty() && text.back() != '.') text += '.';
      const std::string def = f.field.format(defaults);
      if (!def.empty() && !(f.field.type == Type::kBool && def == "false")) {
        text += " Default: " + def + ".";
      }
      const std::string range = RangeWords(f);
      if (!range.empty()) text += " The value " + range + ".";
      if (!f.env.empty()) text += " Environment: " + std::string(f.env) + ".";
      if (f.secret != Secret::kNone) text += " Secret: masked wherever it is shown.";
      out += Roff(text) + "\n";
    }
  }
  Section(&out, "ENVIRONMENT");
  Paragraph(&out,
            "Every variable named under OPTIONS sets its flag. XTCP_CONFIG_JSON holds an "
            "xtcp_config.v1.XtcpConfig as JSON; the fields it names are set, the others kept. "
            "NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID come from systemd (Type=notify): "
            "READY=1 once the first poll is under way, WATCHDOG=1 from the poll loop, STOPPING=1 "
            "at shutdown. TCMALLOC_SAMPLE_PARAMETER sets heap sampling for /debug/pprof/heap.");
  Section(&out, "EXIT STATUS");
  out += ".TP\n.B 0\nNormal end, nothing lost; -help, -v, -conf; -healthcheck got 200.\n";
  out +=
      ".TP\n.B 1\nStart-up or runtime failure (missing capabilities, listen failure, "
      "sink set-up); a second signal during shutdown; a failed -healthcheck.\n";
  out +=
      ".TP\n.B 2\nBad command line or environment: one line on stderr names the flag or "
      "variable. systemd does not restart the unit for it.\n";
  out += ".TP\n.B 3\nThe run ended but rows were lost on the way to or in the sink.\n";
  Section(&out, "SIGNALS");
  Paragraph(&out,
            "SIGINT and SIGTERM stop polling, flush and drain the sink within -shutdownTimeout; a "
            "second one exits at once. SIGHUP flushes and reopens a file: sink (logrotate).");
  Section(&out, "FILES");
  out += ".TP\n.I /etc/default/xtcp2\nEnvironment of the systemd unit (DEST=, XTCP2_ARGS=, ...).\n";
  out += ".TP\n.I /lib/systemd/system/xtcp2.service\nThe systemd unit.\n";
  out += ".TP\n.I /usr/share/doc/xtcp2/\nOperations, configuration and compatibility pages.\n";
  Section(&out, "SEE ALSO");
  out += ".BR ss (8),\n.BR systemd.service (5),\n.BR capabilities (7)\n";
  return out;
}

std::string BashCompletion() {
  std::string flags = "-h -help";
  std::string strings;  // flags whose value may be a file name
  std::string valued;   // every flag that takes a value
  for (const FlagRow& f : Flags()) {
    const std::string name(f.name);
    flags += " -" + name;
    if (f.field.type == Type::kBool) continue;
    valued += " -" + name;
    if (f.field.type == Type::kString) strings += " -" + name;
  }
  std::string out;
  out +=
      "# bash completion for xtcp2; generated from src/config/flag_table.cc by "
      "xtcp2_flag_docs.\n";
  out += "_xtcp2() {\n";
  out += "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\"\n";
  out += "  ((COMP_CWORD > 0)) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n";
  out += "  local flags=\"" + flags + "\"\n";
  out += "  local valued=\" " + valued.substr(valued.empty() ? 0 : 1) + " \"\n";
  out += "  local strings=\" " + strings.substr(strings.empty() ? 0 : 1) + " \"\n";
  out += "  COMPREPLY=()\n";
  out += "  # The value of the flag before: file names for string flags, nothing otherwise.\n";
  out += "  if [[ \"$prev\" == -* && \"$prev\" != *=* && \"$cur\" != -* ]]; then\n";
  out += "    local p=\"${prev#-}\"; p=\"-${p#-}\"\n";
  out += "    if [[ \"$strings\" == *\" $p \"* ]]; then\n";
  out += "      mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
  out += "      return 0\n";
  out += "    fi\n";
  out += "    [[ \"$valued\" == *\" $p \"* ]] && return 0\n";
  out += "  fi\n";
  out += "  if [[ \"$cur\" == --* ]]; then\n";
  out += "    mapfile -t COMPREPLY < <(compgen -W \"$flags\" -P - -- \"${cur#-}\")\n";
  out += "  elif [[ \"$cur\" == -* ]]; then\n";
  out += "    mapfile -t COMPREPLY < <(compgen -W \"$flags\" -- \"$cur\")\n";
  out += "  fi\n";
  out += "  return 0\n";
  out += "}\n";
  out += "complete -F _xtcp2 xtcp2\n";
  return out;
}

}  // namespace xtcp::config
