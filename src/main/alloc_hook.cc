// Counts heap allocations through tcmalloc's new-hook (only when linked with tcmalloc).
#include "main/alloc_hook.h"

#include <atomic>

#include "common/alloc_counter.h"

#ifdef XTCP_HAVE_TCMALLOC
#include <gperftools/malloc_hook.h>
#endif

namespace xtcp::main {
namespace {
#ifdef XTCP_HAVE_TCMALLOC
std::atomic<uint64_t> g_allocations{0};
void OnNew(const void*, size_t) { g_allocations.fetch_add(1, std::memory_order_relaxed); }
uint64_t Count() { return g_allocations.load(std::memory_order_relaxed); }
#endif
}  // namespace

void InstallAllocationCounter() {
#ifdef XTCP_HAVE_TCMALLOC
  if (MallocHook::AddNewHook(&OnNew)) SetAllocationCounter(&Count);
#endif
}

}  // namespace xtcp::main
