#pragma once
// Uplink NICs for the uplink1_* / uplink2_* record columns (-enrichNic, -uplinkCount,
// -uplinkInterfaces).
//
// Which interfaces: the -uplinkInterfaces list if given; else the interfaces of the default routes
// (IPv4 first, then IPv6, /proc/net/route and /proc/net/ipv6_route); else the physical interfaces
// (those with a sysfs `device` link, sorted by name). At most `count` of them (1-2).
//
// What each one is: sysfs (driver, PCI vendor/device, bus address, speed) and the ethtool
// ETHTOOL_GDRVINFO ioctl (driver, firmware version, bus info), the model named from the PCI id
// database (Debian's pci.ids). A virtual interface (veth, bond, bridge: no `device` link) keeps its
// name and whatever ethtool and sysfs report instead of being dropped.
//
// Thread-compatible: plain functions over the filesystem and one ioctl socket per call.

#include <cstdint>
#include <string>
#include <vector>

namespace xtcp::enrich {

struct NicInfo {
  std::string ifname;
  std::string driver;
  std::string model;
  std::string bus_info;
  std::string fw_version;
  uint32_t pci_vendor = 0;
  uint32_t pci_device = 0;
  uint32_t speed_mbps = 0;  // 0: unknown or down
};

struct UplinkOptions {
  int count = 2;                        // -uplinkCount (0 means 2, at most 2)
  std::vector<std::string> interfaces;  // -uplinkInterfaces
  std::string proc_root = "/proc";
  std::string sysfs_root = "/sys";
  std::string pci_ids = "/usr/share/misc/pci.ids";
  bool ethtool = true;  // the ioctl sees the calling thread's namespace, not `sysfs_root`
};

// Interfaces of the default routes, IPv4 then IPv6, without duplicates.
std::vector<std::string> DefaultRouteInterfaces(const std::string& proc_root);
// Interfaces with a sysfs device link (not lo), sorted.
std::vector<std::string> PhysicalInterfaces(const std::string& sysfs_root);

// The uplinks to describe; `*how` says where they came from ("-uplinkInterfaces", "default
// route", "physical interfaces", or "none").
std::vector<std::string> ChooseUplinks(const UplinkOptions& o, std::string* how);

NicInfo ReadNic(const UplinkOptions& o, const std::string& ifname);

// "Vendor Device" from a pci.ids file; "" when the file or the ids are unknown.
std::string PciModel(const std::string& pci_ids, uint32_t vendor, uint32_t device);

}  // namespace xtcp::enrich
