#include "decode/walker.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/byte_buffer.h"
#include "fakes/nl_builder.h"
#include "gtest/gtest.h"
#include "record/record_codec.h"

namespace xtcp::decode {
namespace {

using testing::FakeInetDiagMsg;
using testing::NlBuilder;

FakeInetDiagMsg SampleMsg(uint16_t sport) {
  FakeInetDiagMsg m;
  m.family = AF_INET;
  m.state = 1;
  m.timer = 2;
  m.retrans = 0;
  m.sport = sport;
  m.dport = 4009;
  const uint8_t lo[4] = {127, 0, 0, 1};
  std::memcpy(m.src, lo, 4);
  std::memcpy(m.dst, lo, 4);
  m.cookie = 0x0000000100000004ULL;
  m.expires = 2179;
  m.rqueue = 0;
  m.wqueue = 7;
  m.uid = 1000;
  m.inode = 5910;
  return m;
}

// One datagram: two sockets (cubic, bbr) and the DONE.
std::vector<uint8_t> TwoSocketsAndDone(uint32_t seq) {
  NlBuilder b;
  b.BeginSocket(seq).Msg(SampleMsg(62207)).Attr(kAttrCong, std::string_view("cubic\0", 6));
  b.AttrOf<uint8_t>(kAttrTos, 0x20).AttrOf<uint8_t>(kAttrShutdown, 0).End();
  b.BeginSocket(seq).Msg(SampleMsg(41997)).Attr(kAttrCong, std::string_view("bbr\0", 4)).End();
  b.Done(seq);
  return b.Take();
}

struct Collected {
  std::vector<record::RecordPayload> payloads;
  std::vector<uint32_t> seqs;
};

WalkResult Walk(const std::vector<uint8_t>& d, DecodeProblems* problems, Collected* out,
                DecodeOptions opts = {}) {
  record::FlatRecord scratch;
  return WalkDatagram(d, opts, &scratch, problems, [&](uint32_t seq, record::FlatRecord& r) {
    out->payloads.push_back(r.payload);
    out->seqs.push_back(seq);
  });
}

TEST(Walker, DecodesSocketsAndDone) {
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk(TwoSocketsAndDone(667), &problems, &got);
  EXPECT_EQ(r.messages, 3u);
  EXPECT_EQ(r.sockets, 2u);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.done_seq, 667u);
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(r.malformed);
  EXPECT_EQ(problems.Total(), 0u);
  ASSERT_EQ(got.payloads.size(), 2u);
  const auto& p = got.payloads[0];
  EXPECT_EQ(p.inet_diag_msg_family, 2u);
  EXPECT_EQ(p.inet_diag_msg_state, 1u);
  EXPECT_EQ(p.inet_diag_msg_timer, 2u);
  EXPECT_EQ(p.inet_diag_msg_socket_source_port, 62207u);
  EXPECT_EQ(p.inet_diag_msg_socket_destination_port, 4009u);
  ASSERT_EQ(p.inet_diag_msg_socket_source.len, 16);
  EXPECT_EQ(p.inet_diag_msg_socket_source.data[0], 127);
  EXPECT_EQ(p.inet_diag_msg_socket_source.data[3], 1);
  EXPECT_EQ(p.inet_diag_msg_socket_source.data[4], 0);
  EXPECT_EQ(p.inet_diag_msg_socket_cookie, 0x0000000100000004ULL);
  EXPECT_EQ(p.inet_diag_msg_expires, 2179u);
  EXPECT_EQ(p.inet_diag_msg_wqueue, 7u);
  EXPECT_EQ(p.inet_diag_msg_uid, 1000u);
  EXPECT_EQ(p.inet_diag_msg_inode, 5910u);
  EXPECT_EQ(p.congestion_algorithm_string.view(), "cubic");
  EXPECT_EQ(p.type_of_service, 0x20u);
  EXPECT_EQ(got.payloads[1].inet_diag_msg_socket_source_port, 41997u);
  EXPECT_EQ(got.payloads[1].congestion_algorithm_enum, record::kCongBbr1);
  EXPECT_EQ(got.payloads[1].type_of_service, 0u);  // no state leaks between sockets
  EXPECT_EQ(got.seqs[0], 667u);
}

TEST(Walker, EveryTruncationIsSurvivedAndReported) {
  const std::vector<uint8_t> whole = TwoSocketsAndDone(1);
  // Message boundaries: a cut there leaves a shorter but well-formed datagram.
  std::vector<size_t> ends;
  for (size_t off = 0; off < whole.size();) {
    uint32_t len;
    std::memcpy(&len, whole.data() + off, 4);
    off += Align4(len);
    ends.push_back(off);
  }
  for (size_t cut = 1; cut < whole.size(); ++cut) {
    SCOPED_TRACE(cut);
    std::vector<uint8_t> d(whole.begin(), whole.begin() + static_cast<long>(cut));
    DecodeProblems problems;
    Collected got;
    const WalkResult r = Walk(d, &problems, &got);
    const size_t complete = static_cast<size_t>(
        std::count_if(ends.begin(), ends.end(), [&](size_t e) { return e <= cut; }));
    const bool at_boundary = std::find(ends.begin(), ends.end(), cut) != ends.end();
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.malformed, !at_boundary);
    EXPECT_EQ(problems.Total() == 0, at_boundary);
    // Sockets whose message is complete are decoded; a cut inside the attributes of the next
    // one still yields it (its inet_diag_msg is whole), with the attribute problem counted.
    EXPECT_GE(got.payloads.size(), std::min<size_t>(complete, 2));
    EXPECT_LE(got.payloads.size(), 2u);
  }
}

