// Root test against the running kernel: one TCPDIAG_GETSOCK dump (v1 request, AF_UNSPEC) returns
// the same sockets, with the same attributes, as the AF_INET + AF_INET6 SOCK_DIAG_BY_FAMILY dumps
// together. Runs in a private network namespace (unshare) so that no other test's sockets come
// and go between the dumps.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/byte_buffer.h"
#include "common/unique_fd.h"
#include "decode/request.h"
#include "decode/walker.h"
#include "gtest/gtest.h"
#include "record/record_codec.h"

namespace xtcp::decode {
namespace {

// Brings up lo in a fresh network namespace of this (single-threaded) test process.
bool EnterFreshNetns(std::string* why) {
  if (::geteuid() != 0) return *why = "needs root", false;
  if (::unshare(CLONE_NEWNET) != 0) return *why = std::string("unshare: ") + strerror(errno), false;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const bool ok = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
                  (ifr.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
  if (fd >= 0) ::close(fd);
  if (!ok) *why = "cannot bring up lo";
  return ok;
}

// Listener on `addr`, one client connected to it, the accepted server side: three sockets.
void OpenPair(int family, const char* addr, const char* client_addr, std::vector<UniqueFd>* fds) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto fill = [&](int fam, const char* a) {
    ss = {};
    if (fam == AF_INET) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      inet_pton(AF_INET, a, &s4->sin_addr);
      len = sizeof(sockaddr_in);
    } else {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      inet_pton(AF_INET6, a, &s6->sin6_addr);
      len = sizeof(sockaddr_in6);
    }
  };
  UniqueFd lst(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  fill(family, addr);
  ASSERT_EQ(::bind(lst.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  ASSERT_EQ(::listen(lst.get(), 4), 0);
  ASSERT_EQ(::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
  const uint16_t port = family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port;
  const int cfam = std::strchr(client_addr, ':') ? AF_INET6 : AF_INET;
  fill(cfam, client_addr);
  if (cfam == AF_INET)
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = port;
  else
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = port;
  UniqueFd cli(::socket(cfam, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(cli.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  UniqueFd srv(::accept4(lst.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(srv.get(), 0);
  fds->push_back(std::move(lst));
  fds->push_back(std::move(cli));
  fds->push_back(std::move(srv));
}

struct DumpResult {
  std::map<uint64_t, record::RecordPayload> by_cookie;
  std::map<uint16_t, int> reply_types;  // nlmsg_type of the socket messages -> count
  int32_t error = 0;                    // NLMSG_ERROR / DONE error, if any
  uint64_t problems = 0;
};

// Sends one request and decodes its whole reply (bounded: 10000 datagrams, 5 s per recv).
void Dump(std::span<const uint8_t> req, DumpResult* out) {
  UniqueFd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  ASSERT_GE(nl.get(), 0);
  timeval tv{5, 0};
  ::setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ASSERT_EQ(::sendto(nl.get(), req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                     sizeof(kernel)),
            static_cast<ssize_t>(req.size()));
  DecodeOptions opts;
  opts.deserializers = DeserializerSet::All();
  record::FlatRecord scratch;
  DecodeProblems problems;
  std::vector<uint8_t> buf(1 << 16);
  for (int i = 0; i < 10000; ++i) {
    const ssize_t n = ::recv(nl.get(), buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0) << strerror(errno);
    const std::span<const uint8_t> d(buf.data(), static_cast<size_t>(n));
    if (d.size() >= kNlmsgHdrLen) ++out->reply_types[Load<uint16_t>(d.data() + 4)];
    const WalkResult r =
        WalkDatagram(d, opts, &scratch, &problems, [&](uint32_t, record::FlatRecord& rec) {
          out->by_cookie[rec.payload.inet_diag_msg_socket_cookie] = rec.payload;
        });
    if (r.error) out->error = r.error_code;
    if (r.done || r.error) break;
  }
  out->problems = problems.Total();
}

// The record as an envelope row, minus the fields that are "milliseconds since" the call.
std::string StableRow(record::RecordPayload p) {
  p.tcp_info_last_data_sent = p.tcp_info_last_ack_sent = 0;
  p.tcp_info_last_data_recv = p.tcp_info_last_ack_recv = 0;
  p.inet_diag_msg_expires = 0;
  record::FlatRecord rec;
  rec.payload = p;
  ByteBuffer out;
  record::AppendEnvelopeRow(rec, &out);
  return std::string(out.view());
}

TEST(CompatDumpLive, OneV1DumpEqualsTheTwoV2Dumps) {
  std::string why;
  if (!EnterFreshNetns(&why)) GTEST_SKIP() << why;
  std::vector<UniqueFd> fds;
  OpenPair(AF_INET, "127.0.0.1", "127.0.0.1", &fds);
  OpenPair(AF_INET6, "::1", "::1", &fds);
  OpenPair(AF_INET6, "::", "127.0.0.1", &fds);  // dual stack: v4 client, v4-mapped server side
  const uint8_t ext = DeserializerSet::All().IdiagExt();

  DumpResult v2, v1;
  Dump(BuildDumpRequest(AF_INET, ext, 1), &v2);
  Dump(BuildDumpRequest(AF_INET6, ext, 2), &v2);
  Dump(BuildCompatDumpRequest(ext, 3), &v1);
  EXPECT_EQ(v1.error, 0);
  EXPECT_EQ(v1.problems, 0u);
  EXPECT_EQ(v2.problems, 0u);
  EXPECT_GT(v1.reply_types[kTcpDiagGetSock], 0);
  EXPECT_EQ(v1.reply_types.count(kSockDiagByFamily), 0u);
  ASSERT_EQ(v2.by_cookie.size(), 9u);
  ASSERT_EQ(v1.by_cookie.size(), v2.by_cookie.size());
  for (const auto& [cookie, p] : v2.by_cookie) {
    SCOPED_TRACE(cookie);
    ASSERT_EQ(v1.by_cookie.count(cookie), 1u);
    EXPECT_EQ(StableRow(v1.by_cookie[cookie]), StableRow(p));
  }
}

}  // namespace
}  // namespace xtcp::decode
