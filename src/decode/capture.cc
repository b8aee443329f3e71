#include "decode/capture.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

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

absl::StatusOr<CaptureReader> CaptureReader::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return FromFd(std::move(fd), path, mtime);
}

absl::StatusOr<CaptureReader> CaptureReader::FromFd(UniqueFd fd, const std::string& name,
                                                    int64_t fallback_time_ns) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(name, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    const char* what = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device";
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": is ", what, ", not a regular capture file"));
  }
  CaptureReader r;
  r.fd_ = std::move(fd);
  r.name_ = name;
  r.size_ = static_cast<uint64_t>(st.st_size);
  if (r.size_ == 0) return absl::InvalidArgumentError(absl::StrCat(name, ": empty capture file"));
  uint32_t magic = 0;
  if (r.size_ >= 4) {
    if (absl::Status s = r.ReadAt(0, 4, reinterpret_cast<uint8_t*>(&magic)); !s.ok()) return s;
  }
  r.swapped_ = magic == Swap32(kPcapMagicMicro) || magic == Swap32(kPcapMagicNano);
  if (r.swapped_) magic = Swap32(magic);
  if (magic != kPcapMagicMicro && magic != kPcapMagicNano) {
    r.format_ = Capture::Format::kRaw;
    r.raw_time_ns_ = fallback_time_ns;
    ParseTimeFromFileName(name, &r.raw_time_ns_);
    return r;
  }
  r.format_ = Capture::Format::kPcap;
  if (r.size_ < kPcapGlobalHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": truncated pcap header"));
  }
  uint8_t header[kPcapGlobalHeaderLen];
  if (absl::Status s = r.ReadAt(0, sizeof(header), header); !s.ok()) return s;
  uint32_t linktype = Load<uint32_t>(header + 20);
  if (r.swapped_) linktype = Swap32(linktype);
  linktype &= 0x0fffffff;
  if (linktype != kLinktypeNetlink) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": pcap link type ", linktype, " is not LINKTYPE_NETLINK (253)"));
  }
  r.frac_scale_ = magic == kPcapMagicNano ? 1 : 1000;
  r.pos_ = kPcapGlobalHeaderLen;
  return r;
}

