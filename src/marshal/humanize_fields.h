#pragma once
// Human-readable renderings of record fields and the column table shared by the csv, tsv and
// humanize formats (reference §6). Every rendering reproduces what the Go daemon prints, byte for
// byte: Go's net.IP text, the `ss` state names, the short congestion names and RFC3339Nano UTC.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "record/record_codec.h"

namespace google::protobuf {
class FieldDescriptor;
}

namespace xtcp::marshal {

// Address bytes as Go's net.IP prints them, chosen by the inet_diag family:
//   family 2 (AF_INET), >= 4 bytes   dotted quad of the first 4 bytes
//   family 10 (AF_INET6), >= 16 bytes RFC 5952 text of the first 16 bytes, except that an
//                                     IPv4-mapped address (::ffff:a.b.c.d) prints as a.b.c.d
//   anything else                     net.IP text of the whole slice ("?<hex>" unless 4/16 bytes)
//   empty                             ""
std::string IpString(uint32_t family, std::string_view bytes);

// Kernel TCP state (include/net/tcp_states.h) as `ss` names it; unknown values as decimal.
std::string TcpStateName(uint32_t state);

// CONGESTION_ALGORITHM_<X> as "<X>"; UNSPECIFIED as ""; unknown numbers as decimal.
std::string CongestionShortName(uint32_t value);

// Unix nanoseconds as Go's time.Time.UTC().Format(time.RFC3339Nano): fraction trimmed of trailing
// zeros (dropped when zero), "Z" suffix. ns <= 0 renders as "".
std::string TimestampRfc3339Nano(int64_t ns);

// Standard base64 with padding (Go's base64.StdEncoding).
std::string Base64(std::string_view bytes);

// One XtcpFlatRecord field as a csv/tsv column.
struct Column {
  enum class Special { kNone, kSource, kDestination, kState, kTcpState, kCongestion, kTimestamp };
  std::string json_name;  // protobuf JSON name: the header cell and the -columns key
  const google::protobuf::FieldDescriptor* field = nullptr;
  Special special = Special::kNone;
};

// Every field, in .proto declaration order.
const std::vector<Column>& AllColumns();

// Resolves a -columns spec: comma separated JSON names, each trimmed, blanks ignored; empty (or
// only blanks) selects every column. An unknown name is InvalidArgument naming it.
absl::StatusOr<std::vector<Column>> SelectColumns(std::string_view spec);

// Appends the humanized cell text of `column` for `record` (reference §6 rendering rules).
void AppendCell(const record::ProtoRecord& record, const Column& column, std::string* out);

}  // namespace xtcp::marshal
