// Flushes larger than a datagram go through the OutputStage to udp/unixgram as several
// self-contained chunks: every chunk decodes on its own and together they hold every record.
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "common/metrics.h"
#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "marshal/test_records.h"
#include "pipeline/output.h"
#include "sink/peers.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using testing::DatagramPeer;

constexpr uint64_t kRecords = 6000;  // ~1 MB of protobufList: several 64 KiB/212 KiB datagrams

class DatagramSplitTest : public ::testing::Test {
 protected:
  // Sends one envelope of kRecords records through an OutputStage to `dest`; returns the sink's
  // max_message_size().
  size_t SendBigFlush(const std::string& dest, const std::string& format) {
    SinkOptions so;
    so.dest = dest;
    so.metrics = &metrics_;
    auto sink = CreateSink(so);
    auto marshaller = CreateMarshaller({format, ""});
    EXPECT_TRUE(sink.ok() && marshaller.ok());
    const size_t max = (*sink)->max_message_size();
    pipeline::OutputStage out(*std::move(marshaller), *std::move(sink), &metrics_);
    out.Start();
    auto env = out.Fresh();
    for (uint64_t n = 1; n <= kRecords; ++n) {
      record::AppendEnvelopeRow(testing::NumberedRecord(n), &env->bytes);
      ++env->rows;
    }
    out.Submit(std::move(env), FlushReason::kReplay);
    out.WaitIdle();
    EXPECT_TRUE(out.Stop(absl::Seconds(5)).ok());
    EXPECT_EQ(out.rows_sent(), kRecords);
    EXPECT_EQ(out.rows_lost(), 0u);
    return max;
  }

  // Decodes every datagram as protobufList on its own; returns all record counters.
  static std::multiset<uint64_t> DecodeChunks(const std::vector<std::string>& datagrams,
                                              size_t max) {
    std::multiset<uint64_t> counters;
    for (const std::string& d : datagrams) {
      EXPECT_LE(d.size(), max);
      std::vector<record::ProtoEnvelope> envs;
      EXPECT_TRUE(marshal::ParseProtobufList(d, &envs).ok());
      EXPECT_EQ(envs.size(), 1u);  // one whole Envelope per datagram
      for (const auto& e : envs) {
        for (const auto& r : e.row()) counters.insert(r.record_counter());
      }
    }
    return counters;
  }

  static void ExpectEveryRecordOnce(const std::multiset<uint64_t>& counters) {
    ASSERT_EQ(counters.size(), kRecords);
    EXPECT_EQ(*counters.begin(), 1u);
    EXPECT_EQ(*counters.rbegin(), kRecords);
    EXPECT_EQ(std::set<uint64_t>(counters.begin(), counters.end()).size(), kRecords);
  }

  Metrics metrics_;
  testing::TempDir dir_;
};

TEST_F(DatagramSplitTest, UdpGetsSelfContainedProtobufListChunks) {
  DatagramPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  const size_t max = SendBigFlush("udp:127.0.0.1:" + std::to_string(peer.port()), "protobufList");
  const double chunks = metrics_.CountValue("Output", "chunks", "count");
  ASSERT_GT(chunks, 10);  // ~1 MB in <= 65507-byte datagrams
  ASSERT_TRUE(peer.WaitForCount(static_cast<size_t>(chunks)));
  EXPECT_EQ(peer.datagrams().size(), static_cast<size_t>(chunks));
  ExpectEveryRecordOnce(DecodeChunks(peer.datagrams(), max));
  EXPECT_EQ(metrics_.CountValue("Inetdiager", "udpWrites", "count"), chunks);
  EXPECT_EQ(metrics_.CountValue("Inetdiager", "udpConn.Write", "error"), 0);
}

TEST_F(DatagramSplitTest, UnixgramGetsSelfContainedProtobufListChunks) {
  const std::string path = dir_.File("split.sock");
  DatagramPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  const size_t max = SendBigFlush("unixgram:" + path, "protobufList");
  const double chunks = metrics_.CountValue("Output", "chunks", "count");
  ASSERT_GT(chunks, 2);
  ASSERT_TRUE(peer.WaitForCount(static_cast<size_t>(chunks)));
  ExpectEveryRecordOnce(DecodeChunks(peer.datagrams(), max));
  EXPECT_EQ(metrics_.CountValue("destUnixGram", "Writes", "count"), chunks);
}

TEST_F(DatagramSplitTest, UdpJsonlChunksHoldWholeLines) {
  DatagramPeer peer(AF_INET6);
  ASSERT_TRUE(peer.Start());
  SendBigFlush("udp:[::1]:" + std::to_string(peer.port()), "jsonl");
  const double chunks = metrics_.CountValue("Output", "chunks", "count");
  ASSERT_GT(chunks, 10);
  ASSERT_TRUE(peer.WaitForCount(static_cast<size_t>(chunks)));
  size_t lines = 0;
  for (const std::string& d : peer.datagrams()) {
    ASSERT_EQ(d.back(), '\n');
    for (absl::string_view line : absl::StrSplit(d, '\n', absl::SkipEmpty())) {
      ASSERT_EQ(line.front(), '{');
      ASSERT_EQ(line.back(), '}');
      ++lines;
    }
  }
  EXPECT_EQ(lines, kRecords);
}

TEST_F(DatagramSplitTest, UnixgramCsvFlushStartsWithTheHeader) {
  // A receiver that reads datagrams needs the column names in the flush's first one.
  const std::string path = dir_.File("csv.sock");
  DatagramPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  SendBigFlush("unixgram:" + path, "csv");
  const double chunks = metrics_.CountValue("Output", "chunks", "count");
  ASSERT_GT(chunks, 2);
  ASSERT_TRUE(peer.WaitForCount(static_cast<size_t>(chunks)));
  const std::vector<std::string> datagrams = peer.datagrams();
  const std::string header = datagrams.front().substr(0, datagrams.front().find('\n'));
  ASSERT_NE(header.find("recordCounter"), std::string::npos) << header.substr(0, 200);
  size_t headers = 0, rows = 0;
  for (const std::string& d : datagrams) {
    ASSERT_EQ(d.back(), '\n');
    for (absl::string_view line : absl::StrSplit(d, '\n', absl::SkipEmpty())) {
      (line == header ? headers : rows) += 1;
    }
  }
  EXPECT_EQ(headers, 1u);  // one flush: the header once, in its first datagram
  EXPECT_EQ(rows, kRecords);
}

}  // namespace
}  // namespace xtcp
