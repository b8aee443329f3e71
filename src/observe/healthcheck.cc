#include "observe/healthcheck.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"
#include "common/log.h"
#include "observe/http_get.h"
#include "observe/listen_socket.h"

namespace xtcp::observe {

HealthcheckTarget ResolveHealthcheckTarget(absl::string_view prom_listen) {
  HealthcheckTarget t;
  t.host = "127.0.0.1";
  const size_t colon = prom_listen.rfind(':');
  uint32_t port = 0;
  if (colon != absl::string_view::npos && absl::SimpleAtoi(prom_listen.substr(colon + 1), &port) &&
      port > 0 && port <= 65535) {
    t.port = static_cast<uint16_t>(port);
  }
  auto addr = ParseListenAddress(prom_listen);
  if (!addr.ok() || addr->host.empty() || addr->host == "0.0.0.0" || addr->host == "::") {
    return t;
  }
  in6_addr scratch;
  if (inet_pton(AF_INET, addr->host.c_str(), &scratch) == 1 ||
      inet_pton(AF_INET6, addr->host.c_str(), &scratch) == 1) {
    t.host = addr->host;
  }
  return t;
}

int ProbeReadyz(const HealthcheckTarget& target, absl::Duration timeout) {
  auto reply = HttpGet(target.host, target.port, "/readyz", timeout, 4096);
  if (!reply.ok()) {
    XTCP_LOG(kError, "healthcheck: %s", reply.status().message());
    return 1;
  }
  if (reply->status != 200) {
    XTCP_LOG(kError, "healthcheck: /readyz answered %d", reply->status);
    return 1;
  }
  return 0;
}

}  // namespace xtcp::observe
