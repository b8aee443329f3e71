// profile.proto conversion: symbolization of this process, synthetic gperftools inputs, and
// malformed inputs (which must be refused, never crash). No gperftools needed.
#include "observe/pprof_proto.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;

__attribute__((noinline)) int ProtoTestMarkerFunction(int x) { return x * 7 + 1; }

uint64_t MarkerPc() { return reinterpret_cast<uint64_t>(&ProtoTestMarkerFunction) + 2; }

std::string Words(const std::vector<uint64_t>& words) {
  std::string out(words.size() * 8, '\0');
  std::memcpy(out.data(), words.data(), out.size());
  return out;
}

TEST(PprofProtoTest, SymbolizesThisProcess) {
  EXPECT_THAT(SymbolizePc(MarkerPc()), HasSubstr("ProtoTestMarkerFunction"));
  EXPECT_EQ(SymbolizePc(8), "");
}

TEST(PprofProtoTest, CpuProfileCarriesFunctionNames) {
  const std::string legacy =
      Words({0, 3, 0, 10000, 0, /*count*/ 5, /*depth*/ 1, MarkerPc(), 0, 1, 0}) + "maps text\n";
  auto proto = CpuProfileToPprof(legacy);
  ASSERT_TRUE(proto.ok()) << proto.status();
  EXPECT_THAT(*proto, HasSubstr("ProtoTestMarkerFunction"));
  EXPECT_THAT(*proto, HasSubstr("nanoseconds"));
}

TEST(PprofProtoTest, HeapSampleCarriesFunctionNames) {
  const std::string legacy = absl::StrCat(
      "heap profile:    1:  1048576 [     1:  1048576] @ heap_v2/524288\n",
      "     1:  1048576 [     1:  1048576] @ 0x", absl::Hex(MarkerPc()), "\n\nMAPPED_LIBRARIES:\n");
  auto proto = HeapSampleToPprof(legacy);
  ASSERT_TRUE(proto.ok()) << proto.status();
  EXPECT_THAT(*proto, HasSubstr("ProtoTestMarkerFunction"));
  EXPECT_THAT(*proto, HasSubstr("inuse_space"));
}

TEST(PprofProtoTest, MalformedInputsAreRefused) {
  EXPECT_FALSE(CpuProfileToPprof("").ok());
  EXPECT_FALSE(CpuProfileToPprof("heap profile: 1: 2").ok());
  EXPECT_FALSE(CpuProfileToPprof(Words({0, 3, 0, 10000, 0, 1, 5000, 1})).ok());  // bogus depth
  EXPECT_FALSE(CpuProfileToPprof(Words({0, 3, 0, 10000, 0, 1, 2, 1})).ok());     // truncated
  EXPECT_FALSE(HeapSampleToPprof("garbage").ok());
  auto odd = HeapSampleToPprof("heap profile: x\n 1: @ zz 0x\n@@@\n: : [ ] @\n");
  EXPECT_TRUE(odd.ok());  // unparsable lines are skipped
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>(i * 37));
  EXPECT_FALSE(CpuProfileToPprof(noise).ok());
  EXPECT_GE(ProtoTestMarkerFunction(1), 0);
}

}  // namespace
}  // namespace xtcp::observe
