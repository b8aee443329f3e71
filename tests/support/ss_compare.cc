#include "support/ss_compare.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace xtcp::testing {
namespace {

using record::RecordPayload;

constexpr char kAbsent[] = "<absent>";

// tcpi_options bits (linux/tcp.h).
constexpr uint32_t kOptTimestamps = 1, kOptSack = 2, kOptWscale = 4, kOptEcn = 8, kOptEcnSeen = 16,
                   kOptSynData = 32, kOptUsecTs = 64;
constexpr uint32_t kTcpListen = 10;

std::string Str(uint64_t v) { return absl::StrCat(v); }
std::string Str(int64_t v) { return absl::StrCat(v); }
std::string Str(uint32_t v) { return absl::StrCat(v); }
std::string Str(const std::string& v) { return v; }
std::string Str(const std::pair<uint32_t, uint32_t>& v) {
  return absl::StrCat(v.first, ",", v.second);
}

std::string AddrText(int family, const uint8_t* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, addr, buf, sizeof(buf));
  return buf;
}

// Collects mismatches for one socket.
class Checker {
 public:
  explicit Checker(std::vector<Mismatch>* out) : out_(out) {}

  void Add(std::string field, std::string ours, std::string ss) {
    out_->push_back({std::move(field), std::move(ours), std::move(ss)});
  }

  template <typename T>
  void Eq(const std::string& field, const T& ours, const T& ss) {
    if (!(ours == ss)) Add(field, Str(ours), Str(ss));
  }

  // A field ss prints only under a condition: `expect` says whether it would print ours.
  template <typename T, typename U>
  void Cond(const std::string& field, bool expect, const T& ours, const std::optional<U>& ss) {
    if (expect && !ss) {
      Add(field, Str(ours), kAbsent);
    } else if (!expect && ss) {
      Add(field, absl::StrCat(kAbsent, " (", Str(ours), ")"), Str(*ss));
    } else if (expect && !(static_cast<U>(ours) == *ss)) {
      Add(field, Str(ours), Str(*ss));
    }
  }

  // A flag word (ts, sack, app_limited, ...).
  void Flag(const std::string& field, bool ours, bool ss) {
    if (ours != ss) Add(field, ours ? "printed" : kAbsent, ss ? "printed" : kAbsent);
  }

  // A time-varying counter printed when non-zero (lastsnd, ...): absent reads as 0.
  void Near(const std::string& field, uint32_t ours, const std::optional<uint32_t>& ss,
            uint32_t tol) {
    const uint32_t theirs = ss.value_or(0);
    const uint32_t diff = ours > theirs ? ours - theirs : theirs - ours;
    if (diff > tol || (tol == 0 && (ours != 0) != ss.has_value())) {
      Add(field, ours ? Str(ours) : kAbsent, ss ? Str(*ss) : kAbsent);
    }
  }

 private:
  std::vector<Mismatch>* out_;
};

void CompareEndpoint(Checker& c, const std::string& side, uint32_t family,
                     const record::AddrBytes& a, uint32_t port, const SsEndpoint& e) {
  c.Eq<uint32_t>(side + ".family", family, static_cast<uint32_t>(e.family));
  const size_t n = family == AF_INET ? 4 : 16;
  if (a.len < n || std::memcmp(a.data, e.addr.data(), n) != 0) {
    c.Add(side + ".addr", a.len >= n ? AddrText(static_cast<int>(family), a.data) : "<short>",
          e.host);
  }
  c.Eq<uint32_t>(side + ".port", port, e.port);
}

