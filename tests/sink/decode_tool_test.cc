// `xtcp2 -decode` on what the file sink wrote with -marshal protobufList.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/test_records.h"
#include "sink/peers.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ToolRun {
  int exit_code = -1;
  std::string out, err;
};

class DecodeToolTest : public ::testing::Test {
 protected:
  // Writes flushes of 2, 3 and 1 records through the file sink; returns what they hold in
  // `format` (one marshaller for the three, as the decoder has).
  std::string WriteFlushes(const std::string& format = "jsonl") {
    SinkOptions so;
    so.dest = "file:" + data_;
    auto sink = CreateSink(so);
    auto pb = CreateMarshaller({"protobufList", ""});
    auto jsonl = CreateMarshaller({format, ""});
    EXPECT_TRUE(sink.ok() && pb.ok() && jsonl.ok());
    std::string want;
    uint64_t n = 1;
    for (int rows : {2, 3, 1}) {
      testing::TestEnvelope env;
      for (int i = 0; i < rows; ++i) env.Add(testing::NumberedRecord(n++));
      std::string bytes;
      EXPECT_TRUE((*pb)->Marshal(env.view(), &bytes).ok());
      EXPECT_TRUE((*sink)->Send(bytes).ok());
      EXPECT_TRUE((*jsonl)->Marshal(env.view(), &want).ok());
    }
    return want;
  }

  // Runs xtcp2 with `args` (shell syntax), bounded to 60 s.
  ToolRun Xtcp2(const std::string& args) {
    const std::string cmd =
        "timeout 60 " XTCP_BINARY_DIR "/xtcp2 " + args + " >" + out_ + " 2>" + err_;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out_), ReadFile(err_)};
  }

  testing::TempDir dir_;
  const std::string data_ = dir_.File("records.pb");
  const std::string out_ = dir_.File("stdout");
  const std::string err_ = dir_.File("stderr");
};

TEST_F(DecodeToolTest, PrintsEveryRecordOfAFileAsJsonl) {
  const std::string want = WriteFlushes();
  const ToolRun r = Xtcp2("-decode " + data_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(r.err, "");
}

TEST_F(DecodeToolTest, HonoursMarshal) {
  for (const char* format : {"csv", "protoJson"}) {
    const std::string want = WriteFlushes(format);
    const ToolRun r = Xtcp2(std::string("-marshal ") + format + " -decode " + data_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, want) << format;
    ASSERT_EQ(std::remove(data_.c_str()), 0);
  }
}

TEST_F(DecodeToolTest, ReadsStandardInput) {
  const std::string want = WriteFlushes();
  const ToolRun r = Xtcp2("-decode - <" + data_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, want);
}

TEST_F(DecodeToolTest, TruncatedInputNamesTheOffsetAndExits1) {
  WriteFlushes();
  const std::string bytes = ReadFile(data_);
  std::ofstream(data_, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 5);
  const ToolRun r = Xtcp2("-decode " + data_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("malformed protobufList at byte offset"));
  EXPECT_THAT(r.err, HasSubstr("truncated"));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5);  // the two whole flushes
}

TEST_F(DecodeToolTest, MissingFileExits1) {
  const ToolRun r = Xtcp2("-decode " + dir_.File("absent.pb"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("No such file or directory"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace xtcp
