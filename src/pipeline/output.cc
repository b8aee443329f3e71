#include "pipeline/output.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "record/record_codec.h"

namespace xtcp::pipeline {

OutputStage::OutputStage(std::unique_ptr<Marshaller> marshaller, std::unique_ptr<Sink> sink,
                         Metrics* metrics, OutputOptions opts)
    : marshaller_(std::move(marshaller)), sink_(std::move(sink)), metrics_(metrics), opts_(opts) {
  if (metrics_ != nullptr) {
    for (int r = 0; r < 6; ++r) {
      flush_by_reason_[r] =
          &metrics_->Count("Poller", "envelopeFlush", FlushReasonName(static_cast<FlushReason>(r)));
    }
    rows_flushed_ = &metrics_->Count("Poller", "envelopeRows", "count");
  }
}

OutputStage::~OutputStage() { (void)Stop(absl::Seconds(1)); }

void OutputStage::Start() {
  std::unique_lock lock(mu_);
  if (running_) return;
  running_ = true;
  writer_ = std::thread([this] { Run(); });
}

std::unique_ptr<Envelope> OutputStage::Fresh() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty() || created_ < std::max<size_t>(opts_.pool_size, 2); });
  if (!free_.empty()) {
    auto env = std::move(free_.back());
    free_.pop_back();
    return env;
  }
  ++created_;
  auto env = std::make_unique<Envelope>();
  // Reserved once at its final size: growing by doubling would leave ~1 MiB of freed smaller
  // blocks behind per envelope. Untouched capacity costs no resident memory.
  env->bytes.Reserve(opts_.envelope_reserve);
  return env;
}

void OutputStage::Submit(std::unique_ptr<Envelope> envelope, FlushReason reason) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    // Too late for this run: count it, recycle the envelope.
    const uint32_t rows = envelope->rows;
    envelope->Clear();
    free_.push_back(std::move(envelope));
    cv_.notify_all();
    lock.unlock();
    CountLost(rows);
    return;
  }
  cv_.wait(lock,
           [&] { return queue_.size() < std::max<size_t>(opts_.queue_depth, 1) || !running_; });
  queue_.push_back({std::move(envelope), reason});
  cv_.notify_all();
}

void OutputStage::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && !writing_) || !running_; });
}

absl::Status OutputStage::Stop(absl::Duration timeout) {
  {
    std::unique_lock lock(mu_);
    if (!running_ || stopping_) return absl::OkStatus();
    stopping_ = true;
    deadline_ = absl::Now() + timeout;
    cv_.notify_all();
  }
  writer_.join();
  uint64_t lost_rows = 0;
  {
    std::unique_lock lock(mu_);
    for (Item& item : queue_) lost_rows += item.envelope->rows;
    queue_.clear();
    running_ = false;
    cv_.notify_all();
  }
  if (lost_rows > 0) CountLost(lost_rows);
  const absl::Time now = absl::Now();
  absl::Status drained = sink_->Drain(std::max(absl::ZeroDuration(), deadline_ - now));
  if (lost_rows > 0) {
    return absl::DeadlineExceededError(
        absl::StrCat(lost_rows, " rows were still queued at the shutdown deadline"));
  }
  return drained;
}

void OutputStage::Run() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() || (stopping_ && absl::Now() >= deadline_)) return;
      item = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      cv_.notify_all();  // room in the queue
    }
    Write(item);
    {
      std::unique_lock lock(mu_);
      item.envelope->Clear();
      // Keep the pool's memory bounded after an unusually large envelope.
      item.envelope->bytes.ShrinkTo(std::max<size_t>(opts_.envelope_reserve, 64 << 10));
      free_.push_back(std::move(item.envelope));
      writing_ = false;
      cv_.notify_all();
    }
  }
}

absl::Status OutputStage::MarshalRows(const Envelope& env, const std::vector<uint32_t>& ends,
                                      size_t first, size_t count, std::string* out) {
  const uint32_t begin = first == 0 ? 0 : ends[first - 1];
  const uint32_t end = ends[first + count - 1];
  EnvelopeView view{env.bytes.view().substr(begin, end - begin), static_cast<uint32_t>(count)};
  return marshaller_->Marshal(view, out);
}