void CompareLine1(Checker& c, const RecordPayload& p, const SsSocket& s, const CompareOptions& o) {
  if (!s.state.empty()) {
    c.Eq<std::string>("state", std::string(SsStateName(p.inet_diag_msg_state)), s.state);
  }
  c.Eq<int64_t>("recv_q", static_cast<int32_t>(p.inet_diag_msg_rqueue), s.recv_q);
  c.Eq<int64_t>("send_q", static_cast<int32_t>(p.inet_diag_msg_wqueue), s.send_q);
  CompareEndpoint(c, "local", p.inet_diag_msg_family, p.inet_diag_msg_socket_source,
                  p.inet_diag_msg_socket_source_port, s.local);
  CompareEndpoint(c, "peer", p.inet_diag_msg_family, p.inet_diag_msg_socket_destination,
                  p.inet_diag_msg_socket_destination_port, s.peer);
  const uint32_t ifindex = p.inet_diag_msg_socket_interface;
  if (ifindex != 0 || !s.local.ifname.empty()) {
    std::string name = kAbsent;
    if (ifindex != 0 && o.ifname) {
      name = o.ifname(ifindex);
    } else if (ifindex != 0) {
      char buf[IF_NAMESIZE] = {};
      name = if_indextoname(ifindex, buf) ? buf : absl::StrCat("if", ifindex);
    }
    c.Eq<std::string>("interface", name, s.local.ifname.empty() ? kAbsent : s.local.ifname);
  }
}

void CompareTimer(Checker& c, const RecordPayload& p, const SsSocket& s, uint32_t tol) {
  static constexpr const char* kNames[] = {"off",      "on",      "keepalive",
                                           "timewait", "persist", "unknown"};
  const uint32_t timer = p.inet_diag_msg_timer;
  if ((timer != 0) != s.timer.has_value()) {
    c.Add("timer", timer ? kNames[std::min<uint32_t>(timer, 5)] : kAbsent,
          s.timer ? s.timer->name : kAbsent);
    return;
  }
  if (!s.timer) return;
  c.Eq<std::string>("timer.name", kNames[std::min<uint32_t>(timer, 5)], s.timer->name);
  c.Eq<int64_t>("timer.retrans", p.inet_diag_msg_retrans, s.timer->retrans);
  const std::string ours = FormatMsTimer(p.inet_diag_msg_expires);
  uint32_t lo = 0, hi = 0;
  if (ours == s.timer->expiry) return;
  if (!MsTimerRange(s.timer->expiry, &lo, &hi) || uint64_t{p.inet_diag_msg_expires} + tol < lo ||
      p.inet_diag_msg_expires > uint64_t{hi} + tol) {
    c.Add("timer.expiry", ours, s.timer->expiry);
  }
}

void CompareDetails(Checker& c, const RecordPayload& p, const SsSocket& s, const SsDialect& d) {
  c.Cond("uid", p.inet_diag_msg_uid != 0, p.inet_diag_msg_uid, s.uid);
  c.Cond("ino", true, p.inet_diag_msg_inode, s.ino);
  if (p.inet_diag_msg_socket_cookie != (s.sk ? *s.sk : ~uint64_t{0})) {
    c.Add("sk", absl::StrFormat("%x", p.inet_diag_msg_socket_cookie),
          s.sk ? absl::StrFormat("%x", *s.sk) : kAbsent);
  }
  if (d.Knows("cgroup") && (p.c_group != 0) != !s.cgroups.empty()) {
    c.Add("cgroup", p.c_group ? absl::StrCat("id ", p.c_group) : kAbsent,
          s.cgroups.empty() ? kAbsent : s.cgroups.front());
  }
  if (!s.shutdown.empty()) {
    c.Eq<std::string>("shutdown", FormatShutdown(p.shutdown_state), s.shutdown);
  } else if (p.shutdown_state != 0) {
    c.Add("shutdown", FormatShutdown(p.shutdown_state), kAbsent);
  }
}

// An attribute printed iff the kernel sent it: when ss printed none, ours must be zero.
void CompareAttrU32(Checker& c, const std::string& field, uint32_t ours,
                    const std::optional<uint32_t>& ss) {
  c.Cond(field, ours != 0 || ss.has_value(), ours, ss);
}

void CompareTos(Checker& c, const RecordPayload& p, const SsSocket& s) {
  CompareAttrU32(c, "tos", p.type_of_service, s.tos);
  CompareAttrU32(c, "tclass", p.traffic_class, s.tclass);
  CompareAttrU32(c, "class_id", p.class_id, s.class_id);
}

void CompareSockopt(Checker& c, const RecordPayload& p, const SsSocket& s) {
  const std::vector<std::string> ours = SockoptWords(p.sock_opt);
  if (!s.inet_sockopt) {
    if (p.sock_opt != 0) c.Add("inet-sockopt", absl::StrJoin(ours, " "), kAbsent);
    return;
  }
  c.Eq<std::string>("inet-sockopt", absl::StrJoin(ours, " "), absl::StrJoin(*s.inet_sockopt, " "));
}

