// The Parquet writer (src/parquet) on record batches shaped like a busy host's:
//
//   BM_RecordsToParquet/<rows>/<codec>  RecordsToParquet on <rows> records (one row group),
//                                       codec 0 UNCOMPRESSED, 6 ZSTD (level 3); reports rows/s
//                                       and the file's bytes per row
//
// The records: one hostname, 8 namespaces, a few congestion algorithms and label values, random
// ports, addresses, cookies, tcp_info/socket memory/inet_diag counters, timestamps of 10 polls;
// the other numeric columns 0 and the uplink columns empty.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "parquet/flat_record_parquet.h"

namespace {

using ::google::protobuf::FieldDescriptor;
using ::xtcp::parquet::XtcpFlatRecord;

std::vector<XtcpFlatRecord> HostRecords(size_t n) {
  std::mt19937_64 rng(42);
  std::vector<XtcpFlatRecord> records(n);
  const auto* d = XtcpFlatRecord::descriptor();
  const auto* refl = XtcpFlatRecord::GetReflection();
  const char* const kCc[] = {"cubic", "bbr", "reno"};
  for (size_t i = 0; i < n; ++i) {
    XtcpFlatRecord& r = records[i];
    // Counters and gauges: small-ish random numbers in the tcp_info, socket memory and
    // inet_diag columns; the rest (vegas/dctcp/bbr, uplinks, ...) stay 0 as on most hosts.
    for (int f = 0; f < d->field_count(); ++f) {
      const FieldDescriptor* fd = d->field(f);
      const std::string_view name = fd->name();
      if (!name.starts_with("tcp_info_") && !name.starts_with("sk_mem_info_") &&
          !name.starts_with("inet_diag_msg_")) {
        continue;
      }
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
        refl->SetUInt32(&r, fd, static_cast<uint32_t>(rng() % 100000));
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT64) {
        refl->SetUInt64(&r, fd, rng() % 10000000);
      }
    }
    r.set_timestamp_ns(1700000000'000000000 + static_cast<int64_t>(i * 10 / n) * 10'000000000);
    r.set_hostname("host-17.example.net");
    r.set_netns(i % 8 == 0 ? "default" : "ns-" + std::to_string(i % 8));
    r.set_label("prod");
    r.set_record_counter(i);
    r.set_inet_diag_msg_socket_cookie(rng());
    r.set_inet_diag_msg_socket_source_port(static_cast<uint32_t>(rng() % 65536));
    r.set_inet_diag_msg_socket_destination_port(443);
    std::string addr(16, '\0');
    for (char& c : addr) c = static_cast<char>(rng());
    r.set_inet_diag_msg_socket_destination(addr);
    r.set_inet_diag_msg_socket_source(std::string(12, '\0') + "\x0a\x00\x00\x11");
    r.set_congestion_algorithm_string(kCc[rng() % 3]);
  }
  return records;
}

void BM_RecordsToParquet(benchmark::State& state) {
  const std::vector<XtcpFlatRecord> records = HostRecords(static_cast<size_t>(state.range(0)));
  xtcp::parquet::WriterOptions options;
  options.codec = static_cast<xtcp::parquet::Codec>(state.range(1));
  size_t bytes = 0;
  for (auto _ : state) {
    auto file = xtcp::parquet::RecordsToParquet(records, options);
    if (!file.ok()) {
      state.SkipWithError("RecordsToParquet failed");
      return;
    }
    bytes = file->size();
    benchmark::DoNotOptimize(file->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
  state.counters["bytes_per_row"] =
      static_cast<double>(bytes) / static_cast<double>(records.size());
  state.counters["file_MiB"] = static_cast<double>(bytes) / (1 << 20);
}
BENCHMARK(BM_RecordsToParquet)
    ->ArgsProduct({{10000, 100000}, {0, 6}})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