TEST(Walker, EmptyDatagramIsNothing) {
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk({}, &problems, &got);
  EXPECT_EQ(r.messages, 0u);
  EXPECT_EQ(problems.Total(), 0u);
}

TEST(Walker, NlmsgLenTooSmallStopsTheDatagram) {
  std::vector<uint8_t> d = TwoSocketsAndDone(1);
  const uint32_t bogus = 8;
  std::memcpy(d.data(), &bogus, 4);
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk(d, &problems, &got);
  EXPECT_EQ(problems.Get(Problem::kNlmsgLenTooSmall), 1u);
  EXPECT_EQ(r.sockets, 0u);
}

TEST(Walker, NlmsgLenPastTheEndIsCounted) {
  std::vector<uint8_t> d = TwoSocketsAndDone(1);
  const uint32_t bogus = 0x7fffffff;
  std::memcpy(d.data(), &bogus, 4);
  DecodeProblems problems;
  Collected got;
  Walk(d, &problems, &got);
  EXPECT_EQ(problems.Get(Problem::kNlmsgLenOverflow), 1u);
  EXPECT_TRUE(got.payloads.empty());
}

TEST(Walker, ShortInetDiagMsgSkipsOnlyThatMessage) {
  NlBuilder b;
  b.BeginSocket(5).Put<uint32_t>(0).End();  // 4 bytes instead of 72
  b.BeginSocket(5).Msg(SampleMsg(1)).End();
  b.Done(5);
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk(b.Take(), &problems, &got);
  EXPECT_EQ(problems.Get(Problem::kTruncatedInetDiagMsg), 1u);
  EXPECT_EQ(r.sockets, 1u);
  EXPECT_TRUE(r.done);
}

TEST(Walker, AttributeProblemsKeepTheRecord) {
  NlBuilder b;
  b.BeginSocket(1).Msg(SampleMsg(10)).Attr(kAttrInfo, std::string(100, '\0')).End();   // < 192
  b.BeginSocket(1).Msg(SampleMsg(11)).AttrOf<uint16_t>(kAttrSkmeminfo, 3).End();       // < 36
  b.BeginSocket(1).Msg(SampleMsg(12)).Put<uint16_t>(2).Put<uint16_t>(kAttrTos).End();  // rta_len 2
  b.BeginSocket(1)
      .Msg(SampleMsg(13))
      .Put<uint16_t>(400)
      .Put<uint16_t>(kAttrTos)
      .Put<uint32_t>(0)
      .End();
  b.BeginSocket(1).Msg(SampleMsg(14)).Put<uint16_t>(8).End();  // 2-byte attribute header
  b.BeginSocket(1).Msg(SampleMsg(15)).Attr(99, "zz").AttrOf<uint32_t>(kAttrMark, 7).End();
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk(b.Take(), &problems, &got);
  EXPECT_EQ(r.sockets, 6u);
  EXPECT_EQ(problems.Get(Problem::kAttributeTooShort), 2u);
  EXPECT_EQ(problems.Get(Problem::kRtaLenTooSmall), 1u);
  EXPECT_EQ(problems.Get(Problem::kRtaLenOverflow), 1u);
  EXPECT_EQ(problems.Get(Problem::kRtaTruncatedHeader), 1u);
  EXPECT_EQ(problems.Get(Problem::kUnknownAttribute), 1u);  // 99; MARK is known, just unmapped
  for (size_t i = 0; i < got.payloads.size(); ++i) {
    EXPECT_EQ(got.payloads[i].inet_diag_msg_socket_source_port, 10 + i);
  }
}