void CompareMem(Checker& c, const RecordPayload& p, const SsSocket& s) {
  const uint32_t ours[9] = {
      p.sk_mem_info_rmem_alloc, p.sk_mem_info_rcv_buf,   p.sk_mem_info_wmem_alloc,
      p.sk_mem_info_snd_buf,    p.sk_mem_info_fwd_alloc, p.sk_mem_info_wmem_queued,
      p.sk_mem_info_optmem,     p.sk_mem_info_backlog,   p.sk_mem_info_drops};
  static constexpr const char* kNames[9] = {"r", "rb", "t", "tb", "f", "w", "o", "bl", "d"};
  for (size_t i = 0; i < 9; ++i) {
    const bool printed = s.skmem && i < s.skmem->size();
    if (printed) {
      c.Eq<uint32_t>(absl::StrCat("skmem.", kNames[i]), ours[i], (*s.skmem)[i]);
    } else if (!s.skmem && ours[i] != 0) {
      c.Add(absl::StrCat("skmem.", kNames[i]), Str(ours[i]), kAbsent);
    }
  }
  if (s.mem) {
    c.Eq<uint32_t>("mem.r", p.mem_info_rmem, (*s.mem)[0]);
    c.Eq<uint32_t>("mem.w", p.mem_info_wmem, (*s.mem)[1]);
    c.Eq<uint32_t>("mem.f", p.mem_info_fmem, (*s.mem)[2]);
    c.Eq<uint32_t>("mem.t", p.mem_info_tmem, (*s.mem)[3]);
  }
}

void CompareCongInfo(Checker& c, const RecordPayload& p, const SsSocket& s, const SsDialect& d) {
  // dctcp: "dctcp:(...)" when enabled, "dctcp:fallback_mode" when the attribute says disabled.
  const bool dctcp_any = p.dctcp_info_enabled || p.dctcp_info_ce_state || p.dctcp_info_alpha ||
                         p.dctcp_info_ab_ecn || p.dctcp_info_ab_tot;
  if (!s.dctcp) {
    if (dctcp_any) c.Add("dctcp", absl::StrCat("enabled=", p.dctcp_info_enabled), kAbsent);
  } else if (s.dctcp->fallback) {
    if (p.dctcp_info_enabled) c.Add("dctcp", "enabled", "fallback_mode");
  } else {
    c.Eq<uint32_t>("dctcp.enabled", p.dctcp_info_enabled != 0, 1);
    c.Eq<uint32_t>("dctcp.ce_state", p.dctcp_info_ce_state, s.dctcp->ce_state);
    c.Eq<uint32_t>("dctcp.alpha", p.dctcp_info_alpha, s.dctcp->alpha);
    c.Eq<uint32_t>("dctcp.ab_ecn", p.dctcp_info_ab_ecn, s.dctcp->ab_ecn);
    c.Eq<uint32_t>("dctcp.ab_tot", p.dctcp_info_ab_tot, s.dctcp->ab_tot);
  }
  const bool bbr_any = p.bbr_info_bw_lo || p.bbr_info_bw_hi || p.bbr_info_min_rtt ||
                       p.bbr_info_pacing_gain || p.bbr_info_cwnd_gain;
  if (!s.bbr) {
    if (bbr_any) c.Add("bbr", absl::StrCat("bw_lo=", p.bbr_info_bw_lo), kAbsent);
    return;
  }
  const uint64_t bw = (uint64_t{p.bbr_info_bw_hi} << 32) | p.bbr_info_bw_lo;
  c.Eq<std::string>("bbr.bw", FormatBw(static_cast<double>(bw) * 8.0, d.numeric), s.bbr->bw);
  c.Eq<std::string>("bbr.mrtt", FormatG(p.bbr_info_min_rtt / 1000.0), s.bbr->mrtt);
  c.Cond("bbr.pacing_gain", p.bbr_info_pacing_gain != 0, FormatG(p.bbr_info_pacing_gain / 256.0),
         s.bbr->pacing_gain);
  c.Cond("bbr.cwnd_gain", p.bbr_info_cwnd_gain != 0, FormatG(p.bbr_info_cwnd_gain / 256.0),
         s.bbr->cwnd_gain);
}

