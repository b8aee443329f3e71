#include "pipeline/envelope.h"

#include <utility>

namespace xtcp::pipeline {

EnvelopeBatcher::EnvelopeBatcher(uint32_t max_rows, uint32_t max_bytes, EnvelopeConsumer* consumer)
    : max_rows_(max_rows == 0 ? 1 : max_rows), max_bytes_(max_bytes), consumer_(consumer) {}

// Full envelopes are submitted while the lock is held: order is kept, and a consumer that blocks
// (queue full) simply holds every reader back until the output catches up. The consumer never
// takes this lock, so that cannot deadlock.
void EnvelopeBatcher::Append(std::string_view rows, std::span<const uint32_t> ends) {
  absl::MutexLock lock(&mu_);
  uint32_t start = 0;
  for (const uint32_t end : ends) {
    const uint32_t len = end - start;
    if (current_ == nullptr) current_ = consumer_->Fresh();
    if (current_->rows > 0 && current_->bytes.size() + len > max_bytes_) {
      consumer_->Submit(std::move(current_), FlushReason::kSizeCap);
      current_ = consumer_->Fresh();
    }
    current_->bytes.Append(rows.data() + start, len);
    ++current_->rows;
    if (current_->rows >= max_rows_) consumer_->Submit(std::move(current_), FlushReason::kRowsCap);
    start = end;
  }
  rows_appended_.fetch_add(ends.size(), std::memory_order_relaxed);
}

void EnvelopeBatcher::Flush(FlushReason reason) {
  absl::MutexLock lock(&mu_);
  if (current_ == nullptr || current_->rows == 0) return;
  consumer_->Submit(std::move(current_), reason);
}

}  // namespace xtcp::pipeline
