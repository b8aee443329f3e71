#pragma once
// Fixed records for marshaller and sink tests, and Envelopes built from them exactly as the
// batcher builds them (AppendEnvelopeRow).

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "common/byte_buffer.h"
#include "record/record_codec.h"
#include "xtcp/envelope.h"

namespace xtcp::testing {

// An Envelope's bytes and row count; view() is what the output stage hands a marshaller.
struct TestEnvelope {
  ByteBuffer bytes;
  uint32_t rows = 0;
  EnvelopeView view() const { return {bytes.view(), rows}; }
  void Add(const record::FlatRecord& r) {
    record::AppendEnvelopeRow(r, &bytes);
    ++rows;
  }
};

inline TestEnvelope MakeEnvelope(std::initializer_list<record::FlatRecord> records) {
  TestEnvelope e;
  for (const auto& r : records) e.Add(r);
  return e;
}

inline record::AddrBytes Addr(std::initializer_list<uint8_t> b) {
  record::AddrBytes a;
  a.len = 16;
  size_t i = 0;
  for (uint8_t v : b) a.data[i++] = v;
  return a;
}

// IPv4 ESTABLISHED cubic socket 127.0.0.1:4009 -> 10.1.2.3:80; label and tag need csv quoting.
inline record::FlatRecord Ipv4Record() {
  record::FlatRecord r;
  r.meta.schema_version = 1;
  r.meta.daemon_version = "v0.1.0";
  r.meta.timestamp_ns = 1700000000123456789;
  r.meta.hostname = "host1";
  r.meta.netns = "default";
  r.meta.netns_inode = 4026531840;
  r.meta.label = "a,b";
  r.meta.tag = "say \"hi\"";
  r.meta.record_counter = 7;
  r.payload.inet_diag_msg_family = 2;
  r.payload.inet_diag_msg_state = 1;
  r.payload.inet_diag_msg_socket_source_port = 4009;
  r.payload.inet_diag_msg_socket_destination_port = 80;
  r.payload.inet_diag_msg_socket_source = Addr({127, 0, 0, 1});
  r.payload.inet_diag_msg_socket_destination = Addr({10, 1, 2, 3});
  r.payload.inet_diag_msg_socket_cookie = 42;
  r.payload.tcp_info_state = 1;
  r.payload.tcp_info_rtt = 1234;
  r.payload.tcp_info_pacing_rate = 10000000000;
  r.payload.congestion_algorithm_string.Assign("cubic");
  r.payload.congestion_algorithm_enum = record::kCongCubic;
  r.payload.c_group = 12345;
  return r;
}

// IPv6 LISTEN bbr socket [2001:db8::1]:443 <- [::]:0; hostname starts with a space, label holds
// a newline.
inline record::FlatRecord Ipv6Record() {
  record::FlatRecord r;
  r.meta.schema_version = 1;
  r.meta.timestamp_ns = 1700000000000000000;
  r.meta.hostname = " host2";
  r.meta.label = "line\nbreak";
  r.meta.record_counter = 8;
  r.payload.inet_diag_msg_family = 10;
  r.payload.inet_diag_msg_state = 10;
  r.payload.inet_diag_msg_socket_source_port = 443;
  r.payload.inet_diag_msg_socket_source =
      Addr({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  r.payload.inet_diag_msg_socket_destination = Addr({});
  r.payload.tcp_info_state = 10;
  r.payload.congestion_algorithm_string.Assign("bbr");
  r.payload.congestion_algorithm_enum = record::kCongBbr1;
  return r;
}

// IPv6 socket with an IPv4-mapped source (prints as a.b.c.d) and a destination whose two equal
// zero runs test RFC 5952's first-run rule; unknown tcp state, no congestion, no timestamp.
inline record::FlatRecord MappedRecord() {
  record::FlatRecord r;
  r.meta.record_counter = 9;
  r.payload.inet_diag_msg_family = 10;
  r.payload.inet_diag_msg_state = 6;
  r.payload.inet_diag_msg_socket_source =
      Addr({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7});
  r.payload.inet_diag_msg_socket_destination =
      Addr({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1});
  r.payload.tcp_info_state = 99;
  return r;
}

// Every one of the 156 fields non-zero: numbers derived from the field number, strings from the
// name, addresses 16 distinct bytes. The strings live in static storage.
inline record::FlatRecord FullRecord() {
  record::FlatRecord r;
#define XTCP_FULL_U32(num, dst) dst = num;
#define XTCP_FULL_U64(num, dst) dst = uint64_t{num} * 1000000007ull;
#define XTCP_FULL_I64(num, dst) dst = int64_t{num} * 1000000007ll;
#define XTCP_FULL_ENUM(num, dst) dst = record::kCongBbr3;
#define XTCP_FULL_STR(num, dst) dst = "s" #num;
#define XTCP_FULL_NAME(num, dst) dst.Assign("cubic");
#define XTCP_FULL_ADDR(num, dst) \
  dst.len = 16;                  \
  for (uint8_t i = 0; i < 16; ++i) dst.data[i] = static_cast<uint8_t>(num % 256 + i);
#define XTCP_FULL_META(num, name, kind) XTCP_FULL_##kind(num, r.meta.name)
#define XTCP_FULL_PAYLOAD(num, name, kind) XTCP_FULL_##kind(num, r.payload.name)
  XTCP_META_FIELDS(XTCP_FULL_META)
  XTCP_PAYLOAD_FIELDS(XTCP_FULL_PAYLOAD)
#undef XTCP_FULL_META
#undef XTCP_FULL_PAYLOAD
  r.payload.inet_diag_msg_family = 10;
  return r;
}

// A plausible IPv4 socket record numbered `n` (for volume tests: ~150-200 bytes encoded).
inline record::FlatRecord NumberedRecord(uint64_t n) {
  record::FlatRecord r = Ipv4Record();
  r.meta.record_counter = n;
  r.payload.inet_diag_msg_socket_source_port = static_cast<uint32_t>(1024 + n % 60000);
  r.payload.tcp_info_bytes_acked = n * 1000;
  r.payload.tcp_info_bytes_received = n * 3000;
  r.payload.tcp_info_segs_out = static_cast<uint32_t>(n * 7);
  return r;
}

}  // namespace xtcp::testing
