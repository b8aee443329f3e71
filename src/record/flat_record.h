#pragma once
// FlatRecord: the in-memory form of one XtcpFlatRecord, built for the hot path.
//
// The decoder fills a FlatRecord (no allocation, no protobuf object) and the envelope batcher
// encodes it straight to protobuf wire bytes (record_codec.h). The two X-macro tables below are
// the single list of fields in C++: the struct members, the wire encoder and the conversion to and
// from the generated protobuf message are all expanded from them, and record_fields_test.cc proves
// the tables equal the .proto descriptor (count, numbers, names, types).
//
// Kinds:
//   U32, U64, I64  proto3 scalar (zero is not encoded)
//   ENUM           the CongestionAlgorithm enum, stored as uint32_t
//   STR            metadata string, a borrowed std::string_view (see RecordMeta's lifetime note)
//   NAME           short string owned inline (congestion algorithm name, <= 16 bytes)
//   ADDR           bytes, owned inline (socket address, 16 bytes for every decoded socket)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace xtcp::record {

// Metadata fields (1..999), in ascending field-number order.
#define XTCP_META_FIELDS(X)              \
  X(1, schema_version, U32)              \
  X(2, daemon_version, STR)              \
  X(10, timestamp_ns, I64)               \
  X(20, hostname, STR)                   \
  X(21, location, STR)                   \
  X(30, netns, STR)                      \
  X(31, netns_inode, U64)                \
  X(32, nsid, U32)                       \
  X(40, container_id, STR)               \
  X(41, container_runtime, STR)          \
  X(42, container_name, STR)             \
  X(43, container_image, STR)            \
  X(50, label, STR)                      \
  X(51, tag, STR)                        \
  X(60, record_counter, U64)             \
  X(61, socket_fd, U64)                  \
  X(62, netlinker_id, U64)               \
  X(100, uplink1_ifname, STR)            \
  X(101, uplink1_nic_driver, STR)        \
  X(102, uplink1_nic_model, STR)         \
  X(103, uplink1_nic_pci_vendor, U32)    \
  X(104, uplink1_nic_pci_device, U32)    \
  X(105, uplink1_nic_bus_info, STR)      \
  X(106, uplink1_nic_speed_mbps, U32)    \
  X(107, uplink1_nic_fw_version, STR)    \
  X(120, uplink1_lldp_chassis_name, STR) \
  X(121, uplink1_lldp_chassis_id, STR)   \
  X(122, uplink1_lldp_mgmt_ip, STR)      \
  X(123, uplink1_lldp_port_id, STR)      \
  X(124, uplink1_lldp_port_descr, STR)   \
  X(200, uplink2_ifname, STR)            \
  X(201, uplink2_nic_driver, STR)        \
  X(202, uplink2_nic_model, STR)         \
  X(203, uplink2_nic_pci_vendor, U32)    \
  X(204, uplink2_nic_pci_device, U32)    \
  X(205, uplink2_nic_bus_info, STR)      \
  X(206, uplink2_nic_speed_mbps, U32)    \
  X(207, uplink2_nic_fw_version, STR)    \
  X(220, uplink2_lldp_chassis_name, STR) \
  X(221, uplink2_lldp_chassis_id, STR)   \
  X(222, uplink2_lldp_mgmt_ip, STR)      \
  X(223, uplink2_lldp_port_id, STR)      \
  X(224, uplink2_lldp_port_descr, STR)