bool OutputStage::SendWithRetry(std::string_view payload) {
  const std::string_view one[] = {payload};
  return SendWithRetry(one);
}

bool OutputStage::SendWithRetry(std::span<const std::string_view> parts) {
  absl::Duration backoff = opts_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    const absl::Status s = sink_->SendParts(parts);
    if (s.ok()) return true;
    // Only the last failure is a warning: a peer that is down would otherwise flood the log.
    Log(attempt >= opts_.send_attempts ? LogLevel::kWarn : LogLevel::kDebug,
        "sink %s: send failed (attempt %d of %d): %s", std::string(sink_->scheme()), attempt,
        opts_.send_attempts, std::string(s.message()));
    if (attempt >= opts_.send_attempts) return false;
    {
      std::unique_lock lock(mu_);
      if (stopping_ && absl::Now() + backoff >= deadline_) return false;
    }
    absl::SleepFor(backoff);
    backoff *= 2;
  }
}

void OutputStage::CountLost(uint64_t rows) {
  rows_lost_.fetch_add(rows);
  if (metrics_) {
    metrics_->Count("Poller", "envelopeFlush", "error").Increment();
    metrics_->Count("Poller", "envelopeRowsLost", "error").Increment(static_cast<double>(rows));
  }
}

void OutputStage::Write(const Item& item) {
  const Envelope& env = *item.envelope;
  flushes_.fetch_add(1);
  if (metrics_) {
    flush_by_reason_[static_cast<int>(item.reason)]->Increment();
    rows_flushed_->Increment(env.rows);
  }
  const size_t max = sink_->max_message_size();
  // protobufList: send the header and the envelope bytes as they are, no copy.
  out_.clear();
  if (marshaller_->HeaderOnly(env.view(), &out_) &&
      (max == 0 || out_.size() + env.bytes.size() <= max)) {
    const std::string_view parts[] = {out_, env.bytes.view()};
    if (SendWithRetry(parts)) {
      rows_sent_.fetch_add(env.rows);
    } else {
      CountLost(env.rows);
    }
    return;
  }
  out_.clear();
  absl::Status ms = marshaller_->Marshal(env.view(), &out_);
  if (!ms.ok()) {
    XTCP_LOG(kError, "marshal %s failed: %s", std::string(marshaller_->name()),
             std::string(ms.message()));
    if (metrics_) metrics_->Count(marshaller_->metric_op(), "marshal", "error").Increment();
    CountLost(env.rows);
    return;
  }
  if (max == 0 || out_.size() <= max) {
    if (SendWithRetry(out_)) {
      rows_sent_.fetch_add(env.rows);
    } else {
      CountLost(env.rows);
    }
    return;
  }

  // Too big for one datagram: cut at record boundaries into chunks that each fit.
  std::vector<uint32_t> ends;
  ends.reserve(env.rows);
  uint32_t pos = 0;
  record::ForEachEnvelopeRow(env.bytes.view(), [&](std::string_view rec) {
    pos = static_cast<uint32_t>(rec.data() + rec.size() - env.bytes.view().data());
    ends.push_back(pos);
  });
  if (metrics_) metrics_->Count("Output", "splitFlush", "count").Increment();
  size_t first = 0;
  // Start from the average size per row, with headroom.
  size_t guess = std::max<size_t>(1, ends.size() * max / out_.size() * 9 / 10);
  while (first < ends.size()) {
    size_t count = std::min(guess, ends.size() - first);
    for (;;) {
      out_.clear();
      if (!MarshalRows(env, ends, first, count, &out_).ok()) break;
      if (out_.size() <= max || count == 1) break;
      count = std::max<size_t>(1, count / 2);
    }
    if (out_.size() > max || out_.empty()) {
      // A single record that cannot fit in one datagram.
      if (metrics_) metrics_->Count("Output", "recordTooLarge", "error").Increment();
      CountLost(count);
    } else if (SendWithRetry(out_)) {
      rows_sent_.fetch_add(count);
      if (metrics_) metrics_->Count("Output", "chunks", "count").Increment();
    } else {
      CountLost(count);
    }
    first += count;
    guess = count;
  }
}

}  // namespace xtcp::pipeline
