#pragma once
// Constructors of the built-in sinks (one .cc per scheme) and the pieces they share.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "xtcp/sink.h"

namespace xtcp::sink {

// `address` is the text after "scheme:" (empty for bare "stdout" etc.).
absl::StatusOr<std::unique_ptr<Sink>> NewNull(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewStdout(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewStderr(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewFile(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewTcp(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewUnix(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewUdp(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewUnixgram(const SinkOptions& opts,
                                                  std::string_view address);
// http and https take the whole -dest value (opts.dest) as the URL.
absl::StatusOr<std::unique_ptr<Sink>> NewHttp(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewHttps(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewKafka(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewNats(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewValkey(const SinkOptions& opts, std::string_view address);
absl::StatusOr<std::unique_ptr<Sink>> NewNsq(const SinkOptions& opts, std::string_view address);

}  // namespace xtcp::sink
