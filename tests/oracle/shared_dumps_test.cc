// Whole-dump oracle over the upstream fixtures: every nlmon capture of an `ss` run, decoded by our
// walker, must yield exactly the sockets that run of ss printed, field for field. ss decoded the
// very datagrams in the capture, so no tolerance is allowed. Fixtures with known defects are
// listed with their defect and the defect itself is asserted.

#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "decode/capture.h"
#include "gtest/gtest.h"
#include "oracle/shared_fixtures.h"
#include "support/capture_dumps.h"
#include "support/ss_text.h"

namespace xtcp::testing {
namespace {

struct DumpPair {
  const char* pcap;
  const char* ss;
  int ss_runs;          // ss runs captured (each sends one AF_INET and one AF_INET6 request)
  int other_requests;   // sock_diag requests of other processes in the capture
  bool other_families;  // the capture also holds other netlink families (e.g. rtnetlink)
};

// Every capture of a whole ss run whose text was kept, all kernels.
constexpr DumpPair kMatchingPairs[] = {
    {"4_19_319/4_19_319_tcp_10_sockets.pcap", "4_19_319/4_19_319_ss_tcp_info_a_10", 1, 0, false},
    {"4_19_319/4_19_319_tcp_100_sockets.pcap", "4_19_319/4_19_319_ss_tcp_info_a_100", 1, 0, false},
    {"4_19_319/4_19_319_tcp_1000_sockets.pcap", "4_19_319/4_19_319_ss_tcp_info_a_1000", 1, 0,
     false},
    {"5_4_281/5_4_281_tcp_10_sockets.pcap", "5_4_281/5_4_281_ss_tcp_info_a_10", 1, 0, false},
    {"5_4_281/5_4_281_tcp_100_sockets.pcap", "5_4_281/5_4_281_ss_tcp_info_a_100", 1, 0, false},
    {"5_4_281/5_4_281_tcp_1000_sockets.pcap", "5_4_281/5_4_281_ss_tcp_info_a_1000", 1, 0, false},
    {"5_4_281/5_4_281_tcp_1000_sockets_sleep1ms.pcap",
     "5_4_281/5_4_281_ss_tcp_info_a_1000_sleep1ms", 1, 0, false},
    {"5_15_164/5_15_164_tcp_10_sockets.pcap", "5_15_164/5_15_164_ss_tcp_info_a_10", 1, 0, true},
    {"5_15_164/5_15_164_tcp_100_sockets.pcap", "5_15_164/5_15_164_ss_tcp_info_a_100", 1, 0, false},
    {"5_15_164/5_15_164_tcp_1000_sockets.pcap", "5_15_164/5_15_164_ss_tcp_info_a_1000", 1, 0,
     false},
    {"6_1_103/6_1_103_tcp_10_sockets.pcap", "6_1_103/6_1_103_ss_tcp_info_a_10", 1, 0, false},
    {"6_1_103/6_1_103_tcp_100_sockets.pcap", "6_1_103/6_1_103_ss_tcp_info_a_100", 1, 0, false},
    {"6_6_44/ss_tcp_info_a_4.pcap", "6_6_44/ss_tcp_info_a_4", 1, 0, false},
    {"6_6_44/tcp_100_sockets.pcap", "6_6_44/ss_tcp_info_a_100", 3, 0, false},
    {"6_6_44/tcp_1000_sockets.pcap", "6_6_44/ss_tcp_info_a_1000", 3, 0, false},
    {"6_6_44/tcp_100_sockets_bbr.pcap", "6_6_44/ss_tcp_info_a_100_bbr", 3, 0, true},
    {"6_6_44/tcp_100_sockets_dctcp.pcap", "6_6_44/ss_tcp_info_a_100_dctcp", 3, 0, true},
    {"6_6_44/tcp_100_sockets_vegas.pcap", "6_6_44/ss_tcp_info_a_100_vegas", 3, 0, true},
    {"6_8_12/6_8_12_tcp_10_sockets.pcap", "6_8_12/6_8_12_ss_tcp_info_a_10", 1, 0, false},
    {"6_8_12/6_8_12_tcp_100_sockets.pcap", "6_8_12/6_8_12_ss_tcp_info_a_100", 1, 0, false},
    {"6_8_12/6_8_12_tcp_1000_sockets.pcap", "6_8_12/6_8_12_ss_tcp_info_a_1000", 1, 0, false},
    {"6_8_12/6_8_12_tcp_1000_sockets_sleep1ms.pcap", "6_8_12/6_8_12_ss_tcp_info_a_1000_sleep1ms", 1,
     0, false},
    {"6_10_3/6_10_3_tcp_10_sockets.pcap", "6_10_3/6_10_3_ss_tcp_info_a_10", 1, 0, false},
    {"6_10_3/6_10_3_tcp_100_sockets.pcap", "6_10_3/6_10_3_ss_tcp_info_a_100", 1, 0, false},
    {"6_10_3/6_10_3_tcp_1000_sockets.pcap", "6_10_3/6_10_3_ss_tcp_info_a_1000", 1, 0, false},
    {"6_10_3/6_10_3_tcp_1000_sockets_sleep1ms.pcap", "6_10_3/6_10_3_ss_tcp_info_a_1000_sleep1ms", 1,
     0, false},
    // `ss --tcp --info -n` (no -a -e -m) on a desktop: other processes' dumps interleave.
    {"7_0_3/7_0_3_ss_tcp_info.pcap", "7_0_3/ss_tcp_info_n", 1, 2, true},
};

// Captures whose ss text is unusable, each for the reason its test asserts.
constexpr const char* kZeroFilledPcap = "6_1_103/6_1_103_tcp_1000_sockets.pcap";
constexpr const char* kZeroFilledSs = "6_1_103/6_1_103_ss_tcp_info_a_1000";
constexpr const char* kNetemPcaps[] = {
    "6_10_3/6_10_3_tcp_2000_sockets_with_netem_approx_30mins.pcap",
    "6_10_3/6_10_3_tcp_2000_sockets_with_netem_approx_60mins.pcap",
    "6_10_3/6_10_3_tcp_2000_sockets_with_netem_bbr_approx_60mins.pcap",
};
constexpr const char* kOtherRunPcap = "6_6_44/tcp_10_sockets.pcap";
constexpr const char* kOtherRunSs = "6_6_44/ss_tcp_info_a_10";

std::string ParamName(const ::testing::TestParamInfo<DumpPair>& info) {
  std::string name = std::filesystem::path(info.param.pcap).stem().string();
  if (!std::isdigit(static_cast<unsigned char>(name[0]))) {
    name =
        std::string(info.param.pcap).substr(0, std::string(info.param.pcap).find('/')) + "_" + name;
  }
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

decode::Capture LoadCapture(const std::string& relative) {
  absl::StatusOr<decode::Capture> cap = decode::ReadCapture(SharedFixture(relative));
  EXPECT_TRUE(cap.ok()) << cap.status();
  return cap.ok() ? *std::move(cap) : decode::Capture{};
}

SsListing LoadListing(const std::string& relative) {
  absl::StatusOr<SsListing> listing = ReadSsFile(SharedFixture(relative));
  EXPECT_TRUE(listing.ok()) << listing.status();
  return listing.ok() ? *std::move(listing) : SsListing{};
}

// Every dump ran to NLMSG_DONE and decoded without a single problem.
void ExpectCleanDumps(const std::vector<Dump>& dumps) {
  for (const Dump& d : dumps) {
    EXPECT_TRUE(d.done) << "dump seq " << d.seq << " has no NLMSG_DONE";
    EXPECT_EQ(d.problems.Total(), 0u) << "dump seq " << d.seq;
  }
}

void ExpectFamilyMatches(const std::vector<Dump>& dumps, const SsListing& listing, int family) {
  CompareOptions opts;
  opts.dialect = SsDialect::Infer(listing);
  int index = -1;
  const ListingReport r = BestDumpFor(dumps, listing, family, opts, &index);
  EXPECT_TRUE(r.ok()) << "family " << family << " best dump " << index << ": " << r.Summary();
  EXPECT_EQ(r.matched, SocketsOfFamily(listing, family).size());
}

class SharedDumpMatch : public ::testing::TestWithParam<DumpPair> {};

TEST_P(SharedDumpMatch, DecodesExactlyTheSocketsSsListed) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  const DumpPair& p = GetParam();
  const decode::Capture cap = LoadCapture(p.pcap);
  const SsListing listing = LoadListing(p.ss);
  ASSERT_FALSE(listing.sockets.empty());
  EXPECT_EQ(cap.requests, static_cast<uint64_t>(2 * p.ss_runs + p.other_requests));
  EXPECT_EQ(cap.skipped_packets > 0, p.other_families);
  const std::vector<Dump> dumps = DecodeDumps(cap);
  ExpectCleanDumps(dumps);
  ExpectFamilyMatches(dumps, listing, AF_INET);
  ExpectFamilyMatches(dumps, listing, AF_INET6);
}

INSTANTIATE_TEST_SUITE_P(AllKernels, SharedDumpMatch, ::testing::ValuesIn(kMatchingPairs),
                         ParamName);

TEST(SharedFixtureQuirks, SixOneTheThousandSocketPairIsAllZeroBytes) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  for (const char* f : {kZeroFilledPcap, kZeroFilledSs}) {
    absl::StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(SharedFixture(f));
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_GT(bytes->size(), 0u) << f;
    EXPECT_TRUE(std::all_of(bytes->begin(), bytes->end(), [](uint8_t b) { return b == 0; }))
        << f << " is no longer all zero bytes upstream: move it to kMatchingPairs";
  }
  // Without a pcap magic the reader takes it for one raw datagram, which walks to nothing.
  const decode::Capture cap = LoadCapture(kZeroFilledPcap);
  EXPECT_EQ(cap.format, decode::Capture::Format::kRaw);
  ASSERT_EQ(cap.datagrams.size(), 1u);
  decode::DecodeProblems problems;
  EXPECT_TRUE(DecodeDatagram(cap.datagrams[0].bytes, &problems).empty());
  EXPECT_EQ(problems.Get(decode::Problem::kNlmsgLenTooSmall), 1u);
  EXPECT_FALSE(ReadSsFile(SharedFixture(kZeroFilledSs)).ok());
}

TEST(SharedFixtureQuirks, NetemDumpsHaveNoSsTextButDecodeCleanly) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  for (const char* pcap : kNetemPcaps) {
    SCOPED_TRACE(pcap);
    // Upstream ships their ss files empty (6_10_3_ss_tcp_info_a_2000_netem_*); none has text.
    const std::string dir = std::filesystem::path(SharedFixture(pcap)).parent_path();
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string name = entry.path().filename();
      if (name.find("ss_tcp_info") != std::string::npos &&
          name.find("netem") != std::string::npos) {
        EXPECT_EQ(entry.file_size(), 0u) << name << " now has text: add its pair to kMatchingPairs";
      }
    }
    const decode::Capture cap = LoadCapture(pcap);
    EXPECT_EQ(cap.requests, 2u);
    const std::vector<Dump> dumps = DecodeDumps(cap);
    ExpectCleanDumps(dumps);
    size_t sockets = 0;
    for (const Dump& d : dumps) sockets += d.sockets.size();
    EXPECT_GE(sockets, 4000u);  // 2000 client/server pairs
  }
}