// Payload fields (1000+), in ascending field-number order.
#define XTCP_PAYLOAD_FIELDS(X)                        \
  X(1001, inet_diag_msg_family, U32)                  \
  X(1002, inet_diag_msg_state, U32)                   \
  X(1003, inet_diag_msg_timer, U32)                   \
  X(1004, inet_diag_msg_retrans, U32)                 \
  X(1005, inet_diag_msg_socket_source_port, U32)      \
  X(1006, inet_diag_msg_socket_destination_port, U32) \
  X(1007, inet_diag_msg_socket_source, ADDR)          \
  X(1008, inet_diag_msg_socket_destination, ADDR)     \
  X(1009, inet_diag_msg_socket_interface, U32)        \
  X(1010, inet_diag_msg_socket_cookie, U64)           \
  X(1011, inet_diag_msg_socket_dest_asn, U64)         \
  X(1012, inet_diag_msg_socket_next_hop_asn, U64)     \
  X(1013, inet_diag_msg_expires, U32)                 \
  X(1014, inet_diag_msg_rqueue, U32)                  \
  X(1015, inet_diag_msg_wqueue, U32)                  \
  X(1016, inet_diag_msg_uid, U32)                     \
  X(1017, inet_diag_msg_inode, U32)                   \
  X(1101, mem_info_rmem, U32)                         \
  X(1102, mem_info_wmem, U32)                         \
  X(1103, mem_info_fmem, U32)                         \
  X(1104, mem_info_tmem, U32)                         \
  X(1201, tcp_info_state, U32)                        \
  X(1202, tcp_info_ca_state, U32)                     \
  X(1203, tcp_info_retransmits, U32)                  \
  X(1204, tcp_info_probes, U32)                       \
  X(1205, tcp_info_backoff, U32)                      \
  X(1206, tcp_info_options, U32)                      \
  X(1207, tcp_info_send_scale, U32)                   \
  X(1208, tcp_info_rcv_scale, U32)                    \
  X(1209, tcp_info_delivery_rate_app_limited, U32)    \
  X(1210, tcp_info_fast_open_client_failed, U32)      \
  X(1215, tcp_info_rto, U32)                          \
  X(1216, tcp_info_ato, U32)                          \
  X(1217, tcp_info_snd_mss, U32)                      \
  X(1218, tcp_info_rcv_mss, U32)                      \
  X(1219, tcp_info_unacked, U32)                      \
  X(1220, tcp_info_sacked, U32)                       \
  X(1221, tcp_info_lost, U32)                         \
  X(1222, tcp_info_retrans, U32)                      \
  X(1223, tcp_info_fackets, U32)                      \
  X(1224, tcp_info_last_data_sent, U32)               \
  X(1225, tcp_info_last_ack_sent, U32)                \
  X(1226, tcp_info_last_data_recv, U32)               \
  X(1227, tcp_info_last_ack_recv, U32)                \
  X(1228, tcp_info_pmtu, U32)                         \
  X(1229, tcp_info_rcv_ssthresh, U32)                 \
  X(1230, tcp_info_rtt, U32)                          \
  X(1231, tcp_info_rtt_var, U32)                      \
  X(1232, tcp_info_snd_ssthresh, U32)                 \
  X(1233, tcp_info_snd_cwnd, U32)                     \
  X(1234, tcp_info_adv_mss, U32)                      \
  X(1235, tcp_info_reordering, U32)                   \
  X(1236, tcp_info_rcv_rtt, U32)                      \
  X(1237, tcp_info_rcv_space, U32)                    \
  X(1238, tcp_info_total_retrans, U32)                \
  X(1239, tcp_info_pacing_rate, U64)                  \
  X(1240, tcp_info_max_pacing_rate, U64)              \
  X(1241, tcp_info_bytes_acked, U64)                  \
  X(1242, tcp_info_bytes_received, U64)               \
  X(1243, tcp_info_segs_out, U32)                     \
  X(1244, tcp_info_segs_in, U32)                      \
  X(1245, tcp_info_not_sent_bytes, U32)               \
  X(1246, tcp_info_min_rtt, U32)                      \
  X(1247, tcp_info_data_segs_in, U32)                 \
  X(1248, tcp_info_data_segs_out, U32)                \
  X(1249, tcp_info_delivery_rate, U64)                \
  X(1250, tcp_info_busy_time, U64)                    \
  X(1251, tcp_info_rwnd_limited, U64)                 \
  X(1252, tcp_info_sndbuf_limited, U64)               \
  X(1253, tcp_info_delivered, U32)                    \
  X(1254, tcp_info_delivered_ce, U32)                 \
  X(1255, tcp_info_bytes_sent, U64)                   \
  X(1256, tcp_info_bytes_retrans, U64)                \
  X(1257, tcp_info_dsack_dups, U32)                   \
  X(1258, tcp_info_reord_seen, U32)                   \
  X(1259, tcp_info_rcv_ooopack, U32)                  \
  X(1260, tcp_info_snd_wnd, U32)                      \
  X(1261, tcp_info_rcv_wnd, U32)                      \
  X(1262, tcp_info_rehash, U32)                       \
  X(1263, tcp_info_total_rto, U32)                    \
  X(1264, tcp_info_total_rto_recoveries, U32)         \
  X(1265, tcp_info_total_rto_time, U32)               \
  X(1300, congestion_algorithm_string, NAME)          \
  X(1301, congestion_algorithm_enum, ENUM)            \
  X(1401, type_of_service, U32)                       \
  X(1402, traffic_class, U32)                         \
  X(1501, sk_mem_info_rmem_alloc, U32)                \
  X(1502, sk_mem_info_rcv_buf, U32)                   \
  X(1503, sk_mem_info_wmem_alloc, U32)                \
  X(1504, sk_mem_info_snd_buf, U32)                   \
  X(1505, sk_mem_info_fwd_alloc, U32)                 \
  X(1506, sk_mem_info_wmem_queued, U32)               \
  X(1507, sk_mem_info_optmem, U32)                    \
  X(1508, sk_mem_info_backlog, U32)                   \
  X(1509, sk_mem_info_drops, U32)                     \
  X(1600, shutdown_state, U32)                        \
  X(1701, vegas_info_enabled, U32)                    \
  X(1702, vegas_info_rtt_cnt, U32)                    \
  X(1703, vegas_info_rtt, U32)                        \
  X(1704, vegas_info_min_rtt, U32)                    \
  X(1801, dctcp_info_enabled, U32)                    \
  X(1802, dctcp_info_ce_state, U32)                   \
  X(1803, dctcp_info_alpha, U32)                      \
  X(1804, dctcp_info_ab_ecn, U32)                     \
  X(1805, dctcp_info_ab_tot, U32)                     \
  X(1901, bbr_info_bw_lo, U32)                        \
  X(1902, bbr_info_bw_hi, U32)                        \
  X(1903, bbr_info_min_rtt, U32)                      \
  X(1904, bbr_info_pacing_gain, U32)                  \
  X(1905, bbr_info_cwnd_gain, U32)                    \
  X(2001, class_id, U32)                              \
  X(2002, sock_opt, U32)                              \
  X(2103, c_group, U64)

