// Single reply datagrams and single messages extracted upstream from whole dumps
// (`netlink_sock_diag_reply_single_packet_port<P>.pcap`, `netlink_sock_diag_response_*`), and
// the tcp_info attributes cut out of them (`*_info`). Where the datagram came from an ss run
// whose text was kept, every socket in it must be one ss listed, field for field; otherwise the
// sockets are held to invariants of the kernel's TCP that any correct decode satisfies.

#include <netinet/in.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "decode/capture.h"
#include "decode/kernel_layout.h"
#include "decode/walker.h"
#include "gtest/gtest.h"
#include "oracle/shared_fixtures.h"
#include "support/capture_dumps.h"
#include "support/ss_compare.h"
#include "support/ss_text.h"

namespace xtcp::testing {
namespace {

using record::RecordPayload;

// The sequence number ss puts on its requests (MAGIC_SEQ in ss.c); replies carry it back.
constexpr uint32_t kSsSeq = 123456;

std::vector<uint8_t> LoadDatagram(const std::string& relative) {
  absl::StatusOr<decode::Capture> cap = decode::ReadCapture(SharedFixture(relative));
  EXPECT_TRUE(cap.ok()) << cap.status();
  if (!cap.ok() || cap->datagrams.size() != 1) {
    ADD_FAILURE() << relative << ": expected exactly one datagram";
    return {};
  }
  return {cap->datagrams[0].bytes.begin(), cap->datagrams[0].bytes.end()};
}

std::vector<RecordPayload> DecodeClean(const std::vector<uint8_t>& datagram) {
  decode::DecodeProblems problems;
  std::vector<RecordPayload> sockets = DecodeDatagram(datagram, &problems);
  EXPECT_EQ(problems.Total(), 0u);
  EXPECT_FALSE(sockets.empty());
  return sockets;
}

bool HasPort(const std::vector<RecordPayload>& sockets, uint32_t port) {
  return std::any_of(sockets.begin(), sockets.end(), [&](const RecordPayload& p) {
    return p.inet_diag_msg_socket_source_port == port ||
           p.inet_diag_msg_socket_destination_port == port;
  });
}

// Relations the kernel's TCP guarantees between fields of one socket (include/uapi/linux/tcp.h,
// net/ipv4/tcp.c tcp_get_info()); a field read from the wrong offset breaks them.
void ExpectTcpInvariants(const RecordPayload& p) {
  SCOPED_TRACE(DescribeSocket(p));
  if (p.tcp_info_state == 0) return;                   // no INFO attribute (TIME-WAIT, SYN-RECV)
  EXPECT_EQ(p.tcp_info_state, p.inet_diag_msg_state);  // both are sk->sk_state
  EXPECT_LE(p.tcp_info_ca_state, 4u);                  // TCP_CA_Open .. TCP_CA_Loss
  EXPECT_LE(p.tcp_info_send_scale, 14u);               // RFC 7323 window scale limit
  EXPECT_LE(p.tcp_info_rcv_scale, 14u);
  EXPECT_LE(p.tcp_info_data_segs_out, p.tcp_info_segs_out);
  EXPECT_LE(p.tcp_info_data_segs_in, p.tcp_info_segs_in);
  EXPECT_LE(p.tcp_info_bytes_acked, p.tcp_info_bytes_sent + 2);  // + SYN and FIN
  if (p.tcp_info_pmtu != 0) {
    EXPECT_LT(p.tcp_info_adv_mss, p.tcp_info_pmtu);
  }
}

struct SingleDatagram {
  const char* pcap;
  uint32_t port;   // named in the file
  const char* ss;  // text of the run it was cut from; nullptr when none was kept
};

constexpr SingleDatagram kDatagrams[] = {
    {"4_19_319/netlink_sock_diag_reply_single_packet_port4005.pcap", 4005,
     "4_19_319/4_19_319_ss_tcp_info_a_10"},
    {"5_4_281/netlink_sock_diag_reply_single_packet_port4049.pcap", 4049,
     "5_4_281/5_4_281_ss_tcp_info_a_1000_sleep1ms"},
    {"5_15_164/netlink_sock_diag_reply_single_packet_port4000.pcap", 4000,
     "5_15_164/5_15_164_ss_tcp_info_a_100"},
    {"6_10_3/netlink_sock_diag_reply_single_packet_port4322.pcap", 4322,
     "6_10_3/6_10_3_ss_tcp_info_a_1000_sleep1ms"},
    {"6_10_3/netlink_sock_diag_response_1000_sockets_sleep1ms_packet8_dport4262.pcap", 4262,
     "6_10_3/6_10_3_ss_tcp_info_a_1000_sleep1ms"},
    {"7_0_3/netlink_sock_diag_response_7_0_3_sport26546_dport443.pcap", 26546,
     "7_0_3/ss_tcp_info_n"},
    // No ss text: netem runs (text empty upstream), 6.6.44 runs whose text was not kept, and two
    // 7.0.3 datagrams answering another program's dump (not ss's sequence number).
    {"6_10_3/netlink_sock_diag_response_2000_sockets_netem_approx30mins_packet4_dport4355.pcap",
     4355, nullptr},
    {"6_10_3/netlink_sock_diag_response_2000_sockets_netem_bbr_approx60mins_packet10_dport5865"
     ".pcap",
     5865, nullptr},
    {"6_6_44/netlink_sock_diag_reply_single_packet_port4001.pcap", 4001, nullptr},
    {"6_6_44/netlink_sock_diag_reply_single_packet_port4018.pcap", 4018, nullptr},
    {"6_6_44/netlink_sock_diag_reply_single_packet_port443v4.pcap", 443, nullptr},
    {"6_6_44/netlink_sock_diag_reply_single_packet_port443v6.pcap", 443, nullptr},
    {"6_6_44/netlink_sock_diag_reply_single_packet_port443v6_2.pcap", 443, nullptr},
    {"7_0_3/netlink_sock_diag_response_7_0_3_sport19000_dport10156_v6.pcap", 19000, nullptr},
    {"7_0_3/netlink_sock_diag_response_7_0_3_sport63282_dport443_rcvrtt.pcap", 63282, nullptr},
};

class SharedDatagram : public ::testing::TestWithParam<SingleDatagram> {};

TEST_P(SharedDatagram, EverySocketAsSsListedIt) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  const SingleDatagram& d = GetParam();
  const std::vector<uint8_t> datagram = LoadDatagram(d.pcap);
  ASSERT_GE(datagram.size(), decode::kNlmsgHdrLen);
  const std::vector<RecordPayload> sockets = DecodeClean(datagram);
  EXPECT_TRUE(HasPort(sockets, d.port));
  for (const RecordPayload& p : sockets) ExpectTcpInvariants(p);
  const uint32_t seq = decode::Load<uint32_t>(datagram.data() + 8);
  if (d.ss == nullptr) {
    if (std::string(d.pcap).rfind("7_0_3", 0) == 0) {
      EXPECT_NE(seq, kSsSeq);
    }
    return;
  }
  EXPECT_EQ(seq, kSsSeq);
  absl::StatusOr<SsListing> listing = ReadSsFile(SharedFixture(d.ss));
  ASSERT_TRUE(listing.ok()) << listing.status();
  CompareOptions opts;
  opts.dialect = SsDialect::Infer(*listing);
  const ListingReport r = CompareListing(sockets, listing->sockets, opts);
  EXPECT_EQ(r.matched, sockets.size()) << r.Summary();
  EXPECT_TRUE(r.mismatches.empty()) << r.Summary();
}

INSTANTIATE_TEST_SUITE_P(AllKernels, SharedDatagram, ::testing::ValuesIn(kDatagrams),
                         [](const ::testing::TestParamInfo<SingleDatagram>& param) {
                           std::string name = std::filesystem::path(param.param.pcap).stem();
                           name = std::string(param.param.pcap).substr(0, 6) + name.substr(18);
                           std::replace_if(
                               name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
                               '_');
                           return name;
                         });

// The message of `datagram` that contains byte `offset`, decoded.
RecordPayload MessageAt(const std::vector<uint8_t>& datagram, size_t offset) {
  size_t off = 0;
  while (off + decode::kNlmsgHdrLen <= datagram.size()) {
    const uint32_t len = decode::Load<uint32_t>(datagram.data() + off);
    if (len < decode::kNlmsgHdrLen) break;
    if (offset < off + len) {
      RecordPayload p;
      decode::DecodeProblems problems;
      decode::DecodeOptions opts;
      opts.deserializers = decode::DeserializerSet::All();
      EXPECT_TRUE(decode::DecodeSocketMessage(datagram.data() + off + decode::kNlmsgHdrLen,
                                              len - decode::kNlmsgHdrLen, opts, &p, &problems));
      return p;
    }
    off += decode::Align4(len);
  }
  ADD_FAILURE() << "offset " << offset << " is in no message";
  return {};
}

// `*_info` files are the INFO rtattr of the socket named in the file, cut verbatim from the
// datagram of the same name.
TEST(SharedTcpInfoCuts, AreTheNamedSocketsInfoAttribute) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  struct {
    const char* pcap;
    uint32_t port;
    size_t info_len;  // struct tcp_info of that kernel: 248 on 6.10, 280 on 7.0
  } const kCuts[] = {
      {"6_10_3/netlink_sock_diag_response_1000_sockets_sleep1ms_packet8_dport4262", 4262, 248},
      {"6_10_3/netlink_sock_diag_response_2000_sockets_netem_approx30mins_packet4_dport4355", 4355,
       248},
      {"6_10_3/netlink_sock_diag_response_2000_sockets_netem_bbr_approx60mins_packet10_dport5865",
       5865, 248},
      {"7_0_3/netlink_sock_diag_response_7_0_3_sport26546_dport443", 26546, 280},
      {"7_0_3/netlink_sock_diag_response_7_0_3_sport63282_dport443_rcvrtt", 63282, 280},
      {"7_0_3/netlink_sock_diag_response_7_0_3_sport19000_dport10156_v6", 19000, 280},
  };
  for (const auto& c : kCuts) {
    SCOPED_TRACE(c.pcap);
    absl::StatusOr<std::vector<uint8_t>> info =
        ReadFileBytes(SharedFixture(absl::StrCat(c.pcap, "_info")));
    ASSERT_TRUE(info.ok()) << info.status();
    ASSERT_EQ(info->size(), decode::kRtaHdrLen + c.info_len);
    EXPECT_EQ(decode::Load<uint16_t>(info->data() + 2), decode::kAttrInfo);
    const std::vector<uint8_t> datagram = LoadDatagram(absl::StrCat(c.pcap, ".pcap"));
    const auto at = std::search(datagram.begin(), datagram.end(), info->begin(), info->end());
    ASSERT_NE(at, datagram.end()) << "not cut from this datagram";
    const RecordPayload p = MessageAt(datagram, static_cast<size_t>(at - datagram.begin()));
    EXPECT_TRUE(p.inet_diag_msg_socket_source_port == c.port ||
                p.inet_diag_msg_socket_destination_port == c.port)
        << DescribeSocket(p);
    ExpectTcpInvariants(p);
  }
}

