#pragma once
// RowBatch: one reader's encoded rows for one datagram, appended to the batcher in one call.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/byte_buffer.h"
#include "pipeline/envelope.h"
#include "record/record_codec.h"

namespace xtcp::pipeline {

class RowBatch {
 public:
  void Add(const record::FlatRecord& rec) {
    record::AppendEnvelopeRow(rec, &buf_);
    ends_.push_back(static_cast<uint32_t>(buf_.size()));
  }
  // Faster for many records sharing metadata (see record::RowEncoder).
  void Add(const record::RowEncoder& enc, uint64_t record_counter,
           const record::RecordPayload& payload) {
    enc.Append(record_counter, payload, &buf_);
    ends_.push_back(static_cast<uint32_t>(buf_.size()));
  }
  // The same with the row's own container columns (null: none).
  void Add(const record::RowEncoder& enc, uint64_t record_counter,
           const record::RecordPayload& payload, const record::ContainerColumns* container) {
    enc.Append(record_counter, payload, container, &buf_);
    ends_.push_back(static_cast<uint32_t>(buf_.size()));
  }
  size_t rows() const { return ends_.size(); }
  void AppendTo(EnvelopeBatcher* batcher) {
    if (!ends_.empty()) batcher->Append(buf_.view(), ends_);
    buf_.Clear();
    ends_.clear();
  }

 private:
  ByteBuffer buf_;
  std::vector<uint32_t> ends_;
};

}  // namespace xtcp::pipeline
