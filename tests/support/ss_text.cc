#include "support/ss_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "support/files.h"

namespace xtcp::testing {
namespace {

// sstate_name[] of ss.c, indexed by the kernel's TCP state number.
constexpr absl::string_view kStateNames[] = {
    "UNKNOWN",   "ESTAB",  "SYN-SENT",   "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
    "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN",     "CLOSING",
};

bool IsStateName(absl::string_view s) {
  return std::find(std::begin(kStateNames), std::end(kStateNames), s) != std::end(kStateNames);
}

bool IsHeader(absl::string_view line) {
  return absl::StartsWith(line, "State") || absl::StartsWith(line, "Netid") ||
         absl::StartsWith(line, "Recv-Q");
}

// Splits on white space, keeping "(...)" groups (nested) and "..." strings in one token, so that
// users:(("a b",pid=1,fd=3)) and inet-sockopt's "( is_icsk mc_loop)" stay whole.
std::vector<absl::string_view> Tokenize(absl::string_view s) {
  std::vector<absl::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && absl::ascii_isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i == s.size()) break;
    const size_t start = i;
    int depth = 0;
    bool quoted = false;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (quoted) {
        if (c == '"') quoted = false;
        continue;
      }
      if (c == '"') {
        quoted = true;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (depth > 0) --depth;
      } else if (depth == 0 && absl::ascii_isspace(static_cast<unsigned char>(c))) {
        break;
      }
    }
    out.push_back(s.substr(start, i - start));
  }
  return out;
}

// At most 80 characters of `s`, for error messages.
std::string Clip(absl::string_view s) {
  return s.size() <= 80 ? std::string(s) : absl::StrCat(s.substr(0, 80), "...");
}

absl::Status Bad(absl::string_view key, absl::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat("bad value for ", key, ": \"", Clip(value), "\""));
}

template <typename T>
bool ParseInt(absl::string_view v, T* out) {
  return absl::SimpleAtoi(v, out);
}

// "0x2", "0" (printf "%#x"), or decimal.
bool ParseHexOrDec(absl::string_view v, uint32_t* out) {
  if (absl::StartsWith(v, "0x") || absl::StartsWith(v, "0X")) {
    return absl::SimpleHexAtoi(absl::string_view(v.data() + 2, v.size() - 2), out);
  }
  return ParseInt(v, out);
}

bool IsDouble(absl::string_view v) {
  double d;
  return absl::SimpleAtod(absl::string_view(v.data(), v.size()), &d);
}

// Strips `suffix` if present; returns whether it was.
bool Consume(absl::string_view* v, absl::string_view suffix) {
  if (!absl::EndsWith(*v, suffix)) return false;
  v->remove_suffix(suffix.size());
  return true;
}

// "(a,b,c)" -> {"a","b","c"}; false if not parenthesised.
bool SplitParens(absl::string_view v, std::vector<absl::string_view>* parts) {
  if (v.size() < 2 || v.front() != '(' || v.back() != ')') return false;
  v = v.substr(1, v.size() - 2);
  parts->clear();
  for (absl::string_view p : absl::StrSplit(absl::string_view(v.data(), v.size()), ',')) {
    parts->emplace_back(p.data(), p.size());
  }
  return true;
}

// A rate printed by sprint_bw(): "123bps", "1.5Mbps", "54613333333bps". Keeps the text before
// "bps".
bool ParseRate(absl::string_view v, std::string* out) {
  if (!Consume(&v, "bps") || v.empty()) return false;
  absl::string_view num = v;
  if (absl::string_view("kMGT").find(num.back()) != absl::string_view::npos) num.remove_suffix(1);
  if (!IsDouble(num)) return false;
  *out = std::string(v);
  return true;
}

using Handler = absl::Status (*)(absl::string_view key, absl::string_view value, SsSocket* s);

template <auto Member>
absl::Status SetInt(absl::string_view key, absl::string_view v, SsSocket* s) {
  typename std::remove_reference_t<decltype(s->*Member)>::value_type x;
  if (!ParseInt(v, &x)) return Bad(key, v);
  s->*Member = x;
  return absl::OkStatus();
}

