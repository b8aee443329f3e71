#pragma once
// EnvelopeView: one flushed batch of records, as the bytes of a serialized
// xtcp_flat_record.v1.Envelope (a concatenation of rows, each `0x52 varint(len) record`).
// Marshallers read it; it never owns memory.

#include <cstdint>
#include <string_view>

namespace xtcp {

enum class FlushReason { kPollEnd, kPollTimeout, kRowsCap, kSizeCap, kShutdown, kReplay };

// Label of a flush reason in metrics (upstream names: poll_end, poll_timeout, rows_cap, size_cap,
// shutdown; "replay" is ours).
constexpr std::string_view FlushReasonName(FlushReason r) {
  switch (r) {
    case FlushReason::kPollEnd:
      return "poll_end";
    case FlushReason::kPollTimeout:
      return "poll_timeout";
    case FlushReason::kRowsCap:
      return "rows_cap";
    case FlushReason::kSizeCap:
      return "size_cap";
    case FlushReason::kShutdown:
      return "shutdown";
    case FlushReason::kReplay:
      return "replay";
  }
  return "unknown";
}

struct EnvelopeView {
  std::string_view bytes;  // serialized Envelope
  uint32_t rows = 0;       // number of rows in `bytes`
};

}  // namespace xtcp
