// Decode and encode cost per socket, on real 6.18 replies (tests/testdata/k6_18_loopback.pcap).
//
//   BM_DecodeDatagram/<set>   walk + decode of one datagram holding every socket of the capture
//                             (28: established, listening, TIME-WAIT, SYN-SENT, ...); set 0 is
//                             the daemon's default deserializers, 1 all of them
//   BM_DecodeEstablished30    the same with 30 established sockets (the busy-server shape)
//   BM_AppendEnvelopeRow      protobuf wire encoding of the decoded records, metadata stamped
//
// items_per_second is sockets (records) per second; time_per_socket (time_per_record) its inverse.
// Targets (SPEC.md §5): decode <= 100 ns per socket, encode <= 150 ns per record.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/byte_buffer.h"
#include "decode/capture.h"
#include "decode/kernel_layout.h"
#include "decode/walker.h"
#include "record/flat_record.h"
#include "record/record_codec.h"

namespace {

using xtcp::decode::DecodeOptions;
using xtcp::decode::DeserializerSet;

constexpr char kCapture[] = XTCP_SOURCE_DIR "/tests/testdata/k6_18_loopback.pcap";

// Every SOCK_DIAG_BY_FAMILY message of the capture, in order.
std::vector<std::vector<uint8_t>> CapturedMessages() {
  absl::StatusOr<xtcp::decode::Capture> cap = xtcp::decode::ReadCapture(kCapture);
  if (!cap.ok()) {
    std::fprintf(stderr, "decode_bench: %s\n", std::string(cap.status().message()).c_str());
    std::exit(1);
  }
  std::vector<std::vector<uint8_t>> out;
  for (const xtcp::decode::CapturedDatagram& d : cap->datagrams) {
    size_t off = 0;
    while (off + xtcp::decode::kNlmsgHdrLen <= d.bytes.size()) {
      const uint32_t len = xtcp::decode::Load<uint32_t>(d.bytes.data() + off);
      const uint16_t type = xtcp::decode::Load<uint16_t>(d.bytes.data() + off + 4);
      if (len < xtcp::decode::kNlmsgHdrLen || len > d.bytes.size() - off) break;
      if (type == xtcp::decode::kSockDiagByFamily) {
        out.emplace_back(d.bytes.begin() + off, d.bytes.begin() + off + len);
      }
      off += xtcp::decode::Align4(len);
    }
  }
  return out;
}

bool Established(const std::vector<uint8_t>& msg) {
  return msg[xtcp::decode::kNlmsgHdrLen + 1] == 1;
}

// One datagram: the chosen messages back to back, as a dump reply carries them.
std::vector<uint8_t> Datagram(const std::vector<std::vector<uint8_t>>& messages) {
  std::vector<uint8_t> out;
  for (const std::vector<uint8_t>& m : messages) {
    out.insert(out.end(), m.begin(), m.end());
    out.resize(xtcp::decode::Align4(out.size()));
  }
  return out;
}

const std::vector<uint8_t>& AllSockets() {
  static const std::vector<uint8_t> d = Datagram(CapturedMessages());
  return d;
}

const std::vector<uint8_t>& Established30() {
  static const std::vector<uint8_t> d = [] {
    std::vector<std::vector<uint8_t>> est;
    for (const std::vector<uint8_t>& m : CapturedMessages()) {
      if (Established(m)) est.push_back(m);
    }
    std::vector<std::vector<uint8_t>> thirty;
    for (size_t i = 0; i < 30; ++i) thirty.push_back(est[i % est.size()]);
    return Datagram(thirty);
  }();
  return d;
}

void RunDecode(benchmark::State& state, const std::vector<uint8_t>& datagram, DecodeOptions opts) {
  xtcp::record::FlatRecord scratch;
  xtcp::decode::DecodeProblems problems;
  uint64_t sockets = 0;
  for (auto _ : state) {
    const xtcp::decode::WalkResult r = xtcp::decode::WalkDatagram(
        datagram, opts, &scratch, &problems, [](uint32_t, xtcp::record::FlatRecord& rec) {
          benchmark::DoNotOptimize(rec.payload.tcp_info_rtt);
        });
    sockets += r.sockets;
  }
  if (problems.Total() != 0) state.SkipWithError("the datagram did not decode cleanly");
  state.SetItemsProcessed(static_cast<int64_t>(sockets));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * datagram.size()));
  state.counters["sockets"] = static_cast<double>(sockets / state.iterations());
  state.counters["time_per_socket"] = benchmark::Counter(
      static_cast<double>(sockets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_DecodeDatagram(benchmark::State& state) {
  DecodeOptions opts;
  opts.deserializers = state.range(0) == 0 ? DeserializerSet::Default() : DeserializerSet::All();
  RunDecode(state, AllSockets(), opts);
}
BENCHMARK(BM_DecodeDatagram)->Arg(0)->Arg(1);

void BM_DecodeEstablished30(benchmark::State& state) { RunDecode(state, Established30(), {}); }
BENCHMARK(BM_DecodeEstablished30);

void BM_AppendEnvelopeRow(benchmark::State& state) {
  // The decoded records with the metadata the daemon stamps on every record.
  std::vector<xtcp::record::FlatRecord> records;
  xtcp::record::FlatRecord scratch;
  scratch.meta.schema_version = xtcp::record::kSchemaVersion;
  scratch.meta.daemon_version = "0.1.0";
  scratch.meta.timestamp_ns = 1764230000123456789;
  scratch.meta.hostname = "bench-host-01.example.net";
  scratch.meta.netns = "default";
  scratch.meta.netns_inode = 4026531840;
  scratch.meta.socket_fd = 7;
  xtcp::decode::DecodeProblems problems;
  xtcp::decode::WalkDatagram(AllSockets(), {}, &scratch, &problems,
                             [&](uint32_t, xtcp::record::FlatRecord& rec) {
                               rec.meta.record_counter = records.size() + 1;
                               records.push_back(rec);
                             });
  xtcp::ByteBuffer out(1 << 16);
  for (auto _ : state) {
    out.Clear();
    for (const xtcp::record::FlatRecord& r : records) xtcp::record::AppendEnvelopeRow(r, &out);
    benchmark::DoNotOptimize(out.data());
  }
  const double n = static_cast<double>(state.iterations() * records.size());
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["bytes_per_record"] = static_cast<double>(out.size()) / records.size();
  state.counters["time_per_record"] =
      benchmark::Counter(n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AppendEnvelopeRow);

}  // namespace

BENCHMARK_MAIN();
