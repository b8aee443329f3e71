#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace xtcp {
namespace {

const absl::Time kNoon = absl::FromUnixSeconds(1796212800);  // 2026-12-02T12:00:00Z

class LogFormatTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetLogFormat(LogFormat::kText);
    SetJournalPrefix(false);
  }
};

TEST_F(LogFormatTest, TextIsTimeLevelMessage) {
  EXPECT_EQ(FormatLogLine(LogLevel::kWarn, "sink tcp: down", kNoon),
            "2026-12-02T12:00:00.000Z WARN sink tcp: down");
}

TEST_F(LogFormatTest, JsonEscapesAndRepairsTheMessage) {
  SetLogFormat(LogFormat::kJson);
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, "a \"q\" \\ \n\x01 ns-\xff", kNoon),
            "{\"time\":\"2026-12-02T12:00:00.000Z\",\"level\":\"INFO\","
            "\"msg\":\"a \\\"q\\\" \\\\ \\n\\u0001 ns-\xef\xbf\xbd\"}");
}

TEST_F(LogFormatTest, JournalLinesCarryThePriorityAndNoTimestamp) {
  SetJournalPrefix(true);
  EXPECT_EQ(FormatLogLine(LogLevel::kError, "x", kNoon), "<3>ERROR x");
  EXPECT_EQ(FormatLogLine(LogLevel::kWarn, "x", kNoon), "<4>WARN x");
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, "x", kNoon), "<6>INFO x");
  EXPECT_EQ(FormatLogLine(LogLevel::kDebug, "x", kNoon), "<7>DEBUG x");
  SetLogFormat(LogFormat::kJson);
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, "x", kNoon),
            "<6>{\"time\":\"2026-12-02T12:00:00.000Z\",\"level\":\"INFO\",\"msg\":\"x\"}");
}

TEST_F(LogFormatTest, JournalStreamMustNameStderr) {
  struct stat st {};
  ASSERT_EQ(fstat(STDERR_FILENO, &st), 0);
  const std::string mine = absl::StrCat(st.st_dev, ":", st.st_ino);
  EXPECT_TRUE(StderrIsJournal(mine.c_str()));
  EXPECT_FALSE(StderrIsJournal(absl::StrCat(st.st_dev, ":", st.st_ino + 1).c_str()));
  EXPECT_FALSE(StderrIsJournal("garbage"));
  EXPECT_FALSE(StderrIsJournal(nullptr));
}

}  // namespace
}  // namespace xtcp
