// The xtcp2 binary's -decode and -replay on inputs that used to hang or exhaust memory: FIFOs and
// devices are refused at once, a length field claiming more than the file holds allocates nothing,
// a 2 GiB (sparse) capture is not read into memory, and `-decode -` still streams stdin.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/netns.h"
#include "support/process.h"

namespace xtcp::testing {
namespace {

using ::testing::HasSubstr;

constexpr long kMaxRssKb = 100 * 1024;  // the old readers took 274 MB and 2.1 GB

std::string Fifo() {
  const std::string path = TempPath("fifo");
  ::unlink(path.c_str());
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
  return path;
}

TEST(DecodeMode, FifoAndDeviceAreRefusedAtOnce) {
  const std::string fifo = Fifo();
  for (const std::string& path : {fifo, std::string("/dev/zero")}) {
    const RunResult r = testing::Run({BuildPath("xtcp2"), "-decode", path}, absl::Seconds(20));
    EXPECT_EQ(r.exit_code, 1) << path;
    EXPECT_THAT(r.err, HasSubstr("not a regular file")) << path;
  }
  ::unlink(fifo.c_str());
}

TEST(DecodeMode, HugeLengthClaimAllocatesNothing) {
  const std::string path = TempPath("claim");
  std::ofstream(path) << std::string("\x80\x80\x80\x80\x01", 5) << "1234567";  // 12 bytes
  const RunResult r = testing::Run({BuildPath("xtcp2"), "-decode", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("byte offset 0"));
  EXPECT_LT(r.usage.ru_maxrss, kMaxRssKb);
}

TEST(DecodeMode, StdinStillStreams) {
  const RunResult r = testing::Run({BuildPath("xtcp2"), "-decode", "-"}, absl::Seconds(20), "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ReplayMode, FifoIsRefusedAtOnce) {
  const std::string fifo = Fifo();
  const RunResult r =
      testing::Run({BuildPath("xtcp2"), "-replay", fifo, "-dest", "null"}, absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not a regular file or directory"));
  ::unlink(fifo.c_str());
}

TEST(ReplayMode, TwoGibibyteCaptureIsNotReadIntoMemory) {
  const std::string path = TempPath("sparse.bin");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t{2} << 30), 0);  // a hole: no disk used
  ::close(fd);
  const RunResult r =
      testing::Run({BuildPath("xtcp2"), "-replay", path, "-dest", "null"}, absl::Seconds(60));
  EXPECT_NE(r.exit_code, -1000) << "timed out";
  EXPECT_LT(r.usage.ru_maxrss, kMaxRssKb);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace xtcp::testing
