// RecordFanout: what each client gets, what a client that is behind loses, and that callbacks
// never run after Unsubscribe(), with publishers and clients on many threads.
#include "rpc/record_fanout.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "gtest/gtest.h"
#include "record/record_codec.h"
#include "xtcp_flat_record/v1/xtcp_flat_record.pb.h"

namespace xtcp::rpc {
namespace {

// An Envelope of `n` records with counters first, first+1, ...
pipeline::Envelope MakeEnvelope(uint64_t first, uint32_t n, size_t pad = 0) {
  ::xtcp_flat_record::v1::Envelope env;
  for (uint32_t i = 0; i < n; ++i) {
    auto* r = env.add_row();
    r->set_record_counter(first + i);
    r->set_hostname(std::string(pad, 'h'));
  }
  pipeline::Envelope out;
  const std::string bytes = env.SerializeAsString();
  out.bytes.Append(bytes.data(), bytes.size());
  out.rows = n;
  return out;
}

uint64_t CounterOf(std::string_view row) {
  ::xtcp_flat_record::v1::XtcpFlatRecord r;
  EXPECT_TRUE(r.ParseFromArray(row.data(), static_cast<int>(row.size())));
  return r.record_counter();
}

TEST(RecordFanout, NoClientsNoCopyAndEveryClientGetsEveryRowInOrder) {
  Metrics m;
  RecordFanout fanout({}, &m);
  fanout.Publish(MakeEnvelope(1, 5));  // nobody listens: nothing counted
  EXPECT_EQ(m.CountValue("flatRecordServiceSend", "start", "count"), 0);

  std::atomic<int> wakes{0};
  auto a = fanout.Subscribe(
      StreamKind::kFlatRecords, "a", [&] { ++wakes; }, [] {});
  auto b = fanout.Subscribe(
      StreamKind::kPollFlatRecords, "b", [&] { ++wakes; }, [] {});
  EXPECT_EQ(fanout.clients(), 2u);
  fanout.Publish(MakeEnvelope(10, 3));
  fanout.Publish(MakeEnvelope(13, 2));
  EXPECT_EQ(wakes.load(), 2);  // each woken once: the second Publish found them busy
  for (const auto& sub : {a, b}) {
    std::string_view row;
    std::vector<uint64_t> got;
    while (sub->Next(&row)) got.push_back(CounterOf(row));
    EXPECT_EQ(got, (std::vector<uint64_t>{10, 11, 12, 13, 14}));
  }
  // Idle again: the next Publish wakes them.
  fanout.Publish(MakeEnvelope(15, 1));
  EXPECT_EQ(wakes.load(), 4);
  EXPECT_EQ(m.CountValue("flatRecordServiceSend", "start", "count"), 3);
  fanout.Unsubscribe(a);
  fanout.Unsubscribe(b);
  EXPECT_EQ(fanout.clients(), 0u);
}

TEST(RecordFanout, AClientBehindLosesNewRowsForItselfOnlyAndTheyAreCounted) {
  Metrics m;
  RecordFanout fanout({.client_buffer_bytes = 4096}, &m);
  auto slow = fanout.Subscribe(
      StreamKind::kFlatRecords, "slow", [] {}, [] {});
  auto fast = fanout.Subscribe(
      StreamKind::kPollFlatRecords, "fast", [] {}, [] {});
  uint64_t published = 0, fast_got = 0;
  for (int i = 0; i < 20; ++i) {
    fanout.Publish(MakeEnvelope(published + 1, 10, 100));  // ~1.2 KB each
    published += 10;
    std::string_view row;
    while (fast->Next(&row)) ++fast_got;
  }
  EXPECT_EQ(fast_got, published);
  EXPECT_EQ(fast->rows_dropped(), 0u);
  // The slow one holds what fits (the first Envelope always fits), the rest is counted.
  uint64_t slow_got = 0;
  std::string_view row;
  while (slow->Next(&row)) ++slow_got;
  EXPECT_GT(slow_got, 0u);
  EXPECT_LT(slow_got, published);
  EXPECT_EQ(slow_got + slow->rows_dropped(), published);
  EXPECT_EQ(fanout.rows_dropped(), slow->rows_dropped());
  EXPECT_EQ(m.CountValue("flatRecordServiceSend", "frQueueFull", "error"),
            static_cast<double>(slow->rows_dropped()));
  EXPECT_EQ(m.CountValue("flatRecordServiceSend", "pfrQueueFull", "error"), 0);
  // An Envelope larger than the bound still reaches a client whose queue is empty.
  fanout.Publish(MakeEnvelope(1000, 100, 100));
  uint64_t big = 0;
  while (slow->Next(&row)) ++big;
  EXPECT_EQ(big, 100u);
  fanout.Unsubscribe(slow);
  fanout.Unsubscribe(fast);
}

TEST(RecordFanout, CloseAllEndsEveryClientAndLaterOnesAtOnce) {
  Metrics m;
  RecordFanout fanout({}, &m);
  std::atomic<int> ended{0};
  auto a = fanout.Subscribe(
      StreamKind::kFlatRecords, "a", [] {}, [&] { ++ended; });
  fanout.CloseAll();
  EXPECT_EQ(ended.load(), 1);
  auto b = fanout.Subscribe(
      StreamKind::kFlatRecords, "b", [] {}, [&] { ++ended; });
  EXPECT_EQ(ended.load(), 2);
  EXPECT_EQ(fanout.clients(), 1u);  // b was never added
  fanout.Unsubscribe(a);
  fanout.Unsubscribe(b);
}

// The framing Next() relies on (the record codec's, shared with the marshallers).
TEST(RecordFanout, EnvelopeRowFramingAndGarbage) {
  const pipeline::Envelope env = MakeEnvelope(7, 4);
  std::vector<uint64_t> got;
  EXPECT_TRUE(record::ForEachEnvelopeRow(env.bytes.view(),
                                         [&](std::string_view r) { got.push_back(CounterOf(r)); }));
  EXPECT_EQ(got, (std::vector<uint64_t>{7, 8, 9, 10}));
  EXPECT_FALSE(record::ForEachEnvelopeRow("\x0a\x01x", [](std::string_view) {}));  // field 1
  EXPECT_FALSE(record::ForEachEnvelopeRow("\x52\x10x", [](std::string_view) {}));  // too short
}

// Publishers on two threads, clients subscribing, draining and leaving on four: no callback runs
// after Unsubscribe() (ASan/TSan would also see one touching the dead round's state).
TEST(RecordFanout, ManyThreadsNoCallbackAfterUnsubscribe) {
  Metrics m;
  RecordFanout fanout({.client_buffer_bytes = 1 << 20}, &m);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next{1};
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        const uint64_t first = next.fetch_add(5);
        fanout.Publish(MakeEnvelope(first, 5));
      }
    });
  }
  std::atomic<int> late_callbacks{0};
  std::atomic<uint64_t> rows_seen{0};
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        std::atomic<bool> gone{false};
        auto sub = fanout.Subscribe(
            StreamKind::kFlatRecords, "c",
            [&] {
              if (gone.load()) ++late_callbacks;
            },
            [&] {
              if (gone.load()) ++late_callbacks;
            });
        std::string_view row;
        for (int i = 0; i < 20; ++i) {
          while (sub->Next(&row)) ++rows_seen;
          std::this_thread::yield();
        }
        fanout.Unsubscribe(sub);
        gone.store(true);
      }
    });
  }
  for (size_t i = 2; i < threads.size(); ++i) threads[i].join();
  stop.store(true);
  threads[0].join();
  threads[1].join();
  EXPECT_EQ(late_callbacks.load(), 0);
  EXPECT_EQ(fanout.clients(), 0u);
  EXPECT_GT(rows_seen.load(), 0u);
}

}  // namespace
}  // namespace xtcp::rpc
