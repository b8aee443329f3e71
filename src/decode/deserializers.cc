#include "decode/deserializers.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/utf8.h"

namespace xtcp::decode {

using record::RecordPayload;

bool DecodeMeminfo(const uint8_t* p, size_t, RecordPayload* out) {
  out->mem_info_rmem = Load<uint32_t>(p);
  out->mem_info_wmem = Load<uint32_t>(p + 4);
  out->mem_info_fmem = Load<uint32_t>(p + 8);
  out->mem_info_tmem = Load<uint32_t>(p + 12);
  return false;
}

bool DecodeTcpInfo(const uint8_t* p, size_t n, RecordPayload* out) {
  // Newer kernels send more than we map (extra tail ignored); older ones send a prefix, whose
  // missing fields read as zero.
  KernelTcpInfo ti;
  if (n >= sizeof(ti)) {
    std::memcpy(&ti, p, sizeof(ti));
  } else {
    std::memset(&ti, 0, sizeof(ti));
    std::memcpy(&ti, p, n);
  }
  out->tcp_info_state = ti.state;
  out->tcp_info_ca_state = ti.ca_state;
  out->tcp_info_retransmits = ti.retransmits;
  out->tcp_info_probes = ti.probes;
  out->tcp_info_backoff = ti.backoff;
  out->tcp_info_options = ti.options;
  out->tcp_info_send_scale = ti.wscale & 0x0f;
  out->tcp_info_rcv_scale = ti.wscale >> 4;
  out->tcp_info_delivery_rate_app_limited = ti.app_limited & 0x01;
  out->tcp_info_fast_open_client_failed = (ti.app_limited >> 1) & 0x03;
  out->tcp_info_rto = ti.rto;
  out->tcp_info_ato = ti.ato;
  out->tcp_info_snd_mss = ti.snd_mss;
  out->tcp_info_rcv_mss = ti.rcv_mss;
  out->tcp_info_unacked = ti.unacked;
  out->tcp_info_sacked = ti.sacked;
  out->tcp_info_lost = ti.lost;
  out->tcp_info_retrans = ti.retrans;
  out->tcp_info_fackets = ti.fackets;
  out->tcp_info_last_data_sent = ti.last_data_sent;
  out->tcp_info_last_ack_sent = ti.last_ack_sent;
  out->tcp_info_last_data_recv = ti.last_data_recv;
  out->tcp_info_last_ack_recv = ti.last_ack_recv;
  out->tcp_info_pmtu = ti.pmtu;
  out->tcp_info_rcv_ssthresh = ti.rcv_ssthresh;
  out->tcp_info_rtt = ti.rtt;
  out->tcp_info_rtt_var = ti.rttvar;
  out->tcp_info_snd_ssthresh = ti.snd_ssthresh;
  out->tcp_info_snd_cwnd = ti.snd_cwnd;
  out->tcp_info_adv_mss = ti.advmss;
  out->tcp_info_reordering = ti.reordering;
  out->tcp_info_rcv_rtt = ti.rcv_rtt;
  out->tcp_info_rcv_space = ti.rcv_space;
  out->tcp_info_total_retrans = ti.total_retrans;
  out->tcp_info_pacing_rate = ti.pacing_rate;
  out->tcp_info_max_pacing_rate = ti.max_pacing_rate;
  out->tcp_info_bytes_acked = ti.bytes_acked;
  out->tcp_info_bytes_received = ti.bytes_received;
  out->tcp_info_segs_out = ti.segs_out;
  out->tcp_info_segs_in = ti.segs_in;
  out->tcp_info_not_sent_bytes = ti.notsent_bytes;
  out->tcp_info_min_rtt = ti.min_rtt;
  out->tcp_info_data_segs_in = ti.data_segs_in;
  out->tcp_info_data_segs_out = ti.data_segs_out;
  out->tcp_info_delivery_rate = ti.delivery_rate;
  out->tcp_info_busy_time = ti.busy_time;
  out->tcp_info_rwnd_limited = ti.rwnd_limited;
  out->tcp_info_sndbuf_limited = ti.sndbuf_limited;
  out->tcp_info_delivered = ti.delivered;
  out->tcp_info_delivered_ce = ti.delivered_ce;
  out->tcp_info_bytes_sent = ti.bytes_sent;
  out->tcp_info_bytes_retrans = ti.bytes_retrans;
  out->tcp_info_dsack_dups = ti.dsack_dups;
  out->tcp_info_reord_seen = ti.reord_seen;
  out->tcp_info_rcv_ooopack = ti.rcv_ooopack;
  out->tcp_info_snd_wnd = ti.snd_wnd;
  out->tcp_info_rcv_wnd = ti.rcv_wnd;
  out->tcp_info_rehash = ti.rehash;
  out->tcp_info_total_rto = ti.total_rto;
  out->tcp_info_total_rto_recoveries = ti.total_rto_recoveries;
  out->tcp_info_total_rto_time = ti.total_rto_time;
  return false;
}

bool DecodeVegasInfo(const uint8_t* p, size_t, RecordPayload* out) {
  out->vegas_info_enabled = Load<uint32_t>(p);
  out->vegas_info_rtt_cnt = Load<uint32_t>(p + 4);
  out->vegas_info_rtt = Load<uint32_t>(p + 8);
  out->vegas_info_min_rtt = Load<uint32_t>(p + 12);
  return false;
}

bool DecodeCong(const uint8_t* p, size_t n, RecordPayload* out) {
  const std::string_view name(reinterpret_cast<const char*>(p),
                              strnlen(reinterpret_cast<const char*>(p), n));
  out->congestion_algorithm_enum = record::CongestionFromName(name);
  // The kernel's names are ASCII, but a capture (or a module) can carry any bytes: store them as
  // valid UTF-8, whole characters only, so that no marshaller or parser rejects the record.
  record::CongestionName& s = out->congestion_algorithm_string;
  size_t replaced = 0;
  s.len = static_cast<uint8_t>(CopyValidUtf8(name, s.data, sizeof(s.data), &replaced));
  return replaced != 0;
}

bool DecodeTos(const uint8_t* p, size_t, RecordPayload* out) {
  out->type_of_service = p[0];
  return false;
}

bool DecodeTclass(const uint8_t* p, size_t, RecordPayload* out) {
  out->traffic_class = p[0];
  return false;
}

bool DecodeSkmeminfo(const uint8_t* p, size_t, RecordPayload* out) {
  out->sk_mem_info_rmem_alloc = Load<uint32_t>(p);
  out->sk_mem_info_rcv_buf = Load<uint32_t>(p + 4);
  out->sk_mem_info_wmem_alloc = Load<uint32_t>(p + 8);
  out->sk_mem_info_snd_buf = Load<uint32_t>(p + 12);
  out->sk_mem_info_fwd_alloc = Load<uint32_t>(p + 16);
  out->sk_mem_info_wmem_queued = Load<uint32_t>(p + 20);
  out->sk_mem_info_optmem = Load<uint32_t>(p + 24);
  out->sk_mem_info_backlog = Load<uint32_t>(p + 28);
  out->sk_mem_info_drops = Load<uint32_t>(p + 32);
  return false;
}

bool DecodeShutdown(const uint8_t* p, size_t, RecordPayload* out) {
  out->shutdown_state = p[0];
  return false;
}

bool DecodeDctcpInfo(const uint8_t* p, size_t, RecordPayload* out) {
  out->dctcp_info_enabled = Load<uint16_t>(p);
  out->dctcp_info_ce_state = Load<uint16_t>(p + 2);
  out->dctcp_info_alpha = Load<uint32_t>(p + 4);
  out->dctcp_info_ab_ecn = Load<uint32_t>(p + 8);
  out->dctcp_info_ab_tot = Load<uint32_t>(p + 12);
  return false;
}

bool DecodeBbrInfo(const uint8_t* p, size_t, RecordPayload* out) {
  out->bbr_info_bw_lo = Load<uint32_t>(p);
  out->bbr_info_bw_hi = Load<uint32_t>(p + 4);
  out->bbr_info_min_rtt = Load<uint32_t>(p + 8);
  out->bbr_info_pacing_gain = Load<uint32_t>(p + 12);
  out->bbr_info_cwnd_gain = Load<uint32_t>(p + 16);
  return false;
}

bool DecodeClassId(const uint8_t* p, size_t, RecordPayload* out) {
  out->class_id = Load<uint32_t>(p);
  return false;
}

bool DecodeCgroupId(const uint8_t* p, size_t, RecordPayload* out) {
  out->c_group = Load<uint64_t>(p);
  return false;
}

bool DecodeSockopt(const uint8_t* p, size_t, RecordPayload* out) {
  out->sock_opt = Load<uint16_t>(p);
  return false;
}

uint8_t DeserializerSet::IdiagExt() const {
  uint8_t ext = 0;
  for (size_t i = 0; i < kDeserializers.size(); ++i) {
    if (!Has(i)) continue;
    const uint16_t attr = kDeserializers[i].attr;
    if (attr >= 1 && attr <= 8) ext |= static_cast<uint8_t>(1u << (attr - 1));
    if (attr == kAttrDctcpInfo || attr == kAttrBbrInfo) ext |= 1u << (kAttrVegasInfo - 1);
    if (attr == kAttrClassId) ext |= 1u << (kAttrTclass - 1);
  }
  return ext;
}

std::string DeserializerSet::ToString() const {
  std::string out;
  for (size_t i = 0; i < kDeserializers.size(); ++i) {
    if (!Has(i)) continue;
    if (!out.empty()) out += ',';
    out += kDeserializers[i].key;
  }
  return out;
}

absl::StatusOr<DeserializerSet> ParseDeserializers(std::string_view spec) {
  const absl::string_view trimmed =
      absl::StripAsciiWhitespace(absl::string_view(spec.data(), spec.size()));
  if (trimmed == "default") return DeserializerSet::Default();
  if (trimmed == "all") return DeserializerSet::All();
  DeserializerSet set;
  if (trimmed.empty()) return set;
  for (absl::string_view word : absl::StrSplit(trimmed, ',')) {
    word = absl::StripAsciiWhitespace(word);
    if (word.empty()) continue;
    bool found = false;
    for (size_t i = 0; i < kDeserializers.size(); ++i) {
      if (word == absl::string_view(kDeserializers[i].key.data(), kDeserializers[i].key.size())) {
        set.Add(i);
        found = true;
        break;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat("unknown deserializer \"", word,
                                                     "\" (valid: default, all, ",
                                                     DeserializerSet::All().ToString(), ")"));
    }
  }
  return set;
}

}  // namespace xtcp::decode
