#pragma once
// A fake /proc and /sys with one uplink whose sysfs speed a test can change: what -enrichRefresh
// reads again (the ethtool ioctl is off: it would see this machine's interfaces).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pipeline/stamp.h"

namespace xtcp::testing {

class UplinkTree {
 public:
  explicit UplinkTree(const std::string& tag)
      : root_(std::filesystem::temp_directory_path() /
              ("xtcp-uplink-" + std::to_string(::getpid()) + "-" + tag)) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "proc/net");
    std::ofstream(root_ / "proc/net/route") << "";
    std::ofstream(root_ / "proc/net/ipv6_route") << "";
    SetSpeed("eth9", 1000);
  }
  ~UplinkTree() { std::filesystem::remove_all(root_); }

  void SetSpeed(const std::string& ifname, int mbps) {
    std::filesystem::create_directories(root_ / "sys/class/net" / ifname);
    std::ofstream(root_ / "sys/class/net" / ifname / "speed") << mbps << "\n";
  }
  pipeline::StampOptions Options(std::vector<std::string> uplinks = {"eth9"}) const {
    pipeline::StampOptions o;
    o.hostname = "test-host";
    o.enrich_nic = true;
    o.uplinks.interfaces = std::move(uplinks);
    o.uplinks.proc_root = (root_ / "proc").string();
    o.uplinks.sysfs_root = (root_ / "sys").string();
    o.uplinks.pci_ids = (root_ / "pci.ids").string();
    o.uplinks.ethtool = false;
    return o;
  }

 private:
  std::filesystem::path root_;
};

}  // namespace xtcp::testing
