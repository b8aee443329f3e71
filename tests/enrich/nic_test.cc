// Uplink choice and NIC identity over a fake /proc and /sys tree (and the real pci.ids when
// Debian's pci.ids package is installed).
#include "enrich/nic.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace xtcp::enrich {
namespace {

namespace fs = std::filesystem;

class FakeHost : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("xtcp-nic-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "proc/net");
    fs::create_directories(root_ / "sys/class/net");
    fs::create_directories(root_ / "sys/devices/pci0000:00/0000:03:00.0");
    fs::create_directories(root_ / "sys/bus/pci/drivers/ixgbe");
    opts_.proc_root = (root_ / "proc").string();
    opts_.sysfs_root = (root_ / "sys").string();
    opts_.pci_ids = (root_ / "pci.ids").string();
    opts_.ethtool = false;  // the ioctl would see this machine's interfaces, not the fake tree
    Write("proc/net/route", "");
    Write("proc/net/ipv6_route", "");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  // An interface; `pci` gives it a device link to a PCI function driven by ixgbe.
  void Iface(const std::string& name, bool pci, const std::string& speed) {
    const fs::path dir = root_ / "sys/class/net" / name;
    fs::create_directories(dir);
    std::ofstream(dir / "speed") << speed << "\n";
    if (!pci) return;
    const fs::path dev = root_ / "sys/devices/pci0000:00/0000:03:00.0";
    fs::create_symlink(dev, dir / "device");
    std::error_code ec;
    fs::create_symlink(root_ / "sys/bus/pci/drivers/ixgbe", dev / "driver", ec);
    std::ofstream(dev / "vendor") << "0x8086\n";
    std::ofstream(dev / "device") << "0x10fb\n";
  }

  fs::path root_;
  UplinkOptions opts_;
};

constexpr char kRouteHeader[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

TEST_F(FakeHost, DefaultRoutesComeFirstV4ThenV6WithoutDuplicates) {
  Write("proc/net/route", std::string(kRouteHeader) +
                              "eth1\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                              "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
  const std::string zeros(32, '0');
  Write("proc/net/ipv6_route",
        "fe800000000000000000000000000000 40 " + zeros + " 00 " + zeros +
            " 00000100 00000001 00000000 00000001     eth2\n" + zeros + " 00 " + zeros + " 00 " +
            "fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n" +
            zeros + " 00 " + zeros + " 00 " + zeros +
            " 00000400 00000001 00000000 00000003     bond0\n");
  EXPECT_EQ(DefaultRouteInterfaces(opts_.proc_root), (std::vector<std::string>{"eth0", "bond0"}));
  std::string how;
  EXPECT_EQ(ChooseUplinks(opts_, &how), (std::vector<std::string>{"eth0", "bond0"}));
  EXPECT_EQ(how, "default route");
  opts_.count = 1;
  EXPECT_EQ(ChooseUplinks(opts_, &how), (std::vector<std::string>{"eth0"}));
}

TEST_F(FakeHost, WithoutADefaultRouteThePhysicalInterfacesAreUsed) {
  Iface("veth9", false, "10000");
  Iface("enp3s0", true, "10000");
  Iface("lo", false, "");
  std::string how;
  EXPECT_EQ(ChooseUplinks(opts_, &how), (std::vector<std::string>{"enp3s0"}));
  EXPECT_EQ(how, "physical interfaces");
  opts_.interfaces = {"veth9", "enp3s0", "x"};  // the flag wins, cut to two
  EXPECT_EQ(ChooseUplinks(opts_, &how), (std::vector<std::string>{"veth9", "enp3s0"}));
  EXPECT_EQ(how, "-uplinkInterfaces");
  fs::remove_all(root_ / "sys/class/net");
  EXPECT_TRUE(ChooseUplinks(
                  UplinkOptions{.proc_root = opts_.proc_root, .sysfs_root = opts_.sysfs_root}, &how)
                  .empty());
  EXPECT_EQ(how, "none");
}

TEST_F(FakeHost, ANicIsDescribedFromSysfsAndPciIds) {
  Iface("enp3s0", true, "10000");
  Write("pci.ids",
        "# comment\n10de  NVIDIA Corporation\n\t0001  Something\n"
        "8086  Intel Corporation\n\t1000  82542 Gigabit Ethernet Controller (Fiber)\n"
        "\t10fb  82599ES 10-Gigabit SFI/SFP+ Network Connection\n"
        "\t\t8086 000c  Ethernet Server Adapter X520-2\n"
        "8087  Intel Corporation\n");
  const NicInfo n = ReadNic(opts_, "enp3s0");
  EXPECT_EQ(n.ifname, "enp3s0");
  EXPECT_EQ(n.driver, "ixgbe");
  EXPECT_EQ(n.bus_info, "0000:03:00.0");
  EXPECT_EQ(n.pci_vendor, 0x8086u);
  EXPECT_EQ(n.pci_device, 0x10fbu);
  EXPECT_EQ(n.speed_mbps, 10000u);
  EXPECT_EQ(n.model, "Intel Corporation 82599ES 10-Gigabit SFI/SFP+ Network Connection");
  EXPECT_EQ(PciModel(opts_.pci_ids, 0x8086, 0xbeef), "Intel Corporation");  // vendor only
  EXPECT_EQ(PciModel(opts_.pci_ids, 0x1234, 0x10fb), "");
}

TEST_F(FakeHost, AVirtualOrDownInterfaceKeepsItsNameAndReportsNoSpeed) {
  Iface("bond0", false, "-1");
  const NicInfo n = ReadNic(opts_, "bond0");
  EXPECT_EQ(n.ifname, "bond0");
  EXPECT_EQ(n.speed_mbps, 0u);
  EXPECT_EQ(n.pci_vendor, 0u);
  EXPECT_EQ(n.driver, "");
  EXPECT_EQ(n.model, "");
}

TEST(PciIds, DebiansDatabaseNamesAWellKnownNic) {
  const std::string db = "/usr/share/misc/pci.ids";
  if (!fs::exists(db)) GTEST_SKIP() << db << " absent (Debian package pci.ids)";
  const std::string m = PciModel(db, 0x8086, 0x100e);
  EXPECT_NE(m.find("Intel"), std::string::npos) << m;
  EXPECT_NE(m.find("82540EM"), std::string::npos) << m;
}

}  // namespace
}  // namespace xtcp::enrich
