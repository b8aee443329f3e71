#pragma once
// The inet_diag dump request (72 bytes; layout in kernel_layout.h).

#include <array>
#include <cstdint>

#include "decode/kernel_layout.h"

namespace xtcp::decode {

using DumpRequest = std::array<uint8_t, kDumpRequestLen>;

// A SOCK_DIAG_BY_FAMILY request for every TCP socket of `family` (AF_INET or AF_INET6) in all
// states, asking for the attributes in `idiag_ext`, with sequence number `seq`.
DumpRequest BuildDumpRequest(uint8_t family, uint8_t idiag_ext, uint32_t seq);

// Rewrites the sequence number of an existing request in place.
void SetRequestSeq(DumpRequest* req, uint32_t seq);

}  // namespace xtcp::decode
