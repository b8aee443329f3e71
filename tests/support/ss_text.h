#pragma once
// Parser for the TCP socket listings of iproute2's `ss` (`ss -tinme[a]`, `ss --tcp --info -a`,
// with or without -n, -p, -O/--oneline, -H, --tos, --cgroup, --inet-sockopt), for tests that use
// `ss` as an oracle of what the kernel reported.
//
// One socket is a first line of columns followed, in the default layout, by continuation lines
// that start with white space (a tab):
//
//   [Netid] State Recv-Q Send-Q Local:Port Peer:Port [users:(...)] [timer:(...)] [uid:N] ino:N
//       sk:HEX [cgroup:PATH] [v6only:N] [<->] [tos:0xN] [tclass:0xN] [class_id:0xN]
//   \tinet-sockopt: ( is_icsk mc_loop ...)                       (--inet-sockopt)
//   \t skmem:(r,rb,t,tb,f,w,o,bl,d) ts sack ... cubic wscale:9,9 rto:201 rtt:0.05/0.02 ...
//
// With -O everything is on the first line. Values that ss prints with "%g" or as a rate (rto, rtt,
// ato, minrtt, send, pacing_rate, bbr bw, ...) are kept as the exact text so that a comparison can
// format the decoder's value the way ss does and compare strings; counters are parsed to integers.
// Tokens the parser does not know are kept in SsSocket::unknown, never silently dropped.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace xtcp::testing {

// "127.0.0.1:4000", "[::ffff:127.0.0.1]:4000", "*:22", "[fe80::1]%eth0:22", "0.0.0.0:*".
struct SsEndpoint {
  std::string text;    // as printed
  std::string host;    // without brackets, interface and port ("*" for the IPv6 wildcard)
  std::string ifname;  // after '%', empty when ss printed none
  int family = 0;      // AF_INET or AF_INET6, from the printed form
  std::array<uint8_t, 16> addr{};  // network order; IPv4 in the first 4 bytes; wildcard = zeros
  uint16_t port = 0;               // "*" = 0
};

// timer:(name,expiry,retrans), e.g. timer:(keepalive,5.485ms,0).
struct SsTimer {
  std::string name;    // off on keepalive timewait persist unknown
  std::string expiry;  // print_ms_timer() text: "201ms", "5.485ms" (5.485 s), "10sec", "1min30sec"
  int retrans = 0;
};

// rwnd_limited:12ms(1.5%) / sndbuf_limited:...
struct SsLimited {
  uint64_t ms = 0;
  std::string percent;  // "1.5"
};

struct SsDctcp {
  bool fallback = false;  // "dctcp:fallback_mode"
  uint32_t ce_state = 0, alpha = 0, ab_ecn = 0, ab_tot = 0;
};

struct SsBbr {
  std::string bw;    // "13107187496" (without "bps"), or "13.1G" when ss was not given -n
  std::string mrtt;  // "%g" of ms
  std::optional<std::string> pacing_gain, cwnd_gain;  // "%g" of gain/256, printed when non-zero
};

struct SsSocket {
  int line = 0;        // 1-based line number of the first line, for messages
  std::string netid;   // "tcp" when the Netid column is shown, else empty
  std::string state;   // "ESTAB", "LISTEN", ...; empty when ss hid the State column
  int64_t recv_q = 0;  // Recv-Q column
  int64_t send_q = 0;  // Send-Q column
  SsEndpoint local, peer;
  std::string process;  // users:(...) verbatim, empty if none

  // -o / -e
  std::optional<SsTimer> timer;
  // -e
  std::optional<uint32_t> uid;  // printed only when non-zero
  std::optional<uint32_t> ino;
  std::optional<uint64_t> sk;  // socket cookie
  std::optional<uint32_t> fwmark;
  std::vector<std::string> cgroups;  // cgroup:PATH (printed by -e and again by --cgroup)
  std::optional<uint32_t> v6only;
  std::string shutdown;  // "<->", "-->", "<--", "---" or empty
  // --tos
  std::optional<uint32_t> tos, tclass, class_id;
  // --inet-sockopt
  std::optional<std::vector<std::string>> inet_sockopt;  // flag words inside the parentheses
  // -m
  std::optional<std::vector<uint32_t>> skmem;  // r rb t tb f w o [bl [d]] (7 to 9 values)
  std::optional<std::array<uint32_t, 4>> mem;  // mem:(r,w,f,t), only without SKMEMINFO

  // -i: option flags and congestion control
  bool ts = false, sack = false, ecn = false, ecnseen = false, fastopen = false, usec_ts = false;
  std::string cong;  // "cubic", "bbr", ...; empty when not printed
  std::optional<std::pair<uint32_t, uint32_t>> wscale;  // snd,rcv
  std::optional<std::string> rto;                       // "%g" ms
  std::optional<uint32_t> backoff;
  std::optional<std::string> rtt, rttvar;  // "%g" ms each
  std::optional<std::string> ato;          // "%g" ms
  std::optional<uint32_t> mss, pmtu, rcvmss, advmss, cwnd, ssthresh;
  std::optional<uint64_t> bytes_sent, bytes_retrans, bytes_acked, bytes_received;
  std::optional<uint32_t> segs_out, segs_in, data_segs_out, data_segs_in;
  std::optional<SsDctcp> dctcp;
  std::optional<SsBbr> bbr;
  std::optional<std::string> send;  // bits per second, without "bps"
  std::optional<uint32_t> lastsnd, lastrcv, lastack;
  std::optional<std::string> pacing_rate, pacing_rate_max, delivery_rate;  // without "bps"
  std::optional<uint32_t> delivered, delivered_ce;
  bool app_limited = false;
  std::optional<uint64_t> busy_ms;
  std::optional<SsLimited> rwnd_limited, sndbuf_limited;
  std::optional<uint32_t> unacked;
  std::optional<std::pair<uint32_t, uint32_t>> retrans;  // retrans:cur/total
  std::optional<uint32_t> lost, sacked, dsack_dups, fackets;
  std::optional<int64_t> reordering, reord_seen;
  std::optional<std::string> rcv_rtt;  // "%g" ms
  std::optional<uint32_t> rcv_space, rcv_ssthresh, notsent;
  std::optional<std::string> minrtt;  // "%g" ms
  std::optional<uint32_t> rcv_ooopack, snd_wnd, rcv_wnd, rehash;

  // Every key ("rtt", "skmem", "timer", "send", "ts", "cong", "shutdown", ...) in printed order.
  std::vector<std::string> keys;
  // Tokens not understood (e.g. md5keys:, tcp-ulp-...): kept for the caller to judge.
  std::vector<std::string> unknown;

  bool Printed(std::string_view key) const;
};

struct SsListing {
  std::vector<SsSocket> sockets;
  int header_lines = 0;  // "State Recv-Q ..." / "Netid State ..." lines seen
};

// Parses a whole `ss` listing. Errors name the line and token (e.g. a malformed rtt value).
absl::StatusOr<SsListing> ParseSsText(std::string_view text);

// Reads and parses a file.
absl::StatusOr<SsListing> ReadSsFile(const std::string& path);

// Parses one endpoint column ("[::1]:22", "*:*", ...).
absl::StatusOr<SsEndpoint> ParseSsEndpoint(std::string_view text);

// The TCP state name ss prints for an inet_diag state number ("ESTAB" for 1, ...; "UNKNOWN"
// for numbers ss has no name for).
std::string_view SsStateName(uint32_t state);

}  // namespace xtcp::testing
