// The upstream single-attribute fixtures (`attribute_*`: one raw rtattr, 4-byte header included)
// through each deserializer. Expected values come from the ss text of the same kernel (the value
// formatted as ss prints it must be something ss printed), from the file name, or from kernel
// first principles, never from our own decoder.

#include <netinet/in.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "decode/capture.h"
#include "decode/deserializers.h"
#include "decode/walker.h"
#include "gtest/gtest.h"
#include "oracle/shared_fixtures.h"
#include "support/capture_dumps.h"
#include "support/ss_compare.h"
#include "support/ss_text.h"

namespace xtcp::testing {
namespace {

using record::RecordPayload;

struct Attr {
  uint16_t type = 0;
  std::vector<uint8_t> payload;  // without the 4-byte header
};

// Reads one rtattr file; its rta_len must be the file size.
Attr LoadAttr(const std::string& relative) {
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(SharedFixture(relative));
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  Attr a;
  if (!bytes.ok() || bytes->size() < decode::kRtaHdrLen) {
    ADD_FAILURE() << relative << " is shorter than an rtattr header";
    return a;
  }
  EXPECT_EQ(decode::Load<uint16_t>(bytes->data()), bytes->size()) << relative;
  a.type = decode::Load<uint16_t>(bytes->data() + 2);
  a.payload.assign(bytes->begin() + decode::kRtaHdrLen, bytes->end());
  return a;
}

// Runs the deserializer registered for the attribute's type.
RecordPayload DecodeAttr(const Attr& a) {
  RecordPayload p{};
  for (const decode::DeserializerInfo& d : decode::kDeserializers) {
    if (d.attr != a.type) continue;
    EXPECT_GE(a.payload.size(), d.min_len) << d.key;
    if (a.payload.size() >= d.min_len) d.fn(a.payload.data(), a.payload.size(), &p);
    return p;
  }
  ADD_FAILURE() << "no deserializer for attribute type " << a.type;
  return p;
}

RecordPayload LoadAndDecode(const std::string& relative, uint16_t expected_type) {
  const Attr a = LoadAttr(relative);
  EXPECT_EQ(a.type, expected_type) << relative;
  return DecodeAttr(a);
}

// Every white-space separated token of a kernel's ss listings.
const std::set<std::string>& SsTokens(const std::string& kernel) {
  static std::map<std::string, std::set<std::string>> cache;
  auto [it, added] = cache.try_emplace(kernel);
  if (!added) return it->second;
  for (const auto& e : std::filesystem::directory_iterator(SharedFixture(kernel))) {
    const std::string name = e.path().filename();
    if (name.find("ss_tcp_info") == std::string::npos || e.path().extension() == ".pcap") continue;
    absl::StatusOr<std::string> text = ReadFileText(e.path());
    if (!text.ok()) continue;
    for (absl::string_view t : absl::StrSplit(*text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
      it->second.emplace(t);
    }
  }
  return it->second;
}

void ExpectSsPrinted(const std::string& kernel, const std::string& token) {
  EXPECT_TRUE(SsTokens(kernel).count(token))
      << "\"" << token << "\" not printed by ss on " << kernel;
}

std::string SkmemText(const RecordPayload& p) {
  return absl::StrFormat("skmem:(r%u,rb%u,t%u,tb%u,f%u,w%u,o%u,bl%u,d%u)", p.sk_mem_info_rmem_alloc,
                         p.sk_mem_info_rcv_buf, p.sk_mem_info_wmem_alloc, p.sk_mem_info_snd_buf,
                         p.sk_mem_info_fwd_alloc, p.sk_mem_info_wmem_queued, p.sk_mem_info_optmem,
                         p.sk_mem_info_backlog, p.sk_mem_info_drops);
}

std::string BbrText(const RecordPayload& p) {
  const uint64_t bw = (uint64_t{p.bbr_info_bw_hi} << 32) | p.bbr_info_bw_lo;
  return absl::StrCat("bbr:(bw:", FormatBw(static_cast<double>(bw) * 8.0, true),
                      "bps,mrtt:", FormatG(p.bbr_info_min_rtt / 1000.0),
                      ",pacing_gain:", FormatG(p.bbr_info_pacing_gain / 256.0),
                      ",cwnd_gain:", FormatG(p.bbr_info_cwnd_gain / 256.0), ")");
}

// --- skmeminfo ------------------------------------------------------------------------------

struct SkmemFixture {
  const char* file;
  uint32_t rcv_buf, snd_buf, fwd_alloc;  // from the file name; 0 = not named
};

TEST(SharedAttributes, SkmeminfoIsWhatSsPrinted) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // 4_19_319's name says forward2096 but both its bytes and every matching ss line say f4096:
  // the name has a typo, the ss text is the oracle.
  const SkmemFixture kFiles[] = {
      {"4_19_319/attribute_skmeminfo_send2626560_forward2096", 0, 2626560, 0},
      {"5_4_281/attribute_skmeminfo_send2626560_forward4096", 0, 2626560, 4096},
      {"6_6_44/attribute_skmeminfo", 0, 0, 0},
      {"6_6_44/attribute_skmeminfo2", 0, 0, 0},
      {"6_8_12/attribute_skmeminfo_rb1000000_sb2626560", 1000000, 2626560, 0},
  };
  for (const SkmemFixture& f : kFiles) {
    SCOPED_TRACE(f.file);
    const RecordPayload p = LoadAndDecode(f.file, decode::kAttrSkmeminfo);
    ExpectSsPrinted(std::string(f.file).substr(0, std::string(f.file).find('/')), SkmemText(p));
    if (f.rcv_buf) {
      EXPECT_EQ(p.sk_mem_info_rcv_buf, f.rcv_buf);
    }
    if (f.snd_buf) {
      EXPECT_EQ(p.sk_mem_info_snd_buf, f.snd_buf);
    }
    if (f.fwd_alloc) {
      EXPECT_EQ(p.sk_mem_info_fwd_alloc, f.fwd_alloc);
    }
  }
}

TEST(SharedAttributes, NetemSkmeminfoBuffersAreOnesSsPrinted) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // From the netem runs, whose ss text upstream is empty: the buffer sizes must still be ones ss
  // printed on that kernel, and the counters must be in their slots (drops seen only there).
  std::set<std::string> rb, tb;
  for (const std::string& t : SsTokens("6_10_3")) {
    if (t.rfind("skmem:(", 0) != 0) continue;
    for (absl::string_view item : absl::StrSplit(t.substr(7), ',')) {
      if (absl::StartsWith(item, "rb")) rb.emplace(item.substr(2));
      if (absl::StartsWith(item, "tb")) tb.emplace(item.substr(2));
    }
  }
  for (const char* f : {"6_10_3/attribute_skmeminfo", "6_10_3/attribute_skmeminfo_4305"}) {
    SCOPED_TRACE(f);
    const RecordPayload p = LoadAndDecode(f, decode::kAttrSkmeminfo);
    EXPECT_TRUE(rb.count(absl::StrCat(p.sk_mem_info_rcv_buf))) << p.sk_mem_info_rcv_buf;
    EXPECT_TRUE(tb.count(absl::StrCat(p.sk_mem_info_snd_buf))) << p.sk_mem_info_snd_buf;
    EXPECT_GT(p.sk_mem_info_drops, 0u);  // lossy netem path
  }
}

// --- meminfo --------------------------------------------------------------------------------

// Memory is charged to a socket in whole pages: queued bytes plus what is left of the charge
// (forward_alloc) add up to a multiple of the 4096-byte page.
void ExpectWholePages(const RecordPayload& p) {
  EXPECT_EQ((uint64_t{p.mem_info_rmem} + p.mem_info_wmem + p.mem_info_fmem) % 4096, 0u)
      << "r" << p.mem_info_rmem << " w" << p.mem_info_wmem << " f" << p.mem_info_fmem;
}

TEST(SharedAttributes, MeminfoFieldsInTheirSlots) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  const RecordPayload f4096 =
      LoadAndDecode("4_19_319/attribute_meminfo_f4096", decode::kAttrMeminfo);
  EXPECT_EQ(f4096.mem_info_fmem, 4096u);
  ExpectWholePages(f4096);
  for (const auto& [file, queued] : {std::pair{"6_10_3/attribute_meminfo_1506", 1506u},
                                     std::pair{"6_10_3/attribute_meminfo_5908", 5908u}}) {
    SCOPED_TRACE(file);
    const RecordPayload p = LoadAndDecode(file, decode::kAttrMeminfo);
    EXPECT_TRUE(p.mem_info_rmem == queued || p.mem_info_wmem == queued);
    EXPECT_GT(p.mem_info_fmem, 0u);
    ExpectWholePages(p);
  }
}

