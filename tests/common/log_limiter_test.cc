#include "common/log_limiter.h"

#include <cstdint>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace xtcp {
namespace {

TEST(LogLimiterTest, FirstLineGoesOutThenHoldsForThePeriod) {
  LogLimiter limiter(absl::Hours(1));
  uint64_t held = 99;
  EXPECT_TRUE(limiter.Admit(&held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(limiter.Admit(&held));
  EXPECT_FALSE(limiter.Admit(&held));
}

TEST(LogLimiterTest, ZeroPeriodAdmitsEveryLine) {
  LogLimiter limiter(absl::ZeroDuration());
  uint64_t held = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit(&held));
    EXPECT_EQ(held, 0u);
  }
}

}  // namespace
}  // namespace xtcp
