#pragma once
// NsidResolver: the nsid the kernel has assigned to a network namespace, as seen from the daemon's
// own namespace (RTM_GETNSID over one NETLINK_ROUTE socket, -populateNsid).
//
// An nsid is a small per-namespace-pair number (`ip netns set NAME ID`, or assigned by the kernel
// when e.g. a veth peer links the two). Most container namespaces have none: that is "not
// assigned", not an error. It is not a stable identity (netns_inode is).
//
// Thread-compatible: one socket, used by the thread that reconciles namespaces.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace xtcp::netns {

class NsidResolver {
 public:
  // Opens the NETLINK_ROUTE socket in the calling thread's namespace.
  static absl::StatusOr<NsidResolver> Open();

  // The nsid of the namespace at `handle` (a path such as /run/netns/NAME or /proc/PID/ns/net);
  // nullopt when none is assigned. An error when the handle cannot be opened or the kernel
  // refuses.
  absl::StatusOr<std::optional<uint32_t>> Query(const std::string& handle);
  // The same for an open namespace fd.
  absl::StatusOr<std::optional<uint32_t>> QueryFd(int ns_fd);

 private:
  explicit NsidResolver(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  uint32_t seq_ = 1;
};

}  // namespace xtcp::netns