// --- congestion control ---------------------------------------------------------------------

TEST(SharedAttributes, CongestionNameAndEnum) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  struct {
    const char* file;
    const char* name;
    uint32_t enum_value;  // xtcp_flat_record.proto CongestionAlgorithm
  } const kFiles[] = {
      {"6_10_3/attribute_cong_cubic", "cubic", 1}, {"6_6_44/attribute_cong", "cubic", 1},
      {"6_6_44/attribute_cong_bbr", "bbr", 5},     {"6_6_44/attribute_cong_dctcp", "dctcp", 2},
      {"6_6_44/attribute_cong_vegas", "vegas", 3},
  };
  for (const auto& f : kFiles) {
    SCOPED_TRACE(f.file);
    const RecordPayload p = LoadAndDecode(f.file, decode::kAttrCong);
    EXPECT_EQ(p.congestion_algorithm_string.view(), f.name);
    EXPECT_EQ(p.congestion_algorithm_enum, f.enum_value);
    ExpectSsPrinted(std::string(f.file).substr(0, std::string(f.file).find('/')), f.name);
  }
}

TEST(SharedAttributes, BbrInfoIsWhatSsPrinted) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  for (const char* f : {"6_6_44/attribute_bbrinfo", "6_6_44/attribute_bbrinfo_another_example"}) {
    SCOPED_TRACE(f);
    ExpectSsPrinted("6_6_44", BbrText(LoadAndDecode(f, decode::kAttrBbrInfo)));
  }
}

