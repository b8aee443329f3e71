#pragma once
// Envelopes for sink tests that go through the output stage: rows numbered first..first+n-1.

#include <cstdint>
#include <memory>

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

}  // namespace xtcp::testing
