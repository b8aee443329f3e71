#pragma once
// A minimal blocking HTTP/1.1 GET over TCP with one overall deadline: used by -healthcheck and by
// the tests. Sends "Connection: close" and reads until the peer closes (or `max_body` bytes).

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace xtcp::observe {

struct HttpResponse {
  int status = 0;       // from the status line
  std::string headers;  // raw header block (status line excluded)
  std::string body;
};

// `host` is an IPv4 or IPv6 literal (no brackets). Errors: DeadlineExceeded, Unavailable
// (connect/read failures), DataLoss (not an HTTP reply).
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, uint16_t port,
                                     const std::string& target, absl::Duration timeout,
                                     size_t max_body = 256u << 20);

}  // namespace xtcp::observe
