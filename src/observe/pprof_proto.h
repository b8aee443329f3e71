#pragma once
// Converts gperftools' legacy profiles of *this process* into pprof's profile.proto
// (perftools.profiles.Profile, uncompressed), symbolized in-process.
//
// Why: `go tool pprof` reads the legacy formats but symbolizes C++ binaries through Go's DWARF
// line reader, which gives up on GCC line tables whose sequences are not in address order (any
// translation unit with inline functions), so every frame shows as "[xtcp2]". A profile that
// carries its own function names (as Go's runtime profiles do) needs no symbolization at all and
// reads the same in `go tool pprof`, the standalone pprof and anything else that speaks the
// format. google-pprof (gperftools' Perl pprof) reads only the legacy formats, so the HTTP
// endpoints keep serving those on ?format=legacy.
//
// Symbols: ELF .symtab (else .dynsym) of every loaded object (dl_iterate_phdr), demangled; so the
// names are those of the running binary. Must run in the process that recorded the profile.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xtcp::observe {

// gperftools CPU profile (binary, 64-bit slots) -> profile.proto with sample types
// samples/count and cpu/nanoseconds.
absl::StatusOr<std::string> CpuProfileToPprof(absl::string_view legacy);

// tcmalloc heap sample ("heap profile: ... @ heap_v2/<rate>") -> profile.proto with sample types
// inuse_objects/count and inuse_space/bytes, unsampled as pprof does for heap_v2.
absl::StatusOr<std::string> HeapSampleToPprof(absl::string_view legacy);

// The demangled name of the function containing `pc` in this process, or "" (for tests).
std::string SymbolizePc(uint64_t pc);

}  // namespace xtcp::observe
