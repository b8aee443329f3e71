// libFuzzer target: any datagram through the reply walker, every deserializer enabled. Must not
// crash, read out of bounds or loop; the record encoder runs on whatever was decoded.
//
// Differential check for the two reply types: the same datagram with every socket message's
// nlmsg_type switched between SOCK_DIAG_BY_FAMILY (20) and TCPDIAG_GETSOCK (18) must give
// byte-identical rows and the same problem counts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/byte_buffer.h"
#include "decode/kernel_layout.h"
#include "decode/walker.h"
#include "record/record_codec.h"

namespace {

struct Outcome {
  xtcp::decode::WalkResult result;
  xtcp::decode::DecodeProblems problems;
  xtcp::ByteBuffer rows;
};

void Walk(std::span<const uint8_t> d, Outcome* o) {
  xtcp::decode::DecodeOptions opts;
  opts.deserializers = xtcp::decode::DeserializerSet::All();
  xtcp::record::FlatRecord scratch;
  o->result = xtcp::decode::WalkDatagram(d, opts, &scratch, &o->problems,
                                         [&](uint32_t, xtcp::record::FlatRecord& rec) {
                                           xtcp::record::AppendEnvelopeRow(rec, &o->rows);
                                         });
}

// Swaps 20 <-> 18 in the header of every well-formed message (the walk the walker itself does).
void SwapReplyTypes(std::vector<uint8_t>* d) {
  using namespace xtcp::decode;
  size_t off = 0;
  while (d->size() - off >= kNlmsgHdrLen) {
    uint8_t* h = d->data() + off;
    const uint32_t len = Load<uint32_t>(h);
    if (len < kNlmsgHdrLen || len > d->size() - off) break;
    uint16_t type = Load<uint16_t>(h + 4);
    if (IsSocketMessageType(type)) {
      type = type == kSockDiagByFamily ? kTcpDiagGetSock : kSockDiagByFamily;
      std::memcpy(h + 4, &type, 2);
    }
    off += Align4(len) < d->size() - off ? Align4(len) : d->size() - off;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Outcome a;
  Walk(std::span<const uint8_t>(data, size), &a);
  // Invariants: every socket became one row; rows iterate back.
  uint32_t rows = 0;
  if (!xtcp::record::ForEachEnvelopeRow(a.rows.view(), [&](std::string_view) { ++rows; }) ||
      rows != a.result.sockets) {
    __builtin_trap();
  }
  std::vector<uint8_t> swapped(data, data + size);
  SwapReplyTypes(&swapped);
  Outcome b;
  Walk(swapped, &b);
  if (b.rows.view() != a.rows.view() || b.problems.counts != a.problems.counts ||
      b.result.sockets != a.result.sockets) {
    __builtin_trap();
  }
  return 0;
}
