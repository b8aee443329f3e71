#pragma once

namespace xtcp::main {

// Starts counting heap allocations if the allocator allows it (see common/alloc_counter.h).
void InstallAllocationCounter();

}  // namespace xtcp::main
