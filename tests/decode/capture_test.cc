#include "decode/capture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/byte_buffer.h"
#include "decode/walker.h"
#include "fakes/nl_builder.h"
#include "gtest/gtest.h"
#include "record/record_codec.h"

namespace xtcp::decode {
namespace {

template <typename T>
void Put(std::vector<uint8_t>* b, T v) {
  const size_t at = b->size();
  b->resize(at + sizeof(T));
  std::memcpy(b->data() + at, &v, sizeof(T));
}

// A pcap record holding a cooked netlink header and `nl`.
void AddPacket(std::vector<uint8_t>* pcap, uint32_t sec, uint32_t frac, uint16_t protocol,
               const std::vector<uint8_t>& nl) {
  Put<uint32_t>(pcap, sec);
  Put<uint32_t>(pcap, frac);
  Put<uint32_t>(pcap, static_cast<uint32_t>(16 + nl.size()));
  Put<uint32_t>(pcap, static_cast<uint32_t>(16 + nl.size()));
  const uint8_t cooked[16] = {0,
                              4,
                              3,
                              0x38,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              0,
                              static_cast<uint8_t>(protocol >> 8),
                              static_cast<uint8_t>(protocol)};
  pcap->insert(pcap->end(), cooked, cooked + 16);
  pcap->insert(pcap->end(), nl.begin(), nl.end());
}

std::vector<uint8_t> PcapHeader(uint32_t magic, uint32_t linktype) {
  std::vector<uint8_t> p;
  Put<uint32_t>(&p, magic);
  Put<uint16_t>(&p, 2);
  Put<uint16_t>(&p, 4);
  Put<int32_t>(&p, 0);
  Put<uint32_t>(&p, 0);
  Put<uint32_t>(&p, 262144);
  Put<uint32_t>(&p, linktype);
  return p;
}

TEST(Capture, PcapRepliesCarryTheirRequestsTime) {
  std::vector<uint8_t> pcap = PcapHeader(0xa1b2c3d4, 253);
  testing::NlBuilder req;
  req.Begin(20, 1, kNlmFRequest | kNlmFDump).Put<uint64_t>(0).End();
  testing::NlBuilder reply;
  reply.Done(1);
  testing::NlBuilder route;
  route.Done(2);
  AddPacket(&pcap, 100, 5, 4, req.Take());
  AddPacket(&pcap, 101, 7, 4, reply.bytes());
  AddPacket(&pcap, 102, 0, 0, route.Take());  // NETLINK_ROUTE: skipped
  auto cap = ParseCapture(std::move(pcap), "x.pcap", 0);
  ASSERT_TRUE(cap.ok()) << cap.status();
  EXPECT_EQ(cap->format, Capture::Format::kPcap);
  EXPECT_EQ(cap->requests, 1u);
  EXPECT_EQ(cap->skipped_packets, 1u);
  ASSERT_EQ(cap->datagrams.size(), 1u);
  EXPECT_EQ(cap->datagrams[0].poll_time_ns, 100000005000);
  EXPECT_EQ(cap->datagrams[0].capture_time_ns, 101000007000);
  EXPECT_EQ(cap->datagrams[0].bytes.size(), reply.size());
}

TEST(Capture, NanosecondPcap) {
  std::vector<uint8_t> pcap = PcapHeader(0xa1b23c4d, 253);
  testing::NlBuilder reply;
  reply.Done(1);
  AddPacket(&pcap, 3, 999, 4, reply.Take());
  auto cap = ParseCapture(std::move(pcap), "n.pcap", 0);
  ASSERT_TRUE(cap.ok());
  ASSERT_EQ(cap->datagrams.size(), 1u);
  EXPECT_EQ(cap->datagrams[0].capture_time_ns, 3000000999);
}

TEST(Capture, WrongLinkTypeIsAnError) {
  auto cap = ParseCapture(PcapHeader(0xa1b2c3d4, 1), "eth.pcap", 0);
  ASSERT_FALSE(cap.ok());
  EXPECT_NE(cap.status().message().find("eth.pcap"), std::string::npos);
  EXPECT_NE(cap.status().message().find("253"), std::string::npos);
}

TEST(Capture, TruncatedRecordIsSkipped) {
  std::vector<uint8_t> pcap = PcapHeader(0xa1b2c3d4, 253);
  testing::NlBuilder reply;
  reply.Done(1);
  AddPacket(&pcap, 1, 0, 4, reply.Take());
  pcap.resize(pcap.size() - 3);
  auto cap = ParseCapture(std::move(pcap), "t.pcap", 0);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->datagrams.size(), 0u);
  EXPECT_EQ(cap->skipped_packets, 1u);
}

TEST(Capture, RawFileTimeFromName) {
  testing::NlBuilder reply;
  reply.Done(1);
  auto cap = ParseCapture(reply.Take(), "/tmp/netlink.2024-08-29T12:10:36.560332872-07:00", 5);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->format, Capture::Format::kRaw);
  ASSERT_EQ(cap->datagrams.size(), 1u);
  EXPECT_EQ(cap->datagrams[0].poll_time_ns, 1724958636560332872);
}

