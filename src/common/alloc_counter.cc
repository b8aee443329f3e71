#include "common/alloc_counter.h"

#include <atomic>

namespace xtcp {
namespace {
std::atomic<uint64_t (*)()> g_counter{nullptr};
}  // namespace

void SetAllocationCounter(uint64_t (*counter)()) { g_counter.store(counter); }

std::optional<uint64_t> HeapAllocations() {
  if (auto* f = g_counter.load()) return f();
  return std::nullopt;
}

}  // namespace xtcp
