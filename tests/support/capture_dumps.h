#pragma once
// Splits a capture into the dumps it holds and decodes each one, for tests that hold decoded
// sockets against an `ss` listing of the same run.
//
// A dump is every reply datagram answering one request: same request time (the capture reader
// stamps replies with the time of the sock_diag request before them) and same nlmsg_seq. A capture
// of `ss -a` holds two dumps (AF_INET then AF_INET6); captures with several ss runs hold more, and
// replies to other processes' requests form dumps of their own.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "decode/capture.h"
#include "decode/walker.h"
#include "record/flat_record.h"
#include "support/ss_compare.h"
#include "support/ss_text.h"

namespace xtcp::testing {

struct Dump {
  int64_t poll_time_ns = 0;
  uint32_t seq = 0;
  std::vector<record::RecordPayload> sockets;
  uint32_t datagrams = 0;
  bool done = false;  // NLMSG_DONE seen
  decode::DecodeProblems problems;
  // AF_INET / AF_INET6 of its sockets; 0 when it has none (or, abnormally, both).
  int family() const;
};

// Decodes every dump of `capture` with every deserializer enabled.
std::vector<Dump> DecodeDumps(const decode::Capture& capture);

// Decodes all sockets of one datagram.
std::vector<record::RecordPayload> DecodeDatagram(std::span<const uint8_t> datagram,
                                                  decode::DecodeProblems* problems);

// The ss entries of one address family.
std::vector<SsSocket> SocketsOfFamily(const SsListing& listing, int family);

// Holds the ss entries of `family` against every dump of that family (and every empty dump) and
// returns the report of the first dump that matches exactly, else of the closest one. `index`
// receives the chosen dump (or -1 when there is no candidate at all).
ListingReport BestDumpFor(std::span<const Dump> dumps, const SsListing& listing, int family,
                          const CompareOptions& opts, int* index);

}  // namespace xtcp::testing