TEST(SharedAttributes, NetemBbrInfoGainsAreBbrGains) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // net/ipv4/tcp_bbr.c (BBR_UNIT 256): pacing gains high_gain 739, drain 88, probe-bw cycle
  // 320/192/256; cwnd gains high_gain 739 or 512.
  const std::set<uint32_t> pacing = {739, 88, 320, 192, 256}, cwnd = {739, 512};
  for (const char* f : {"6_10_3/attribute_bbrinfo", "6_10_3/attribute_bbrinfo_4305"}) {
    SCOPED_TRACE(f);
    const RecordPayload p = LoadAndDecode(f, decode::kAttrBbrInfo);
    EXPECT_TRUE(pacing.count(p.bbr_info_pacing_gain)) << p.bbr_info_pacing_gain;
    EXPECT_TRUE(cwnd.count(p.bbr_info_cwnd_gain)) << p.bbr_info_cwnd_gain;
    EXPECT_GT(p.bbr_info_min_rtt, 0u);
    EXPECT_GT(p.bbr_info_bw_lo, 0u);
  }
}

TEST(SharedAttributes, DctcpInfoWithinDctcpBounds) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // net/ipv4/tcp_dctcp.c: alpha is scaled to DCTCP_MAX_ALPHA 1024; ab_ecn counts the ECN-marked
  // part of ab_tot. ss printed ab_tot:32768 for every dctcp socket of that kernel.
  for (const char* f : {"6_6_44/attribute_dctcpinfo", "6_6_44/attribute_dctcpinfo_4033"}) {
    SCOPED_TRACE(f);
    const RecordPayload p = LoadAndDecode(f, decode::kAttrDctcpInfo);
    EXPECT_EQ(p.dctcp_info_enabled, 1u);
    EXPECT_LE(p.dctcp_info_ce_state, 1u);
    EXPECT_LE(p.dctcp_info_alpha, 1024u);
    EXPECT_LE(p.dctcp_info_ab_ecn, p.dctcp_info_ab_tot);
    EXPECT_EQ(p.dctcp_info_ab_tot, 32768u);
  }
}