template <auto Member>
absl::Status SetHexOrDec(absl::string_view key, absl::string_view v, SsSocket* s) {
  uint32_t x;
  if (!ParseHexOrDec(v, &x)) return Bad(key, v);
  s->*Member = x;
  return absl::OkStatus();
}

template <auto Member>
absl::Status SetDoubleText(absl::string_view key, absl::string_view v, SsSocket* s) {
  if (!IsDouble(v)) return Bad(key, v);
  s->*Member = std::string(v);
  return absl::OkStatus();
}

template <auto Member>
absl::Status SetLimited(absl::string_view key, absl::string_view v, SsSocket* s) {
  // 12ms(1.5%)
  const size_t paren = v.find("ms(");
  if (paren == absl::string_view::npos || !absl::EndsWith(v, "%)")) return Bad(key, v);
  SsLimited l;
  if (!ParseInt(v.substr(0, paren), &l.ms)) return Bad(key, v);
  l.percent = std::string(v.substr(paren + 3, v.size() - paren - 5));
  if (!IsDouble(l.percent)) return Bad(key, v);
  s->*Member = l;
  return absl::OkStatus();
}

absl::Status SetSk(absl::string_view key, absl::string_view v, SsSocket* s) {
  uint64_t x;
  if (!absl::SimpleHexAtoi(absl::string_view(v.data(), v.size()), &x)) return Bad(key, v);
  s->sk = x;
  return absl::OkStatus();
}

absl::Status SetCgroup(absl::string_view, absl::string_view v, SsSocket* s) {
  s->cgroups.emplace_back(v);
  return absl::OkStatus();
}

absl::Status SetProcess(absl::string_view, absl::string_view v, SsSocket* s) {
  s->process = std::string(v);
  return absl::OkStatus();
}

absl::Status SetTimer(absl::string_view key, absl::string_view v, SsSocket* s) {
  std::vector<absl::string_view> p;
  if (!SplitParens(v, &p) || p.size() != 3) return Bad(key, v);
  SsTimer t{std::string(p[0]), std::string(p[1]), 0};
  if (!ParseInt(p[2], &t.retrans)) return Bad(key, v);
  s->timer = t;
  return absl::OkStatus();
}

absl::Status SetSkmem(absl::string_view key, absl::string_view v, SsSocket* s) {
  static constexpr absl::string_view kLabels[] = {"r", "rb", "t", "tb", "f", "w", "o", "bl", "d"};
  std::vector<absl::string_view> p;
  if (!SplitParens(v, &p) || p.size() < 7 || p.size() > 9) return Bad(key, v);
  std::vector<uint32_t> values;
  for (size_t i = 0; i < p.size(); ++i) {
    absl::string_view item = p[i];
    if (!absl::StartsWith(item, kLabels[i])) return Bad(key, v);
    item.remove_prefix(kLabels[i].size());
    uint32_t x;
    if (!ParseInt(item, &x)) return Bad(key, v);
    values.push_back(x);
  }
  s->skmem = values;
  return absl::OkStatus();
}

absl::Status SetMem(absl::string_view key, absl::string_view v, SsSocket* s) {
  static constexpr absl::string_view kLabels[] = {"r", "w", "f", "t"};
  std::vector<absl::string_view> p;
  if (!SplitParens(v, &p) || p.size() != 4) return Bad(key, v);
  std::array<uint32_t, 4> values{};
  for (size_t i = 0; i < 4; ++i) {
    absl::string_view item = p[i];
    if (!absl::StartsWith(item, kLabels[i])) return Bad(key, v);
    if (!ParseInt(item.substr(1), &values[i])) return Bad(key, v);
  }
  s->mem = values;
  return absl::OkStatus();
}

template <auto Member>
absl::Status SetPair(absl::string_view key, absl::string_view v, SsSocket* s, char sep) {
  const size_t at = v.find(sep);
  if (at == absl::string_view::npos) return Bad(key, v);
  uint32_t a, b;
  if (!ParseInt(v.substr(0, at), &a) || !ParseInt(v.substr(at + 1), &b)) return Bad(key, v);
  s->*Member = std::make_pair(a, b);
  return absl::OkStatus();
}

