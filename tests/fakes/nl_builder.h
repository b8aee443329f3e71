#pragma once
// Builds inet_diag reply datagrams byte by byte, for tests, fuzz seeds and benchmarks.
//
//   NlBuilder b;
//   b.BeginSocket(seq).Msg(msg).Attr(kAttrCong, "cubic\0").End();
//   b.Done(seq);
//   std::vector<uint8_t> datagram = b.Take();

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "decode/kernel_layout.h"

namespace xtcp::testing {

// Fields of struct inet_diag_msg in host terms.
struct FakeInetDiagMsg {
  uint8_t family = 2, state = 1, timer = 0, retrans = 0;
  uint16_t sport = 0, dport = 0;
  uint8_t src[16] = {}, dst[16] = {};
  uint32_t ifindex = 0;
  uint64_t cookie = 0;
  uint32_t expires = 0, rqueue = 0, wqueue = 0, uid = 0, inode = 0;
};

class NlBuilder {
 public:
  template <typename T>
  NlBuilder& Put(T v) {
    const size_t at = buf_.size();
    buf_.resize(at + sizeof(T));
    std::memcpy(buf_.data() + at, &v, sizeof(T));
    return *this;
  }
  NlBuilder& Bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
    return *this;
  }
  NlBuilder& Pad4() {
    while (buf_.size() % 4) buf_.push_back(0);
    return *this;
  }

  // Starts a netlink message; End() patches its length.
  NlBuilder& Begin(uint16_t type, uint32_t seq, uint16_t flags = decode::kNlmFMulti) {
    msg_start_ = buf_.size();
    return Put<uint32_t>(0)
        .Put<uint16_t>(type)
        .Put<uint16_t>(flags)
        .Put<uint32_t>(seq)
        .Put<uint32_t>(4242);
  }
  // A socket message; `type` 18 (TCPDIAG_GETSOCK) is what replies to the v1 request carry.
  NlBuilder& BeginSocket(uint32_t seq, uint16_t type = decode::kSockDiagByFamily) {
    return Begin(type, seq);
  }
  NlBuilder& Msg(const FakeInetDiagMsg& m) {
    Put(m.family).Put(m.state).Put(m.timer).Put(m.retrans);
    Put<uint16_t>(__builtin_bswap16(m.sport)).Put<uint16_t>(__builtin_bswap16(m.dport));
    Bytes(m.src, 16).Bytes(m.dst, 16).Put(m.ifindex);
    Put<uint32_t>(static_cast<uint32_t>(m.cookie))
        .Put<uint32_t>(static_cast<uint32_t>(m.cookie >> 32));
    return Put(m.expires).Put(m.rqueue).Put(m.wqueue).Put(m.uid).Put(m.inode);
  }
  NlBuilder& Attr(uint16_t type, const void* payload, size_t n) {
    Put<uint16_t>(static_cast<uint16_t>(4 + n)).Put<uint16_t>(type).Bytes(payload, n);
    return Pad4();
  }
  NlBuilder& Attr(uint16_t type, std::string_view payload) {
    return Attr(type, payload.data(), payload.size());
  }
  template <typename T>
  NlBuilder& AttrOf(uint16_t type, const T& v) {
    return Attr(type, &v, sizeof(T));
  }
  NlBuilder& End() {
    const uint32_t len = static_cast<uint32_t>(buf_.size() - msg_start_);
    std::memcpy(buf_.data() + msg_start_, &len, 4);
    return Pad4();
  }
  NlBuilder& Done(uint32_t seq, int32_t error = 0) {
    return Begin(decode::kNlmsgDone, seq).Put<int32_t>(error).End();
  }
  NlBuilder& Error(uint32_t seq, int32_t error) {
    Begin(decode::kNlmsgError, seq, 0).Put<int32_t>(error);
    // the offending request's header
    return Put<uint32_t>(72)
        .Put<uint16_t>(20)
        .Put<uint16_t>(0x301)
        .Put<uint32_t>(seq)
        .Put<uint32_t>(0)
        .End();
  }

  size_t size() const { return buf_.size(); }
  std::vector<uint8_t>& bytes() { return buf_; }
  std::vector<uint8_t> Take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
  size_t msg_start_ = 0;
};

}  // namespace xtcp::testing
