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
    lost_flushes_ = &metrics_->Count("Poller", "envelopeFlush", "error");
    lost_rows_ = &metrics_->Count("Poller", "envelopeRowsLost", "error");
    queue_full_ = &metrics_->Count("Output", "queueFull", "error");
    marshal_errors_ = &metrics_->Count(marshaller_->metric_op(), "marshal", "error");
    split_flushes_ = &metrics_->Count("Output", "splitFlush", "count");
    chunks_ = &metrics_->Count("Output", "chunks", "count");
    too_large_ = &metrics_->Count("Output", "recordTooLarge", "error");
  }
}

OutputStage::~OutputStage() {
  (void)Stop(absl::Seconds(1));
  if (writer_.joinable()) writer_.join();  // only an abandoned writer is still running
  sink_->SetLossCallback(nullptr);         // the sink's destructor may still fail messages
}

void OutputStage::Start() {
  sink_->SetLossCallback([this](uint64_t rows) {
    // Accepted earlier (counted sent), never delivered.
    rows_sent_.fetch_sub(std::min<uint64_t>(rows, rows_sent_.load()));
    CountLost(rows);
  });
  absl::MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  writer_ = std::thread([this] { Run(); });
}

std::unique_ptr<Envelope> OutputStage::Fresh() {
  absl::MutexLock lock(&mu_);
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

size_t OutputStage::QueuedEnvelopes() const {
  size_t n = 0;
  for (const Item& item : queue_) n += item.envelope != nullptr;  // reopen requests take no room
  return n;
}

void OutputStage::Recycle(std::unique_ptr<Envelope> env) {
  env->Clear();
  // Keep the pool's memory bounded after an unusually large envelope.
  env->bytes.ShrinkTo(std::max<size_t>(opts_.envelope_reserve, 64 << 10));
  // Envelopes beyond pool_size (made while the queue was full) are freed, not kept.
  if (free_.size() < std::max<size_t>(opts_.pool_size, 2)) free_.push_back(std::move(env));
  cv_.SignalAll();
}

void OutputStage::Submit(std::unique_ptr<Envelope> envelope, FlushReason reason) {
  const uint32_t rows = envelope->rows;
  bool late = false, warn = false;
  uint64_t held = 0;
  {
    absl::MutexLock lock(&mu_);
    const auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return QueuedEnvelopes() < std::max<size_t>(opts_.queue_depth, 1) || stopping_ || !running_;
    };
    if (opts_.block_when_full) {
      while (!room()) cv_.Wait(&mu_);
    } else if (!behind_ && opts_.submit_wait > absl::ZeroDuration()) {
      const absl::Time until = absl::Now() + opts_.submit_wait;
      while (!room() && !cv_.WaitWithDeadline(&mu_, until)) {
      }
    }
    late = stopping_ || !running_ || sink_closed_.load();
    if (!late && QueuedEnvelopes() < std::max<size_t>(opts_.queue_depth, 1)) {
      queue_.push_back({std::move(envelope), reason});
      cv_.SignalAll();
      return;
    }
    // Too late for this run, the destination is gone, or the writer is behind: drop, count.
    Recycle(std::move(envelope));
    if (!late) {
      behind_ = true;
      rows_dropped_full_.fetch_add(rows);
      // The line counts this drop too: "dropped N envelopes" = held back + this one.
      warn = full_limiter_.Admit(&held);
      ++held;
    }
  }
  if (!late && queue_full_ != nullptr) queue_full_->Increment();
  if (warn) {
    XTCP_LOG(kWarn,
             "sink %s is behind: output queue full, dropped %d envelopes (%d rows in this one) "
             "in the last 10 s; %d rows lost so far",
             std::string(sink_->scheme()), held, rows, rows_lost_.load() + rows);
  }
  CountLost(rows);
}

