#include "parquet/thrift_compact.h"

namespace xtcp::parquet {

void CompactWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void CompactWriter::FieldHeader(int16_t id, uint8_t type) {
  const int delta = id - last_id_.back();
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | type));
  } else {
    out_->push_back(static_cast<char>(type));
    Varint(ZigZag(id));
  }
  last_id_.back() = id;
}

void CompactWriter::FieldI8(int16_t id, int8_t v) {
  FieldHeader(id, kByte);
  out_->push_back(static_cast<char>(v));
}

void CompactWriter::FieldI16(int16_t id, int16_t v) {
  FieldHeader(id, kI16);
  Varint(ZigZag(v));
}

void CompactWriter::FieldI32(int16_t id, int32_t v) {
  FieldHeader(id, kI32);
  Varint(ZigZag(v));
}

void CompactWriter::FieldI64(int16_t id, int64_t v) {
  FieldHeader(id, kI64);
  Varint(ZigZag(v));
}

void CompactWriter::FieldBool(int16_t id, bool v) { FieldHeader(id, v ? kBoolTrue : kBoolFalse); }

void CompactWriter::FieldBinary(int16_t id, std::string_view v) {
  FieldHeader(id, kBinary);
  ListBinary(v);
}

void CompactWriter::ListBinary(std::string_view v) {
  Varint(v.size());
  out_->append(v);
}

void CompactWriter::FieldStructBegin(int16_t id) {
  FieldHeader(id, kStruct);
  last_id_.push_back(0);
}

void CompactWriter::FieldListBegin(int16_t id, Type elem, uint32_t size) {
  FieldHeader(id, kList);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | elem));
  } else {
    out_->push_back(static_cast<char>(0xf0 | elem));
    Varint(size);
  }
}

void CompactWriter::EndStruct() {
  out_->push_back(0);
  if (last_id_.size() > 1) {
    last_id_.pop_back();
  } else {
    last_id_.back() = 0;  // a new top-level struct may follow
  }
}

}  // namespace xtcp::parquet
