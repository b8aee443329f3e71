// Counts heap allocations through tcmalloc's new-hook (only when linked with tcmalloc).
#include "main/alloc_hook.h"

#include <atomic>

#include "common/alloc_counter.h"

#ifdef XTCP_HAVE_TCMALLOC
#include <gperftools/malloc_extension.h>
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
  // Return freed spans to the kernel at once. The daemon's big buffers are long-lived and reused,
  // so this costs nothing measurable per poll, and keeps memory freed by an unusual burst (a huge
  // Envelope, many namespaces going away) from staying resident.
  MallocExtension::instance()->SetNumericProperty("tcmalloc.aggressive_memory_decommit", 1);
#endif
}

}  // namespace xtcp::main
