#pragma once
// The daemon's start-up log line (logged at kInfo, i.e. with the default -d), e.g.
//   xtcp2 starting: version=0.1.0 commit=abc date=… dest=kafka:broker:9092 marshal=protobufList
//   namespaces=3 families=4,6 frequency=10s timeout=5s deserializers=default promListen=:9088
// (one line). Credentials in the destination (user:password@ of a URL) are masked.

#include <cstddef>
#include <string>

#include "config/config.h"

namespace xtcp::observe {

std::string StartupSummary(const config::Config& cfg, size_t namespaces_found);

// The destination as safe to log: "https://user:secret@host/x" -> "https://user:***@host/x".
std::string RedactDestination(const std::string& dest);

}  // namespace xtcp::observe
