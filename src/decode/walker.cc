#include "decode/walker.h"

#include <cstring>

namespace xtcp::decode {
namespace {

// Attribute type -> index into kDeserializers (or -1), built once at compile time.
constexpr std::array<int8_t, kAttrMaxKnown + 1> MakeDispatch() {
  std::array<int8_t, kAttrMaxKnown + 1> table{};
  for (auto& t : table) t = -1;
  for (size_t i = 0; i < kDeserializers.size(); ++i)
    table[kDeserializers[i].attr] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, kAttrMaxKnown + 1> kDispatch = MakeDispatch();

void DecodeInetDiagMsg(const uint8_t* m, record::RecordPayload* out) {
  out->inet_diag_msg_family = m[0];
  out->inet_diag_msg_state = m[1];
  out->inet_diag_msg_timer = m[2];
  out->inet_diag_msg_retrans = m[3];
  out->inet_diag_msg_socket_source_port = LoadBe16(m + 4);
  out->inet_diag_msg_socket_destination_port = LoadBe16(m + 6);
  out->inet_diag_msg_socket_source.len = 16;
  std::memcpy(out->inet_diag_msg_socket_source.data, m + 8, 16);
  out->inet_diag_msg_socket_destination.len = 16;
  std::memcpy(out->inet_diag_msg_socket_destination.data, m + 24, 16);
  out->inet_diag_msg_socket_interface = Load<uint32_t>(m + 40);
  out->inet_diag_msg_socket_cookie =
      (uint64_t{Load<uint32_t>(m + 48)} << 32) | uint64_t{Load<uint32_t>(m + 44)};
  out->inet_diag_msg_expires = Load<uint32_t>(m + 52);
  out->inet_diag_msg_rqueue = Load<uint32_t>(m + 56);
  out->inet_diag_msg_wqueue = Load<uint32_t>(m + 60);
  out->inet_diag_msg_uid = Load<uint32_t>(m + 64);
  out->inet_diag_msg_inode = Load<uint32_t>(m + 68);
}

}  // namespace

ProblemLabels LabelsOf(Problem p) {
  switch (p) {
    case Problem::kTruncatedHeader:
      return {"Deserialize", "truncatedAtHeader", "error"};
    case Problem::kNlmsgLenTooSmall:
      return {"Deserialize", "nlmsgLenTooSmall", "error"};
    case Problem::kNlmsgLenOverflow:
      return {"Deserialize", "skipUnknownTypeBadLen", "error"};
    case Problem::kTruncatedInetDiagMsg:
      return {"Deserialize", "truncatedInetDiagMsg", "error"};
    case Problem::kRtaTruncatedHeader:
      return {"DeserializeAttributes", "truncatedRTAttrHeader", "error"};
    case Problem::kRtaLenTooSmall:
      return {"DeserializeAttributes", "rtaLenTooSmall", "error"};
    case Problem::kRtaLenOverflow:
      return {"DeserializeAttributes", "rtaLenOverflow", "error"};
    case Problem::kAttributeTooShort:
      return {"DeserializeAttribute", "deserializer", "error"};
    case Problem::kUnknownMessageType:
      return {"Deserialize", "skipUnknownType", "count"};
    case Problem::kUnknownAttribute:
      return {"DeserializeAttributes", "unknownAttribute", "count"};
    case Problem::kErrorReply:
      return {"Deserialize", "nlmsgError", "error"};
    case Problem::kDumpError:
      return {"Deserialize", "dumpDoneError", "error"};
    case Problem::kDumpInterrupted:
      return {"Deserialize", "dumpInterrupted", "count"};
    case Problem::kInvalidUtf8:
      return {"DeserializeAttribute", "invalidUtf8", "count"};
    case Problem::kCount:
      break;
  }
  return {"Deserialize", "unknownProblem", "error"};
}

uint64_t DecodeProblems::Total() const {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

bool DecodeSocketMessage(const uint8_t* msg, size_t len, const DecodeOptions& opts,
                         record::RecordPayload* out, DecodeProblems* problems) {
  if (len < kInetDiagMsgLen) {
    problems->Add(Problem::kTruncatedInetDiagMsg);
    return false;
  }
  *out = record::RecordPayload{};
  DecodeInetDiagMsg(msg, out);

  const uint32_t enabled = opts.deserializers.bits();
  size_t off = kInetDiagMsgLen;
  while (off < len) {
    const size_t left = len - off;
    if (left < kRtaHdrLen) {
      problems->Add(Problem::kRtaTruncatedHeader);
      break;
    }
    const uint16_t rta_len = Load<uint16_t>(msg + off);
    const uint16_t rta_type = Load<uint16_t>(msg + off + 2) & kNlaTypeMask;
    if (rta_len < kRtaHdrLen) {
      problems->Add(Problem::kRtaLenTooSmall);
      break;
    }
    if (rta_len > left) {
      problems->Add(Problem::kRtaLenOverflow);
      break;
    }
    if (rta_type <= kAttrMaxKnown) {
      const int idx = kDispatch[rta_type];
      if (idx >= 0 && ((enabled >> idx) & 1u)) {
        const DeserializerInfo& d = kDeserializers[static_cast<size_t>(idx)];
        const size_t payload_len = rta_len - kRtaHdrLen;
        if (payload_len < d.min_len) {
          problems->Add(Problem::kAttributeTooShort);
        } else {
          if (d.fn(msg + off + kRtaHdrLen, payload_len, out)) problems->Add(Problem::kInvalidUtf8);
        }
      }
    } else {
      problems->Add(Problem::kUnknownAttribute);
    }
    off += Align4(rta_len);
  }
  return true;
}

uint32_t CountSocketMessages(std::span<const uint8_t> datagram, uint32_t seq) {
  uint32_t n = 0;
  size_t off = 0;
  const size_t size = datagram.size();
  while (size - off >= kNlmsgHdrLen) {
    const uint8_t* h = datagram.data() + off;
    const uint32_t nl_len = Load<uint32_t>(h);
    if (nl_len < kNlmsgHdrLen || nl_len > size - off) break;
    if (IsSocketMessageType(Load<uint16_t>(h + 4)) && Load<uint32_t>(h + 8) == seq &&
        nl_len - kNlmsgHdrLen >= kInetDiagMsgLen) {
      ++n;
    }
    const size_t step = Align4(nl_len);
    off += step < size - off ? step : size - off;
  }
  return n;
}

WalkResult WalkDatagram(std::span<const uint8_t> datagram, const DecodeOptions& opts,
                        record::FlatRecord* scratch, DecodeProblems* problems, SocketFn on_socket) {
  WalkResult r;
  const uint8_t* const base = datagram.data();
  const size_t size = datagram.size();
  size_t off = 0;
  while (off < size) {
    const size_t left = size - off;
    if (left < kNlmsgHdrLen) {
      problems->Add(Problem::kTruncatedHeader);
      r.malformed = true;
      break;
    }
    const uint8_t* h = base + off;
    const uint32_t nl_len = Load<uint32_t>(h);
    const uint16_t nl_type = Load<uint16_t>(h + 4);
    const uint16_t nl_flags = Load<uint16_t>(h + 6);
    const uint32_t nl_seq = Load<uint32_t>(h + 8);
    if (nl_len < kNlmsgHdrLen) {
      problems->Add(Problem::kNlmsgLenTooSmall);
      r.malformed = true;
      break;
    }
    if (nl_len > left) {
      problems->Add(Problem::kNlmsgLenOverflow);
      r.malformed = true;
      break;
    }
    ++r.messages;
    if (nl_flags & kNlmFDumpIntr) problems->Add(Problem::kDumpInterrupted);
    const uint8_t* payload = h + kNlmsgHdrLen;
    const size_t payload_len = nl_len - kNlmsgHdrLen;
    switch (nl_type) {
      case kSockDiagByFamily:  // reply to the v2 request
      case kTcpDiagGetSock:    // reply to the v1 request: the same payload
        if (DecodeSocketMessage(payload, payload_len, opts, &scratch->payload, problems)) {
          ++r.sockets;
          on_socket(nl_seq, *scratch);
        } else {
          r.malformed = true;
        }
        break;
      case kNlmsgDone:
        r.done = true;
        r.done_seq = nl_seq;
        r.done_error = payload_len >= 4 ? Load<int32_t>(payload) : 0;
        if (r.done_error < 0) problems->Add(Problem::kDumpError);
        break;
      case kNlmsgError: {
        const int32_t code = payload_len >= 4 ? Load<int32_t>(payload) : 0;
        if (code != 0) {  // 0 is an ACK, not an error
          r.error = true;
          r.error_seq = nl_seq;
          r.error_code = code;
          problems->Add(Problem::kErrorReply);
        }
        break;
      }
      case kNlmsgNoop:
        break;
      default:
        problems->Add(Problem::kUnknownMessageType);
        break;
    }
    // Messages are 4-byte aligned; the last one may omit its padding.
    off += Align4(nl_len) < left ? Align4(nl_len) : left;
  }
  return r;
}

}  // namespace xtcp::decode
