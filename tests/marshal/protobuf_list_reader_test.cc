// Reading protobufList streams back (the -decode tool and sink tests rely on it).
#include "marshal/protobuf_list_reader.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marshal/test_records.h"
#include "xtcp/marshaller.h"

namespace xtcp::marshal {
namespace {

using ::testing::HasSubstr;

std::string ProtobufList(std::initializer_list<record::FlatRecord> records) {
  auto m = CreateMarshaller({"protobufList", ""});
  std::string out;
  EXPECT_TRUE((*m)->Marshal(xtcp::testing::MakeEnvelope(records).view(), &out).ok());
  return out;
}

// Feeds `bytes` through a pipe, as `-decode -` reads stdin.
struct Pipe {
  int fds[2];
  std::thread writer;
  explicit Pipe(std::string bytes) {
    EXPECT_EQ(::pipe(fds), 0);
    writer = std::thread([this, b = std::move(bytes)] {
      size_t off = 0;
      while (off < b.size()) {
        const ssize_t n = ::write(fds[1], b.data() + off, b.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(fds[1]);
    });
  }
  ~Pipe() {
    writer.join();
    ::close(fds[0]);
  }
};

TEST(ProtobufListReader, ReadsEveryEnvelopeThenCleanEof) {
  const std::string first = ProtobufList({xtcp::testing::Ipv4Record()});
  Pipe p(first + ProtobufList({xtcp::testing::Ipv6Record(), xtcp::testing::MappedRecord()}));
  ProtobufListReader reader(p.fds[0]);
  record::ProtoEnvelope env;
  ASSERT_EQ(reader.Next(&env).value_or(false), true);
  EXPECT_EQ(env.row_size(), 1);
  EXPECT_EQ(reader.offset(), first.size());
  ASSERT_EQ(reader.Next(&env).value_or(false), true);
  EXPECT_EQ(env.row(1).record_counter(), 9u);
  EXPECT_EQ(reader.Next(&env).value_or(true), false);
}

TEST(ProtobufListReader, TruncatedEnvelopeNamesItsOffset) {
  const std::string first = ProtobufList({xtcp::testing::Ipv4Record()});
  const std::string second = ProtobufList({xtcp::testing::Ipv6Record()});
  Pipe p(first + second.substr(0, 20));
  ProtobufListReader reader(p.fds[0]);
  record::ProtoEnvelope env;
  ASSERT_TRUE(reader.Next(&env).ok());
  const auto r = reader.Next(&env);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("at byte offset " + std::to_string(first.size())));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("envelope of 99 bytes truncated after 19 bytes"));
}

TEST(ProtobufListReader, GarbageIsReportedNotAllocated) {
  Pipe p(std::string("\xff\xff\xff\xff\xff\xff\x7f", 7));  // a huge length
  ProtobufListReader reader(p.fds[0]);
  record::ProtoEnvelope env;
  EXPECT_THAT(std::string(reader.Next(&env).status().message()),
              HasSubstr("at byte offset 0: envelope length"));
  Pipe q(std::string("\x03\xff\xff\xff", 4));  // three bytes that are no Envelope
  ProtobufListReader reader2(q.fds[0]);
  EXPECT_THAT(std::string(reader2.Next(&env).status().message()), HasSubstr("does not parse"));
}

TEST(ParseProtobufList, WholeBufferAndErrors) {
  std::vector<record::ProtoEnvelope> envs;
  ASSERT_TRUE(ParseProtobufList(ProtobufList({xtcp::testing::Ipv4Record()}) +
                                    ProtobufList({xtcp::testing::Ipv4Record()}),
                                &envs)
                  .ok());
  EXPECT_EQ(envs.size(), 2u);
  EXPECT_EQ(ParseProtobufList("\x80", &envs).code(), absl::StatusCode::kDataLoss);
}

// 12 bytes whose length varint claims a 256 MiB envelope.
std::string HugeClaim() {
  std::string b = "\x80\x80\x80\x80\x01";  // varint 1 << 28
  b.append(7, 'x');
  return b;
}

long MaxRssKb() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

TEST(ProtobufListReader, LengthBeyondTheFileIsAnErrorWithoutAllocation) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  const std::string b = HugeClaim();
  std::fwrite(b.data(), 1, b.size(), f);
  std::fflush(f);
  ::lseek(::fileno(f), 0, SEEK_SET);
  const long before = MaxRssKb();
  ProtobufListReader reader(::fileno(f));
  record::ProtoEnvelope env;
  const auto next = reader.Next(&env);
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("byte offset 0"));
  EXPECT_THAT(next.status().message(), HasSubstr("7 bytes left in the file"));
  EXPECT_LT(MaxRssKb() - before, 32 * 1024);  // not the 256 MiB claimed
  std::fclose(f);
}

TEST(ProtobufListReader, StreamGrowsOnlyWithWhatArrives) {
  Pipe p(HugeClaim());
  const long before = MaxRssKb();
  ProtobufListReader reader(p.fds[0]);
  record::ProtoEnvelope env;
  const auto next = reader.Next(&env);
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("truncated after 7 bytes"));
  EXPECT_LT(MaxRssKb() - before, 32 * 1024);
}

}  // namespace
}  // namespace xtcp::marshal