void CompareRates(Checker& c, const RecordPayload& p, const SsSocket& s, const SsDialect& d) {
  // send: cwnd * mss * 8 / rtt, rtt from tcp_info unless vegas measured one.
  double rtt = p.tcp_info_rtt;
  if (p.vegas_info_enabled && p.vegas_info_rtt && p.vegas_info_rtt != 0x7fffffff) {
    rtt = p.vegas_info_rtt;
  }
  const bool send = rtt > 0 && p.tcp_info_snd_mss && p.tcp_info_snd_cwnd;
  const double send_bps = send ? static_cast<double>(p.tcp_info_snd_cwnd) *
                                     static_cast<double>(p.tcp_info_snd_mss) * 8000000. / rtt
                               : 0;
  c.Cond("send", send, FormatBw(send_bps, d.numeric), s.send);
  const bool pacing = p.tcp_info_pacing_rate && p.tcp_info_pacing_rate != ~uint64_t{0};
  c.Cond("pacing_rate", pacing,
         FormatBw(static_cast<double>(p.tcp_info_pacing_rate) * 8., d.numeric), s.pacing_rate);
  const bool pacing_max =
      pacing && p.tcp_info_max_pacing_rate && p.tcp_info_max_pacing_rate != ~uint64_t{0};
  c.Cond("pacing_rate_max", pacing_max,
         FormatBw(static_cast<double>(p.tcp_info_max_pacing_rate) * 8., d.numeric),
         s.pacing_rate_max);
  c.Cond("delivery_rate", p.tcp_info_delivery_rate != 0,
         FormatBw(static_cast<double>(p.tcp_info_delivery_rate) * 8., d.numeric), s.delivery_rate);
}

void CompareBusy(Checker& c, const RecordPayload& p, const SsSocket& s) {
  const uint64_t busy = p.tcp_info_busy_time;
  c.Cond("busy", busy != 0, busy / 1000, s.busy_ms);
  auto limited = [&](const std::string& field, uint64_t v, const std::optional<SsLimited>& ss) {
    const bool expect = busy != 0 && v != 0;
    const std::string ours =
        expect ? absl::StrFormat("%ums(%.1f%%)", v / 1000,
                                 100.0 * static_cast<double>(v) / static_cast<double>(busy))
               : Str(v);
    const std::optional<std::string> theirs =
        ss ? std::optional<std::string>(absl::StrCat(ss->ms, "ms(", ss->percent, "%)"))
           : std::nullopt;
    c.Cond(field, expect, ours, theirs);
  };
  limited("rwnd_limited", p.tcp_info_rwnd_limited, s.rwnd_limited);
  limited("sndbuf_limited", p.tcp_info_sndbuf_limited, s.sndbuf_limited);
}