void OutputStage::WaitIdle() {
  absl::MutexLock lock(&mu_);
  while (!((queue_.empty() && !writing_) || !running_)) cv_.Wait(&mu_);
}

void OutputStage::RequestReopen() {
  absl::MutexLock lock(&mu_);
  if (!running_ || stopping_) return;
  queue_.push_back({nullptr, FlushReason::kPollEnd});
  cv_.SignalAll();
}

absl::Status OutputStage::Stop(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  uint64_t lost_rows = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!running_ || stopping_) return absl::OkStatus();
    stopping_ = true;
    deadline_ = deadline;
    cv_.SignalAll();
    // The writer sends what is queued until the deadline, then returns; unless the sink holds
    // it in a send.
    while (!writer_done_ && !cv_.WaitWithDeadline(&mu_, deadline)) {
    }
    for (Item& item : queue_) {
      if (item.envelope != nullptr) lost_rows += item.envelope->rows;
    }
    queue_.clear();
    if (!writer_done_) {
      abandoned_.store(true);
      lost_rows += in_flight_rows_;
      in_flight_rows_ = 0;
    }
    running_ = false;
    cv_.SignalAll();
  }
  if (lost_rows > 0) CountLost(lost_rows);
  if (abandoned_.load()) {
    if (metrics_) metrics_->Count("Output", "shutdownAbandoned", "error").Increment();  // once
    return absl::DeadlineExceededError(absl::StrCat(
        "sink ", std::string(sink_->scheme()), " still blocked in a send at the deadline; ",
        lost_rows, " rows queued or in flight counted lost"));
  }
  writer_.join();
  absl::Status drained = sink_->Drain(std::max(absl::ZeroDuration(), deadline - absl::Now()));
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
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) cv_.Wait(&mu_);
      if (queue_.empty() || (stopping_ && absl::Now() >= deadline_)) {
        writer_done_ = true;
        cv_.SignalAll();
        return;
      }
      item = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      in_flight_rows_ = item.envelope != nullptr ? item.envelope->rows : 0;
      cv_.SignalAll();  // room in the queue
    }
    if (item.envelope == nullptr) {
      const absl::Status s = sink_->Reopen();
      if (s.ok()) {
        XTCP_LOG(kInfo, "SIGHUP: flushed, sink %s reopened", std::string(sink_->scheme()));
      } else {
        XTCP_LOG(kError, "SIGHUP: sink %s: reopen failed: %s", std::string(sink_->scheme()),
                 std::string(s.message()));
      }
    } else if (sink_closed_.load()) {
      Settle(0, item.envelope->rows);
    } else {
      Write(item);
    }
    {
      absl::MutexLock lock(&mu_);
      if (item.envelope != nullptr) Recycle(std::move(item.envelope));
      behind_ = false;  // the writer moves: Submit() may wait for room again
      writing_ = false;
      in_flight_rows_ = 0;
      cv_.SignalAll();
    }
  }
}

void OutputStage::Settle(uint64_t sent, uint64_t lost) {
  {
    absl::MutexLock lock(&mu_);
    if (abandoned_.load()) return;  // Stop() counted the whole envelope lost already
    in_flight_rows_ -= std::min(in_flight_rows_, sent + lost);
  }
  rows_sent_.fetch_add(sent);
  if (lost > 0) CountLost(lost);
}

absl::Status OutputStage::MarshalRows(const Envelope& env, const std::vector<uint32_t>& ends,
                                      size_t first, size_t count, std::string* out) {
  const uint32_t begin = first == 0 ? 0 : ends[first - 1];
  const uint32_t end = ends[first + count - 1];
  EnvelopeView view{env.bytes.view().substr(begin, end - begin), static_cast<uint32_t>(count)};
  return marshaller_->Marshal(view, out);
}

bool OutputStage::SendWithRetry(std::string_view payload, uint64_t rows) {
  const std::string_view one[] = {payload};
  return SendWithRetry(one, rows);
}

