#include "decode/capture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "decode/kernel_layout.h"

namespace xtcp::decode {
namespace {

constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNano = 0xa1b23c4d;
constexpr uint32_t kLinktypeNetlink = 253;
constexpr size_t kPcapGlobalHeaderLen = 24;
constexpr size_t kPcapRecordHeaderLen = 16;
constexpr size_t kCookedHeaderLen = 16;
constexpr uint16_t kNetlinkSockDiag = 4;

uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }

}  // namespace

bool ParseTimeFromFileName(const std::string& name, int64_t* unix_ns) {
  std::string base = name.substr(name.find_last_of('/') + 1);
  if (base.rfind("netlink.", 0) == 0) base = base.substr(8);
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, base, &t, &err)) return false;
  *unix_ns = absl::ToUnixNanos(t);
  return true;
}

absl::StatusOr<Capture> ParseCapture(std::vector<uint8_t> bytes, const std::string& name,
                                     int64_t fallback_time_ns) {
  Capture cap;
  cap.storage = std::move(bytes);
  const uint8_t* d = cap.storage.data();
  const size_t n = cap.storage.size();

  uint32_t magic = 0;
  if (n >= 4) std::memcpy(&magic, d, 4);
  const bool swapped = magic == Swap32(kPcapMagicMicro) || magic == Swap32(kPcapMagicNano);
  if (swapped) magic = Swap32(magic);
  if (magic != kPcapMagicMicro && magic != kPcapMagicNano) {
    cap.format = Capture::Format::kRaw;
    int64_t t = fallback_time_ns;
    ParseTimeFromFileName(name, &t);
    if (n == 0) return absl::InvalidArgumentError(absl::StrCat(name, ": empty capture file"));
    cap.datagrams.push_back({t, t, std::span<const uint8_t>(d, n)});
    return cap;
  }

  cap.format = Capture::Format::kPcap;
  auto u32 = [&](size_t off) {
    uint32_t v;
    std::memcpy(&v, d + off, 4);
    return swapped ? Swap32(v) : v;
  };
  if (n < kPcapGlobalHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": truncated pcap header"));
  }
  const uint32_t linktype = u32(20) & 0x0fffffff;
  if (linktype != kLinktypeNetlink) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": pcap link type ", linktype, " is not LINKTYPE_NETLINK (253)"));
  }
  const int64_t frac_scale = magic == kPcapMagicNano ? 1 : 1000;
  int64_t poll_time = 0;
  size_t off = kPcapGlobalHeaderLen;
  while (off + kPcapRecordHeaderLen <= n) {
    const int64_t ts = int64_t{u32(off)} * 1000000000 + int64_t{u32(off + 4)} * frac_scale;
    const uint32_t incl = u32(off + 8);
    off += kPcapRecordHeaderLen;
    if (incl > n - off) {
      ++cap.skipped_packets;  // truncated last record
      break;
    }
    const uint8_t* pkt = d + off;
    off += incl;
    if (incl < kCookedHeaderLen + kNlmsgHdrLen) {
      ++cap.skipped_packets;
      continue;
    }
    const uint16_t protocol = LoadBe16(pkt + 14);
    if (protocol != kNetlinkSockDiag) {
      ++cap.skipped_packets;
      continue;
    }
    const uint8_t* nl = pkt + kCookedHeaderLen;
    const uint16_t flags = Load<uint16_t>(nl + 6);
    if (flags & kNlmFRequest) {
      ++cap.requests;
      poll_time = ts;
      continue;
    }
    cap.datagrams.push_back({poll_time != 0 ? poll_time : ts, ts,
                             std::span<const uint8_t>(nl, incl - kCookedHeaderLen)});
  }
  return cap;
}

absl::StatusOr<Capture> ReadCapture(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return absl::DataLossError(absl::StrCat(path, ": ", std::strerror(e)));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  const int read_errno = errno;
  ::close(fd);
  if (got != bytes.size()) {
    return absl::DataLossError(absl::StrCat(path, ": short read: ", std::strerror(read_errno)));
  }
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return ParseCapture(std::move(bytes), path, mtime);
}

}  // namespace xtcp::decode
