// dump_only: the kernel's own cost of what xtcp2 does — dump every TCP socket of the given
// namespaces K times with the same request and buffer size, and throw the bytes away. The
// end-to-end harness compares the daemon's CPU with this program's.
//
//   dump_only -loops K [-ext 254] [-families 4,6|4|6|one] [-buffer 32768] [NSPATH ...]
//
// -families 4,6 (the default) is the naive program: an IPv4 and an IPv6 SOCK_DIAG_BY_FAMILY dump
// per namespace, two walks of the socket hash. `one` sends the single TCPDIAG_GETSOCK dump that
// returns both families in one walk (what xtcp2 sends by default).
//
// No NSPATH: the program's own namespace. Prints "sockets=<n> datagrams=<d>" of the last loop.
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "decode/request.h"

namespace {

int OpenDiagSocket() {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    std::perror("netlink socket");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int loops = 1, ext = 0xfe;
  size_t buffer = 32768;
  std::vector<int> families = {AF_INET, AF_INET6};
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-loops" && i + 1 < argc) {
      loops = std::atoi(argv[++i]);
    } else if (a == "-ext" && i + 1 < argc) {
      ext = std::atoi(argv[++i]);
    } else if (a == "-buffer" && i + 1 < argc) {
      buffer = static_cast<size_t>(std::atol(argv[++i]));
    } else if (a == "-families" && i + 1 < argc) {
      const std::string f = argv[++i];
      families.clear();
      if (f == "one") families.push_back(AF_UNSPEC);
      if (f.find('4') != std::string::npos) families.push_back(AF_INET);
      if (f.find('6') != std::string::npos) families.push_back(AF_INET6);
    } else {
      paths.push_back(a);
    }
  }
  std::vector<int> socks;
  if (paths.empty()) {
    socks.push_back(OpenDiagSocket());
  } else {
    const int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    for (const auto& p : paths) {
      const int ns = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
        std::perror(p.c_str());
        return 1;
      }
      socks.push_back(OpenDiagSocket());
      ::close(ns);
    }
    ::setns(self, CLONE_NEWNET);
  }
  std::vector<uint8_t> buf(buffer);
  uint64_t sockets = 0, datagrams = 0;
  uint32_t seq = 1;
  for (int l = 0; l < loops; ++l) {
    sockets = datagrams = 0;
    for (const int fd : socks) {
      for (const int fam : families) {
        ssize_t sent;
        if (fam == AF_UNSPEC) {
          const auto req = xtcp::decode::BuildCompatDumpRequest(static_cast<uint8_t>(ext), seq++);
          sent = ::send(fd, req.data(), req.size(), 0);
        } else {
          const auto req = xtcp::decode::BuildDumpRequest(static_cast<uint8_t>(fam),
                                                          static_cast<uint8_t>(ext), seq++);
          sent = ::send(fd, req.data(), req.size(), 0);
        }
        if (sent < 0) {
          std::perror("send");
          return 1;
        }
        for (bool done = false; !done;) {
          const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
          if (n <= 0) {
            std::perror("recv");
            return 1;
          }
          ++datagrams;
          for (size_t off = 0; off + sizeof(nlmsghdr) <= static_cast<size_t>(n);) {
            nlmsghdr h;
            std::memcpy(&h, buf.data() + off, sizeof(h));
            if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) done = true;
            if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY || h.nlmsg_type == TCPDIAG_GETSOCK) ++sockets;
            if (h.nlmsg_len < sizeof(h)) break;
            off += NLMSG_ALIGN(h.nlmsg_len);
          }
        }
      }
    }
  }
  std::printf("sockets=%llu datagrams=%llu\n", static_cast<unsigned long long>(sockets),
              static_cast<unsigned long long>(datagrams));
  return 0;
}