absl::Status CaptureReader::ReadAt(uint64_t off, size_t n, uint8_t* dest) const {
  size_t got = 0;
  while (got < n) {
    const ssize_t k = ::pread(fd_.get(), dest + got, n - got, static_cast<off_t>(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      return absl::DataLossError(absl::StrCat(name_, ": read error at byte offset ", off + got,
                                              ": ", std::strerror(errno)));
    }
    if (k == 0) {
      return absl::DataLossError(
          absl::StrCat(name_, ": file shrank while read (byte offset ", off + got, ")"));
    }
    got += static_cast<size_t>(k);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> CaptureReader::Next(CapturedDatagram* out) {
  return format_ == Capture::Format::kPcap ? NextPcap(out) : NextRaw(out);
}

absl::StatusOr<bool> CaptureReader::NextPcap(CapturedDatagram* out) {
  while (size_ - pos_ >= kPcapRecordHeaderLen) {
    uint8_t rh[kPcapRecordHeaderLen];
    if (absl::Status s = ReadAt(pos_, sizeof(rh), rh); !s.ok()) return s;
    auto u32 = [&](size_t off) {
      const uint32_t v = Load<uint32_t>(rh + off);
      return swapped_ ? Swap32(v) : v;
    };
    const int64_t ts = int64_t{u32(0)} * 1000000000 + int64_t{u32(4)} * frac_scale_;
    const uint32_t incl = u32(8);
    pos_ += kPcapRecordHeaderLen;
    if (incl > size_ - pos_) {  // truncated last record: the rest of the file is all there is
      ++skipped_packets_;
      pos_ = size_;
      return false;
    }
    const uint64_t at = pos_;
    pos_ += incl;
    if (incl < kCookedHeaderLen + kNlmsgHdrLen || incl > kMaxDatagramBytes) {
      ++skipped_packets_;  // too short to hold a netlink header, or implausibly long: not read
      continue;
    }
    buf_.resize(incl);
    if (absl::Status s = ReadAt(at, incl, buf_.data()); !s.ok()) return s;
    if (LoadBe16(buf_.data() + 14) != kNetlinkSockDiag) {
      ++skipped_packets_;
      continue;
    }
    const uint8_t* nl = buf_.data() + kCookedHeaderLen;
    if (Load<uint16_t>(nl + 6) & kNlmFRequest) {
      ++requests_;
      poll_time_ns_ = ts;
      continue;
    }
    *out = {poll_time_ns_ != 0 ? poll_time_ns_ : ts, ts,
            std::span<const uint8_t>(nl, incl - kCookedHeaderLen)};
    return true;
  }
  if (pos_ != size_) ++skipped_packets_;  // a partial record header at the end
  pos_ = size_;
  return false;
}

absl::StatusOr<bool> CaptureReader::NextRaw(CapturedDatagram* out) {
  if (pos_ >= size_) return false;
  const uint64_t left = size_ - pos_;
  size_t n = static_cast<size_t>(std::min<uint64_t>(left, kRawChunkBytes));
  buf_.resize(n);
  if (absl::Status s = ReadAt(pos_, n, buf_.data()); !s.ok()) return s;
  // Whole messages only, so that no message is split between two walks.
  size_t cut = 0;
  while (n - cut >= kNlmsgHdrLen) {
    const uint32_t len = Load<uint32_t>(buf_.data() + cut);
    if (len < kNlmsgHdrLen) break;
    const size_t step = Align4(len);
    if (step <= n - cut) {
      cut += step;
    } else if (len <= n - cut && n == left) {
      cut = n;  // the last message of the file, without its padding
    } else {
      break;
    }
  }
  if (cut == 0 && n - 0 >= kNlmsgHdrLen) {
    // The first message does not fit the chunk: read it whole if the file holds it and it is
    // plausible, else hand over what there is (the walker reports the bad length) and stop.
    const uint32_t len = Load<uint32_t>(buf_.data());
    if (len >= kNlmsgHdrLen && len <= left && len <= kMaxDatagramBytes) {
      n = std::min<size_t>(Align4(len), static_cast<size_t>(left));
      buf_.resize(n);
      if (absl::Status s = ReadAt(pos_, n, buf_.data()); !s.ok()) return s;
      cut = n;
    }
  }
  if (cut == 0) {  // malformed from here on: the walker stops at the same place the whole would
    cut = n;
    pos_ = size_;
  } else {
    pos_ += cut;
  }
  *out = {raw_time_ns_, raw_time_ns_, std::span<const uint8_t>(buf_.data(), cut)};
  return true;
}

namespace {

// Drains `reader` into one Capture whose datagrams point into its storage.
absl::StatusOr<Capture> Drain(CaptureReader reader) {
  Capture cap;
  cap.format = reader.format();
  std::vector<std::pair<size_t, CapturedDatagram>> at;  // storage offset, times
  CapturedDatagram d;
  for (;;) {
    absl::StatusOr<bool> more = reader.Next(&d);
    if (!more.ok()) return more.status();
    if (!*more) break;
    at.emplace_back(cap.storage.size(), d);
    cap.storage.insert(cap.storage.end(), d.bytes.begin(), d.bytes.end());
  }
  for (auto& [off, dg] : at) {
    dg.bytes = std::span<const uint8_t>(cap.storage.data() + off, dg.bytes.size());
    cap.datagrams.push_back(dg);
  }
  cap.requests = reader.requests();
  cap.skipped_packets = reader.skipped_packets();
  return cap;
}

}  // namespace

absl::StatusOr<Capture> ParseCapture(std::vector<uint8_t> bytes, const std::string& name,
                                     int64_t fallback_time_ns) {
  // One parser for files and memory: the bytes go through an anonymous in-memory file.
  UniqueFd fd(::memfd_create("capture", MFD_CLOEXEC));
  if (!fd) return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  size_t put = 0;
  while (put < bytes.size()) {
    const ssize_t k = ::write(fd.get(), bytes.data() + put, bytes.size() - put);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return absl::InternalError(absl::StrCat("memfd write: ", std::strerror(errno)));
    put += static_cast<size_t>(k);
  }
  auto reader = CaptureReader::FromFd(std::move(fd), name, fallback_time_ns);
  if (!reader.ok()) return reader.status();
  return Drain(std::move(*reader));
}

absl::StatusOr<Capture> ReadCapture(const std::string& path) {
  auto reader = CaptureReader::Open(path);
  if (!reader.ok()) return reader.status();
  return Drain(std::move(*reader));
}

}  // namespace xtcp::decode
