// nl_capture: dumps every TCP socket of the current network namespace with the project's own
// request (decode::BuildDumpRequest, every deserializer's attribute) for AF_INET then AF_INET6,
// and writes each request and reply datagram to a pcap file in the shared fixtures' format
// (LINKTYPE_NETLINK with the 16-byte cooked header, protocol NETLINK_SOCK_DIAG), readable by
// decode::ReadCapture(). Optionally also writes reply datagrams as raw files (the exact recv()
// bytes, as -writeFiles saves them) for the fuzz corpus.
//
//   nl_capture --pcap=FILE [--bin-prefix=PREFIX]
//
// With --bin-prefix, PREFIX_v4_0.bin is the first reply datagram of the IPv4 dump, and so on for
// every reply datagram (the last one of each dump holds NLMSG_DONE).
// Errors: one line on stderr, exit 1.

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "decode/deserializers.h"
#include "decode/request.h"
#include "decode/walker.h"

namespace {

using xtcp::decode::DeserializerSet;

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Classic pcap, microsecond stamps, LINKTYPE_NETLINK; every packet gets the cooked header nlmon
// produces (pkttype 4, ARPHRD_NETLINK 824, no address, protocol 4 = NETLINK_SOCK_DIAG).
class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {
    Put32(0xa1b2c3d4);
    Put16(2);
    Put16(4);
    Put32(0);       // thiszone
    Put32(0);       // sigfigs
    Put32(262144);  // snaplen
    Put32(253);     // LINKTYPE_NETLINK
  }
  bool ok() const { return out_.good(); }

  void Packet(std::span<const uint8_t> netlink) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint32_t len = static_cast<uint32_t>(16 + netlink.size());
    Put32(static_cast<uint32_t>(ts.tv_sec));
    Put32(static_cast<uint32_t>(ts.tv_nsec / 1000));
    Put32(len);
    Put32(len);
    const uint8_t cooked[16] = {0, 4, 0x03, 0x38, 0, 0, 0, 0,
                                0, 0, 0,    0,    0, 0, 0, NETLINK_SOCK_DIAG};
    out_.write(reinterpret_cast<const char*>(cooked), sizeof(cooked));
    out_.write(reinterpret_cast<const char*>(netlink.data()),
               static_cast<std::streamsize>(netlink.size()));
  }

 private:
  void Put16(uint16_t v) { out_.write(reinterpret_cast<const char*>(&v), 2); }
  void Put32(uint32_t v) { out_.write(reinterpret_cast<const char*>(&v), 4); }
  std::ofstream out_;
};

absl::Status WriteFile(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return out.good() ? absl::OkStatus() : absl::InternalError(absl::StrCat(path, ": write failed"));
}

// One dump: the request, then every datagram until NLMSG_DONE (or an error reply).
absl::Status Dump(int fd, uint8_t family, uint32_t seq, PcapWriter* pcap,
                  const std::string& bin_prefix) {
  const xtcp::decode::DumpRequest req =
      xtcp::decode::BuildDumpRequest(family, DeserializerSet::All().IdiagExt(), seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  pcap->Packet(req);
  if (sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) !=
      static_cast<ssize_t>(req.size())) {
    return Errno("sendto");
  }
  std::vector<uint8_t> buf(1 << 16);
  xtcp::decode::DecodeOptions opts;
  opts.deserializers = DeserializerSet::All();
  xtcp::record::FlatRecord scratch;
  for (int n = 0;; ++n) {
    const ssize_t got = recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    if (got < 0) return Errno("recv");
    if (static_cast<size_t>(got) > buf.size()) return absl::InternalError("datagram truncated");
    const std::span<const uint8_t> datagram(buf.data(), static_cast<size_t>(got));
    pcap->Packet(datagram);
    if (!bin_prefix.empty()) {
      const std::string path =
          absl::StrCat(bin_prefix, family == AF_INET ? "_v4_" : "_v6_", n, ".bin");
      if (absl::Status st = WriteFile(path, datagram); !st.ok()) return st;
    }
    xtcp::decode::DecodeProblems problems;
    const xtcp::decode::WalkResult r = xtcp::decode::WalkDatagram(
        datagram, opts, &scratch, &problems, [](uint32_t, xtcp::record::FlatRecord&) {});
    if (r.error) return absl::InternalError(absl::StrCat("NLMSG_ERROR ", r.error_code));
    if (problems.Total() != 0) return absl::InternalError("malformed reply datagram");
    if (r.done) return absl::OkStatus();
  }
}

absl::Status Run(const std::string& pcap_path, const std::string& bin_prefix) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return Errno("socket(NETLINK_SOCK_DIAG)");
  const timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  PcapWriter pcap(pcap_path);
  absl::Status st = pcap.ok() ? absl::OkStatus() : absl::InternalError(pcap_path + ": open failed");
  if (st.ok()) st = Dump(fd, AF_INET, 1, &pcap, bin_prefix);
  if (st.ok()) st = Dump(fd, AF_INET6, 2, &pcap, bin_prefix);
  close(fd);
  if (st.ok() && !pcap.ok()) st = absl::InternalError(pcap_path + ": write failed");
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  std::string pcap, bin_prefix;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (absl::StartsWith(arg, "--pcap=")) {
      pcap = std::string(arg.substr(7));
    } else if (absl::StartsWith(arg, "--bin-prefix=")) {
      bin_prefix = std::string(arg.substr(13));
    } else {
      std::fprintf(stderr, "usage: nl_capture --pcap=FILE [--bin-prefix=PREFIX]\n");
      return 2;
    }
  }
  if (pcap.empty()) {
    std::fprintf(stderr, "nl_capture: --pcap is required\n");
    return 2;
  }
  if (absl::Status st = Run(pcap, bin_prefix); !st.ok()) {
    std::fprintf(stderr, "nl_capture: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}