void CompareInfo(Checker& c, const RecordPayload& p, const SsSocket& s, const CompareOptions& o) {
  const SsDialect& d = o.dialect;
  // tcp_info.state is never 0 when the INFO attribute was decoded (TCP states start at 1).
  const bool info = p.tcp_info_state != 0;
  const std::string cong(p.congestion_algorithm_string.view());
  c.Cond("cong", info && !cong.empty(), cong,
         s.cong.empty() ? std::nullopt : std::optional<std::string>(s.cong));
  const uint32_t opt = info ? p.tcp_info_options : 0;
  if (d.options) {
    c.Flag("ts", opt & kOptTimestamps, s.ts);
    c.Flag("sack", opt & kOptSack, s.sack);
    c.Flag("ecn", opt & kOptEcn, s.ecn);
    c.Flag("ecnseen", opt & kOptEcnSeen, s.ecnseen);
    c.Flag("fastopen", opt & kOptSynData, s.fastopen);
    if (d.Knows("usec_ts")) c.Flag("usec_ts", opt & kOptUsecTs, s.usec_ts);
  }
  c.Cond("wscale", (opt & kOptWscale) != 0,
         std::make_pair(p.tcp_info_send_scale, p.tcp_info_rcv_scale), s.wscale);
  c.Cond("rto", info && p.tcp_info_rto && p.tcp_info_rto != 3000000,
         FormatG(p.tcp_info_rto / 1000.0), s.rto);
  c.Cond("backoff", info && p.tcp_info_backoff, p.tcp_info_backoff, s.backoff);
  c.Cond("rtt", info && p.tcp_info_rtt, FormatG(p.tcp_info_rtt / 1000.0), s.rtt);
  c.Cond("rttvar", info && p.tcp_info_rtt, FormatG(p.tcp_info_rtt_var / 1000.0), s.rttvar);
  c.Cond("ato", info && p.tcp_info_ato, FormatG(p.tcp_info_ato / 1000.0), s.ato);
  c.Cond("mss", info && p.tcp_info_snd_mss, p.tcp_info_snd_mss, s.mss);
  c.Cond("pmtu", info && p.tcp_info_pmtu, p.tcp_info_pmtu, s.pmtu);
  c.Cond("rcvmss", info && p.tcp_info_rcv_mss, p.tcp_info_rcv_mss, s.rcvmss);
  c.Cond("advmss", info && p.tcp_info_adv_mss, p.tcp_info_adv_mss, s.advmss);
  c.Cond("cwnd", info && p.tcp_info_snd_cwnd, p.tcp_info_snd_cwnd, s.cwnd);
  c.Cond("ssthresh", info && p.tcp_info_snd_ssthresh && p.tcp_info_snd_ssthresh < 0xFFFF,
         p.tcp_info_snd_ssthresh, s.ssthresh);
  c.Cond("bytes_sent", info && p.tcp_info_bytes_sent, p.tcp_info_bytes_sent, s.bytes_sent);
  c.Cond("bytes_retrans", info && p.tcp_info_bytes_retrans, p.tcp_info_bytes_retrans,
         s.bytes_retrans);
  c.Cond("bytes_acked", info && p.tcp_info_bytes_acked, p.tcp_info_bytes_acked, s.bytes_acked);
  c.Cond("bytes_received", info && p.tcp_info_bytes_received, p.tcp_info_bytes_received,
         s.bytes_received);
  c.Cond("segs_out", info && p.tcp_info_segs_out, p.tcp_info_segs_out, s.segs_out);
  c.Cond("segs_in", info && p.tcp_info_segs_in, p.tcp_info_segs_in, s.segs_in);
  c.Cond("data_segs_out", info && p.tcp_info_data_segs_out, p.tcp_info_data_segs_out,
         s.data_segs_out);
  c.Cond("data_segs_in", info && p.tcp_info_data_segs_in, p.tcp_info_data_segs_in, s.data_segs_in);
  CompareCongInfo(c, p, s, d);
  CompareRates(c, p, s, d);
  c.Near("lastsnd", p.tcp_info_last_data_sent, s.lastsnd, o.time_tolerance_ms);
  c.Near("lastrcv", p.tcp_info_last_data_recv, s.lastrcv, o.time_tolerance_ms);
  c.Near("lastack", p.tcp_info_last_ack_recv, s.lastack, o.time_tolerance_ms);
  c.Cond("delivered", info && p.tcp_info_delivered, p.tcp_info_delivered, s.delivered);
  c.Cond("delivered_ce", info && p.tcp_info_delivered_ce, p.tcp_info_delivered_ce, s.delivered_ce);
  c.Flag("app_limited", info && p.tcp_info_delivery_rate_app_limited, s.app_limited);
  CompareBusy(c, p, s);
  c.Cond("unacked", info && p.tcp_info_unacked, p.tcp_info_unacked, s.unacked);
  c.Cond("retrans", info && (p.tcp_info_retrans || p.tcp_info_total_retrans),
         std::make_pair(p.tcp_info_retrans, p.tcp_info_total_retrans), s.retrans);
  c.Cond("lost", info && p.tcp_info_lost, p.tcp_info_lost, s.lost);
  c.Cond("sacked", info && p.tcp_info_sacked && p.inet_diag_msg_state != kTcpListen,
         p.tcp_info_sacked, s.sacked);
  c.Cond("dsack_dups", info && p.tcp_info_dsack_dups, p.tcp_info_dsack_dups, s.dsack_dups);
  c.Cond("fackets", info && p.tcp_info_fackets, p.tcp_info_fackets, s.fackets);
  c.Cond("reordering", info && p.tcp_info_reordering != 3,
         int64_t{static_cast<int32_t>(p.tcp_info_reordering)}, s.reordering);
  c.Cond("reord_seen", info && p.tcp_info_reord_seen,
         int64_t{static_cast<int32_t>(p.tcp_info_reord_seen)}, s.reord_seen);
  c.Cond("rcv_rtt", info && p.tcp_info_rcv_rtt, FormatG(p.tcp_info_rcv_rtt / 1000.0), s.rcv_rtt);
  c.Cond("rcv_space", info && p.tcp_info_rcv_space, p.tcp_info_rcv_space, s.rcv_space);
  c.Cond("rcv_ssthresh", info && p.tcp_info_rcv_ssthresh, p.tcp_info_rcv_ssthresh, s.rcv_ssthresh);
  c.Cond("notsent", info && p.tcp_info_not_sent_bytes, p.tcp_info_not_sent_bytes, s.notsent);
  c.Cond("minrtt", info && p.tcp_info_min_rtt && p.tcp_info_min_rtt != ~uint32_t{0},
         FormatG(p.tcp_info_min_rtt / 1000.0), s.minrtt);
  auto newer = [&](const char* key, uint32_t v, const std::optional<uint32_t>& ss) {
    c.Cond(key, info && v && (d.Knows(key) || ss.has_value()), v, ss);
  };
  newer("rcv_ooopack", p.tcp_info_rcv_ooopack, s.rcv_ooopack);
  newer("snd_wnd", p.tcp_info_snd_wnd, s.snd_wnd);
  newer("rcv_wnd", p.tcp_info_rcv_wnd, s.rcv_wnd);
  newer("rehash", p.tcp_info_rehash, s.rehash);
}

}  // namespace

