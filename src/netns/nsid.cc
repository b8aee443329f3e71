#include "netns/nsid.h"

#include <fcntl.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xtcp::netns {
namespace {

absl::Status Errno(const char* what, int e) {
  return absl::UnavailableError(absl::StrCat("RTM_GETNSID: ", what, ": ", std::strerror(e)));
}

}  // namespace

absl::StatusOr<NsidResolver> NsidResolver::Open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return Errno("socket", errno);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return Errno("bind", errno);
  }
  // The kernel always answers RTM_GETNSID; the bound only keeps an odd kernel from stalling a
  // rescan.
  timeval tv{.tv_sec = 1, .tv_usec = 0};
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return NsidResolver(std::move(fd));
}

absl::StatusOr<std::optional<uint32_t>> NsidResolver::Query(const std::string& handle) {
  UniqueFd ns(::open(handle.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Errno(handle.c_str(), errno);
  return QueryFd(ns.get());
}

absl::StatusOr<std::optional<uint32_t>> NsidResolver::QueryFd(int ns_fd) {
  struct {
    nlmsghdr nlh;
    rtgenmsg gen;
    uint8_t pad[3];
    nlattr attr;
    int32_t fd;
  } req{};
  static_assert(sizeof(req) == NLMSG_HDRLEN + 4 + NLA_HDRLEN + 4);
  const uint32_t seq = seq_++;
  req.nlh.nlmsg_len = sizeof(req);
  req.nlh.nlmsg_type = RTM_GETNSID;
  req.nlh.nlmsg_flags = NLM_F_REQUEST;
  req.nlh.nlmsg_seq = seq;
  req.gen.rtgen_family = AF_UNSPEC;
  req.attr.nla_len = NLA_HDRLEN + sizeof(int32_t);
  req.attr.nla_type = NETNSA_FD;
  req.fd = ns_fd;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd_.get(), &req, sizeof(req), 0, reinterpret_cast<sockaddr*>(&kernel),
                    sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return Errno("send", errno);

  alignas(nlmsghdr) uint8_t buf[4096];
  for (int replies = 0; replies < 16; ++replies) {  // stale replies of a timed-out query
    ssize_t n;
    do {
      n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Errno("recv", errno);
    const size_t len = static_cast<size_t>(n);
    for (size_t off = 0; off + sizeof(nlmsghdr) <= len;) {
      nlmsghdr h;
      std::memcpy(&h, buf + off, sizeof(h));
      if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len - off) break;
      const uint8_t* body = buf + off + NLMSG_HDRLEN;
      const size_t body_len = h.nlmsg_len - NLMSG_HDRLEN;
      off += NLMSG_ALIGN(h.nlmsg_len);
      if (h.nlmsg_seq != seq) continue;
      if (h.nlmsg_type == NLMSG_ERROR) {
        if (body_len < sizeof(nlmsgerr)) {
          return absl::DataLossError("RTM_GETNSID: short error reply");
        }
        nlmsgerr e;
        std::memcpy(&e, body, sizeof(e));
        return Errno("kernel", -e.error);
      }
      if (h.nlmsg_type != RTM_NEWNSID) continue;
      constexpr size_t kRtgen = NLMSG_ALIGN(sizeof(rtgenmsg));
      if (body_len < kRtgen) return absl::DataLossError("RTM_GETNSID: short reply");
      for (size_t at = kRtgen; at + NLA_HDRLEN <= body_len;) {
        nlattr a;
        std::memcpy(&a, body + at, sizeof(a));
        if (a.nla_len < NLA_HDRLEN || a.nla_len > body_len - at) break;
        if ((a.nla_type & NLA_TYPE_MASK) == NETNSA_NSID &&
            a.nla_len >= NLA_HDRLEN + sizeof(int32_t)) {
          int32_t id = 0;
          std::memcpy(&id, body + at + NLA_HDRLEN, sizeof(id));
          if (id < 0) return std::optional<uint32_t>();  // NETNSA_NSID_NOT_ASSIGNED
          return std::optional<uint32_t>(static_cast<uint32_t>(id));
        }
        at += NLA_ALIGN(a.nla_len);
      }
      return std::optional<uint32_t>();  // no NETNSA_NSID: none assigned
    }
  }
  return absl::DataLossError("RTM_GETNSID: no reply with our sequence number");
}

}  // namespace xtcp::netns
