#pragma once
// Readiness: the flag behind GET /readyz (200 "ready" while set, 503 "not ready" otherwise).
//
// The collection engine sets it true when the first poll is under way and false when shutdown
// begins (reference §9.1: true from poller start until the poller returns). Thread-safe, lock-free;
// any thread may Set() and the HTTP workers read it on every request.

#include <atomic>

namespace xtcp::observe {

class Readiness {
 public:
  Readiness() = default;
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  void Set(bool ready) { ready_.store(ready, std::memory_order_release); }
  bool IsReady() const { return ready_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> ready_{false};
};

}  // namespace xtcp::observe
