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

absl::StatusOr<ReplayStats> Replay(const std::string& path, const ReplayOptions& options,
                                   const Stamps& stamps, EnvelopeBatcher* batcher,
                                   Metrics* metrics) {
  auto inputs = ListInputs(path);
  if (!inputs.ok()) return inputs.status();

  ReplayStats stats;
  decode::DecodeOptions opts;
  opts.deserializers = options.deserializers;
  const uint64_t modulus = options.modulus == 0 ? 1 : options.modulus;
  record::FlatRecord scratch;
  stamps.Apply(&scratch.meta);
  scratch.meta.netns = "replay";
  RowBatch batch;
  uint64_t socket_index = 0;

  for (const std::string& file : *inputs) {
    auto cap = decode::ReadCapture(file);
    if (!cap.ok()) {
      XTCP_LOG(kWarn, "replay: skipping %s: %s", file, std::string(cap.status().message()));
      ++stats.skipped_packets;
      continue;
    }
    ++stats.files;
    stats.skipped_packets += cap->skipped_packets;
    for (const decode::CapturedDatagram& d : cap->datagrams) {
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
