#pragma once
// Record metadata that comes from configuration and the host, stamped on every record.
//
// The uplink columns (-enrichNic, -enrichLldp) are an UplinkSource's: read at start-up, and read
// again every `refresh` by its own thread, which publishes a new immutable UplinkSnapshot and
// bumps a generation when a column changed. Readers compare the generation once per datagram and
// hold the snapshot their record meta points into, so a refresh never blocks the hot path.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "enrich/lldp.h"
#include "enrich/nic.h"
#include "record/flat_record.h"

namespace xtcp::pipeline {

// What the record stamps are made of (main fills it from -label, -tag, -location, -hostname).
struct StampOptions {
  std::string daemon_version;  // VersionString() of the build
  std::string hostname;        // "" = gethostname()
  std::string location;
  std::string label;
  std::string tag;
  bool enrich_nic = false;   // -enrichNic: describe the uplinks (enrich/nic.h)
  bool enrich_lldp = false;  // -enrichLldp: their LLDP neighbours (enrich/lldp.h)
  std::string lldpd_socket = "/run/lldpd.socket";
  enrich::UplinkOptions uplinks;
  // -enrichRefresh: how often the uplinks and neighbours are read again (0: only at start-up).
  absl::Duration refresh = absl::Minutes(5);
};

// The uplink columns at one time; immutable once published.
struct UplinkSnapshot {
  // -enrichNic: the uplinks described in uplink1_* / uplink2_*, and where they were chosen from.
  // With only -enrichLldp a NicInfo holds just the interface name.
  std::vector<enrich::NicInfo> uplinks;
  std::vector<enrich::LldpNeighbor> neighbors;  // parallel to `uplinks` (-enrichLldp)
  std::string uplinks_from;
  absl::Status lldp_status;  // -enrichLldp: why there are no neighbours (lldpd unreachable...)

  // Every uplink column (those of a missing slot empty).
  void Apply(record::RecordMeta* meta) const;
  // True when every column Apply() writes is the same.
  bool SameColumns(const UplinkSnapshot& o) const;
  // "eth0 (ixgbe, 10000 Mb/s) -> tor-3 Ethernet1/7, eth1 (...)"; "none" without uplinks.
  std::string Describe() const;
};

// Thread-safe: Current() and generation() from any thread; Refresh() from one at a time.
class UplinkSource {
 public:
  // Reads the first snapshot (connecting to lldpd: before the privilege drop).
  explicit UplinkSource(const StampOptions& o);
  ~UplinkSource();  // StopRefresh()
  UplinkSource(const UplinkSource&) = delete;
  UplinkSource& operator=(const UplinkSource&) = delete;

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const UplinkSnapshot> Current() const ABSL_LOCKS_EXCLUDED(mu_);
  // Reads again; installs and returns true (with *change describing it) when a column changed.
  bool Refresh(std::string* change) ABSL_LOCKS_EXCLUDED(mu_);
  // A thread that calls Refresh() every `every` and logs each change (INFO); idempotent stop.
  void StartRefresh(absl::Duration every) ABSL_LOCKS_EXCLUDED(mu_);
  void StopRefresh() ABSL_LOCKS_EXCLUDED(mu_);
  bool enabled() const { return nic_ || lldp_ != nullptr; }

 private:
  UplinkSnapshot Read(const UplinkSnapshot* previous);

  const enrich::UplinkOptions opts_;
  const bool nic_;
  const std::unique_ptr<enrich::LldpClient> lldp_;  // -enrichLldp; the refresh thread's after start
  std::atomic<uint64_t> generation_{0};
  mutable absl::Mutex mu_;
  std::shared_ptr<const UplinkSnapshot> current_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Owns the strings that RecordMeta borrows; must outlive every record stamped from it.
struct Stamps {
  std::string daemon_version;
  std::string hostname;
  std::string location;
  std::string label;
  std::string tag;
  // gethostname() returned bytes that are not UTF-8; `hostname` holds them repaired (U+FFFD).
  bool hostname_repaired = false;
  // The uplink columns (Create() makes it; empty without -enrichNic and -enrichLldp).
  std::shared_ptr<UplinkSource> uplinks;

  // From the options; hostname falls back to gethostname() (never the HOSTNAME variable).
  static absl::StatusOr<Stamps> Create(const StampOptions& o);

  // schema_version, daemon_version, hostname, location, label, tag and the uplink columns of the
  // current snapshot, which is left in `*held`: the meta points into it.
  void Apply(record::RecordMeta* meta, std::shared_ptr<const UplinkSnapshot>* held) const;
};

}  // namespace xtcp::pipeline
