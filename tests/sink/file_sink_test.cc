// The file: sink on a real full disk (a 1 MiB tmpfs the test mounts; root), through symlinks and
// across a logrotate-style rename + Reopen().
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/test_records.h"
#include "pipeline/output.h"
#include "sink/stage_rows.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, size_t bytes) {
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'x');
}

// A directory; with `tmpfs_size` a fresh tmpfs of that size mounted on it.
class Dir {
 public:
  explicit Dir(const char* tmpfs_size = nullptr) {
    char tmpl[] = "/tmp/xtcp-file-XXXXXX";
    path_ = ::mkdtemp(tmpl);
    if (tmpfs_size != nullptr) {
      mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, tmpfs_size) == 0;
    }
  }
  ~Dir() {
    if (mounted_) {
      ::umount2(path_.c_str(), MNT_DETACH);
    } else {
      (void)std::system(("rm -rf " + path_).c_str());
    }
    ::rmdir(path_.c_str());
  }
  bool mounted() const { return mounted_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(FileSink, FullDiskLeavesOnlyWholeRecordsAndCountsExactly) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  Dir dir("size=1m");
  ASSERT_TRUE(dir.mounted());
  WriteFile(dir / "filler", 256 << 10);
  Metrics metrics;
  auto sink = CreateSink({.dest = "file:" + (dir / "out.jsonl"), .metrics = &metrics});
  ASSERT_TRUE(sink.ok()) << sink.status();
  pipeline::OutputOptions o;
  o.block_when_full = true;
  o.retry_backoff = absl::Milliseconds(1);
  pipeline::OutputStage stage(*CreateMarshaller({"jsonl", ""}), std::move(*sink), &metrics, o);
  stage.Start();
  uint64_t submitted = 0;
  for (int i = 0; i < 400 && stage.rows_lost() == 0; ++i) {
    stage.Submit(testing::NumberedRows(submitted + 1, 37), FlushReason::kPollEnd);
    submitted += 37;
    stage.WaitIdle();
  }
  ASSERT_GT(stage.rows_lost(), 0u) << "the disk never filled";
  ::unlink((dir / "filler").c_str());  // space returns
  stage.Submit(testing::NumberedRows(submitted + 1, 37), FlushReason::kPollEnd);
  submitted += 37;
  ASSERT_TRUE(stage.Stop(absl::Seconds(10)).ok());

  const std::string file = Slurp(dir / "out.jsonl");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(file.back(), '\n');
  size_t lines = 0;
  for (size_t pos = 0, nl; (nl = file.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const std::string line = file.substr(pos, nl - pos);
    ASSERT_TRUE(line.front() == '{' && line.back() == '}') << "torn line " << lines;
    ++lines;
  }
  EXPECT_EQ(lines, stage.rows_sent());
  EXPECT_EQ(stage.rows_sent() + stage.rows_lost(), submitted);
  EXPECT_GE(metrics.CountValue("destFile", "truncate", "count"), 1);
}

TEST(FileSink, RefusesASymlinkAndCreatesOrNarrowsTo0640) {
  Dir dir;
  const mode_t old = ::umask(022);
  ASSERT_EQ(::symlink("/etc/passwd-not-there", (dir / "link").c_str()), 0);
  auto linked = CreateSink({.dest = "file:" + (dir / "link")});
  EXPECT_EQ(linked.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(linked.status().message()), HasSubstr("symbolic link"));
  struct stat st;
  EXPECT_NE(::lstat("/etc/passwd-not-there", &st), 0);  // nothing created behind the link

  ASSERT_TRUE(CreateSink({.dest = "file:" + (dir / "new")}).ok());
  ASSERT_EQ(::stat((dir / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  WriteFile(dir / "wide", 1);
  ASSERT_EQ(::chmod((dir / "wide").c_str(), 0666), 0);
  ASSERT_TRUE(CreateSink({.dest = "file:" + (dir / "wide")}).ok());
  ASSERT_EQ(::stat((dir / "wide").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ::umask(old);
}

TEST(FileSink, ReopenFollowsALogrotateRename) {
  Dir dir;
  auto sink = CreateSink({.dest = "file:" + (dir / "x.log")});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Send("one\n").ok());
  ASSERT_EQ(::rename((dir / "x.log").c_str(), (dir / "x.log.1").c_str()), 0);
  ASSERT_TRUE((*sink)->Reopen().ok());
  ASSERT_TRUE((*sink)->Send("two\n").ok());
  EXPECT_EQ(Slurp(dir / "x.log.1"), "one\n");
  EXPECT_EQ(Slurp(dir / "x.log"), "two\n");
}

}  // namespace
}  // namespace xtcp
