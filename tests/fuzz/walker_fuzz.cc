// libFuzzer target: any datagram through the reply walker, every deserializer enabled. Must not
// crash, read out of bounds or loop; the record encoder runs on whatever was decoded.
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/byte_buffer.h"
#include "decode/walker.h"
#include "record/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xtcp::decode::DecodeOptions opts;
  opts.deserializers = xtcp::decode::DeserializerSet::All();
  xtcp::decode::DecodeProblems problems;
  xtcp::record::FlatRecord scratch;
  xtcp::ByteBuffer out;
  const auto r = xtcp::decode::WalkDatagram(
      std::span<const uint8_t>(data, size), opts, &scratch, &problems,
      [&](uint32_t, xtcp::record::FlatRecord& rec) { xtcp::record::AppendEnvelopeRow(rec, &out); });
  // Invariants: every socket became one row; rows iterate back.
  uint32_t rows = 0;
  if (!xtcp::record::ForEachEnvelopeRow(out.view(), [&](std::string_view) { ++rows; }) ||
      rows != r.sockets) {
    __builtin_trap();
  }
  return 0;
}
