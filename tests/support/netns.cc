#include "support/netns.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "record/wire.h"
#include "support/process.h"

namespace xtcp::testing {

std::string NetnsUnavailableReason() {
  if (::geteuid() != 0) return "not root";
  const RunResult r = Run({"ip", "netns", "list"}, absl::Seconds(10));
  if (r.exit_code != 0) return "`ip netns` does not work: " + r.err;
  return "";
}

std::unique_ptr<TestNetns> TestNetns::Create(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto ns = std::unique_ptr<TestNetns>(new TestNetns());
  ns->name_ = absl::StrCat(prefix, "-", ::getpid(), "-", counter++);
  const RunResult r = Run({"ip", "netns", "add", ns->name_}, absl::Seconds(10));
  if (r.exit_code != 0) return nullptr;
  Run({"ip", "netns", "exec", ns->name_, "ip", "link", "set", "lo", "up"}, absl::Seconds(10));
  struct stat st {};
  if (::stat(("/run/netns/" + ns->name_).c_str(), &st) == 0) ns->inode_ = st.st_ino;
  return ns;
}

TestNetns::~TestNetns() { Run({"ip", "netns", "del", name_}, absl::Seconds(10)); }

std::vector<std::string> TestNetns::Exec(std::vector<std::string> cmd) const {
  std::vector<std::string> argv = {"ip", "netns", "exec", name_};
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return argv;
}

std::set<uint64_t> SsCookies(const std::string& netns) {
  std::vector<std::string> argv = {"ss", "-tanieH"};
  if (!netns.empty()) argv.insert(argv.begin(), {"ip", "netns", "exec", netns});
  const RunResult r = Run(argv, absl::Seconds(60));
  std::set<uint64_t> out;
  for (absl::string_view tok : absl::StrSplit(r.out, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    if (absl::StartsWith(tok, "sk:")) {
      uint64_t v = 0;
      if (absl::SimpleHexAtoi(tok.substr(3), &v)) out.insert(v);
    }
  }
  return out;
}

std::vector<record::ProtoRecord> ReadProtobufList(const std::string& path, size_t* envelopes) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<record::ProtoRecord> out;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const auto* end = p + data.size();
  size_t n = 0;
  while (p < end) {
    uint64_t len = 0;
    p = record::wire::GetVarint(p, end, &len);
    if (p == nullptr || len > static_cast<uint64_t>(end - p)) break;
    record::ProtoEnvelope env;
    if (!env.ParseFromArray(p, static_cast<int>(len))) break;
    for (auto& row : *env.mutable_row()) out.push_back(std::move(row));
    p += len;
    ++n;
  }
  if (envelopes) *envelopes = n;
  return out;
}

std::string TempPath(const std::string& stem) {
  static std::atomic<int> counter{0};
  return absl::StrCat("/tmp/xtcp-test-", stem, "-", ::getpid(), "-", counter++);
}

}  // namespace xtcp::testing
