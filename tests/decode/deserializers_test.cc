#include "decode/deserializers.h"

#include <cstring>
#include <vector>

#include "common/utf8.h"
#include "gtest/gtest.h"

namespace xtcp::decode {
namespace {

using record::RecordPayload;

template <typename T>
void PutAt(std::vector<uint8_t>* b, size_t off, T v) {
  std::memcpy(b->data() + off, &v, sizeof(T));
}

// A tcp_info blob of `len` bytes where every 4-byte field holds 1000 + its offset, every 8-byte
// field 1e12 + offset, and the bytes/bitfields at the start hold small distinct values.
std::vector<uint8_t> TcpInfoBlob(size_t len) {
  std::vector<uint8_t> b(len, 0);
  const uint8_t head[8] = {1, 4, 2, 3, 5, 0x17, 0x97, 0x05};
  std::memcpy(b.data(), head, 8);
  for (size_t off = 8; off + 4 <= len && off < 104; off += 4) PutAt<uint32_t>(&b, off, 1000 + off);
  for (size_t off = 104; off + 8 <= len && off < 136; off += 8)
    PutAt<uint64_t>(&b, off, 1000000000000 + off);
  for (size_t off = 136; off + 4 <= len && off < 160; off += 4)
    PutAt<uint32_t>(&b, off, 1000 + off);
  for (size_t off = 160; off + 8 <= len && off < 192; off += 8)
    PutAt<uint64_t>(&b, off, 1000000000000 + off);
  if (len >= 200) {
    PutAt<uint32_t>(&b, 192, 1192);
    PutAt<uint32_t>(&b, 196, 1196);
  }
  if (len >= 216) {
    PutAt<uint64_t>(&b, 200, 1000000000200);
    PutAt<uint64_t>(&b, 208, 1000000000208);
  }
  for (size_t off = 216; off + 4 <= len && off < 240; off += 4)
    PutAt<uint32_t>(&b, off, 1000 + off);
  if (len >= 248) {
    PutAt<uint16_t>(&b, 240, 1240);
    PutAt<uint16_t>(&b, 242, 1242);
    PutAt<uint32_t>(&b, 244, 1244);
  }
  for (size_t off = 248; off + 4 <= len; off += 4) PutAt<uint32_t>(&b, off, 0xdeadbeef);
  return b;
}

TEST(TcpInfo, Base192Fields) {
  const auto b = TcpInfoBlob(192);
  RecordPayload p;
  DecodeTcpInfo(b.data(), b.size(), &p);
  EXPECT_EQ(p.tcp_info_state, 1u);
  EXPECT_EQ(p.tcp_info_ca_state, 4u);
  EXPECT_EQ(p.tcp_info_retransmits, 2u);
  EXPECT_EQ(p.tcp_info_probes, 3u);
  EXPECT_EQ(p.tcp_info_backoff, 5u);
  EXPECT_EQ(p.tcp_info_options, 0x17u);
  EXPECT_EQ(p.tcp_info_send_scale, 7u);  // low nibble of 0x97
  EXPECT_EQ(p.tcp_info_rcv_scale, 9u);   // high nibble
  EXPECT_EQ(p.tcp_info_delivery_rate_app_limited, 1u);
  EXPECT_EQ(p.tcp_info_fast_open_client_failed, 2u);  // bits 1-2 of 0x05
  EXPECT_EQ(p.tcp_info_rto, 1008u);
  EXPECT_EQ(p.tcp_info_rcv_mss, 1020u);
  EXPECT_EQ(p.tcp_info_fackets, 1040u);  // read, unlike upstream
  EXPECT_EQ(p.tcp_info_rtt, 1068u);
  EXPECT_EQ(p.tcp_info_rtt_var, 1072u);
  EXPECT_EQ(p.tcp_info_total_retrans, 1100u);
  EXPECT_EQ(p.tcp_info_pacing_rate, 1000000000104u);
  EXPECT_EQ(p.tcp_info_bytes_received, 1000000000128u);
  EXPECT_EQ(p.tcp_info_segs_out, 1136u);
  EXPECT_EQ(p.tcp_info_data_segs_out, 1156u);
  EXPECT_EQ(p.tcp_info_delivery_rate, 1000000000160u);
  EXPECT_EQ(p.tcp_info_sndbuf_limited, 1000000000184u);
  EXPECT_EQ(p.tcp_info_delivered, 0u);  // not in a 192-byte struct
  EXPECT_EQ(p.tcp_info_total_rto_time, 0u);
}

struct SizeCase {
  size_t len;
  uint32_t delivered, rcv_ooopack, rcv_wnd, total_rto;
};

class TcpInfoSizes : public ::testing::TestWithParam<SizeCase> {};

TEST_P(TcpInfoSizes, FieldsPresentExactlyUpToTheKernelsLength) {
  const SizeCase c = GetParam();
  const auto b = TcpInfoBlob(c.len);
  RecordPayload p;
  DecodeTcpInfo(b.data(), b.size(), &p);
  EXPECT_EQ(p.tcp_info_sndbuf_limited, 1000000000184u);
  EXPECT_EQ(p.tcp_info_delivered, c.delivered);
  EXPECT_EQ(p.tcp_info_rcv_ooopack, c.rcv_ooopack);
  EXPECT_EQ(p.tcp_info_rcv_wnd, c.rcv_wnd);
  EXPECT_EQ(p.tcp_info_total_rto, c.total_rto);
  if (c.len >= 248) {
    EXPECT_EQ(p.tcp_info_total_rto_recoveries, 1242u);
    EXPECT_EQ(p.tcp_info_total_rto_time, 1244u);
  }
}

INSTANTIATE_TEST_SUITE_P(KernelBuckets, TcpInfoSizes,
                         ::testing::Values(SizeCase{192, 0, 0, 0, 0},              // 4.15
                                           SizeCase{224, 1192, 0, 0, 0},           // 4.19
                                           SizeCase{232, 1192, 1224, 0, 0},        // 5.4 .. 6.1
                                           SizeCase{240, 1192, 1224, 1232, 0},     // 6.6
                                           SizeCase{248, 1192, 1224, 1232, 1240},  // 6.8 / 6.10
                                           SizeCase{280, 1192, 1224, 1232, 1240},  // 6.18 / 7.0
                                           SizeCase{300, 1192, 1224, 1232, 1240},  // future
                                           SizeCase{230, 1192, 1224, 0, 0}),       // odd length
                         [](const auto& tp) { return "len" + std::to_string(tp.param.len); });

TEST(Skmeminfo, NineCounters) {
  const uint32_t v[9] = {0, 1000000, 2, 2626560, 4096, 5, 6, 7, 8};
  RecordPayload p;
  DecodeSkmeminfo(reinterpret_cast<const uint8_t*>(v), sizeof(v), &p);
  EXPECT_EQ(p.sk_mem_info_rmem_alloc, 0u);
  EXPECT_EQ(p.sk_mem_info_rcv_buf, 1000000u);
  EXPECT_EQ(p.sk_mem_info_wmem_alloc, 2u);
  EXPECT_EQ(p.sk_mem_info_snd_buf, 2626560u);
  EXPECT_EQ(p.sk_mem_info_fwd_alloc, 4096u);
  EXPECT_EQ(p.sk_mem_info_wmem_queued, 5u);
  EXPECT_EQ(p.sk_mem_info_optmem, 6u);
  EXPECT_EQ(p.sk_mem_info_backlog, 7u);
  EXPECT_EQ(p.sk_mem_info_drops, 8u);
}

TEST(Meminfo, FourCounters) {
  const uint32_t v[4] = {11, 22, 4096, 44};
  RecordPayload p;
  DecodeMeminfo(reinterpret_cast<const uint8_t*>(v), sizeof(v), &p);
  EXPECT_EQ(p.mem_info_rmem, 11u);
  EXPECT_EQ(p.mem_info_wmem, 22u);
  EXPECT_EQ(p.mem_info_fmem, 4096u);
  EXPECT_EQ(p.mem_info_tmem, 44u);
}

TEST(Cong, NameStoredAndEnumFromFullName) {
  RecordPayload p;
  DecodeCong(reinterpret_cast<const uint8_t*>("cubic\0\0"), 8, &p);
  EXPECT_EQ(p.congestion_algorithm_string.view(), "cubic");
  EXPECT_EQ(p.congestion_algorithm_enum, record::kCongCubic);
  DecodeCong(reinterpret_cast<const uint8_t*>("bbr3"), 4, &p);  // no NUL at all
  EXPECT_EQ(p.congestion_algorithm_string.view(), "bbr3");
  EXPECT_EQ(p.congestion_algorithm_enum, record::kCongBbr3);
  DecodeCong(reinterpret_cast<const uint8_t*>("reno\0"), 5, &p);
  EXPECT_EQ(p.congestion_algorithm_string.view(), "reno");
  EXPECT_EQ(p.congestion_algorithm_enum, record::kCongUnspecified);
  DecodeCong(reinterpret_cast<const uint8_t*>("prague\0"), 7, &p);
  EXPECT_EQ(p.congestion_algorithm_enum, record::kCongPrague);
}

TEST(Cong, OverlongNameIsCutAt16) {
  RecordPayload p;
  const char name[] = "an_algorithm_with_a_very_long_name";
  DecodeCong(reinterpret_cast<const uint8_t*>(name), sizeof(name), &p);
  EXPECT_EQ(p.congestion_algorithm_string.view(), "an_algorithm_wit");
  EXPECT_EQ(p.congestion_algorithm_enum, record::kCongUnspecified);
}

TEST(Cong, InvalidUtf8IsRepairedAndReported) {
  RecordPayload p;
  const uint8_t name[] = {'b', 0xff, 0xfe, 'r', 0};
  EXPECT_TRUE(DecodeCong(name, sizeof(name), &p));
  EXPECT_EQ(p.congestion_algorithm_string.view(), "b\xef\xbf\xbd\xef\xbf\xbdr");
  EXPECT_EQ(p.congestion_algorithm_enum, record::kCongUnspecified);
  EXPECT_FALSE(DecodeCong(reinterpret_cast<const uint8_t*>("cubic"), 5, &p));
}

TEST(Cong, RepairedNameKeepsWholeCharactersOnly) {
  RecordPayload p;
  const std::vector<uint8_t> name(15, 0xff);  // 15 x U+FFFD = 45 bytes; room for 5
  EXPECT_TRUE(DecodeCong(name.data(), name.size(), &p));
  EXPECT_EQ(p.congestion_algorithm_string.len, 15);
  EXPECT_TRUE(IsValidUtf8(p.congestion_algorithm_string.view()));
}

TEST(SmallAttributes, TosTclassShutdownClassCgroupSockopt) {
  RecordPayload p;
  const uint8_t tos = 0x20, tc = 0x48, shut = 3;
  DecodeTos(&tos, 1, &p);
  DecodeTclass(&tc, 1, &p);
  DecodeShutdown(&shut, 1, &p);
  const uint32_t classid = 0x10001;
  DecodeClassId(reinterpret_cast<const uint8_t*>(&classid), 4, &p);
  const uint64_t cg = 0x123456789abcULL;
  DecodeCgroupId(reinterpret_cast<const uint8_t*>(&cg), 8, &p);
  const uint16_t sockopt = 0x0305;
  DecodeSockopt(reinterpret_cast<const uint8_t*>(&sockopt), 2, &p);
  EXPECT_EQ(p.type_of_service, 0x20u);
  EXPECT_EQ(p.traffic_class, 0x48u);
  EXPECT_EQ(p.shutdown_state, 3u);
  EXPECT_EQ(p.class_id, 0x10001u);
  EXPECT_EQ(p.c_group, 0x123456789abcULL);
  EXPECT_EQ(p.sock_opt, 0x0305u);
}

TEST(CongestionControlInfo, VegasDctcpBbr) {
  RecordPayload p;
  const uint32_t vegas[4] = {1, 2, 3, 4};
  DecodeVegasInfo(reinterpret_cast<const uint8_t*>(vegas), 16, &p);
  EXPECT_EQ(p.vegas_info_enabled, 1u);
  EXPECT_EQ(p.vegas_info_rtt_cnt, 2u);
  EXPECT_EQ(p.vegas_info_rtt, 3u);
  EXPECT_EQ(p.vegas_info_min_rtt, 4u);
  struct {
    uint16_t enabled, ce_state;
    uint32_t alpha, ab_ecn, ab_tot;
  } dctcp = {1, 2, 1024, 5, 6};
  DecodeDctcpInfo(reinterpret_cast<const uint8_t*>(&dctcp), 16, &p);
  EXPECT_EQ(p.dctcp_info_enabled, 1u);
  EXPECT_EQ(p.dctcp_info_ce_state, 2u);
  EXPECT_EQ(p.dctcp_info_alpha, 1024u);
  EXPECT_EQ(p.dctcp_info_ab_ecn, 5u);
  EXPECT_EQ(p.dctcp_info_ab_tot, 6u);
  const uint32_t bbr[5] = {0xfffff, 0, 17, 739, 512};
  DecodeBbrInfo(reinterpret_cast<const uint8_t*>(bbr), 20, &p);
  EXPECT_EQ(p.bbr_info_bw_lo, 0xfffffu);
  EXPECT_EQ(p.bbr_info_bw_hi, 0u);
  EXPECT_EQ(p.bbr_info_min_rtt, 17u);
  EXPECT_EQ(p.bbr_info_pacing_gain, 739u);
  EXPECT_EQ(p.bbr_info_cwnd_gain, 512u);
}

TEST(DeserializerFlag, KeywordsAndExtBits) {
  EXPECT_EQ(ParseDeserializers("default")->IdiagExt(), 0xfe);
  EXPECT_EQ(ParseDeserializers("all")->IdiagExt(), 0xff);
  EXPECT_EQ(ParseDeserializers("")->IdiagExt(), 0);
  EXPECT_TRUE(ParseDeserializers("")->empty());
  EXPECT_EQ(ParseDeserializers("meminfo,skmem")->IdiagExt(), 0x41);
  EXPECT_EQ(ParseDeserializers("bbr")->IdiagExt(), 0x04);
  EXPECT_EQ(ParseDeserializers("dctcp")->IdiagExt(), 0x04);
  EXPECT_EQ(ParseDeserializers("classid")->IdiagExt(), 0x20);
  EXPECT_EQ(ParseDeserializers("cgroup,sockopt")->IdiagExt(), 0);  // always sent by the kernel
  EXPECT_EQ(ParseDeserializers(" info , cong ")->ToString(), "info,cong");
}

TEST(DeserializerFlag, DefaultIsAllButMeminfo) {
  const DeserializerSet d = DeserializerSet::Default();
  EXPECT_FALSE(d.Has(0));
  for (size_t i = 1; i < kDeserializers.size(); ++i) EXPECT_TRUE(d.Has(i)) << kDeserializers[i].key;
  EXPECT_EQ(DeserializerSet::All().ToString(),
            "meminfo,info,vegas,cong,tos,tc,skmem,shut,dctcp,bbr,classid,cgroup,sockopt");
}

TEST(DeserializerFlag, UnknownKeyIsNamed) {
  const auto r = ParseDeserializers("info,tcpinfo");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"tcpinfo\""), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("sockopt"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace xtcp::decode