bool SsDialect::Knows(const std::string& key) const { return newer_keys.count(key) != 0; }

SsDialect SsDialect::ForIproute2(int major, int minor) {
  // The release each key first appeared in (iproute2 misc/ss.c history).
  static constexpr struct {
    const char* key;
    int major, minor;
  } kIntroduced[] = {{"cgroup", 5, 10}, {"rcv_ooopack", 5, 18}, {"snd_wnd", 5, 18},
                     {"rcv_wnd", 6, 7}, {"rehash", 6, 7},       {"usec_ts", 6, 8}};
  SsDialect d;
  d.sockopt = major > 5 || (major == 5 && minor >= 10);
  for (const auto& k : kIntroduced) {
    if (major > k.major || (major == k.major && minor >= k.minor)) d.newer_keys.insert(k.key);
  }
  return d;
}

bool SsDialect::FromVersionText(const std::string& text, SsDialect* out) {
  const size_t at = text.find("iproute2-");
  int major = 0, minor = 0;
  if (at == std::string::npos || std::sscanf(text.c_str() + at + 9, "%d.%d", &major, &minor) != 2) {
    return false;
  }
  *out = ForIproute2(major, minor);
  return true;
}

SsDialect SsDialect::Infer(const SsListing& listing) {
  SsDialect d;
  d.details = d.options = d.mem = d.info = d.tos = d.sockopt = false;
  bool human_rates = false;
  for (const SsSocket& s : listing.sockets) {
    d.details |= s.ino.has_value();
    d.options |= s.timer.has_value() || s.ts || s.sack || s.ecn || s.ecnseen || s.fastopen;
    d.mem |= s.skmem.has_value() || s.mem.has_value();
    d.info |= !s.cong.empty() || s.cwnd.has_value();
    d.tos |= s.tos.has_value();
    d.sockopt |= s.inet_sockopt.has_value();
    for (const std::optional<std::string>* r : {&s.send, &s.pacing_rate, &s.delivery_rate}) {
      if (*r && (*r)->find_first_of("kMGT.e") != std::string::npos) human_rates = true;
    }
    for (const char* key : {"rcv_ooopack", "snd_wnd", "rcv_wnd", "rehash", "usec_ts"}) {
      if (s.Printed(key)) d.newer_keys.insert(key);
    }
    if (!s.cgroups.empty()) d.newer_keys.insert("cgroup");
  }
  d.options |= d.details;  // -e implies -o
  d.numeric = !human_rates;
  return d;
}

