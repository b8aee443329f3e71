// Real kernels' replies served by the fake kernel: for each of the 8 kernels of the shared
// fixtures, one AF_INET and one AF_INET6 dump of an `ss` run, as captured, go through a collector;
// every socket of them must come out as a row and the DONEs must end the dump.
// Skipped, saying so, when ../shared/fixtures is absent.
#include <netinet/in.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "decode/capture.h"
#include "decode/kernel_layout.h"
#include "decode/walker.h"
#include "gtest/gtest.h"
#include "oracle/shared_fixtures.h"
#include "pipeline/engine_harness.h"

namespace xtcp::testing {
namespace {

struct CapturedDump {
  uint8_t family = 0;
  bool done = false;
  uint32_t sockets = 0;
  std::vector<FakeKernel::Datagram> datagrams;
};

uint32_t SeqOf(std::span<const uint8_t> d) { return decode::Load<uint32_t>(d.data() + 8); }

// The capture's dumps, in order: datagrams grouped by request time and sequence number.
std::vector<CapturedDump> DumpsOf(const decode::Capture& cap) {
  std::vector<CapturedDump> dumps;
  std::map<std::pair<int64_t, uint32_t>, size_t> index;
  for (const auto& d : cap.datagrams) {
    if (d.bytes.size() < decode::kNlmsgHdrLen) continue;
    const uint32_t seq = SeqOf(d.bytes);
    auto [it, fresh] = index.try_emplace({d.poll_time_ns, seq}, dumps.size());
    if (fresh) dumps.emplace_back();
    CapturedDump& dump = dumps[it->second];
    const uint16_t type = decode::Load<uint16_t>(d.bytes.data() + 4);
    if (dump.family == 0 && type == decode::kSockDiagByFamily && d.bytes.size() > 16) {
      dump.family = d.bytes[16];
    }
    dump.sockets += decode::CountSocketMessages(d.bytes, seq);
    decode::DecodeProblems problems;
    record::FlatRecord scratch;
    const decode::WalkResult w = decode::WalkDatagram(d.bytes, {}, &scratch, &problems,
                                                      [](uint32_t, record::FlatRecord&) {});
    dump.done = dump.done || w.done;
    dump.datagrams.emplace_back(d.bytes.begin(), d.bytes.end());
  }
  return dumps;
}

class FakeKernelReplay : public ::testing::TestWithParam<const char*> {};

TEST_P(FakeKernelReplay, EverySocketOfTheCapturedDumpsBecomesARow) {
  XTCP_REQUIRE_SHARED_FIXTURES();
  auto cap = decode::ReadCapture(SharedFixture(GetParam()));
  ASSERT_TRUE(cap.ok()) << cap.status();
  FakeKernel kernel;
  uint32_t want = 0;
  for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
    for (CapturedDump& d : DumpsOf(*cap)) {
      if (d.family != family || !d.done) continue;
      want += d.sockets;
      kernel.SetDump(family, std::move(d.datagrams));
      break;
    }
  }
  ASSERT_GT(want, 0u);
  FinishLog log;
  CollectorHarness h(&log);
  auto c = h.Collector(&kernel, 1);
  ASSERT_TRUE(c->StartPoll(1));
  EXPECT_EQ(log.WaitFor(1).size(), 1u);
  c->Stop();  // joins the readers: a datagram another reader still decodes is appended
  EXPECT_EQ(h.batcher.rows_appended(), want);
  EXPECT_EQ(h.Count("Deserialize", "staleReply", "count"), 0);
}

INSTANTIATE_TEST_SUITE_P(EightKernels, FakeKernelReplay,
                         ::testing::Values("4_19_319/4_19_319_tcp_100_sockets.pcap",
                                           "5_4_281/5_4_281_tcp_100_sockets.pcap",
                                           "5_15_164/5_15_164_tcp_100_sockets.pcap",
                                           "6_1_103/6_1_103_tcp_100_sockets.pcap",
                                           "6_6_44/tcp_100_sockets.pcap",
                                           "6_8_12/6_8_12_tcp_100_sockets.pcap",
                                           "6_10_3/6_10_3_tcp_100_sockets.pcap",
                                           "7_0_3/7_0_3_ss_tcp_info.pcap"));

}  // namespace
}  // namespace xtcp::testing
