#pragma once
// -promListen parsing and the listening sockets of the HTTP server.
//
// Accepted forms (Go's net.Listen("tcp", addr) subset that upstream users write):
//   ":9088"            all addresses: one dual-stack IPv6 socket (IPV6_V6ONLY=0), or IPv4 0.0.0.0
//                      when the host has no IPv6
//   "[::]:9088"        same as ":9088"
//   "0.0.0.0:9088"     IPv4 only
//   "127.0.0.1:9088"   that IPv4 address
//   "[::1]:9088"       that IPv6 address (IPV6_V6ONLY=1)
//   "localhost:9088"   the first address the name resolves to (IPv4 preferred, as Go)
// Port 0 asks the kernel for a free port (tests). -ipv4Ttl sets IP_TTL and -ipv6HopLimit sets
// IPV6_UNICAST_HOPS on the listening socket before listen(2); accepted connections inherit them.
// 0 leaves the kernel default; ENOPROTOOPT is ignored (as upstream).

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace xtcp::observe {

struct ListenAddress {
  std::string host;  // "" = all addresses; IPv6 literals without brackets
  uint16_t port = 0;
};

// Parses "[host]:port". Errors name the text and say what is expected.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

struct ListenSocket {
  UniqueFd fd;
  int family = 0;  // AF_INET or AF_INET6
  bool dual_stack = false;
  uint16_t port = 0;         // the bound port (the kernel's choice when 0 was asked)
  std::string display;       // "0.0.0.0:9088", "[::]:9088"
  sockaddr_storage local{};  // the bound address
};

struct SocketOptions {
  uint32_t ipv4_ttl = 0;        // IP_TTL; 0 = kernel default
  uint32_t ipv6_hop_limit = 0;  // IPV6_UNICAST_HOPS; 0 = kernel default
  int backlog = 1024;           // the kernel caps it at net.core.somaxconn
};

// Creates, binds and listens. Errors are one line naming the address and the errno text.
absl::StatusOr<std::vector<ListenSocket>> OpenListenSockets(const ListenAddress& addr,
                                                            const SocketOptions& opts);

}  // namespace xtcp::observe