TEST(Walker, DisabledDeserializersAreSkipped) {
  NlBuilder b;
  b.BeginSocket(1).Msg(SampleMsg(10)).Attr(kAttrCong, std::string_view("cubic\0", 6));
  b.AttrOf<uint8_t>(kAttrTos, 9).End();
  DecodeOptions opts;
  opts.deserializers = *ParseDeserializers("tos");
  DecodeProblems problems;
  Collected got;
  Walk(b.Take(), &problems, &got, opts);
  ASSERT_EQ(got.payloads.size(), 1u);
  EXPECT_EQ(got.payloads[0].congestion_algorithm_string.len, 0);
  EXPECT_EQ(got.payloads[0].type_of_service, 9u);
  EXPECT_EQ(problems.Total(), 0u);
}

TEST(Walker, NestedFlagBitsAreMasked) {
  NlBuilder b;
  b.BeginSocket(1).Msg(SampleMsg(10)).AttrOf<uint8_t>(kAttrTos | 0x8000, 7).End();
  DecodeProblems problems;
  Collected got;
  Walk(b.Take(), &problems, &got);
  ASSERT_EQ(got.payloads.size(), 1u);
  EXPECT_EQ(got.payloads[0].type_of_service, 7u);
}

TEST(Walker, ErrorsAndUnknownTypesAreReported) {
  NlBuilder b;
  b.Error(9, -16);                        // EBUSY
  b.Begin(77, 9).Put<uint32_t>(1).End();  // unknown type
  b.Begin(kNlmsgNoop, 9).End();           // ignored
  b.Error(9, 0);                          // an ACK is not an error
  b.Begin(kNlmsgDone, 9, kNlmFMulti | kNlmFDumpIntr).Put<int32_t>(-4).End();
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk(b.Take(), &problems, &got);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.error_code, -16);
  EXPECT_EQ(r.error_seq, 9u);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.done_error, -4);
  EXPECT_EQ(problems.Get(Problem::kErrorReply), 1u);
  EXPECT_EQ(problems.Get(Problem::kUnknownMessageType), 1u);
  EXPECT_EQ(problems.Get(Problem::kDumpError), 1u);
  EXPECT_EQ(problems.Get(Problem::kDumpInterrupted), 1u);
  EXPECT_EQ(r.messages, 5u);
}

TEST(Walker, UnpaddedLastMessageIsAccepted) {
  NlBuilder b;
  b.BeginSocket(1).Msg(SampleMsg(10)).Put<uint8_t>(0).End();  // 89-byte message: unaligned end
  std::vector<uint8_t> d = b.Take();
  d.resize(16 + 72 + 1);
  DecodeProblems problems;
  Collected got;
  const WalkResult r = Walk(d, &problems, &got);
  EXPECT_EQ(r.sockets, 1u);
  EXPECT_EQ(problems.Get(Problem::kRtaTruncatedHeader), 1u);  // the stray byte
}

TEST(Walker, EveryProblemHasALabel) {
  for (size_t i = 0; i < kProblemCount; ++i) {
    const ProblemLabels l = LabelsOf(static_cast<Problem>(i));
    EXPECT_FALSE(l.function.empty());
    EXPECT_FALSE(l.variable.empty());
    EXPECT_TRUE(l.type == "error" || l.type == "count") << l.variable;
  }
}

}  // namespace
}  // namespace xtcp::decode

