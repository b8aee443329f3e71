// The Thrift compact protocol, write side only: just what Parquet's metadata structs need.
//
// Field header (one byte when the field id grows by 1..15 over the previous field of the same
// struct, else the type byte followed by the id as a zigzag varint):
//
//   +--------+--------+         +--------+----------------+
//   | delta  |  type  |   or    | 0000   |  type  | zigzag(id) varint ...
//   +--------+--------+         +--------+----------------+
//    bits 7-4  bits 3-0
//
// Integers are zigzag varints (i16/i32/i64), i8 is one raw byte, binary/string is a varint length
// then the bytes, a bool field carries its value in the type nibble (1 true, 2 false), a list is
// a header byte (size << 4 | element type, or 0xF? followed by a varint size when size >= 15),
// and a struct ends with a 0x00 stop byte. Nested structs restart field deltas at 0.
//
// Not thread-safe; appends to a caller-owned std::string that must outlive the writer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xtcp::parquet {

class CompactWriter {
 public:
  // Compact type ids (the low nibble of a field header, and list element types).
  enum Type : uint8_t {
    kBoolTrue = 1,
    kBoolFalse = 2,
    kByte = 3,
    kI16 = 4,
    kI32 = 5,
    kI64 = 6,
    kDouble = 7,
    kBinary = 8,
    kList = 9,
    kStruct = 12,
  };

  explicit CompactWriter(std::string* out) : out_(out) { last_id_.push_back(0); }

  void FieldI8(int16_t id, int8_t v);
  void FieldI16(int16_t id, int16_t v);
  void FieldI32(int16_t id, int32_t v);
  void FieldI64(int16_t id, int64_t v);
  void FieldBool(int16_t id, bool v);
  void FieldBinary(int16_t id, std::string_view v);
  // Starts a nested struct as field `id`; close it with EndStruct().
  void FieldStructBegin(int16_t id);
  // A list field of `size` elements of compact type `elem`; the caller writes the elements.
  void FieldListBegin(int16_t id, Type elem, uint32_t size);
  // Elements of a list (no field header).
  void ListI32(int32_t v) { Varint(ZigZag(v)); }
  void ListBinary(std::string_view v);
  void ListStructBegin() { last_id_.push_back(0); }
  // Writes the stop byte of the innermost open struct (or of the top-level one).
  void EndStruct();

  // Exposed for tests.
  static uint64_t ZigZag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }
  void Varint(uint64_t v);

 private:
  void FieldHeader(int16_t id, uint8_t type);

  std::string* out_;
  std::vector<int16_t> last_id_;  // last field id per open struct
};

}  // namespace xtcp::parquet
