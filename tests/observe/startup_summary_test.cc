#include "observe/startup_summary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(StartupSummaryTest, OneLineWithTheEssentials) {
  StartupSummaryOptions c;
  c.dest = "kafka:broker:9092";
  c.marshal = "jsonl";
  c.version = "xtcp commit:abc\tdate(UTC):2024\tversion:0.1.0";
  const std::string s = StartupSummary(c, 3);
  EXPECT_THAT(s, HasSubstr("xtcp2 starting: commit:abc date:2024 version:0.1.0"));
  EXPECT_THAT(s, HasSubstr("dest=kafka:broker:9092"));
  EXPECT_THAT(s, HasSubstr("marshal=jsonl"));
  EXPECT_THAT(s, HasSubstr("namespaces=3"));
  EXPECT_THAT(s, HasSubstr("families=4,6"));
  EXPECT_THAT(s, HasSubstr("frequency=10s"));
  EXPECT_THAT(s, Not(HasSubstr("\n")));
  EXPECT_THAT(s, Not(HasSubstr("\t")));
}

}  // namespace
}  // namespace xtcp::observe
