#pragma once
// Opening a netlink socket inside another network namespace without leaving any thread there.
//
// A fresh short-lived thread saves its namespace, setns()es into the target, checks it really is
// the namespace we meant (inode), creates the socket, setns()es back and checks the restore. The
// thread then exits in every case, so a thread whose restore failed is retired, never reused, and
// no thread stays parked in a foreign namespace. If the target cannot be entered (vanished
// process, not a namespace, no CAP_SYS_ADMIN) no socket is made: never a host socket under a
// foreign name. While inside, the helper also reads which TCP socket hash the namespace uses.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "netlink/netlink_socket.h"
#include "netns/socket_hash.h"

namespace xtcp::netns {

struct EnterResult {
  std::unique_ptr<netlink::NetlinkSocket> socket;
  bool restore_failed = false;  // the helper thread could not return (it was retired)
  SocketHashInfo socket_hash;   // read while inside: own hash or the host's (netns/socket_hash.h)
};

// `handle` is a namespace file (bind mount or /proc/<pid>/ns/net) expected to have `inode`.
absl::StatusOr<EnterResult> OpenSocketInNamespace(const std::string& handle, uint64_t inode);

}  // namespace xtcp::netns
