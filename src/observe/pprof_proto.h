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
// Encoding: the perftools.profiles messages of proto/perftools/profiles/profile.proto (protobuf).
// Symbols: elfutils (libdwfl) over this process's mappings (/proc/self/maps): the symbol table of
// each loaded object (or its separate debug file), demangled; so the names are those of the
// running binary. Must run in the process that recorded the profile. Mappings carry the file name
// and GNU build ID of each object.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xtcp::observe {

// gperftools CPU profile (binary, 64-bit slots) -> profile.proto with sample types
// samples/count and cpu/nanoseconds. `start` and `wall` (when the profile began and how long it
// ran, wall clock) become time_nanos and duration_nanos; the unix epoch and zero leave them unset.
absl::StatusOr<std::string> CpuProfileToPprof(absl::string_view legacy,
                                              absl::Time start = absl::UnixEpoch(),
                                              absl::Duration wall = absl::ZeroDuration());

// tcmalloc heap sample ("heap profile: ... @ heap_v2/<rate>") -> profile.proto with sample types
// inuse_objects/count and inuse_space/bytes, unsampled as pprof does for heap_v2.
absl::StatusOr<std::string> HeapSampleToPprof(absl::string_view legacy);

// The demangled name of the function containing `pc` in this process, or "" (for tests).
std::string SymbolizePc(uint64_t pc);

}  // namespace xtcp::observe
