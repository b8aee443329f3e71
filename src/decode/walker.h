#pragma once
// Reply walker: one received datagram in, decoded sockets out. Pure: no sockets, no clocks, no
// allocation. Every malformed input is survived and reported in DecodeProblems.
//
// Thread-safety: stateless; DecodeProblems is owned by the caller (one per reader thread).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "decode/deserializers.h"
#include "record/flat_record.h"

namespace xtcp::decode {

// What can be wrong with a datagram. Each has a metric label triple (ProblemLabels()).
enum class Problem : uint8_t {
  kTruncatedHeader,       // fewer than 16 bytes left where a netlink header should start
  kNlmsgLenTooSmall,      // nlmsg_len < 16
  kNlmsgLenOverflow,      // nlmsg_len runs past the end of the datagram
  kTruncatedInetDiagMsg,  // socket message (type 20 or 18) shorter than its 72-byte inet_diag_msg
  kRtaTruncatedHeader,    // fewer than 4 bytes left where an attribute header should start
  kRtaLenTooSmall,        // rta_len < 4
  kRtaLenOverflow,        // rta_len runs past the end of its message
  kAttributeTooShort,     // an attribute shorter than the struct its deserializer reads
  kUnknownMessageType,    // a netlink message type that is not NOOP/ERROR/DONE/20/18
  kUnknownAttribute,      // an attribute type the kernel headers we know do not define
  kErrorReply,            // NLMSG_ERROR with a non-zero error (e.g. EBUSY, EPERM)
  kDumpError,             // NLMSG_DONE carrying a negative error code
  kDumpInterrupted,       // NLM_F_DUMP_INTR: the kernel's socket table changed during the dump
  kInvalidUtf8,           // a string attribute (congestion name) was not UTF-8; stored repaired
  kCount,
};
inline constexpr size_t kProblemCount = static_cast<size_t>(Problem::kCount);

struct ProblemLabels {
  std::string_view function, variable, type;
};
// Prometheus label triple for a problem (xtcp_counts{function,variable,type}).
ProblemLabels LabelsOf(Problem p);

struct DecodeProblems {
  std::array<uint64_t, kProblemCount> counts{};

  void Add(Problem p) { ++counts[static_cast<size_t>(p)]; }
  uint64_t Get(Problem p) const { return counts[static_cast<size_t>(p)]; }
  uint64_t Total() const;
};

struct DecodeOptions {
  DeserializerSet deserializers = DeserializerSet::Default();
};

// Summary of one datagram.
struct WalkResult {
  uint32_t messages = 0;  // netlink messages walked
  uint32_t sockets = 0;   // socket records produced
  bool done = false;      // NLMSG_DONE seen (its seq in done_seq, its error in done_error)
  uint32_t done_seq = 0;
  int32_t done_error = 0;
  bool error = false;  // NLMSG_ERROR with non-zero error seen
  uint32_t error_seq = 0;
  int32_t error_code = 0;  // negative errno as the kernel sent it
  bool malformed = false;  // walking stopped early or a message was skipped as malformed
};

// Decodes the 72-byte inet_diag_msg and the attributes that follow it (`msg` is the netlink
// payload, `len` bytes). Returns false (and counts kTruncatedInetDiagMsg) if len < 72. The payload
// is reset first.
bool DecodeSocketMessage(const uint8_t* msg, size_t len, const DecodeOptions& opts,
                         record::RecordPayload* out, DecodeProblems* problems);

// Called for every socket: the message's nlmsg_seq and the record (payload freshly decoded,
// metadata as the caller left it in the scratch record).
using SocketFn = absl::FunctionRef<void(uint32_t seq, record::FlatRecord& rec)>;

// Number of socket records WalkDatagram() would produce for messages carrying `seq`: a cheap
// header-only pass (lets callers reserve record counters before decoding).
uint32_t CountSocketMessages(std::span<const uint8_t> datagram, uint32_t seq);

// Walks every netlink message of `datagram`. Socket messages of both reply types (20, answering
// BuildDumpRequest, and 18, answering BuildCompatDumpRequest) decode to identical records.
// `scratch`'s payload is overwritten for each socket.
WalkResult WalkDatagram(std::span<const uint8_t> datagram, const DecodeOptions& opts,
                        record::FlatRecord* scratch, DecodeProblems* problems, SocketFn on_socket);

}  // namespace xtcp::decode
