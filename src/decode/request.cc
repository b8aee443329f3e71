#include "decode/request.h"

#include <netinet/in.h>

#include <cstring>

namespace xtcp::decode {
namespace {
template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}
}  // namespace

DumpRequest BuildDumpRequest(uint8_t family, uint8_t idiag_ext, uint32_t seq) {
  DumpRequest r{};
  Store<uint32_t>(r.data() + 0, kDumpRequestLen);
  Store<uint16_t>(r.data() + 4, kSockDiagByFamily);
  Store<uint16_t>(r.data() + 6, kNlmFRequest | kNlmFDump);
  Store<uint32_t>(r.data() + 8, seq);
  Store<uint32_t>(r.data() + 12, 0);  // nlmsg_pid: the kernel
  r[16] = family;
  r[17] = IPPROTO_TCP;
  r[18] = idiag_ext;
  r[19] = 0;
  Store<uint32_t>(r.data() + 20, kAllStates);
  // inet_diag_sockid (bytes 24..71) stays zero: no filter.
  return r;
}

void SetRequestSeq(DumpRequest* req, uint32_t seq) { Store<uint32_t>(req->data() + 8, seq); }

}  // namespace xtcp::decode
