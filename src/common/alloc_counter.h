#pragma once
// Process-wide count of heap allocations, when the binary links an allocator that can report it
// (tcmalloc's new-hook, installed by main). Used for the per-poll "allocs" figure in the log and
// the benchmarks' "no steady-state allocation" check.

#include <cstdint>
#include <optional>

namespace xtcp {

// Installed by main when available; otherwise HeapAllocations() is empty.
void SetAllocationCounter(uint64_t (*counter)());
std::optional<uint64_t> HeapAllocations();

}  // namespace xtcp
