#pragma once
// Test helpers: an in-process HttpServer on a free loopback port, and raw-socket clients.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/metrics.h"
#include "observe/http_get.h"
#include "observe/http_server.h"
#include "observe/readiness.h"

namespace xtcp::testing {

inline observe::HttpServerOptions LoopbackOptions() {
  observe::HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.daemon_version = "xtcp commit:test\tdate(UTC):now\tversion:0.0.0";
  o.cmdline = observe::ProcessCmdline();
  return o;
}

struct TestServer {
  Metrics metrics;
  observe::Readiness readiness;
  std::unique_ptr<observe::HttpServer> server;
  uint16_t port() const { return server->port(); }
};

// Starts a server (ADD_FAILURE and nullptr when it cannot).
std::unique_ptr<TestServer> StartServer(const observe::HttpServerOptions& opts = LoopbackOptions());

// GET on 127.0.0.1; a failed request yields status 0 and the error text as body.
observe::HttpResponse Get(uint16_t port, const std::string& target,
                          absl::Duration timeout = absl::Seconds(10));

// Connects to 127.0.0.1:port; -1 on failure.
int Connect(uint16_t port);
// Sends `bytes` (ignoring errors) and reads until the peer closes or `timeout`; returns what came.
std::string Exchange(uint16_t port, const std::string& bytes, absl::Duration timeout);
// Reads from fd until EOF/reset or `timeout`; true when the peer closed within the time.
bool WaitPeerClose(int fd, absl::Duration timeout, std::string* got = nullptr);

}  // namespace xtcp::testing
