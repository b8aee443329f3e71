#pragma once
// Wire layouts of the inet_diag dump protocol, as this decoder reads them. All multi-byte fields
// are in the kernel's (host) byte order except the two ports, which are big-endian.
//
// One datagram from recv() holds one or more netlink messages, each 4-byte aligned:
//
//   0        4        6        8        12       16
//   +--------+--------+--------+--------+--------+----------------------------------+
//   | len    | type   | flags  | seq    | pid    | payload (len - 16 bytes)  [pad]  |
//   +--------+--------+--------+--------+--------+----------------------------------+
//   type 20 SOCK_DIAG_BY_FAMILY: payload = inet_diag_msg (72 bytes) + rtattrs
//   type 18 TCPDIAG_GETSOCK:     the same payload, in reply to the older (v1) request
//   type 3  NLMSG_DONE:          payload = int32 (0, or -errno if the dump failed)
//   type 2  NLMSG_ERROR:         payload = int32 -errno + the offending request header
//
// struct inet_diag_msg (72 bytes):
//
//   0      1      2      3      4       6       8                24               40
//   +------+------+------+------+-------+-------+----------------+----------------+-------+
//   |family| state| timer|retran| sport | dport | src[16]        | dst[16]        | if u32|
//   +------+------+------+------+-------+-------+----------------+----------------+-------+
//   44               52       56       60       64       68       72
//   +----------------+--------+--------+--------+--------+--------+
//   | cookie u32[2]  |expires | rqueue | wqueue | uid    | inode  |
//   +----------------+--------+--------+--------+--------+--------+
//   (ports big-endian; addresses in network order, IPv4 in the first 4 bytes)
//
// Attributes follow, each 4-byte aligned:
//
//   0       2       4
//   +-------+-------+-----------------------------+
//   | len   | type  | payload (len - 4)   [pad]   |
//   +-------+-------+-----------------------------+
//
// The dump request (72 bytes) is a netlink header followed by struct inet_diag_req_v2:
//
//   16      17      18      19      20              24
//   +-------+-------+-------+-------+---------------+--------------------------------+
//   |family |proto  | ext   | pad   | states u32    | inet_diag_sockid (48 bytes, 0) |
//   +-------+-------+-------+-------+---------------+--------------------------------+
//
// The older dump request (76 bytes; nlmsg_type TCPDIAG_GETSOCK) is a netlink header followed by
// struct inet_diag_req (v1). The kernel dumps it with the family forced to AF_UNSPEC (both IPv4
// and IPv6 in one walk of the TCP hash tables), so idiag_family is ignored for dumps:
//
//   16      17      18      19      20                               68        72        76
//   +-------+-------+-------+-------+--------------------------------+---------+---------+
//   |family |src_len|dst_len| ext   | inet_diag_sockid (48 bytes, 0) | states  | dbs (0) |
//   +-------+-------+-------+-------+--------------------------------+---------+---------+

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace xtcp::decode {

inline constexpr size_t kNlmsgHdrLen = 16;
inline constexpr size_t kInetDiagMsgLen = 72;
inline constexpr size_t kRtaHdrLen = 4;
inline constexpr size_t kDumpRequestLen = 72;
inline constexpr size_t kCompatDumpRequestLen = 76;

inline constexpr uint16_t kNlmsgNoop = 1;
inline constexpr uint16_t kNlmsgError = 2;
inline constexpr uint16_t kNlmsgDone = 3;
inline constexpr uint16_t kTcpDiagGetSock = 18;  // the v1 request, and its replies
inline constexpr uint16_t kSockDiagByFamily = 20;

// Whether a netlink message type carries an inet_diag_msg: replies to either request.
inline constexpr bool IsSocketMessageType(uint16_t type) {
  return type == kSockDiagByFamily || type == kTcpDiagGetSock;
}

inline constexpr uint16_t kNlmFRequest = 0x01;
inline constexpr uint16_t kNlmFMulti = 0x02;
inline constexpr uint16_t kNlmFDumpIntr = 0x10;
inline constexpr uint16_t kNlmFRoot = 0x100;
inline constexpr uint16_t kNlmFMatch = 0x200;
inline constexpr uint16_t kNlmFDump = kNlmFRoot | kNlmFMatch;

inline constexpr uint16_t kNlaTypeMask = 0x3fff;  // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER

// INET_DIAG_* attribute numbers (linux/inet_diag.h).
enum InetDiagAttr : uint16_t {
  kAttrMeminfo = 1,
  kAttrInfo = 2,
  kAttrVegasInfo = 3,
  kAttrCong = 4,
  kAttrTos = 5,
  kAttrTclass = 6,
  kAttrSkmeminfo = 7,
  kAttrShutdown = 8,
  kAttrDctcpInfo = 9,
  kAttrProtocol = 10,
  kAttrSkv6only = 11,
  kAttrLocals = 12,
  kAttrPeers = 13,
  kAttrPad = 14,
  kAttrMark = 15,
  kAttrBbrInfo = 16,
  kAttrClassId = 17,
  kAttrMd5sig = 18,
  kAttrUlpInfo = 19,
  kAttrSkBpfStorages = 20,
  kAttrCgroupId = 21,
  kAttrSockopt = 22,
  kAttrMaxKnown = 22,
};

// All TCP states 0..13 (TCP_ESTABLISHED .. TCP_NEW_SYN_RECV and beyond), as `ss -a` asks.
inline constexpr uint32_t kAllStates = 0x00003fff;

inline constexpr size_t Align4(size_t n) { return (n + 3) & ~size_t{3}; }

// Unaligned host-order loads.
template <typename T>
inline T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}

