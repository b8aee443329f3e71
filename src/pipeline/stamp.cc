#include "pipeline/stamp.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/utf8.h"

namespace xtcp::pipeline {
namespace {

bool SameNic(const enrich::NicInfo& a, const enrich::NicInfo& b) {
  return a.ifname == b.ifname && a.driver == b.driver && a.model == b.model &&
         a.bus_info == b.bus_info && a.fw_version == b.fw_version && a.pci_vendor == b.pci_vendor &&
         a.pci_device == b.pci_device && a.speed_mbps == b.speed_mbps;
}

bool SameNeighbor(const enrich::LldpNeighbor& a, const enrich::LldpNeighbor& b) {
  return a.chassis_name == b.chassis_name && a.chassis_id == b.chassis_id &&
         a.mgmt_ip == b.mgmt_ip && a.port_id == b.port_id && a.port_descr == b.port_descr;
}

}  // namespace

void UplinkSnapshot::Apply(record::RecordMeta* meta) const {
  static const enrich::NicInfo kNoNic;
  static const enrich::LldpNeighbor kNoNeighbor;
  const enrich::NicInfo& u1 = uplinks.size() > 0 ? uplinks[0] : kNoNic;
  const enrich::NicInfo& u2 = uplinks.size() > 1 ? uplinks[1] : kNoNic;
  const enrich::LldpNeighbor& n1 = neighbors.size() > 0 ? neighbors[0] : kNoNeighbor;
  const enrich::LldpNeighbor& n2 = neighbors.size() > 1 ? neighbors[1] : kNoNeighbor;
  meta->uplink1_ifname = u1.ifname;
  meta->uplink1_nic_driver = u1.driver;
  meta->uplink1_nic_model = u1.model;
  meta->uplink1_nic_pci_vendor = u1.pci_vendor;
  meta->uplink1_nic_pci_device = u1.pci_device;
  meta->uplink1_nic_bus_info = u1.bus_info;
  meta->uplink1_nic_speed_mbps = u1.speed_mbps;
  meta->uplink1_nic_fw_version = u1.fw_version;
  meta->uplink1_lldp_chassis_name = n1.chassis_name;
  meta->uplink1_lldp_chassis_id = n1.chassis_id;
  meta->uplink1_lldp_mgmt_ip = n1.mgmt_ip;
  meta->uplink1_lldp_port_id = n1.port_id;
  meta->uplink1_lldp_port_descr = n1.port_descr;
  meta->uplink2_ifname = u2.ifname;
  meta->uplink2_nic_driver = u2.driver;
  meta->uplink2_nic_model = u2.model;
  meta->uplink2_nic_pci_vendor = u2.pci_vendor;
  meta->uplink2_nic_pci_device = u2.pci_device;
  meta->uplink2_nic_bus_info = u2.bus_info;
  meta->uplink2_nic_speed_mbps = u2.speed_mbps;
  meta->uplink2_nic_fw_version = u2.fw_version;
  meta->uplink2_lldp_chassis_name = n2.chassis_name;
  meta->uplink2_lldp_chassis_id = n2.chassis_id;
  meta->uplink2_lldp_mgmt_ip = n2.mgmt_ip;
  meta->uplink2_lldp_port_id = n2.port_id;
  meta->uplink2_lldp_port_descr = n2.port_descr;
}

bool UplinkSnapshot::SameColumns(const UplinkSnapshot& o) const {
  if (uplinks.size() != o.uplinks.size() || neighbors.size() != o.neighbors.size()) return false;
  for (size_t i = 0; i < uplinks.size(); ++i) {
    if (!SameNic(uplinks[i], o.uplinks[i])) return false;
  }
  for (size_t i = 0; i < neighbors.size(); ++i) {
    if (!SameNeighbor(neighbors[i], o.neighbors[i])) return false;
  }
  return true;
}

std::string UplinkSnapshot::Describe() const {
  std::string out;
  for (size_t i = 0; i < uplinks.size(); ++i) {
    const enrich::NicInfo& u = uplinks[i];
    absl::StrAppend(&out, out.empty() ? "" : ", ", u.ifname, " (",
                    u.driver.empty() ? "?" : u.driver,
                    u.speed_mbps ? absl::StrCat(", ", u.speed_mbps, " Mb/s") : "", ")");
    if (i < neighbors.size() && !neighbors[i].chassis_name.empty()) {
      absl::StrAppend(&out, " -> ", neighbors[i].chassis_name,
                      neighbors[i].port_descr.empty() ? "" : " ", neighbors[i].port_descr);
    }
  }
  return out.empty() ? "none" : out;
}

UplinkSource::UplinkSource(const StampOptions& o)
    : opts_(o.uplinks),
      nic_(o.enrich_nic),
      lldp_(o.enrich_lldp ? std::make_unique<enrich::LldpClient>(o.lldpd_socket) : nullptr) {
  auto first = std::make_shared<UplinkSnapshot>(Read(nullptr));
  absl::MutexLock lock(&mu_);
  current_ = std::move(first);
}

UplinkSource::~UplinkSource() { StopRefresh(); }

std::shared_ptr<const UplinkSnapshot> UplinkSource::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

UplinkSnapshot UplinkSource::Read(const UplinkSnapshot* previous) {
  UplinkSnapshot s;
  if (!enabled()) return s;
  for (const std::string& name : enrich::ChooseUplinks(opts_, &s.uplinks_from)) {
    s.uplinks.push_back(nic_ ? enrich::ReadNic(opts_, name) : enrich::NicInfo{.ifname = name});
  }
  if (lldp_ == nullptr) return s;
  s.neighbors.resize(s.uplinks.size());
  auto found = lldp_->Fetch();
  if (!found.ok()) {
    s.lldp_status = found.status();
    // lldpd unreachable at a refresh: an uplink that stayed keeps the neighbour it had.
    for (size_t i = 0; previous != nullptr && i < s.uplinks.size(); ++i) {
      for (size_t j = 0; j < previous->uplinks.size() && j < previous->neighbors.size(); ++j) {
        if (previous->uplinks[j].ifname == s.uplinks[i].ifname) {
          s.neighbors[i] = previous->neighbors[j];
        }
      }
    }
    return s;
  }
  for (size_t i = 0; i < s.uplinks.size(); ++i) {
    if (auto it = found->find(s.uplinks[i].ifname); it != found->end()) s.neighbors[i] = it->second;
  }
  return s;
}

bool UplinkSource::Refresh(std::string* change) {
  const std::shared_ptr<const UplinkSnapshot> old = Current();
  auto fresh = std::make_shared<UplinkSnapshot>(Read(old.get()));
  if (lldp_ != nullptr && !fresh->lldp_status.ok() && old->lldp_status.ok()) {
    XTCP_LOG(kWarn, "-enrichLldp: %s; the neighbours read before are kept",
             std::string(fresh->lldp_status.message()));
  }
  if (fresh->SameColumns(*old)) return false;
  *change = absl::StrCat(old->Describe(), " -> ", fresh->Describe());
  {
    absl::MutexLock lock(&mu_);
    current_ = std::move(fresh);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void UplinkSource::StartRefresh(absl::Duration every) {
  if (!enabled() || every <= absl::ZeroDuration() || thread_.joinable()) return;
  thread_ = std::thread([this, every] {
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping), every)) return;
      }
      std::string change;
      if (Refresh(&change)) XTCP_LOG(kInfo, "-enrichRefresh: uplinks changed: %s", change);
    }
  });
}

void UplinkSource::StopRefresh() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<Stamps> Stamps::Create(const StampOptions& o) {
  Stamps s;
  s.daemon_version = o.daemon_version;
  s.location = o.location;
  s.label = o.label;
  s.tag = o.tag;
  s.hostname = o.hostname;
  if (s.hostname.empty()) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) {
      return absl::InternalError(absl::StrCat("gethostname: ", std::strerror(errno)));
    }
    s.hostname = buf;
    // The kernel's hostname is any bytes; a record string must be UTF-8 (flags are checked by
    // the parser, this one is repaired rather than refused).
    s.hostname_repaired = MakeValidUtf8(&s.hostname) != 0;
  }
  s.uplinks = std::make_shared<UplinkSource>(o);
  return s;
}

void Stamps::Apply(record::RecordMeta* meta, std::shared_ptr<const UplinkSnapshot>* held) const {
  meta->schema_version = record::kSchemaVersion;
  meta->daemon_version = daemon_version;
  meta->hostname = hostname;
  meta->location = location;
  meta->label = label;
  meta->tag = tag;
  *held = uplinks != nullptr ? uplinks->Current() : std::make_shared<const UplinkSnapshot>();
  (*held)->Apply(meta);
}

}  // namespace xtcp::pipeline