namespace xtcp::decode {
namespace {

TEST(CountSocketMessages, AgreesWithTheWalkerPerSequence) {
  NlBuilder b;
  b.BeginSocket(5).Msg(SampleMsg(1)).End();
  b.BeginSocket(6).Msg(SampleMsg(2)).End();
  b.BeginSocket(5).Put<uint32_t>(0).End();  // truncated inet_diag_msg: no record
  b.BeginSocket(5).Msg(SampleMsg(3)).AttrOf<uint16_t>(kAttrSkmeminfo, 1).End();
  b.Done(5);
  const std::vector<uint8_t> d = b.Take();
  EXPECT_EQ(CountSocketMessages(d, 5), 2u);
  EXPECT_EQ(CountSocketMessages(d, 6), 1u);
  EXPECT_EQ(CountSocketMessages(d, 7), 0u);
  DecodeProblems problems;
  Collected got;
  Walk(d, &problems, &got);
  EXPECT_EQ(std::count(got.seqs.begin(), got.seqs.end(), 5u), 2);
}

}  // namespace
}  // namespace xtcp::decode

namespace xtcp::decode {
namespace {

// Every attribute the deserializers read, in a reply message of `type`.
std::vector<uint8_t> RichReply(uint16_t type, uint32_t seq) {
  KernelTcpInfo ti{};
  ti.state = 1;
  ti.rtt = 1234;
  ti.snd_cwnd = 10;
  ti.bytes_acked = 1ull << 40;
  const uint32_t skmem[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const uint32_t meminfo[4] = {11, 12, 13, 14};
  NlBuilder b;
  for (uint16_t port : {80, 443}) {
    b.BeginSocket(seq, type)
        .Msg(SampleMsg(port))
        .AttrOf(kAttrInfo, ti)
        .AttrOf(kAttrSkmeminfo, skmem);
    b.AttrOf(kAttrMeminfo, meminfo).Attr(kAttrCong, std::string_view("bbr\0", 4));
    b.AttrOf<uint8_t>(kAttrTos, 0x10).AttrOf<uint64_t>(kAttrCgroupId, 77).End();
  }
  b.Done(seq);
  return b.Take();
}

// The envelope rows of every socket of `datagram`, every deserializer on.
std::vector<std::string> Rows(const std::vector<uint8_t>& datagram, DecodeProblems* problems) {
  DecodeOptions opts;
  opts.deserializers = DeserializerSet::All();
  record::FlatRecord scratch;
  std::vector<std::string> rows;
  WalkDatagram(datagram, opts, &scratch, problems, [&](uint32_t, record::FlatRecord& rec) {
    ByteBuffer out;
    record::AppendEnvelopeRow(rec, &out);
    rows.emplace_back(out.view());
  });
  return rows;
}

TEST(Walker, CompatReplyTypeDecodesToIdenticalRecords) {
  DecodeProblems p20, p18;
  const std::vector<std::string> v2 = Rows(RichReply(kSockDiagByFamily, 9), &p20);
  const std::vector<std::string> v1 = Rows(RichReply(kTcpDiagGetSock, 9), &p18);
  ASSERT_EQ(v2.size(), 2u);
  EXPECT_EQ(v1, v2);
  EXPECT_EQ(p18.Total(), 0u);
  EXPECT_EQ(p20.Total(), 0u);
}

TEST(CountSocketMessages, CountsCompatReplies) {
  EXPECT_EQ(CountSocketMessages(RichReply(kTcpDiagGetSock, 3), 3), 2u);
}

TEST(Walker, TruncatedCompatMessageIsReportedLikeV2) {
  NlBuilder b;
  b.BeginSocket(1, kTcpDiagGetSock).Put<uint32_t>(0).End();
  DecodeProblems problems;
  Collected got;
  EXPECT_TRUE(Walk(b.Take(), &problems, &got).malformed);
  EXPECT_EQ(problems.Get(Problem::kTruncatedInetDiagMsg), 1u);
  EXPECT_EQ(problems.Get(Problem::kUnknownMessageType), 0u);
}

}  // namespace
}  // namespace xtcp::decode
