#include "marshal/protobuf_list_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "record/wire.h"

namespace xtcp::marshal {

ProtobufListReader::ProtobufListReader(int fd) : fd_(fd) {
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) file_size_ = st.st_size;
}

absl::StatusOr<size_t> ProtobufListReader::Fill(size_t n) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  while (buf_.size() - pos_ < n && !eof_) {
    if (pos_ > (1u << 20)) {  // drop consumed bytes now and then
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    // Grow by what arrives, never by what a length field claims.
    const size_t want =
        std::min<size_t>(std::max<size_t>(n - (buf_.size() - pos_), 64 << 10), 1 << 20);
    const size_t old = buf_.size();
    buf_.resize(old + want);
    const ssize_t got = ::read(fd_, buf_.data() + old, want);
    if (got < 0) {
      buf_.resize(old);
      if (errno == EINTR) continue;
      return absl::DataLossError(
          absl::StrCat("read error at byte offset ", offset_, ": ", std::strerror(errno)));
    }
    buf_.resize(old + static_cast<size_t>(got));
    if (got == 0) eof_ = true;
  }
  return std::min(n, buf_.size() - pos_);
}

absl::StatusOr<bool> ProtobufListReader::Next(record::ProtoEnvelope* envelope) {
  // The length varint is read a byte at a time so that a live stream (stdin) is never waited on
  // for bytes beyond the message at hand.
  uint64_t len = 0;
  const uint8_t* body = nullptr;
  const uint8_t* p = nullptr;
  for (size_t k = 1; k <= 10 && body == nullptr; ++k) {
    auto have = Fill(k);
    if (!have.ok()) return have.status();
    if (*have == 0 && k == 1) return false;
    if (*have < k) break;
    p = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
    body = record::wire::GetVarint(p, p + k, &len);
  }
  if (body == nullptr) {
    return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset_,
                                            ": truncated or invalid length varint"));
  }
  const size_t prefix = static_cast<size_t>(body - p);
  if (len > kMaxEnvelopeBytes) {
    return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset_,
                                            ": envelope length ", len, " exceeds ",
                                            kMaxEnvelopeBytes, " bytes"));
  }
  if (file_size_ >= 0) {
    const uint64_t left = static_cast<uint64_t>(file_size_) -
                          std::min<uint64_t>(offset_ + prefix, static_cast<uint64_t>(file_size_));
    if (len > left) {
      return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset_,
                                              ": envelope of ", len, " bytes truncated: only ",
                                              left, " bytes left in the file"));
    }
  }
  const auto have = Fill(prefix + len);
  if (!have.ok()) return have.status();
  if (*have < prefix + len) {
    return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset_,
                                            ": envelope of ", len, " bytes truncated after ",
                                            *have - prefix, " bytes"));
  }
  if (!envelope->ParseFromArray(buf_.data() + pos_ + prefix, static_cast<int>(len))) {
    return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset_,
                                            ": envelope of ", len, " bytes does not parse"));
  }
  pos_ += prefix + len;
  offset_ += prefix + len;
  return true;
}

absl::Status ParseProtobufList(std::string_view bytes, std::vector<record::ProtoEnvelope>* out) {
  out->clear();
  uint64_t offset = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    uint64_t len = 0;
    const uint8_t* body = record::wire::GetVarint(p, end, &len);
    if (body == nullptr) {
      return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset,
                                              ": truncated or invalid length varint"));
    }
    if (len > static_cast<uint64_t>(end - body)) {
      return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset,
                                              ": envelope of ", len, " bytes truncated after ",
                                              end - body, " bytes"));
    }
    if (!out->emplace_back().ParseFromArray(body, static_cast<int>(len))) {
      return absl::DataLossError(absl::StrCat("malformed protobufList at byte offset ", offset,
                                              ": envelope of ", len, " bytes does not parse"));
    }
    offset += static_cast<uint64_t>(body - p) + len;
    p = body + len;
  }
  return absl::OkStatus();
}

}  // namespace xtcp::marshal