// struct tcp_info as of the newest layout we map (248 bytes; 6.8+). Later kernels append fields
// (AccECN counters, 280 bytes on 6.18) that the schema does not carry; older kernels send a prefix.
struct KernelTcpInfo {
  uint8_t state, ca_state, retransmits, probes, backoff, options;
  uint8_t wscale;       // snd_wscale:4 (low nibble), rcv_wscale:4 (high nibble)
  uint8_t app_limited;  // delivery_rate_app_limited:1, fastopen_client_fail:2
  uint32_t rto, ato, snd_mss, rcv_mss;
  uint32_t unacked, sacked, lost, retrans, fackets;
  uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
  uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
  uint32_t rcv_rtt, rcv_space;
  uint32_t total_retrans;
  uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
  uint32_t segs_out, segs_in;
  uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
  uint64_t delivery_rate;
  uint64_t busy_time, rwnd_limited, sndbuf_limited;
  uint32_t delivered, delivered_ce;  // 4.18+ (224 bytes)
  uint64_t bytes_sent, bytes_retrans;
  uint32_t dsack_dups, reord_seen;
  uint32_t rcv_ooopack;  // 5.4+ (232)
  uint32_t snd_wnd;
  uint32_t rcv_wnd;  // 6.2+ (240)
  uint32_t rehash;
  uint16_t total_rto;  // 6.7+ (248)
  uint16_t total_rto_recoveries;
  uint32_t total_rto_time;
};
static_assert(sizeof(KernelTcpInfo) == 248);
static_assert(offsetof(KernelTcpInfo, rto) == 8);
static_assert(offsetof(KernelTcpInfo, fackets) == 40);
static_assert(offsetof(KernelTcpInfo, pacing_rate) == 104);
static_assert(offsetof(KernelTcpInfo, segs_out) == 136);
static_assert(offsetof(KernelTcpInfo, delivery_rate) == 160);
static_assert(offsetof(KernelTcpInfo, delivered) == 192);
static_assert(offsetof(KernelTcpInfo, bytes_sent) == 200);
static_assert(offsetof(KernelTcpInfo, dsack_dups) == 216);
static_assert(offsetof(KernelTcpInfo, rcv_ooopack) == 224);
static_assert(offsetof(KernelTcpInfo, rcv_wnd) == 232);
static_assert(offsetof(KernelTcpInfo, total_rto) == 240);
static_assert(offsetof(KernelTcpInfo, total_rto_time) == 244);

// The oldest tcp_info we accept (4.15's 192 bytes; ends after sndbuf_limited).
inline constexpr size_t kTcpInfoMinLen = 192;

}  // namespace xtcp::decode
