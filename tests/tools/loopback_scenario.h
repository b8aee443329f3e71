#pragma once
// The loopback scenario sock_helper builds in a fresh network namespace, shared with the tests
// that check its capture, so that they can assert what the sockets must show from first
// principles (what was set on them), beyond what ss prints.
//
//   port  listener                        connections to it
//   5001  127.0.0.1 cubic                 cubic+keepalive, reno, fwmark, time-wait, half-close,
//                                         unread (3000 bytes left in the server's queue)
//   5002  127.0.0.1 bbr, tos 0x10         bbr client with tos 0x10
//   5003  [::1] v6only, tclass 0x20       cubic client with tclass 0x20, bbr client
//   5004  [::] dual stack                 IPv4 client (accepted as ::ffff:127.0.0.1)
//   5005  127.0.0.1 bound to lo           cubic client bound to lo
//   5006  127.0.0.1 backlog 0             one queued (never accepted), one left in SYN-SENT

#include <cstddef>
#include <cstdint>

namespace xtcp::testing::scenario {

inline constexpr uint16_t kCubicPort = 5001;
inline constexpr uint16_t kBbrPort = 5002;
inline constexpr uint16_t kV6OnlyPort = 5003;
inline constexpr uint16_t kDualStackPort = 5004;
inline constexpr uint16_t kBoundToLoPort = 5005;
inline constexpr uint16_t kFullBacklogPort = 5006;

inline constexpr uint8_t kTos = 0x10;     // IP_TOS on the bbr listener and client
inline constexpr uint8_t kTclass = 0x20;  // IPV6_TCLASS on the v6-only listener and a client
inline constexpr uint32_t kMark = 0x2a;   // SO_MARK on one client
inline constexpr uint32_t kUnreadBytes = 3000;
inline constexpr uint32_t kEchoBytes = 100;  // each connection sends this much and reads it back
inline constexpr int kListenBacklog = 16;    // every listener but the backlog-0 one

// 6 listeners, 7 echo pairs, the TIME-WAIT client, the half-closed pair, the unread pair, the
// queued pair (client + never-accepted server) and the SYN-SENT client.
inline constexpr size_t kSockets = 6 + 7 * 2 + 1 + 2 + 2 + 2 + 1;

}  // namespace xtcp::testing::scenario
