#include "pipeline/envelope.h"

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/row_batch.h"
#include "record/record_codec.h"

namespace xtcp::pipeline {
namespace {

// Keeps every submitted envelope.
class CollectingConsumer : public EnvelopeConsumer {
 public:
  std::unique_ptr<Envelope> Fresh() override { return std::make_unique<Envelope>(); }
  void Submit(std::unique_ptr<Envelope> env, FlushReason reason) override {
    std::lock_guard lock(mu);
    reasons.push_back(reason);
    envelopes.push_back(std::move(env));
  }
  std::mutex mu;
  std::vector<std::unique_ptr<Envelope>> envelopes;
  std::vector<FlushReason> reasons;
};

// Appends `n` records with counters from the batcher; `pad` makes rows bigger.
void AppendRecords(EnvelopeBatcher* b, int n, size_t pad = 0) {
  std::string label(pad, 'x');
  RowBatch batch;
  record::FlatRecord r;
  r.meta.schema_version = 1;
  r.meta.label = label;
  for (int i = 0; i < n; ++i) {
    r.meta.record_counter = b->ReserveCounters(1);
    r.payload.inet_diag_msg_socket_source_port = static_cast<uint32_t>(i);
    batch.Add(r);
  }
  batch.AppendTo(b);
}

record::ProtoEnvelope Parse(const Envelope& env) {
  record::ProtoEnvelope e;
  EXPECT_TRUE(e.ParseFromArray(env.bytes.data(), static_cast<int>(env.bytes.size())));
  EXPECT_EQ(static_cast<uint32_t>(e.row_size()), env.rows);
  // The running size is the serialized size, byte for byte.
  EXPECT_EQ(e.SerializeAsString(), env.bytes.view());
  return e;
}

TEST(EnvelopeBatcher, RowsCapStartsAFreshEnvelopeAndDropsNothing) {
  CollectingConsumer c;
  EnvelopeBatcher b(10, 1 << 20, &c);
  AppendRecords(&b, 25);
  b.Flush(FlushReason::kPollEnd);
  ASSERT_EQ(c.envelopes.size(), 3u);
  EXPECT_EQ(c.reasons, (std::vector<FlushReason>{FlushReason::kRowsCap, FlushReason::kRowsCap,
                                                 FlushReason::kPollEnd}));
  uint64_t expect = 1;
  for (const auto& env : c.envelopes) {
    const record::ProtoEnvelope parsed = Parse(*env);
    for (const auto& row : parsed.row()) EXPECT_EQ(row.record_counter(), expect++);
  }
  EXPECT_EQ(expect, 26u);
  EXPECT_EQ(b.rows_appended(), 25u);
}

TEST(EnvelopeBatcher, ByteCapIsNeverExceeded) {
  CollectingConsumer c;
  EnvelopeBatcher b(100000, 1000, &c);
  for (int i = 0; i < 20; ++i) AppendRecords(&b, 7, static_cast<size_t>(i * 3));
  b.Flush(FlushReason::kPollEnd);
  size_t rows = 0;
  for (size_t i = 0; i < c.envelopes.size(); ++i) {
    EXPECT_LE(c.envelopes[i]->bytes.size(), 1000u);
    rows += Parse(*c.envelopes[i]).row_size();
    if (i + 1 < c.envelopes.size()) {
      EXPECT_EQ(c.reasons[i], FlushReason::kSizeCap);
    }
  }
  EXPECT_EQ(rows, 140u);
  EXPECT_GT(c.envelopes.size(), 3u);
}

TEST(EnvelopeBatcher, OversizedRowGoesAloneRatherThanBeingDropped) {
  CollectingConsumer c;
  EnvelopeBatcher b(100, 200, &c);
  AppendRecords(&b, 1, 10);
  AppendRecords(&b, 1, 500);  // bigger than the cap on its own
  AppendRecords(&b, 1, 10);
  b.Flush(FlushReason::kShutdown);
  ASSERT_EQ(c.envelopes.size(), 3u);
  EXPECT_EQ(c.envelopes[1]->rows, 1u);
  EXPECT_GT(c.envelopes[1]->bytes.size(), 200u);
}

TEST(EnvelopeBatcher, FlushOfAnEmptyBatchSendsNothing) {
  CollectingConsumer c;
  EnvelopeBatcher b(10, 1000, &c);
  b.Flush(FlushReason::kPollEnd);
  AppendRecords(&b, 3);
  b.Flush(FlushReason::kPollTimeout);
  b.Flush(FlushReason::kPollEnd);
  ASSERT_EQ(c.envelopes.size(), 1u);
  EXPECT_EQ(c.reasons[0], FlushReason::kPollTimeout);
}

TEST(EnvelopeBatcher, ConcurrentReadersLoseNothing) {
  CollectingConsumer c;
  EnvelopeBatcher b(333, 20000, &c);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) AppendRecords(&b, 20);
    });
  }
  for (auto& t : threads) t.join();
  b.Flush(FlushReason::kPollEnd);
  std::set<uint64_t> counters;
  for (const auto& env : c.envelopes) {
    const record::ProtoEnvelope parsed = Parse(*env);
    for (const auto& row : parsed.row()) counters.insert(row.record_counter());
  }
  EXPECT_EQ(counters.size(), 40000u);
  EXPECT_EQ(*counters.begin(), 1u);
  EXPECT_EQ(*counters.rbegin(), 40000u);
}

}  // namespace
}  // namespace xtcp::pipeline