TEST(Capture, RawFileWithoutStampUsesFallback) {
  testing::NlBuilder reply;
  reply.Done(1);
  auto cap = ParseCapture(reply.Take(), "/tmp/dump.bin", 77);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->datagrams[0].poll_time_ns, 77);
}

TEST(Capture, EmptyFileIsAnError) { EXPECT_FALSE(ParseCapture({}, "empty", 0).ok()); }

// A raw capture whose congestion name is 0xff bytes: the row is kept, counted, and parses as a
// protobuf Envelope (protobuf rejects invalid UTF-8 in string fields).
TEST(Capture, InvalidUtf8CongestionNameIsRepairedNotDropped) {
  testing::NlBuilder reply;
  reply.BeginSocket(1)
      .Msg({})
      .Attr(kAttrCong, std::string_view("\xff\xff\xff"
                                        "br\0",
                                        6))
      .End();
  reply.Done(1);
  auto cap = ParseCapture(reply.Take(), "/tmp/bad-cong.bin", 0);
  ASSERT_TRUE(cap.ok());
  ByteBuffer envelope;
  DecodeProblems problems;
  record::FlatRecord scratch;
  const WalkResult r = WalkDatagram(
      cap->datagrams.at(0).bytes, {}, &scratch, &problems,
      [&](uint32_t, record::FlatRecord& rec) { record::AppendEnvelopeRow(rec, &envelope); });
  EXPECT_EQ(r.sockets, 1u);
  EXPECT_EQ(problems.Get(Problem::kInvalidUtf8), 1u);
  record::ProtoEnvelope parsed;
  ASSERT_TRUE(
      parsed.ParseFromArray(envelope.view().data(), static_cast<int>(envelope.view().size())));
  ASSERT_EQ(parsed.row_size(), 1);
  EXPECT_EQ(parsed.row(0).congestion_algorithm_string(),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
            "br");
}

// A temporary directory holding one special file of each kind -replay must refuse.
TEST(CaptureReader, RefusesFifosDevicesAndDirectories) {
  char tmpl[] = "/tmp/xtcp-capture-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, std::string("/dev/zero"), dir}) {
    SCOPED_TRACE(path);
    const auto r = CaptureReader::Open(path);  // returns at once: a FIFO is not waited on
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("not a regular capture file"), std::string::npos);
  }
  ::unlink(fifo.c_str());
  ::rmdir(dir.c_str());
}

TEST(CaptureReader, PcapRecordLongerThanTheFileIsSkippedNotAllocated) {
  std::vector<uint8_t> pcap = PcapHeader(0xa1b2c3d4, 253);
  Put<uint32_t>(&pcap, 1);
  Put<uint32_t>(&pcap, 0);
  Put<uint32_t>(&pcap, 0x7fffffff);  // incl_len: 2 GiB in a 40-byte file
  Put<uint32_t>(&pcap, 0x7fffffff);
  auto cap = ParseCapture(std::move(pcap), "huge.pcap", 0);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->datagrams.size(), 0u);
  EXPECT_EQ(cap->skipped_packets, 1u);
}

// A raw file larger than one read chunk is cut at message boundaries: every socket decodes.
TEST(CaptureReader, LargeRawFileIsStreamedInWholeMessages) {
  testing::NlBuilder b;
  for (int i = 0; i < 20000; ++i) {
    b.BeginSocket(1).Msg({}).Attr(kAttrCong, std::string_view("cubic\0", 6)).End();
  }
  b.Done(1);
  const std::vector<uint8_t> whole = b.Take();
  ASSERT_GT(whole.size(), CaptureReader::kRawChunkBytes);
  auto cap = ParseCapture(whole, "big.bin", 0);
  ASSERT_TRUE(cap.ok());
  EXPECT_GT(cap->datagrams.size(), 1u);
  uint32_t sockets = 0;
  bool done = false;
  DecodeProblems problems;
  record::FlatRecord scratch;
  for (const CapturedDatagram& d : cap->datagrams) {
    const WalkResult r =
        WalkDatagram(d.bytes, {}, &scratch, &problems, [](uint32_t, record::FlatRecord&) {});
    sockets += r.sockets;
    done |= r.done;
  }
  EXPECT_EQ(sockets, 20000u);
  EXPECT_TRUE(done);
  EXPECT_EQ(problems.Total(), 0u);
}

}  // namespace
}  // namespace xtcp::decode
