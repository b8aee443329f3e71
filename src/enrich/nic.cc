#include "enrich/nic.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/unique_fd.h"

namespace xtcp::enrich {
namespace {

namespace fs = std::filesystem;

std::string ReadTrimmed(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

uint32_t ReadHex(const fs::path& p) {
  std::string s = ReadTrimmed(p);
  if (s.starts_with("0x") || s.starts_with("0X")) s = s.substr(2);
  uint32_t v = 0;
  return absl::SimpleHexAtoi(s, &v) ? v : 0;
}

uint32_t ReadSpeed(const fs::path& p) {
  int64_t v = 0;  // the kernel reports -1 (or fails the read) for a link that is down
  if (!absl::SimpleAtoi(ReadTrimmed(p), &v) || v < 0 || v > UINT32_MAX) return 0;
  return static_cast<uint32_t>(v);
}

std::string LinkBase(const fs::path& p) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(p, ec);
  return ec ? "" : target.filename().string();
}

void AddUnique(std::vector<std::string>* out, std::set<std::string>* seen, std::string name) {
  if (!name.empty() && seen->insert(name).second) out->push_back(std::move(name));
}

std::string CString(const char* s, size_t cap) { return std::string(s, strnlen(s, cap)); }

}  // namespace

std::vector<std::string> DefaultRouteInterfaces(const std::string& proc_root) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; a default route has
    // destination and mask 0.
    std::ifstream in(proc_root + "/net/route");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (f.size() >= 8 && f[1] == "00000000" && f[7] == "00000000") AddUnique(&out, &seen, f[0]);
    }
  }
  {
    // dest prefixlen src srclen nexthop metric refcnt use flags iface; no header.
    std::ifstream in(proc_root + "/net/ipv6_route");
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (f.size() >= 10 && f[0] == std::string(32, '0') && f[1] == "00" && f[9] != "lo") {
        AddUnique(&out, &seen, f[9]);
      }
    }
  }
  return out;
}

std::vector<std::string> PhysicalInterfaces(const std::string& sysfs_root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(sysfs_root) / "class/net", ec)) {
    const std::string name = e.path().filename().string();
    if (name == "lo") continue;
    std::error_code ec2;
    if (fs::symlink_status(e.path() / "device", ec2).type() != fs::file_type::not_found && !ec2) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ChooseUplinks(const UplinkOptions& o, std::string* how) {
  const size_t count = static_cast<size_t>(o.count <= 0 ? 2 : std::min(o.count, 2));
  std::vector<std::string> names;
  if (!o.interfaces.empty()) {
    names = o.interfaces;
    *how = "-uplinkInterfaces";
  } else if (names = DefaultRouteInterfaces(o.proc_root); !names.empty()) {
    *how = "default route";
  } else if (names = PhysicalInterfaces(o.sysfs_root); !names.empty()) {
    *how = "physical interfaces";
  } else {
    *how = "none";
  }
  if (names.size() > count) names.resize(count);
  return names;
}

NicInfo ReadNic(const UplinkOptions& o, const std::string& ifname) {
  NicInfo n;
  n.ifname = ifname;
  const fs::path dir = fs::path(o.sysfs_root) / "class/net" / ifname;
  const fs::path dev = dir / "device";
  n.driver = LinkBase(dev / "driver");
  n.bus_info = LinkBase(dev);
  n.pci_vendor = ReadHex(dev / "vendor");
  n.pci_device = ReadHex(dev / "device");
  n.speed_mbps = ReadSpeed(dir / "speed");
  if (o.ethtool && ifname.size() < IFNAMSIZ) {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    if (sock && ::ioctl(sock.get(), SIOCETHTOOL, &ifr) == 0) {
      if (std::string d = CString(info.driver, sizeof(info.driver)); !d.empty()) n.driver = d;
      n.fw_version = CString(info.fw_version, sizeof(info.fw_version));
      if (std::string b = CString(info.bus_info, sizeof(info.bus_info)); !b.empty() && b != "N/A") {
        n.bus_info = b;
      }
    }
  }
  if (n.pci_vendor != 0) n.model = PciModel(o.pci_ids, n.pci_vendor, n.pci_device);
  return n;
}

std::string PciModel(const std::string& pci_ids, uint32_t vendor, uint32_t device) {
  // Vendor lines: "vvvv  Name"; their devices follow as "\tdddd  Name"; subsystems "\t\t...".
  std::ifstream in(pci_ids);
  std::string line, vendor_name;
  bool in_vendor = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != '\t') {
      if (in_vendor) break;  // past our vendor's devices
      uint32_t v = 0;
      if (line.size() > 6 && absl::SimpleHexAtoi(line.substr(0, 4), &v) && v == vendor) {
        in_vendor = true;
        vendor_name = std::string(absl::StripAsciiWhitespace(line.substr(4)));
      }
      if (line.starts_with("C ")) break;  // the device classes come after every vendor
      continue;
    }
    if (!in_vendor || line.size() < 7 || line[1] == '\t') continue;
    uint32_t d = 0;
    if (absl::SimpleHexAtoi(line.substr(1, 4), &d) && d == device) {
      return vendor_name + " " + std::string(absl::StripAsciiWhitespace(line.substr(5)));
    }
  }
  return in_vendor ? vendor_name : "";
}

}  // namespace xtcp::enrich
