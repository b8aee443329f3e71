// The sink table: every -dest scheme and its constructor. To add a sink, add a file and a row.
#include <array>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/mask.h"
#include "common/strings.h"
#include "sink/sinks.h"

namespace xtcp {
namespace sink {
namespace {

using Factory = absl::StatusOr<std::unique_ptr<Sink>> (*)(const SinkOptions&, std::string_view);

struct Entry {
  std::string_view scheme;
  std::string_view syntax;  // how -help shows it
  Factory factory;
};

constexpr std::array kSinks = {
    Entry{"null", "null", &NewNull},
    Entry{"stdout", "stdout", &NewStdout},
    Entry{"stderr", "stderr", &NewStderr},
    Entry{"file", "file:/path", &NewFile},
    Entry{"tcp", "tcp:host:port", &NewTcp},
    Entry{"http", "http://host/path", &NewHttp},
    Entry{"https", "https://host/path", &NewHttps},
    Entry{"udp", "udp:host:port", &NewUdp},
    Entry{"unix", "unix:/path", &NewUnix},
    Entry{"unixgram", "unixgram:/path", &NewUnixgram},
    Entry{"kafka", "kafka:host:port[,host:port]", &NewKafka},
    Entry{"nats", "nats:host:port[,host:port]", &NewNats},
    Entry{"valkey", "valkey:host:port", &NewValkey},
    Entry{"nsq", "nsq:host:port", &NewNsq},
};

}  // namespace
}  // namespace sink

std::vector<std::string> SinkSchemes() {
  std::vector<std::string> schemes;
  for (const auto& e : sink::kSinks) schemes.emplace_back(e.scheme);
  return schemes;
}

std::vector<std::string> SinkSyntaxes() {
  std::vector<std::string> out;
  for (const auto& e : sink::kSinks) out.emplace_back(e.syntax);
  return out;
}

absl::StatusOr<std::unique_ptr<Sink>> CreateSink(const SinkOptions& opts) {
  const std::string_view dest = opts.dest;
  const size_t colon = dest.find(':');
  const std::string_view scheme = dest.substr(0, colon);
  const std::string_view address =
      colon == std::string_view::npos ? std::string_view() : dest.substr(colon + 1);
  std::string names;
  for (const auto& e : sink::kSinks)
    absl::StrAppend(&names, names.empty() ? "" : ", ", AsAbsl(e.scheme));
  for (const auto& e : sink::kSinks) {
    if (e.scheme != scheme) continue;
    auto sink = e.factory(opts, address);
    // A malformed address also lists the schemes, so the one line says everything -dest takes.
    if (!sink.ok() && sink.status().code() == absl::StatusCode::kInvalidArgument &&
        absl::StrContains(sink.status().message(), "for flag -dest:")) {
      return absl::InvalidArgumentError(
          absl::StrCat(sink.status().message(), "; valid schemes are: ", names));
    }
    return sink;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", MaskUrlUserinfo(std::string(dest)),
                   "\" for flag -dest: unknown destination; valid schemes are: ", names));
}

}  // namespace xtcp