std::vector<Mismatch> CompareSocket(const RecordPayload& ours, const SsSocket& ss,
                                    const CompareOptions& opts) {
  std::vector<Mismatch> out;
  Checker c(&out);
  const SsDialect& d = opts.dialect;
  CompareLine1(c, ours, ss, opts);
  if (d.options) CompareTimer(c, ours, ss, opts.time_tolerance_ms);
  if (d.details) CompareDetails(c, ours, ss, d);
  if (d.tos) CompareTos(c, ours, ss);
  if (d.sockopt) CompareSockopt(c, ours, ss);
  if (d.mem) CompareMem(c, ours, ss);
  if (d.info) CompareInfo(c, ours, ss, opts);
  for (const std::string& t : ss.unknown) c.Add("unknown-token", "", t);
  return out;
}

std::string ListingReport::Summary(size_t max_lines) const {
  std::string out =
      absl::StrCat("matched ", matched, ", only decoded ", only_ours.size(), ", only in ss ",
                   only_ss.size(), ", field mismatches ", mismatches.size(), "\n");
  size_t n = 0;
  for (const auto* list : {&only_ours, &only_ss, &mismatches}) {
    const char* tag = list == &only_ours ? "only decoded: " : list == &only_ss ? "only ss: " : "";
    for (const std::string& line : *list) {
      if (n++ == max_lines) return absl::StrCat(out, "  ...\n");
      absl::StrAppend(&out, "  ", tag, line, "\n");
    }
  }
  return out;
}

std::string DescribeSocket(const RecordPayload& p) {
  const int fam = static_cast<int>(p.inet_diag_msg_family);
  auto ep = [&](const record::AddrBytes& a, uint32_t port) {
    const std::string host = AddrText(fam, a.data);
    return fam == AF_INET6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
  };
  return absl::StrCat(
      std::string(SsStateName(p.inet_diag_msg_state)), " ",
      ep(p.inet_diag_msg_socket_source, p.inet_diag_msg_socket_source_port), " ",
      ep(p.inet_diag_msg_socket_destination, p.inet_diag_msg_socket_destination_port),
      absl::StrFormat(" sk:%x", p.inet_diag_msg_socket_cookie));
}

ListingReport CompareListing(std::span<const RecordPayload> ours, std::span<const SsSocket> ss,
                             const CompareOptions& opts) {
  ListingReport report;
  // Pair by cookie when every ss entry printed one, else by family, addresses and ports.
  const bool by_cookie =
      !ss.empty() && std::all_of(ss.begin(), ss.end(), [](const SsSocket& s) { return s.sk; });
  using Key = std::tuple<uint64_t, int, std::string, uint32_t, std::string, uint32_t>;
  auto key_of_ours = [&](const RecordPayload& p) -> Key {
    if (by_cookie) return {p.inet_diag_msg_socket_cookie, 0, "", 0, "", 0};
    const size_t n = p.inet_diag_msg_family == AF_INET ? 4 : 16;
    return {0,
            static_cast<int>(p.inet_diag_msg_family),
            std::string(reinterpret_cast<const char*>(p.inet_diag_msg_socket_source.data), n),
            p.inet_diag_msg_socket_source_port,
            std::string(reinterpret_cast<const char*>(p.inet_diag_msg_socket_destination.data), n),
            p.inet_diag_msg_socket_destination_port};
  };
  auto key_of_ss = [&](const SsSocket& s) -> Key {
    if (by_cookie) return {*s.sk, 0, "", 0, "", 0};
    const size_t n = s.local.family == AF_INET ? 4 : 16;
    return {0,
            s.local.family,
            std::string(reinterpret_cast<const char*>(s.local.addr.data()), n),
            s.local.port,
            std::string(reinterpret_cast<const char*>(s.peer.addr.data()), n),
            s.peer.port};
  };
  std::multimap<Key, const SsSocket*> listed;
  for (const SsSocket& s : ss) listed.emplace(key_of_ss(s), &s);
  for (const RecordPayload& p : ours) {
    auto it = listed.find(key_of_ours(p));
    if (it == listed.end()) {
      report.only_ours.push_back(DescribeSocket(p));
      continue;
    }
    const SsSocket& s = *it->second;
    listed.erase(it);
    ++report.matched;
    for (const Mismatch& m : CompareSocket(p, s, opts)) {
      report.mismatches.push_back(absl::StrCat("line ", s.line, " ", s.local.text, " ", s.peer.text,
                                               ": ", m.field, " ours=", m.ours, " ss=", m.ss));
    }
  }
  for (const auto& [key, s] : listed) {
    report.only_ss.push_back(
        absl::StrCat("line ", s->line, " ", s->state, " ", s->local.text, " ", s->peer.text));
  }
  return report;
}