// Fixed-capacity string stored inside the record (no allocation).
template <size_t N>
struct InlineString {
  uint8_t len = 0;
  char data[N] = {};

  std::string_view view() const { return {data, len}; }
  // Copies at most N bytes of `s`; returns false when `s` had to be cut.
  bool Assign(std::string_view s) {
    const size_t n = s.size() < N ? s.size() : N;
    if (n != 0) std::memcpy(data, s.data(), n);
    len = static_cast<uint8_t>(n);
    return n == s.size();
  }
};

// Socket address bytes as the kernel reports them (network order). `len` is 16 for every decoded
// socket (IPv4 uses the first 4 bytes), 0 when unset.
struct AddrBytes {
  uint8_t len = 0;
  uint8_t data[16] = {};

  std::string_view view() const { return {reinterpret_cast<const char*>(data), len}; }
};

using CongestionName = InlineString<16>;  // TCP_CA_NAME_MAX

#define XTCP_CTYPE_U32 uint32_t
#define XTCP_CTYPE_U64 uint64_t
#define XTCP_CTYPE_I64 int64_t
#define XTCP_CTYPE_ENUM uint32_t
#define XTCP_CTYPE_STR std::string_view
#define XTCP_CTYPE_NAME CongestionName
#define XTCP_CTYPE_ADDR AddrBytes
#define XTCP_DECLARE_MEMBER(num, name, kind) XTCP_CTYPE_##kind name{};

// Per-record metadata. The string_views borrow: whatever they point at (config strings, the
// namespace name) must outlive every encode of the record.
struct RecordMeta {
  XTCP_META_FIELDS(XTCP_DECLARE_MEMBER)
};

// Everything decoded from the kernel. Trivially copyable; reset with `payload = {}`.
struct RecordPayload {
  XTCP_PAYLOAD_FIELDS(XTCP_DECLARE_MEMBER)
};

struct FlatRecord {
  RecordMeta meta;
  RecordPayload payload;
};

#undef XTCP_DECLARE_MEMBER

// Number of fields of each table (the .proto has 156 in all).
#define XTCP_COUNT_FIELD(num, name, kind) +1
inline constexpr int kMetaFieldCount = 0 XTCP_META_FIELDS(XTCP_COUNT_FIELD);
inline constexpr int kPayloadFieldCount = 0 XTCP_PAYLOAD_FIELDS(XTCP_COUNT_FIELD);
#undef XTCP_COUNT_FIELD
static_assert(kMetaFieldCount + kPayloadFieldCount == 156);

// CongestionAlgorithm enum values (same numbers as the .proto enum).
enum CongestionAlgorithm : uint32_t {
  kCongUnspecified = 0,
  kCongCubic = 1,
  kCongDctcp = 2,
  kCongVegas = 3,
  kCongPrague = 4,
  kCongBbr1 = 5,
  kCongBbr2 = 6,
  kCongBbr3 = 7,
};

// Maps a kernel congestion-control name to the enum: exact names only ("cubic", "dctcp", "vegas",
// "prague", "bbr", "bbr2", "bbr3"); anything else is kCongUnspecified.
CongestionAlgorithm CongestionFromName(std::string_view name);

inline constexpr uint32_t kSchemaVersion = 1;

}  // namespace xtcp::record
