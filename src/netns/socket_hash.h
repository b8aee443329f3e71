#pragma once
// Whether a network namespace has a TCP socket hash of its own, or shares the host's.
//
// The kernel keeps established TCP sockets in a hash. Until Linux 6.1 there is one for all
// namespaces; since then a namespace created while net.ipv4.tcp_child_ehash_entries is non-zero
// gets one of its own with that many buckets. On the shared hash, an inet_diag dump inside a
// namespace walks every bucket of the host's hash (and every socket in it) to find the few that
// belong to the namespace, so on a container host the kernel's cost of a poll grows as
// namespaces x host sockets.
//
// net.ipv4.tcp_ehash_entries, read inside a namespace, tells which: the bucket count of its own
// hash (the host's namespace always has its own), or the host's count negated when it shares the
// host's. Kernels before 6.1 have no such sysctl: "unknown".
//
// Thread-compatible; ReadSocketHash() reads in the calling thread's namespace (the sysctl is
// resolved against the opener's namespace), so it can run on a thread that setns()ed.

#include <cstdint>
#include <string_view>

namespace xtcp::netns {

enum class SocketHash { kUnknown, kOwn, kShared };

struct SocketHashInfo {
  SocketHash kind = SocketHash::kUnknown;
  uint64_t buckets = 0;  // of the hash the namespace uses; 0 when unknown
};

// The sysctl's text ("262144\n", "-262144\n"). Anything else is unknown.
SocketHashInfo ParseEhashEntries(std::string_view text);

// Reads /proc/sys/net/ipv4/tcp_ehash_entries in the calling thread's network namespace.
SocketHashInfo ReadSocketHash();

}  // namespace xtcp::netns
