#include "pipeline/replay.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "decode/capture.h"
#include "pipeline/row_batch.h"

namespace xtcp::pipeline {
namespace {

absl::StatusOr<std::vector<std::string>> ListInputs(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return absl::NotFoundError(
        absl::StrCat("invalid value \"", path, "\" for flag -replay: no such file or directory"));
  }
  if (std::filesystem::is_fifo(status) || std::filesystem::is_character_file(status) ||
      std::filesystem::is_block_file(status) || std::filesystem::is_socket(status)) {
    // A FIFO would block forever and a device never ends: only files and directories replay.
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", path, "\" for flag -replay: not a regular file or directory"));
  }
  if (!std::filesystem::is_directory(status)) return std::vector<std::string>{path};
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat("-replay ", path, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", path, "\" for flag -replay: directory has no files"));
  }
  return files;
}

}  // namespace

absl::StatusOr<ReplayStats> Replay(const std::string& path, const ReplayOptions& ropts,
                                   const Stamps& stamps, EnvelopeBatcher* batcher,
                                   Metrics* metrics) {
  auto inputs = ListInputs(path);
  if (!inputs.ok()) return inputs.status();

  ReplayStats stats;
  decode::DecodeOptions opts;
  opts.deserializers = ropts.deserializers;
  const uint64_t modulus = ropts.modulus == 0 ? 1 : ropts.modulus;
  record::FlatRecord scratch;
  std::shared_ptr<const UplinkSnapshot> uplinks;  // what scratch.meta points into
  stamps.Apply(&scratch.meta, &uplinks);
  scratch.meta.netns = "replay";
  RowBatch batch;
  uint64_t socket_index = 0;

  for (const std::string& file : *inputs) {
    // Streamed: one datagram in memory at a time, whatever the file's size.
    auto cap = decode::CaptureReader::Open(file);
    if (!cap.ok()) {
      XTCP_LOG(kWarn, "replay: skipping %s: %s", file, std::string(cap.status().message()));
      ++stats.skipped_packets;
      continue;
    }
    ++stats.files;
    decode::CapturedDatagram d;
    for (;;) {
      const absl::StatusOr<bool> more = cap->Next(&d);
      if (!more.ok()) {
        XTCP_LOG(kWarn, "replay: stopping %s: %s", file, std::string(more.status().message()));
        ++stats.skipped_packets;
        break;
      }
      if (!*more) break;
      ++stats.datagrams;
      scratch.meta.timestamp_ns = d.poll_time_ns;
      decode::WalkDatagram(d.bytes, opts, &scratch, &stats.problems,
                           [&](uint32_t, record::FlatRecord& rec) {
                             if (socket_index++ % modulus != 0) return;
                             rec.meta.record_counter = batcher->ReserveCounters(1);
                             batch.Add(rec);
                             ++stats.records;
                           });
      batch.AppendTo(batcher);
    }
    stats.skipped_packets += cap->skipped_packets();
  }
  batcher->Flush(FlushReason::kReplay);

  if (metrics != nullptr) {
    for (size_t i = 0; i < decode::kProblemCount; ++i) {
      if (stats.problems.counts[i] == 0) continue;
      const auto l = decode::LabelsOf(static_cast<decode::Problem>(i));
      metrics->Count(l.function, l.variable, l.type)
          .Increment(static_cast<double>(stats.problems.counts[i]));
    }
  }
  return stats;
}

}  // namespace xtcp::pipeline