absl::Status SetWscale(absl::string_view key, absl::string_view v, SsSocket* s) {
  return SetPair<&SsSocket::wscale>(key, v, s, ',');
}

absl::Status SetRetrans(absl::string_view key, absl::string_view v, SsSocket* s) {
  return SetPair<&SsSocket::retrans>(key, v, s, '/');
}

absl::Status SetRtt(absl::string_view key, absl::string_view v, SsSocket* s) {
  const size_t at = v.find('/');
  if (at == absl::string_view::npos || !IsDouble(v.substr(0, at)) || !IsDouble(v.substr(at + 1))) {
    return Bad(key, v);
  }
  s->rtt = std::string(v.substr(0, at));
  s->rttvar = std::string(v.substr(at + 1));
  return absl::OkStatus();
}

absl::Status SetBusy(absl::string_view key, absl::string_view v, SsSocket* s) {
  absl::string_view n = v;
  uint64_t ms;
  if (!Consume(&n, "ms") || !ParseInt(n, &ms)) return Bad(key, v);
  s->busy_ms = ms;
  return absl::OkStatus();
}

absl::Status SetDctcp(absl::string_view key, absl::string_view v, SsSocket* s) {
  SsDctcp d;
  if (v == "fallback_mode") {
    d.fallback = true;
    s->dctcp = d;
    return absl::OkStatus();
  }
  static constexpr absl::string_view kLabels[] = {"ce_state:", "alpha:", "ab_ecn:", "ab_tot:"};
  uint32_t* fields[] = {&d.ce_state, &d.alpha, &d.ab_ecn, &d.ab_tot};
  std::vector<absl::string_view> p;
  if (!SplitParens(v, &p) || p.size() != 4) return Bad(key, v);
  for (size_t i = 0; i < 4; ++i) {
    if (!absl::StartsWith(p[i], kLabels[i])) return Bad(key, v);
    if (!ParseInt(p[i].substr(kLabels[i].size()), fields[i])) return Bad(key, v);
  }
  s->dctcp = d;
  return absl::OkStatus();
}

absl::Status SetBbr(absl::string_view key, absl::string_view v, SsSocket* s) {
  std::vector<absl::string_view> p;
  if (!SplitParens(v, &p) || p.size() < 2) return Bad(key, v);
  SsBbr b;
  for (absl::string_view item : p) {
    const size_t colon = item.find(':');
    if (colon == absl::string_view::npos) return Bad(key, v);
    const absl::string_view k = item.substr(0, colon);
    const absl::string_view val = item.substr(colon + 1);
    if (k == "bw") {
      if (!ParseRate(val, &b.bw)) return Bad(key, v);
    } else if (k == "mrtt" && IsDouble(val)) {
      b.mrtt = std::string(val);
    } else if (k == "pacing_gain" && IsDouble(val)) {
      b.pacing_gain = std::string(val);
    } else if (k == "cwnd_gain" && IsDouble(val)) {
      b.cwnd_gain = std::string(val);
    } else {
      return Bad(key, v);
    }
  }
  s->bbr = b;
  return absl::OkStatus();
}

absl::Status SetSend(absl::string_view key, absl::string_view v, SsSocket* s) {
  std::string r;
  if (!ParseRate(v, &r)) return Bad(key, v);
  s->send = r;
  return absl::OkStatus();
}

absl::Status SetDeliveryRate(absl::string_view key, absl::string_view v, SsSocket* s) {
  std::string r;
  if (!ParseRate(v, &r)) return Bad(key, v);
  s->delivery_rate = r;
  return absl::OkStatus();
}

absl::Status SetPacingRate(absl::string_view key, absl::string_view v, SsSocket* s) {
  // "Xbps" or "Xbps/Ybps"
  const size_t slash = v.find('/');
  std::string r;
  if (!ParseRate(v.substr(0, slash), &r)) return Bad(key, v);
  s->pacing_rate = r;
  if (slash != absl::string_view::npos) {
    if (!ParseRate(v.substr(slash + 1), &r)) return Bad(key, v);
    s->pacing_rate_max = r;
  }
  return absl::OkStatus();
}