TEST(SharedAttributes, VegasInfoBaseRttNotAboveMinRtt) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // net/ipv4/tcp_vegas.c: tcpv_rtt is baseRTT (lowest RTT ever), tcpv_minrtt the lowest of the
  // current round (0x7fffffff until sampled), so rtt <= minrtt; enabled is doing_vegas_now.
  const RecordPayload p = LoadAndDecode("6_6_44/attribute_vegasinfo", decode::kAttrVegasInfo);
  EXPECT_LE(p.vegas_info_enabled, 1u);
  EXPECT_GT(p.vegas_info_rtt, 0u);
  EXPECT_LE(p.vegas_info_rtt, p.vegas_info_min_rtt);
}

// --- one-byte and small attributes ----------------------------------------------------------

TEST(SharedAttributes, TosTclassClassIdShutdownAreWhatSsPrinted) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  for (const char* f : {"6_6_44/attribute_tos", "6_6_44/attribute_tos2"}) {
    ExpectSsPrinted("6_6_44",
                    absl::StrFormat("tos:%#x", LoadAndDecode(f, decode::kAttrTos).type_of_service));
  }
  ExpectSsPrinted(
      "6_6_44", absl::StrFormat(
                    "tclass:%#x",
                    LoadAndDecode("6_6_44/attribute_tcclass", decode::kAttrTclass).traffic_class));
  ExpectSsPrinted(
      "6_6_44",
      absl::StrFormat("class_id:%#x",
                      LoadAndDecode("6_6_44/attribute_class_id", decode::kAttrClassId).class_id));
  ExpectSsPrinted(
      "6_6_44",
      FormatShutdown(
          LoadAndDecode("6_6_44/attribute_shutdown", decode::kAttrShutdown).shutdown_state));
}

TEST(SharedAttributes, CgroupIdIsSet) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // Every socket belongs to a cgroup (ss printed a cgroup path for each); the id is its inode.
  for (const char* f : {"6_6_44/attribute_cgroup_id", "6_10_3/attribute_cgroup_21"}) {
    EXPECT_NE(LoadAndDecode(f, decode::kAttrCgroupId).c_group, 0u) << f;
  }
}

TEST(SharedAttributes, SockoptOfATcpSocket) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  // A TCP socket is an inet_connection_sock (is_icsk), and inet_create() sets mc_loop and mc_all
  // on every new inet socket; nothing else is on by default.
  const std::vector<std::string> expected = {"is_icsk", "mc_loop", "mc_all"};
  for (const char* f : {"6_6_44/attribute_sockopt", "6_10_3/attribute_sockopt_4305",
                        "6_10_3/attribute_sockopt_5200"}) {
    EXPECT_EQ(SockoptWords(LoadAndDecode(f, decode::kAttrSockopt).sock_opt), expected) << f;
  }
}

TEST(SharedAttributes, PragueInfoPlaceholderIsNotAnAttribute) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  absl::StatusOr<std::vector<uint8_t>> bytes =
      ReadFileBytes(SharedFixture("attribute_pragueinfo_fake_fixme"));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ASSERT_EQ(bytes->size(), 40u);
  EXPECT_TRUE(std::all_of(bytes->begin(), bytes->end(), [](uint8_t b) { return b == 0; }));
  // Behind a socket message its rta_len of 0 ends the attribute walk, counted.
  std::vector<uint8_t> msg(decode::kInetDiagMsgLen, 0);
  msg.insert(msg.end(), bytes->begin(), bytes->end());
  RecordPayload p;
  decode::DecodeProblems problems;
  EXPECT_TRUE(decode::DecodeSocketMessage(msg.data(), msg.size(), {}, &p, &problems));
  EXPECT_EQ(problems.Get(decode::Problem::kRtaLenTooSmall), 1u);
}