// Count of sockets per (family, state), to compare two runs of the same workload.
std::map<std::pair<int, std::string>, int> StateCounts(const std::vector<SsSocket>& listed) {
  std::map<std::pair<int, std::string>, int> out;
  for (const SsSocket& s : listed) ++out[{s.local.family, s.state}];
  return out;
}

TEST(SharedFixtureQuirks, SixSixTenSocketTextIsFromAnotherRun) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  const decode::Capture cap = LoadCapture(kOtherRunPcap);
  EXPECT_EQ(cap.requests, 6u);  // three ss runs
  const std::vector<Dump> dumps = DecodeDumps(cap);
  ASSERT_EQ(dumps.size(), 6u);
  ExpectCleanDumps(dumps);
  const SsListing listing = LoadListing(kOtherRunSs);
  // No run's IPv4 sockets are the ones listed (their ephemeral ports and cookies differ) ...
  CompareOptions opts;
  opts.dialect = SsDialect::Infer(listing);
  int index = -1;
  EXPECT_FALSE(BestDumpFor(dumps, listing, AF_INET, opts, &index).ok());
  // ... but every run has the same workload: as many sockets per family and state.
  for (const Dump& d : dumps) {
    std::vector<SsSocket> decoded;
    for (const record::RecordPayload& p : d.sockets) {
      SsSocket s;
      s.local.family = static_cast<int>(p.inet_diag_msg_family);
      s.state = std::string(SsStateName(p.inet_diag_msg_state));
      decoded.push_back(s);
    }
    EXPECT_EQ(StateCounts(decoded), StateCounts(SocketsOfFamily(listing, d.family())));
  }
}

// New upstream captures must be added to one of the lists above, never silently ignored.
TEST(SharedFixtures, EveryWholeDumpCaptureIsCovered) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  std::vector<std::string> known = {kZeroFilledPcap, kOtherRunPcap};
  for (const DumpPair& p : kMatchingPairs) known.push_back(p.pcap);
  for (const char* p : kNetemPcaps) known.push_back(p);
  const std::regex whole_dump(R"((^|_)(tcp_\d+_sockets|ss_tcp_info)[^/]*\.pcap$)");
  int seen = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(SharedFixturesDir())) {
    const std::string rel =
        std::filesystem::relative(e.path(), SharedFixturesDir()).generic_string();
    if (!std::regex_search(e.path().filename().string(), whole_dump)) continue;
    ++seen;
    EXPECT_NE(std::find(known.begin(), known.end(), rel), known.end()) << rel << " is not covered";
  }
  EXPECT_EQ(seen, static_cast<int>(known.size()));
}

}  // namespace
}  // namespace xtcp::testing
