#pragma once
// Compares decoded sockets with what `ss` printed for them, knowing how ss derives each printed
// value from inet_diag_msg and the attributes (iproute2 misc/ss.c: inet_show_sock(),
// tcp_show_info(), tcp_stats_print(), print_skmeminfo()). For every field the decoder's value is
// formatted the way ss formats it (e.g. rtt = tcpi_rtt/1000 with "%g", send = cwnd*mss*8/rtt via
// sprint_bw(), sk = cookie in hex) and compared with the printed text; a field ss prints only when
// non-zero must be absent exactly when the decoder's value is zero.

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "record/flat_record.h"
#include "support/ss_text.h"

namespace xtcp::testing {

// What an ss run printed: its command-line modes and the keys its iproute2 version knows.
struct SsDialect {
  bool details = true;   // -e: uid, ino, sk, cgroup, shutdown mark
  bool options = true;   // -o or -e: timer:(...), ts sack ecn ecnseen fastopen usec_ts
  bool mem = true;       // -m: skmem:(...)
  bool info = true;      // -i: tcp_info, congestion control
  bool tos = true;       // --tos: tos, tclass, class_id
  bool sockopt = false;  // --inet-sockopt
  bool numeric = true;   // -n: rates printed in full ("54613333333bps", not "54.6Gbps")
  // Keys newer than iproute2 5.0 that this version prints (when non-zero): "rcv_ooopack" and
  // "snd_wnd" (5.18), "rcv_wnd" and "rehash" (6.7), "usec_ts" (6.8), "cgroup" (5.10).
  std::set<std::string> newer_keys;

  bool Knows(const std::string& key) const;

  // iproute2 <major>.<minor> run with every mode on (`ss -tinmepa --tos --inet-sockopt`, with
  // or without -O).
  static SsDialect ForIproute2(int major, int minor);
  // The same from `ss -V` output ("ss utility, iproute2-6.1.0"); false if it has no version.
  static bool FromVersionText(const std::string& text, SsDialect* out);
  // Modes and keys seen in a listing (for captures whose ss version and flags are unknown).
  static SsDialect Infer(const SsListing& listing);
};

struct CompareOptions {
  SsDialect dialect;
  // Allowed difference for values that change between two reads of an idle socket: lastsnd,
  // lastrcv, lastack and the timer expiry (all in ms). 0 when ss decoded the very same dump.
  uint32_t time_tolerance_ms = 0;
  // Interface index -> name, for "addr%ifname". Default: if_indextoname() in this namespace.
  std::function<std::string(uint32_t)> ifname;
};

struct Mismatch {
  std::string field;
  std::string
      ours;  // the decoder's value formatted as ss would print it ("<absent>" if ss would not)
  std::string ss;  // what ss printed ("<absent>" if nothing)
};

// Every difference between one decoded socket and one ss entry.
std::vector<Mismatch> CompareSocket(const record::RecordPayload& ours, const SsSocket& ss,
                                    const CompareOptions& opts);

// Result of pairing a set of decoded sockets with an ss listing (by cookie when ss printed sk:,
// else by addresses and ports).
struct ListingReport {
  size_t matched = 0;
  std::vector<std::string> only_ours;   // decoded but not listed by ss
  std::vector<std::string> only_ss;     // listed by ss but not decoded
  std::vector<std::string> mismatches;  // "line N <local> <peer>: field ours=X ss=Y"
  bool ok() const { return only_ours.empty() && only_ss.empty() && mismatches.empty(); }
  size_t problems() const { return only_ours.size() + only_ss.size() + mismatches.size(); }
  std::string Summary(size_t max_lines = 30) const;
};

ListingReport CompareListing(std::span<const record::RecordPayload> ours,
                             std::span<const SsSocket> ss, const CompareOptions& opts);

// ss's formatting helpers, exposed for tests.
std::string FormatG(double v);                   // printf("%g")
std::string FormatBw(double bps, bool numeric);  // sprint_bw(), without the "bps"
std::string FormatMsTimer(uint32_t ms);          // print_ms_timer()
bool MsTimerRange(const std::string& text, uint32_t* lo, uint32_t* hi);  // inverse of it
std::string FormatShutdown(uint32_t mask);                               // "<->" for 0
std::vector<std::string> SockoptWords(uint32_t bits);        // inet-sockopt flag words, ss's order
std::string DescribeSocket(const record::RecordPayload& p);  // "127.0.0.1:4000 -> 127.0.0.1:5000"

}  // namespace xtcp::testing
