#include "rpc/record_fanout.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "record/record_codec.h"
#include "record/wire.h"

namespace xtcp::rpc {
// ---- RecordSubscriber ----

bool RecordSubscriber::Next(std::string_view* row) {
  absl::MutexLock lock(&mu_);
  while (!queue_.empty()) {
    const std::string_view bytes = queue_.front()->bytes;
    const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
    const uint8_t* end = begin + bytes.size();
    const uint8_t* p = begin + offset_;
    uint64_t len = 0;
    if (p < end && *p == record::kEnvelopeRowTag &&
        (p = record::wire::GetVarint(p + 1, end, &len)) != nullptr &&
        len <= static_cast<uint64_t>(end - p)) {
      *row = bytes.substr(static_cast<size_t>(p - begin), static_cast<size_t>(len));
      offset_ = static_cast<size_t>(p - begin) + static_cast<size_t>(len);
      return true;
    }
    // Done with the front chunk (or it cannot be framed further: the batcher wrote it, so not
    // expected).
    queued_bytes_ -= bytes.size();
    queue_.pop_front();
    offset_ = 0;
  }
  idle_ = true;
  return false;
}

uint64_t RecordSubscriber::rows_dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

bool RecordSubscriber::Push(const std::shared_ptr<const Chunk>& chunk, bool* wake) {
  absl::MutexLock lock(&mu_);
  *wake = false;
  if (queued_bytes_ + chunk->bytes.size() > max_bytes_ && !queue_.empty()) {
    dropped_ += chunk->rows;
    return false;
  }
  // An empty queue always takes the chunk, whatever its size: a client that keeps up gets every
  // row even when one Envelope is larger than the bound.
  queue_.push_back(chunk);
  queued_bytes_ += chunk->bytes.size();
  if (idle_) {
    idle_ = false;
    *wake = true;
  }
  return true;
}

void RecordSubscriber::Wake() {
  absl::MutexLock lock(&gate_);
  if (!closed_ && wake_) wake_();
}

void RecordSubscriber::End() {
  absl::MutexLock lock(&gate_);
  if (!closed_ && end_) end_();
}

void RecordSubscriber::Close() {
  absl::MutexLock lock(&gate_);
  closed_ = true;
}

// ---- RecordFanout ----

RecordFanout::FanoutMetrics::FanoutMetrics(Metrics* m)
    : start(&m->Count("flatRecordServiceSend", "start", "count")),
      complete(&m->Count("flatRecordServiceSend", "complete", "count")),
      fr_dropped(&m->Count("flatRecordServiceSend", "frQueueFull", "error")),
      pfr_dropped(&m->Count("flatRecordServiceSend", "pfrQueueFull", "error")),
      clients(&m->Gauge("RecordFanout", "clients", "gauge")) {}

RecordFanout::RecordFanout(RecordFanoutOptions opts, Metrics* metrics)
    : opts_(opts), metrics_(metrics) {}

std::shared_ptr<RecordSubscriber> RecordFanout::Subscribe(StreamKind kind, std::string peer,
                                                          std::function<void()> wake,
                                                          std::function<void()> end) {
  std::shared_ptr<RecordSubscriber> sub(new RecordSubscriber(
      kind, std::move(peer), opts_.client_buffer_bytes, std::move(wake), std::move(end)));
  bool closed = false;
  {
    absl::MutexLock lock(&mu_);
    closed = closed_;
    if (!closed) {
      subs_.push_back(sub);
      metrics_.clients->Set(static_cast<double>(subs_.size()));
    }
  }
  if (closed) sub->End();
  return sub;
}

void RecordFanout::Unsubscribe(const std::shared_ptr<RecordSubscriber>& sub) {
  {
    absl::MutexLock lock(&mu_);
    std::erase(subs_, sub);
    metrics_.clients->Set(static_cast<double>(subs_.size()));
  }
  sub->Close();  // waits for a callback of it in progress
}

void RecordFanout::CloseAll() {
  std::vector<std::shared_ptr<RecordSubscriber>> subs;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    subs = subs_;
  }
  for (const auto& s : subs) s->End();
}

size_t RecordFanout::clients() const {
  absl::MutexLock lock(&mu_);
  return subs_.size();
}

void RecordFanout::Publish(const pipeline::Envelope& env) {
  std::vector<std::shared_ptr<RecordSubscriber>> subs;
  {
    absl::MutexLock lock(&mu_);
    if (subs_.empty() || env.rows == 0) return;
    subs = subs_;
  }
  metrics_.start->Increment();
  auto chunk = std::make_shared<RecordSubscriber::Chunk>();
  chunk->bytes.assign(env.bytes.view());
  chunk->rows = env.rows;
  const std::shared_ptr<const RecordSubscriber::Chunk> shared = std::move(chunk);
  uint64_t dropped = 0;
  std::string behind;
  for (const auto& s : subs) {
    bool wake = false;
    if (!s->Push(shared, &wake)) {
      dropped += shared->rows;
      (s->kind() == StreamKind::kFlatRecords ? metrics_.fr_dropped : metrics_.pfr_dropped)
          ->Increment(shared->rows);
      if (behind.empty()) behind = s->peer_;
      continue;
    }
    if (wake) s->Wake();
  }
  if (dropped > 0) {
    rows_dropped_.fetch_add(dropped, std::memory_order_relaxed);
    uint64_t held = 0;
    bool admit = false;
    {
      absl::MutexLock lock(&mu_);
      admit = behind_limiter_.Admit(&held);
    }
    if (admit) {
      XTCP_LOG(kWarn,
               "gRPC record stream: %d rows dropped for clients that are behind (%s first; each "
               "may queue %d bytes)%s",
               dropped, behind, opts_.client_buffer_bytes,
               held ? absl::StrCat(" (", held, " similar messages suppressed)") : "");
    }
  }
  metrics_.complete->Increment();
}

}  // namespace xtcp::rpc