absl::Status SetSockopt(absl::string_view key, absl::string_view v, SsSocket* s) {
  if (v.size() < 2 || v.front() != '(' || v.back() != ')') return Bad(key, v);
  std::vector<std::string> words;
  for (absl::string_view w :
       absl::StrSplit(absl::string_view(v.data() + 1, v.size() - 2), ' ', absl::SkipEmpty())) {
    words.emplace_back(w);
  }
  s->inet_sockopt = words;
  return absl::OkStatus();
}

struct KeyHandler {
  absl::string_view key;
  Handler fn;
};

// "key:value" tokens.
constexpr KeyHandler kColonKeys[] = {
    {"users", &SetProcess},
    {"timer", &SetTimer},
    {"uid", &SetInt<&SsSocket::uid>},
    {"ino", &SetInt<&SsSocket::ino>},
    {"sk", &SetSk},
    {"fwmark", &SetHexOrDec<&SsSocket::fwmark>},
    {"cgroup", &SetCgroup},
    {"v6only", &SetInt<&SsSocket::v6only>},
    {"tos", &SetHexOrDec<&SsSocket::tos>},
    {"tclass", &SetHexOrDec<&SsSocket::tclass>},
    {"class_id", &SetHexOrDec<&SsSocket::class_id>},
    {"skmem", &SetSkmem},
    {"mem", &SetMem},
    {"wscale", &SetWscale},
    {"rto", &SetDoubleText<&SsSocket::rto>},
    {"backoff", &SetInt<&SsSocket::backoff>},
    {"rtt", &SetRtt},
    {"ato", &SetDoubleText<&SsSocket::ato>},
    {"mss", &SetInt<&SsSocket::mss>},
    {"pmtu", &SetInt<&SsSocket::pmtu>},
    {"rcvmss", &SetInt<&SsSocket::rcvmss>},
    {"advmss", &SetInt<&SsSocket::advmss>},
    {"cwnd", &SetInt<&SsSocket::cwnd>},
    {"ssthresh", &SetInt<&SsSocket::ssthresh>},
    {"bytes_sent", &SetInt<&SsSocket::bytes_sent>},
    {"bytes_retrans", &SetInt<&SsSocket::bytes_retrans>},
    {"bytes_acked", &SetInt<&SsSocket::bytes_acked>},
    {"bytes_received", &SetInt<&SsSocket::bytes_received>},
    {"segs_out", &SetInt<&SsSocket::segs_out>},
    {"segs_in", &SetInt<&SsSocket::segs_in>},
    {"data_segs_out", &SetInt<&SsSocket::data_segs_out>},
    {"data_segs_in", &SetInt<&SsSocket::data_segs_in>},
    {"dctcp", &SetDctcp},
    {"bbr", &SetBbr},
    {"lastsnd", &SetInt<&SsSocket::lastsnd>},
    {"lastrcv", &SetInt<&SsSocket::lastrcv>},
    {"lastack", &SetInt<&SsSocket::lastack>},
    {"delivered", &SetInt<&SsSocket::delivered>},
    {"delivered_ce", &SetInt<&SsSocket::delivered_ce>},
    {"busy", &SetBusy},
    {"rwnd_limited", &SetLimited<&SsSocket::rwnd_limited>},
    {"sndbuf_limited", &SetLimited<&SsSocket::sndbuf_limited>},
    {"unacked", &SetInt<&SsSocket::unacked>},
    {"retrans", &SetRetrans},
    {"lost", &SetInt<&SsSocket::lost>},
    {"sacked", &SetInt<&SsSocket::sacked>},
    {"dsack_dups", &SetInt<&SsSocket::dsack_dups>},
    {"fackets", &SetInt<&SsSocket::fackets>},
    {"reordering", &SetInt<&SsSocket::reordering>},
    {"reord_seen", &SetInt<&SsSocket::reord_seen>},
    {"rcv_rtt", &SetDoubleText<&SsSocket::rcv_rtt>},
    {"rcv_space", &SetInt<&SsSocket::rcv_space>},
    {"rcv_ssthresh", &SetInt<&SsSocket::rcv_ssthresh>},
    {"notsent", &SetInt<&SsSocket::notsent>},
    {"minrtt", &SetDoubleText<&SsSocket::minrtt>},
    {"rcv_ooopack", &SetInt<&SsSocket::rcv_ooopack>},
    {"snd_wnd", &SetInt<&SsSocket::snd_wnd>},
    {"rcv_wnd", &SetInt<&SsSocket::rcv_wnd>},
    {"rehash", &SetInt<&SsSocket::rehash>},
};

