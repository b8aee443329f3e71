// Our own capture of this project's reference kernel (6.18), made by
// tests/testdata/make_captures.sh and committed: decoded by the walker it must hold exactly the
// sockets `ss` listed a moment earlier, field for field, and show what the scenario set.

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "decode/capture.h"
#include "gtest/gtest.h"
#include "oracle/loopback_checks.h"
#include "support/capture_dumps.h"
#include "support/files.h"

namespace xtcp::testing {
namespace {

constexpr char kPrefix[] = XTCP_SOURCE_DIR "/tests/testdata/k6_18_loopback";
// ss ran first, nl_capture right after: lastsnd/lastrcv/lastack and timer expiries may move by
// the time between the two reads.
constexpr uint32_t kToleranceMs = 250;

TEST(SsOracle, Kernel618LoopbackCaptureMatchesSs) { CheckLoopbackCapture(kPrefix, kToleranceMs); }

// The fuzz seeds (tests/testdata/*.bin) are the reply datagrams of the capture, byte for byte.
TEST(SsOracle, FuzzSeedsAreTheCapturedReplies) {
  absl::StatusOr<decode::Capture> cap = decode::ReadCapture(std::string(kPrefix) + ".pcap");
  ASSERT_TRUE(cap.ok()) << cap.status();
  std::vector<std::string> seeds;
  for (const auto& e : std::filesystem::directory_iterator(XTCP_SOURCE_DIR "/tests/testdata")) {
    if (e.path().extension() == ".bin") seeds.push_back(e.path());
  }
  std::sort(seeds.begin(), seeds.end());  // _v4_0 .. _v4_n, then _v6_0 .. : capture order
  ASSERT_EQ(seeds.size(), cap->datagrams.size());
  for (size_t i = 0; i < seeds.size(); ++i) {
    absl::StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(seeds[i]);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_TRUE(std::equal(bytes->begin(), bytes->end(), cap->datagrams[i].bytes.begin(),
                           cap->datagrams[i].bytes.end()))
        << seeds[i];
    decode::DecodeProblems problems;
    DecodeDatagram(*bytes, &problems);
    EXPECT_EQ(problems.Total(), 0u) << seeds[i];
  }
}

}  // namespace
}  // namespace xtcp::testing
