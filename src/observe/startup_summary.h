#pragma once
// The daemon's start-up log line (logged at kInfo, i.e. with the default -d), e.g.
//   xtcp2 starting: version=0.1.0 commit=abc date=… dest=kafka:broker:9092 marshal=protobufList
//   namespaces=3 families=4,6 frequency=10s timeout=5s deserializers=default promListen=:9088
// (one line). The caller masks credentials in the destination (user:password@ of a URL).

#include <cstddef>
#include <string>
#include <vector>

namespace xtcp::observe {

// What the line shows; main fills it from the configuration (durations already in Go syntax).
struct StartupSummaryOptions {
  std::string version;  // "xtcp commit:<c>\tdate(UTC):<d>\tversion:<v>" (VersionString())
  std::string dest;     // as safe to log: main passes config::MaskUrlUserinfo(-dest)
  std::string marshal = "protobufList";
  std::vector<int> families = {4, 6};
  std::string frequency = "10s";
  std::string timeout = "5s";
  std::string deserializers = "default";
  std::string prom_listen = ":9088";
};

std::string StartupSummary(const StartupSummaryOptions& o, size_t namespaces_found);

}  // namespace xtcp::observe