// "key value" pairs: the value is the next token.
constexpr KeyHandler kSpacedKeys[] = {
    {"send", &SetSend},
    {"pacing_rate", &SetPacingRate},
    {"delivery_rate", &SetDeliveryRate},
    {"inet-sockopt:", &SetSockopt},
};

const KeyHandler* Find(const KeyHandler* begin, const KeyHandler* end, absl::string_view key) {
  for (const KeyHandler* h = begin; h != end; ++h) {
    if (h->key == key) return h;
  }
  return nullptr;
}

bool* FlagOf(SsSocket* s, absl::string_view word) {
  if (word == "ts") return &s->ts;
  if (word == "sack") return &s->sack;
  if (word == "ecn") return &s->ecn;
  if (word == "ecnseen") return &s->ecnseen;
  if (word == "fastopen") return &s->fastopen;
  if (word == "usec_ts") return &s->usec_ts;
  if (word == "app_limited") return &s->app_limited;
  return nullptr;
}

bool IsShutdownMark(absl::string_view t) {
  return t.size() == 3 && (t[0] == '<' || t[0] == '-') && t[1] == '-' &&
         (t[2] == '>' || t[2] == '-');
}

bool IsCongName(absl::string_view t) {
  if (t.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(t[0]))) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

absl::Status ParseDetails(const std::vector<absl::string_view>& tokens, size_t i, SsSocket* s) {
  for (; i < tokens.size(); ++i) {
    const absl::string_view t = tokens[i];
    if (const KeyHandler* h = Find(std::begin(kSpacedKeys), std::end(kSpacedKeys), t)) {
      if (i + 1 == tokens.size()) return Bad(t, "");
      absl::string_view key = t;
      absl::ConsumeSuffix(&key, ":");
      if (absl::Status st = h->fn(key, tokens[++i], s); !st.ok()) return st;
      s->keys.emplace_back(key);
      continue;
    }
    if (bool* flag = FlagOf(s, t)) {
      *flag = true;
      s->keys.emplace_back(t);
      continue;
    }
    if (IsShutdownMark(t)) {
      s->shutdown = std::string(t);
      s->keys.emplace_back("shutdown");
      continue;
    }
    const size_t colon = t.find(':');
    if (colon != absl::string_view::npos) {
      const absl::string_view key = t.substr(0, colon);
      if (const KeyHandler* h = Find(std::begin(kColonKeys), std::end(kColonKeys), key)) {
        if (absl::Status st = h->fn(key, t.substr(colon + 1), s); !st.ok()) return st;
        s->keys.emplace_back(key);
        continue;
      }
    } else if (s->cong.empty() && IsCongName(t)) {
      s->cong = std::string(t);
      s->keys.emplace_back("cong");
      continue;
    }
    s->unknown.emplace_back(t);
  }
  return absl::OkStatus();
}

