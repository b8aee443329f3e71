#include "pipeline/stamp.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace xtcp::pipeline {

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
  if (o.enrich_nic || o.enrich_lldp) {
    for (const std::string& name : enrich::ChooseUplinks(o.uplinks, &s.uplinks_from)) {
      s.uplinks.push_back(o.enrich_nic ? enrich::ReadNic(o.uplinks, name)
                                       : enrich::NicInfo{.ifname = name});
    }
  }
  if (o.enrich_lldp) {
    s.neighbors.resize(s.uplinks.size());
    auto found = enrich::FetchLldpNeighbors(o.lldpd_socket);
    if (!found.ok()) {
      s.lldp_status = found.status();
    } else {
      for (size_t i = 0; i < s.uplinks.size(); ++i) {
        if (auto it = found->find(s.uplinks[i].ifname); it != found->end()) {
          s.neighbors[i] = it->second;
        }
      }
    }
  }
  return s;
}

void Stamps::Apply(record::RecordMeta* meta) const {
  meta->schema_version = record::kSchemaVersion;
  meta->daemon_version = daemon_version;
  meta->hostname = hostname;
  meta->location = location;
  meta->label = label;
  meta->tag = tag;
  if (!uplinks.empty()) {
    const enrich::NicInfo& u = uplinks[0];
    meta->uplink1_ifname = u.ifname;
    meta->uplink1_nic_driver = u.driver;
    meta->uplink1_nic_model = u.model;
    meta->uplink1_nic_pci_vendor = u.pci_vendor;
    meta->uplink1_nic_pci_device = u.pci_device;
    meta->uplink1_nic_bus_info = u.bus_info;
    meta->uplink1_nic_speed_mbps = u.speed_mbps;
    meta->uplink1_nic_fw_version = u.fw_version;
  }
  if (!neighbors.empty()) {
    const enrich::LldpNeighbor& n = neighbors[0];
    meta->uplink1_lldp_chassis_name = n.chassis_name;
    meta->uplink1_lldp_chassis_id = n.chassis_id;
    meta->uplink1_lldp_mgmt_ip = n.mgmt_ip;
    meta->uplink1_lldp_port_id = n.port_id;
    meta->uplink1_lldp_port_descr = n.port_descr;
  }
  if (neighbors.size() > 1) {
    const enrich::LldpNeighbor& n = neighbors[1];
    meta->uplink2_lldp_chassis_name = n.chassis_name;
    meta->uplink2_lldp_chassis_id = n.chassis_id;
    meta->uplink2_lldp_mgmt_ip = n.mgmt_ip;
    meta->uplink2_lldp_port_id = n.port_id;
    meta->uplink2_lldp_port_descr = n.port_descr;
  }
  if (uplinks.size() > 1) {
    const enrich::NicInfo& u = uplinks[1];
    meta->uplink2_ifname = u.ifname;
    meta->uplink2_nic_driver = u.driver;
    meta->uplink2_nic_model = u.model;
    meta->uplink2_nic_pci_vendor = u.pci_vendor;
    meta->uplink2_nic_pci_device = u.pci_device;
    meta->uplink2_nic_bus_info = u.bus_info;
    meta->uplink2_nic_speed_mbps = u.speed_mbps;
    meta->uplink2_nic_fw_version = u.fw_version;
  }
}

}  // namespace xtcp::pipeline