std::string FormatG(double v) { return absl::StrFormat("%g", v); }

std::string FormatBw(double bw, bool numeric) {
  if (numeric) return absl::StrFormat("%.0f", bw);
  if (bw >= 1e12) return absl::StrFormat("%.3gT", bw / 1e12);
  if (bw >= 1e9) return absl::StrFormat("%.3gG", bw / 1e9);
  if (bw >= 1e6) return absl::StrFormat("%.3gM", bw / 1e6);
  if (bw >= 1e3) return absl::StrFormat("%.3gk", bw / 1e3);
  return absl::StrFormat("%g", bw);
}

std::string FormatMsTimer(uint32_t timeout) {
  // print_ms_timer() of ss.c: unsigned division into int locals (so an expired timer, which old
  // kernels report as a "negative" u32, prints as ~71582min).
  int secs = static_cast<int>(timeout / 1000);
  const int minutes = secs / 60;
  secs %= 60;
  int msecs = static_cast<int>(timeout % 1000);
  std::string buf;
  if (minutes) {
    msecs = 0;
    buf = absl::StrCat(minutes, "min");
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    absl::StrAppend(&buf, secs, msecs ? "." : "sec");
  }
  if (msecs) absl::StrAppend(&buf, absl::StrFormat("%03dms", msecs));
  return buf;
}

bool MsTimerRange(const std::string& text, uint32_t* lo, uint32_t* hi) {
  absl::string_view s = text;
  uint32_t minutes = 0, secs = 0, msecs = 0;
  auto number = [&](uint32_t* out) {
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0 || !absl::SimpleAtoi(absl::string_view(s.data(), n), out)) return false;
    s.remove_prefix(n);
    return true;
  };
  auto eat = [&](absl::string_view w) {
    if (!absl::StartsWith(s, w)) return false;
    s.remove_prefix(w.size());
    return true;
  };
  absl::string_view save = s;
  uint32_t v = 0;
  if (number(&v) && eat("min")) {
    minutes = v;
  } else {
    s = save;
  }
  save = s;
  if (number(&v) && (eat("sec") || eat("."))) {
    secs = v;
  } else {
    s = save;
  }
  if (!s.empty() && !(number(&msecs) && eat("ms") && s.empty())) return false;
  *lo = minutes * 60000 + secs * 1000 + msecs;
  uint32_t slack = 0;
  if (minutes > 9) {
    slack = 59999;
  } else if (minutes > 0 || secs > 9) {
    slack = 999;
  }
  *hi = *lo + slack;
  return true;
}

std::string FormatShutdown(uint32_t mask) {
  return absl::StrCat(mask & 1 ? "-" : "<", "-", mask & 2 ? "-" : ">");
}

std::vector<std::string> SockoptWords(uint32_t bits) {
  // struct inet_diag_sockopt bit-fields, least significant bit first, named as ss prints them.
  static constexpr const char* kWords[] = {
      "recverr", "is_icsk",  "freebind",          "hdrincl",         "mc_loop",      "transparent",
      "mc_all",  "nodefrag", "bind_addr_no_port", "recverr_rfc4884", "defer_connect"};
  std::vector<std::string> out;
  for (size_t i = 0; i < std::size(kWords); ++i) {
    if (bits & (1u << i)) out.emplace_back(kWords[i]);
  }
  return out;
}

}  // namespace xtcp::testing
