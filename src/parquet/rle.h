// The RLE / bit-packed hybrid encoding (Parquet "RLE", encoding 3) used for definition levels and
// dictionary indices. A sequence of runs, each introduced by a ULEB128 varint header:
//
//   RLE run:        header = count << 1          then the value in ceil(bit_width / 8) bytes, LE
//   bit-packed run: header = (groups << 1) | 1   then groups * 8 values, bit_width bits each,
//                                                packed least significant bit first
//
// Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups of 8.
// Only the last bit-packed group may be padded (with zeros); the reader knows the value count.
// No length prefix here: data pages put a 4-byte one before definition levels, and dictionary
// indices are preceded by one bit-width byte instead (see writer.cc).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace xtcp::parquet {

// Appends the hybrid encoding of `values` (each < 2^bit_width, bit_width in 0..32) to *out.
void AppendRleHybrid(std::span<const uint32_t> values, int bit_width, std::string* out);

// Bits needed for values 0..max_value (0 for 0).
int BitWidthFor(uint32_t max_value);

}  // namespace xtcp::parquet