// --- tcp_info -------------------------------------------------------------------------------

// The kernel's struct tcp_info grew: 4.19 224 bytes, 5.4..6.1 232, 6.6 240, 6.8/6.10 248,
// 7.0 280.
size_t TcpInfoSize(const std::string& kernel) {
  if (kernel == "4_19_319") return 224;
  if (kernel == "6_6_44") return 240;
  if (kernel == "6_8_12" || kernel == "6_10_3") return 248;
  if (kernel == "7_0_3") return 280;
  return 232;
}

// Holds a tcp_info decoded on its own against one ss entry: the columns and the congestion name
// (which the INFO attribute does not carry) are taken from the entry, everything ss derives from
// tcp_info must then agree.
bool InfoMatches(const RecordPayload& info, const SsSocket& s, const SsDialect& dialect) {
  RecordPayload p = info;
  p.inet_diag_msg_family = static_cast<uint32_t>(s.local.family);
  p.inet_diag_msg_state = info.tcp_info_state;
  p.inet_diag_msg_rqueue = static_cast<uint32_t>(s.recv_q);
  p.inet_diag_msg_wqueue = static_cast<uint32_t>(s.send_q);
  p.inet_diag_msg_socket_source.len = p.inet_diag_msg_socket_destination.len = 16;
  std::copy(s.local.addr.begin(), s.local.addr.end(), p.inet_diag_msg_socket_source.data);
  std::copy(s.peer.addr.begin(), s.peer.addr.end(), p.inet_diag_msg_socket_destination.data);
  p.inet_diag_msg_socket_source_port = s.local.port;
  p.inet_diag_msg_socket_destination_port = s.peer.port;
  p.congestion_algorithm_string.Assign(s.cong);
  CompareOptions opts;
  opts.dialect = dialect;
  opts.dialect.details = opts.dialect.mem = opts.dialect.tos = opts.dialect.sockopt = false;
  opts.dialect.options = false;  // the timer is inet_diag_msg's, not tcp_info's
  return CompareSocket(p, s, opts).empty();
}

int CountInfoMatches(const RecordPayload& info, const std::string& kernel) {
  int matches = 0;
  for (const auto& e : std::filesystem::directory_iterator(SharedFixture(kernel))) {
    const std::string name = e.path().filename();
    if (name.find("ss_tcp_info") == std::string::npos || e.path().extension() == ".pcap") continue;
    absl::StatusOr<SsListing> listing = ReadSsFile(e.path());
    if (!listing.ok()) continue;  // 6_1_103's zero-filled file
    const SsDialect dialect = SsDialect::Infer(*listing);
    for (const SsSocket& s : listing->sockets) matches += InfoMatches(info, s, dialect);
  }
  return matches;
}

class SharedTcpInfo : public ::testing::TestWithParam<const char*> {};

TEST_P(SharedTcpInfo, MatchesASocketSsListed) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  const std::string file = GetParam();
  const std::string kernel = file.substr(0, file.find('/'));
  const Attr a = LoadAttr(file);
  EXPECT_EQ(a.type, decode::kAttrInfo);
  EXPECT_EQ(a.payload.size(), TcpInfoSize(kernel));
  EXPECT_GE(CountInfoMatches(DecodeAttr(a), kernel), 1);
}

INSTANTIATE_TEST_SUITE_P(AllKernels, SharedTcpInfo,
                         ::testing::Values("4_19_319/attribute_info", "4_19_319/attribute_info2",
                                           "5_4_281/attribute_info", "5_4_281/attribute_info2",
                                           "5_15_164/attribute_info", "6_1_103/attribute_info",
                                           "6_1_103/attribute_info2", "6_6_44/attribute_info2",
                                           "6_8_12/attribute_info", "6_8_12/attribute_info2",
                                           "6_10_3/attribute_info", "6_10_3/attribute_info2"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string name = param.param;
                           std::replace_if(
                               name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace xtcp::testing