bool OutputStage::SendWithRetry(std::span<const std::string_view> parts, uint64_t rows) {
  absl::Duration backoff = opts_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    const absl::Status s = sink_->SendRows(parts, rows);
    if (s.ok()) return true;
    if (absl::IsAborted(s)) {
      // The destination is gone for good (stdout closed): no retries, no warnings.
      if (!sink_closed_.exchange(true)) {
        XTCP_LOG(kInfo, "sink %s closed (%s): stopping", std::string(sink_->scheme()),
                 std::string(s.message()));
        if (opts_.on_sink_closed) opts_.on_sink_closed();
      }
      return false;
    }
    // Only the last failure is a warning: a peer that is down would otherwise flood the log.
    Log(attempt >= opts_.send_attempts ? LogLevel::kWarn : LogLevel::kDebug,
        "sink %s: send failed (attempt %d of %d): %s", std::string(sink_->scheme()), attempt,
        opts_.send_attempts, std::string(s.message()));
    if (attempt >= opts_.send_attempts) return false;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ && absl::Now() + backoff >= deadline_) return false;
    }
    absl::SleepFor(backoff);
    backoff *= 2;
  }
}

void OutputStage::CountLost(uint64_t rows) {
  rows_lost_.fetch_add(rows);
  if (lost_flushes_ != nullptr) {
    lost_flushes_->Increment();
    lost_rows_->Increment(static_cast<double>(rows));
  }
}

void OutputStage::Write(const Item& item) {
  const Envelope& env = *item.envelope;
  if (metrics_) {
    flush_by_reason_[static_cast<int>(item.reason)]->Increment();
    rows_flushed_->Increment(env.rows);
  }
  const size_t max = sink_->max_message_size();
  if (max > 0) marshaller_->RepeatHeader();
  // protobufList: send the header and the envelope bytes as they are, no copy.
  out_.clear();
  if (marshaller_->HeaderOnly(env.view(), &out_) &&
      (max == 0 || out_.size() + env.bytes.size() <= max)) {
    const std::string_view parts[] = {out_, env.bytes.view()};
    const bool ok = SendWithRetry(parts, env.rows);
    Settle(ok ? env.rows : 0, ok ? 0 : env.rows);
    return;
  }
  out_.clear();
  absl::Status ms = marshaller_->Marshal(env.view(), &out_);
  if (!ms.ok()) {
    XTCP_LOG(kError, "marshal %s failed: %s", std::string(marshaller_->name()),
             std::string(ms.message()));
    if (marshal_errors_ != nullptr) marshal_errors_->Increment();
    Settle(0, env.rows);
    return;
  }
  if (max == 0 || out_.size() <= max) {
    const bool ok = SendWithRetry(out_, env.rows);
    Settle(ok ? env.rows : 0, ok ? 0 : env.rows);
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
  if (split_flushes_ != nullptr) split_flushes_->Increment();
  size_t first = 0;
  // Start from the average size per row, with headroom.
  size_t guess = std::max<size_t>(1, ends.size() * max / out_.size() * 9 / 10);
  while (first < ends.size()) {
    size_t count = std::min(guess, ends.size() - first);
    for (;;) {
      out_.clear();
      if (first == 0) marshaller_->RepeatHeader();  // the flush's first message carries it
      if (!MarshalRows(env, ends, first, count, &out_).ok()) break;
      if (out_.size() <= max || count == 1) break;
      count = std::max<size_t>(1, count / 2);
    }
    if (out_.size() > max || out_.empty()) {
      // A single record that cannot fit in one datagram.
      if (too_large_ != nullptr) too_large_->Increment();
      Settle(0, count);
    } else if (SendWithRetry(out_, count)) {
      Settle(count, 0);
      if (chunks_ != nullptr) chunks_->Increment();
    } else {
      Settle(0, count);
    }
    first += count;
    guess = count;
  }
}

}  // namespace xtcp::pipeline
