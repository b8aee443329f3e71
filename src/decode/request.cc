#include "decode/request.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace xtcp::decode {
namespace {

// The layouts drawn in kernel_layout.h, held against the kernel's own headers.
static_assert(sizeof(nlmsghdr) == kNlmsgHdrLen);
static_assert(kNlmsgHdrLen + sizeof(inet_diag_req_v2) == kDumpRequestLen);
static_assert(offsetof(inet_diag_req_v2, idiag_states) == 4);
static_assert(offsetof(inet_diag_req_v2, id) == 8);
static_assert(sizeof(inet_diag_sockid) == 48);
static_assert(sizeof(inet_diag_req) == 60);
static_assert(kNlmsgHdrLen + sizeof(inet_diag_req) == kCompatDumpRequestLen);
static_assert(offsetof(inet_diag_req, idiag_ext) == 3);
static_assert(offsetof(inet_diag_req, id) == 4);
static_assert(offsetof(inet_diag_req, idiag_states) == 52);
static_assert(offsetof(inet_diag_req, idiag_dbs) == 56);
static_assert(TCPDIAG_GETSOCK == kTcpDiagGetSock && SOCK_DIAG_BY_FAMILY == kSockDiagByFamily);
static_assert(NLM_F_DUMP == kNlmFDump && NLM_F_REQUEST == kNlmFRequest);

template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

// The netlink header both requests start with (nlmsg_pid 0: addressed to the kernel).
void StoreHeader(uint8_t* p, uint32_t len, uint16_t type, uint32_t seq) {
  Store<uint32_t>(p + 0, len);
  Store<uint16_t>(p + 4, type);
  Store<uint16_t>(p + 6, kNlmFRequest | kNlmFDump);
  Store<uint32_t>(p + 8, seq);
  Store<uint32_t>(p + 12, 0);
}

}  // namespace

DumpRequest BuildDumpRequest(uint8_t family, uint8_t idiag_ext, uint32_t seq) {
  DumpRequest r{};
  StoreHeader(r.data(), kDumpRequestLen, kSockDiagByFamily, seq);
  r[16] = family;
  r[17] = IPPROTO_TCP;
  r[18] = idiag_ext;
  r[19] = 0;
  Store<uint32_t>(r.data() + 20, kAllStates);
  // inet_diag_sockid (bytes 24..71) stays zero: no filter.
  return r;
}

CompatDumpRequest BuildCompatDumpRequest(uint8_t idiag_ext, uint32_t seq) {
  CompatDumpRequest r{};
  StoreHeader(r.data(), kCompatDumpRequestLen, kTcpDiagGetSock, seq);
  // The protocol comes from nlmsg_type (TCPDIAG_GETSOCK -> IPPROTO_TCP); the family is ignored
  // by dumps, AF_UNSPEC says so. No address lengths: no address filter.
  r[16] = AF_UNSPEC;
  r[17] = 0;
  r[18] = 0;
  r[19] = idiag_ext;
  // inet_diag_sockid (bytes 20..67) stays zero: no filter.
  Store<uint32_t>(r.data() + 68, kAllStates);
  Store<uint32_t>(r.data() + 72, 0);  // idiag_dbs: not implemented by the kernel
  return r;
}

void SetRequestSeq(DumpRequest* req, uint32_t seq) { Store<uint32_t>(req->data() + 8, seq); }
void SetRequestSeq(CompatDumpRequest* req, uint32_t seq) { Store<uint32_t>(req->data() + 8, seq); }

}  // namespace xtcp::decode
