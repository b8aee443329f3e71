#pragma once
// Envelopes for sink tests that go through the output stage: rows numbered first..first+n-1; and
// the row numbers a peer received back.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "marshal/protobuf_list_reader.h"
#include "marshal/test_records.h"
#include "pipeline/envelope.h"

namespace xtcp::testing {

inline std::unique_ptr<pipeline::Envelope> NumberedRows(uint64_t first, uint64_t n) {
  TestEnvelope t;
  for (uint64_t i = first; i < first + n; ++i) t.Add(NumberedRecord(i));
  auto env = std::make_unique<pipeline::Envelope>();
  env->bytes.Append(t.bytes.view());
  env->rows = t.rows;
  return env;
}

// The record counters of every row in `messages`, each a protobufList flush as a peer received it.
inline std::multiset<uint64_t> Counters(const std::vector<std::string>& messages) {
  std::multiset<uint64_t> out;
  for (const std::string& m : messages) {
    std::vector<record::ProtoEnvelope> envs;
    EXPECT_TRUE(marshal::ParseProtobufList(m, &envs).ok());
    for (const auto& e : envs) {
      for (const auto& r : e.row()) out.insert(r.record_counter());
    }
  }
  return out;
}

}  // namespace xtcp::testing
