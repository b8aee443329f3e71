#pragma once
// The inet_diag dump requests (layouts in kernel_layout.h):
//  * DumpRequest (72 bytes, SOCK_DIAG_BY_FAMILY + inet_diag_req_v2): one address family per dump,
//    so a full listing takes two dumps (AF_INET, AF_INET6).
//  * CompatDumpRequest (76 bytes, TCPDIAG_GETSOCK + the v1 inet_diag_req): the kernel dumps it
//    with the family forced to AF_UNSPEC, so ONE dump returns every IPv4 and IPv6 TCP socket —
//    the same sockets and attributes as the two v2 dumps together. Its replies carry nlmsg_type
//    TCPDIAG_GETSOCK (18); WalkDatagram() decodes them exactly like type 20. A kernel without the
//    compat handler answers NLMSG_ERROR (see docs/collection.md for the errno and the fallback).
//
// Pure functions; thread-safe.

#include <array>
#include <cstdint>

#include "decode/kernel_layout.h"

namespace xtcp::decode {

using DumpRequest = std::array<uint8_t, kDumpRequestLen>;
using CompatDumpRequest = std::array<uint8_t, kCompatDumpRequestLen>;

// A SOCK_DIAG_BY_FAMILY request for every TCP socket of `family` (AF_INET or AF_INET6) in all
// states, asking for the attributes in `idiag_ext`, with sequence number `seq`.
DumpRequest BuildDumpRequest(uint8_t family, uint8_t idiag_ext, uint32_t seq);

// A TCPDIAG_GETSOCK dump request for every TCP socket of both families in all states, asking for
// the attributes in `idiag_ext` (same bits as the v2 request), with sequence number `seq`.
CompatDumpRequest BuildCompatDumpRequest(uint8_t idiag_ext, uint32_t seq);

// Rewrite the sequence number of an existing request in place.
void SetRequestSeq(DumpRequest* req, uint32_t seq);
void SetRequestSeq(CompatDumpRequest* req, uint32_t seq);

}  // namespace xtcp::decode