absl::Status ParseSocket(absl::string_view text, SsSocket* s) {
  const std::vector<absl::string_view> tokens = Tokenize(text);
  size_t i = 0;
  // A Netid column comes first when ss lists several socket types; the State column is hidden
  // when a single state was asked for (e.g. -l).
  int64_t n = 0;
  if (tokens.size() >= 2 && !IsStateName(tokens[0]) && !ParseInt(tokens[0], &n) &&
      (IsStateName(tokens[1]) || ParseInt(tokens[1], &n))) {
    s->netid = std::string(tokens[i++]);
  }
  if (i < tokens.size() && IsStateName(tokens[i])) s->state = std::string(tokens[i++]);
  if (tokens.size() < i + 4) {
    return absl::InvalidArgumentError(absl::StrCat("too few columns: \"", Clip(text), "\""));
  }
  if (!ParseInt(tokens[i], &s->recv_q) || !ParseInt(tokens[i + 1], &s->send_q)) {
    return absl::InvalidArgumentError(absl::StrCat("bad Recv-Q/Send-Q: \"", Clip(text), "\""));
  }
  absl::StatusOr<SsEndpoint> local =
      ParseSsEndpoint(std::string_view(tokens[i + 2].data(), tokens[i + 2].size()));
  if (!local.ok()) return local.status();
  absl::StatusOr<SsEndpoint> peer =
      ParseSsEndpoint(std::string_view(tokens[i + 3].data(), tokens[i + 3].size()));
  if (!peer.ok()) return peer.status();
  s->local = *std::move(local);
  s->peer = *std::move(peer);
  return ParseDetails(tokens, i + 4, s);
}

}  // namespace

bool SsSocket::Printed(std::string_view key) const {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string_view SsStateName(uint32_t state) {
  const absl::string_view name =
      state < std::size(kStateNames) ? kStateNames[state] : kStateNames[0];
  return {name.data(), name.size()};
}

absl::StatusOr<SsEndpoint> ParseSsEndpoint(std::string_view std_text) {
  const absl::string_view text(std_text.data(), std_text.size());
  SsEndpoint e;
  e.text = std::string(text);
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("endpoint without port: \"", text, "\""));
  }
  absl::string_view host = text.substr(0, colon);
  const absl::string_view port = text.substr(colon + 1);
  if (port == "*") {
    e.port = 0;
  } else if (uint32_t p = 0; ParseInt(port, &p) && p <= 0xffff) {
    e.port = static_cast<uint16_t>(p);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("port is not numeric (run ss with -n): \"", text, "\""));
  }
  // The interface follows the address: "127.0.0.1%lo", "[fe80::1]%eth0".
  const size_t pct = host.rfind('%');
  if (pct != absl::string_view::npos && (host.front() != '[' || host.find(']') < pct)) {
    e.ifname = std::string(host.substr(pct + 1));
    host = host.substr(0, pct);
  }
  if (host == "*") {
    e.family = AF_INET6;  // ss prints the IPv6 wildcard of a dual-stack socket as "*"
    e.host = std::string(host);
    return e;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    e.family = AF_INET6;
  } else {
    e.family = AF_INET;
  }
  e.host = std::string(host);
  if (inet_pton(e.family, e.host.c_str(), e.addr.data()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("address is not numeric (hosts resolved?): \"", text, "\""));
  }
  return e;
}

absl::StatusOr<SsListing> ParseSsText(std::string_view std_text) {
  const absl::string_view text(std_text.data(), std_text.size());
  SsListing listing;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  std::string joined;
  int first_line = 0;
  auto flush = [&]() -> absl::Status {
    if (first_line == 0) return absl::OkStatus();
    SsSocket s;
    s.line = first_line;
    if (absl::Status st = ParseSocket(joined, &s); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", first_line, ": ", st.message()));
    }
    listing.sockets.push_back(std::move(s));
    first_line = 0;
    joined.clear();
    return absl::OkStatus();
  };
  for (size_t n = 0; n < lines.size(); ++n) {
    absl::string_view line = lines[n];
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty() || absl::ascii_isspace(static_cast<unsigned char>(line[0]))) {
      // A continuation of the socket above (or a blank line).
      if (first_line != 0) absl::StrAppend(&joined, " ", line);
      continue;
    }
    if (absl::Status st = flush(); !st.ok()) return st;
    if (IsHeader(line)) {
      ++listing.header_lines;
      continue;
    }
    first_line = static_cast<int>(n + 1);
    joined = std::string(line);
  }
  if (absl::Status st = flush(); !st.ok()) return st;
  return listing;
}

absl::StatusOr<SsListing> ReadSsFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<SsListing> listing = ParseSsText(*text);
  if (!listing.ok()) {
    return absl::Status(listing.status().code(),
                        absl::StrCat(path, ": ", listing.status().message()));
  }
  return listing;
}

}  // namespace xtcp::testing
