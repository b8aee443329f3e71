#pragma once
// -replay: decode captured netlink replies and write them through the normal marshal/sink path.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "decode/deserializers.h"
#include "decode/walker.h"
#include "pipeline/envelope.h"
#include "pipeline/stamp.h"

namespace xtcp {
class Metrics;
namespace pipeline {

// What -replay needs besides the capture (main fills it from -deserializers and -modulus).
struct ReplayOptions {
  decode::DeserializerSet deserializers = decode::DeserializerSet::Default();
  uint64_t modulus = 1;  // emit every Nth socket; 0 counts as 1
};

struct ReplayStats {
  uint64_t files = 0;
  uint64_t datagrams = 0;
  uint64_t records = 0;
  uint64_t skipped_packets = 0;
  decode::DecodeProblems problems;
};

// Replays `path` (a capture file, or a directory whose regular files are replayed in name order)
// into `batcher`, flushing at the end. Records carry netns "replay", inode 0 and the capture's poll
// time. A path that cannot be read, or a directory without capture files, is NotFound/
// InvalidArgument; malformed contents are counted, not fatal.
absl::StatusOr<ReplayStats> Replay(const std::string& path, const ReplayOptions& opts,
                                   const Stamps& stamps, EnvelopeBatcher* batcher,
                                   Metrics* metrics);

}  // namespace pipeline
}  // namespace xtcp