// 6.6.44 single messages (netlink header + inet_diag_msg + attributes, 448 bytes); the
// attribute_info of that kernel was cut from the one for port 4819.
TEST(SharedMessages, SixSixMessagesAndTheirInfo) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  for (const auto& [file, port] :
       {std::pair{"6_6_44/netlink_sock_diag_response_port4002", 4002u},
        std::pair{"6_6_44/netlink_sock_diag_response_port4007", 4007u},
        std::pair{"6_6_44/netlink_sock_diag_response_port4819", 4819u},
        std::pair{"6_6_44/large_netlink_sock_diag_protocol_export", 0u}}) {
    SCOPED_TRACE(file);
    absl::StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(SharedFixture(file));
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    const std::vector<RecordPayload> sockets = DecodeClean(*bytes);
    ASSERT_EQ(sockets.size(), 1u);
    if (port != 0) {
      EXPECT_TRUE(HasPort(sockets, port));
    }
    ExpectTcpInvariants(sockets[0]);
  }
  absl::StatusOr<std::vector<uint8_t>> msg =
      ReadFileBytes(SharedFixture("6_6_44/netlink_sock_diag_response_port4819"));
  absl::StatusOr<std::vector<uint8_t>> info = ReadFileBytes(SharedFixture("6_6_44/attribute_info"));
  ASSERT_TRUE(msg.ok() && info.ok());
  EXPECT_NE(std::search(msg->begin(), msg->end(), info->begin(), info->end()), msg->end());
}

}  // namespace
}  // namespace xtcp::testing
