// XTCPFlatRecordService: each stream is a RecordFanout subscriber whose rows are written one
// FlatRecordsResponse at a time (the next write starts when the last is done: a slow client
// backs up its own queue only).
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "rpc/services.h"

namespace xtcp::rpc {
namespace {

using ::xtcp_flat_record::v1::FlatRecordsRequest;
using ::xtcp_flat_record::v1::FlatRecordsResponse;
using ::xtcp_flat_record::v1::PollFlatRecordsRequest;
using ::xtcp_flat_record::v1::PollFlatRecordsResponse;

// The triples of one stream kind (upstream's names).
struct StreamMetrics {
  StreamMetrics(Metrics* m, StreamKind kind) {
    const bool fr = kind == StreamKind::kFlatRecords;
    const char* rpc = fr ? "FlatRecords" : "PollFlatRecords";
    sent = &m->Count("flatRecordServiceSend", fr ? "frSent" : "pfrSent", "count");
    send_error = &m->Count("flatRecordServiceSend", fr ? "frSend" : "pfrSend", "error");
    start = &m->Count(Metrics::Subsystem::kRecordGrpc, rpc, "start", "count");
    complete = &m->Count(Metrics::Subsystem::kRecordGrpc, rpc, "complete", "count");
    duration = &m->Summary(Metrics::Subsystem::kRecordGrpc, rpc, "complete", "count");
    bad_row = &m->Count(Metrics::Subsystem::kRecordGrpc, rpc, "badRow", "error");
  }
  prometheus::Counter *sent, *send_error, *start, *complete, *bad_row;
  prometheus::Summary* duration;
};

// Writes a subscriber's rows to a stream. `Base` is the reactor type (server-streaming or bidi).
template <class Base, class Response>
class RecordPump : public Base {
 public:
  RecordPump(RecordFanout* fanout, StreamKind kind, std::string peer, Metrics* metrics)
      : fanout_(fanout), metrics_(metrics, kind), started_(absl::Now()) {
    metrics_.start->Increment();
    std::shared_ptr<RecordSubscriber> sub = fanout_->Subscribe(
        kind, std::move(peer), [this] { Pump(); },
        [this] { End(::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "xtcp2 is stopping")); });
    {
      absl::MutexLock lock(&mu_);
      sub_ = std::move(sub);
    }
    // A Publish() between Subscribe() and here found no sub_ to read: start what it queued.
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (ok) {
        metrics_.sent->Increment();
      } else {
        // The client went away or the call was cancelled: no more writes.
        metrics_.send_error->Increment();
        ending_ = true;
      }
    }
    Pump();
  }

  void OnCancel() override { End(::grpc::Status::CANCELLED); }

  void OnDone() override {
    std::shared_ptr<RecordSubscriber> sub;
    {
      absl::MutexLock lock(&mu_);
      sub = sub_;
    }
    fanout_->Unsubscribe(sub);  // no Pump()/End() from the fanout after this
    metrics_.complete->Increment();
    metrics_.duration->Observe(absl::ToDoubleSeconds(absl::Now() - started_));
    delete this;
  }

 protected:
  // Ends the call once no write is in flight.
  void End(::grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ending_ = true;
    if (status_.ok()) status_ = std::move(status);
    FinishIfIdle();
  }

  // Starts the next write if none is in flight and a row waits.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (writing_ || sub_ == nullptr) return;
    if (ending_) {
      FinishIfIdle();
      return;
    }
    std::string_view row;
    while (sub_->Next(&row)) {
      if (!response_.mutable_xtcp_flat_record()->ParseFromArray(row.data(),
                                                                static_cast<int>(row.size()))) {
        metrics_.bad_row->Increment();
        continue;
      }
      writing_ = true;
      this->StartWrite(&response_);
      return;
    }
  }

 private:
  void FinishIfIdle() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    finished_ = true;
    this->Finish(status_);
  }

  RecordFanout* const fanout_;
  StreamMetrics metrics_;
  const absl::Time started_;
  absl::Mutex mu_;
  std::shared_ptr<RecordSubscriber> sub_ ABSL_GUARDED_BY(mu_);
  Response response_ ABSL_GUARDED_BY(mu_);  // the write in flight
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  ::grpc::Status status_ ABSL_GUARDED_BY(mu_);  // OK until End() says otherwise
};

class FlatRecordsReactor final
    : public RecordPump<::grpc::ServerWriteReactor<FlatRecordsResponse>, FlatRecordsResponse> {
 public:
  using RecordPump::RecordPump;
};

class PollFlatRecordsReactor final
    : public RecordPump<::grpc::ServerBidiReactor<PollFlatRecordsRequest, PollFlatRecordsResponse>,
                        PollFlatRecordsResponse> {
 public:
  PollFlatRecordsReactor(RecordFanout* fanout, DaemonControl* control, std::string peer,
                         Metrics* metrics)
      : RecordPump(fanout, StreamKind::kPollFlatRecords, std::move(peer), metrics),
        control_(control),
        recv_(&metrics->Count(Metrics::Subsystem::kRecordGrpc, "PollFlatRecords", "srv.Recv",
                              "count")),
        eof_(&metrics->Count(Metrics::Subsystem::kRecordGrpc, "PollFlatRecords", "io.EOF",
                             "count")) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client closed its side (or went away): the stream ends, as upstream's on EOF.
      eof_->Increment();
      End(::grpc::Status::OK);
      return;
    }
    recv_->Increment();
    control_->TriggerPoll();
    StartRead(&request_);
  }

 private:
  DaemonControl* const control_;
  prometheus::Counter *recv_, *eof_;
  PollFlatRecordsRequest request_;  // the read in flight (one at a time)
};

}  // namespace

RecordService::RecordService(RecordFanout* fanout, DaemonControl* control, Metrics* metrics)
    : fanout_(fanout), control_(control), metrics_(metrics) {
  // Every triple from the start, so a dashboard sees zeros before the first client.
  StreamMetrics(metrics, StreamKind::kFlatRecords);
  StreamMetrics(metrics, StreamKind::kPollFlatRecords);
}

::grpc::ServerWriteReactor<FlatRecordsResponse>* RecordService::FlatRecords(
    ::grpc::CallbackServerContext* ctx, const FlatRecordsRequest* /*request*/) {
  return new FlatRecordsReactor(fanout_, StreamKind::kFlatRecords, ctx->peer(), metrics_);
}

::grpc::ServerBidiReactor<PollFlatRecordsRequest, PollFlatRecordsResponse>*
RecordService::PollFlatRecords(::grpc::CallbackServerContext* ctx) {
  return new PollFlatRecordsReactor(fanout_, control_, ctx->peer(), metrics_);
}

}  // namespace xtcp::rpc
