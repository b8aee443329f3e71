#pragma once
// ByteBuffer: a growable byte array for building wire output without zero-filling.
// Not thread-safe. Capacity is kept across Clear() so a reused buffer stops allocating.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace xtcp {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t capacity) { Reserve(capacity); }
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  const uint8_t* data() const { return data_.get(); }
  uint8_t* data() { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_.get()), size_}; }

  void Clear() { size_ = 0; }

  // Ensures room for `n` more bytes and returns where they start. Follow with Commit().
  uint8_t* Prepare(size_t n) {
    if (capacity_ - size_ < n) Grow(size_ + n);
    return data_.get() + size_;
  }
  // Marks `n` bytes written at Prepare()'s pointer as part of the buffer.
  void Commit(size_t n) { size_ += n; }
  // Commits everything up to `end`, a pointer inside the prepared region.
  void CommitTo(const uint8_t* end) { size_ = static_cast<size_t>(end - data_.get()); }

  void Append(const void* p, size_t n) {
    if (n == 0) return;
    std::memcpy(Prepare(n), p, n);
    size_ += n;
  }
  void Append(std::string_view s) { Append(s.data(), s.size()); }

  // Makes the capacity at least `n` (exactly `n` if it grows: no rounding up).
  void Reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }
  // Drops the allocation if it is larger than `keep` bytes (bounds memory after a huge burst).
  void ShrinkTo(size_t keep) {
    if (capacity_ > keep && size_ <= keep) {
      auto fresh = std::make_unique_for_overwrite<uint8_t[]>(keep);
      if (size_ != 0) std::memcpy(fresh.get(), data_.get(), size_);
      data_ = std::move(fresh);
      capacity_ = keep;
    }
  }

 private:
  void Grow(size_t need) {
    size_t cap = capacity_ == 0 ? 256 : capacity_;
    while (cap < need) cap *= 2;
    Reallocate(cap);
  }
  void Reallocate(size_t cap) {
    auto fresh = std::make_unique_for_overwrite<uint8_t[]>(cap);
    if (size_ != 0) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = cap;
  }

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace xtcp
