// packaging/: the systemd unit passes systemd-analyze verify, the Containerfile is well formed
// (docker cannot run here, so it is checked statically), and cpack builds a .deb with the right
// contents. Labelled no_sanitizer: packaging a sanitizer build is meaningless.
#include <dirent.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observe/subprocess.h"

namespace xtcp::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/xtcp2-pkg-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

// Effective (uncommented) "Key=value" lines of a unit file.
std::vector<std::string> UnitLines(const std::string& unit) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(unit, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line[0] != '#') out.emplace_back(line);
  }
  return out;
}

constexpr char kFiveCaps[] =
    "CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_NET_RAW CAP_SYS_RESOURCE";

// systemd-analyze verify on a copy whose ExecStart points at build/xtcp2 (verify insists that the
// binary exists). Returns stderr; "" means clean.
std::string VerifyUnit(const std::string& unit_text, const std::string& name) {
  const std::string dir = TempDir();
  const std::string path = dir + "/" + name;
  std::ofstream(path) << absl::StrReplaceAll(unit_text, {{"/usr/bin/xtcp2", BuildPath("xtcp2")}});
  const RunResult r =
      RunProgram({FindTool("systemd-analyze"), "verify", path}, {}, absl::Seconds(60));
  return absl::StrCat(r.exit_code == 0 ? "" : absl::StrCat("exit ", r.exit_code, "\n"), r.err);
}

TEST(SystemdUnitTest, VerifiesCleanly) {
  if (FindTool("systemd-analyze").empty()) GTEST_SKIP() << "systemd-analyze not installed";
  const std::string unit = ReadFile(SourcePath("packaging/xtcp2.service"));
  ASSERT_FALSE(unit.empty());
  EXPECT_EQ(VerifyUnit(unit, "xtcp2.service"), "");
  // Negative control: verify does catch a bad value.
  EXPECT_NE(VerifyUnit(absl::StrReplaceAll(unit, {{"ProtectHome=yes", "ProtectHome=bogus"}}),
                       "xtcp2-broken.service"),
            "");
}

TEST(SystemdUnitTest, GrantsTheFiveCapabilitiesAndKeepsSetnsPossible) {
  const std::vector<std::string> lines = UnitLines(ReadFile(SourcePath("packaging/xtcp2.service")));
  const std::set<std::string> have(lines.begin(), lines.end());
  EXPECT_TRUE(have.count(absl::StrCat("AmbientCapabilities=", kFiveCaps)));
  EXPECT_TRUE(have.count(absl::StrCat("CapabilityBoundingSet=", kFiveCaps)));
  EXPECT_TRUE(have.count("Restart=on-failure"));
  EXPECT_TRUE(have.count("ExecStart=/usr/bin/xtcp2 $XTCP2_ARGS"));
  EXPECT_TRUE(have.count("Environment=TCMALLOC_SAMPLE_PARAMETER=524288"));
  for (const std::string& line : lines) {
    // Each of these would stop setns(2), hide /proc/<pid>/ns/net, or move us off the host netns.
    for (const char* forbidden : {"RestrictNamespaces=", "PrivateNetwork=", "PrivateUsers=",
                                  "ProtectProc=", "ProcSubset=", "NetworkNamespacePath="}) {
      EXPECT_FALSE(absl::StartsWith(line, forbidden)) << line;
    }
  }
}

// Dockerfile syntax, statically: instructions, stages, and what the sidecar needs.
TEST(ContainerfileTest, IsWellFormedForTheSidecar) {
  const std::string text = ReadFile(SourcePath("packaging/Containerfile"));
  ASSERT_FALSE(text.empty());
  const std::set<std::string> known = {"FROM",        "RUN",     "CMD",  "LABEL",      "EXPOSE",
                                       "ENV",         "ADD",     "COPY", "ENTRYPOINT", "VOLUME",
                                       "USER",        "WORKDIR", "ARG",  "ONBUILD",    "STOPSIGNAL",
                                       "HEALTHCHECK", "SHELL"};
  // Join continuation lines, drop comments.
  std::vector<std::string> instructions;
  std::string current;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (current.empty() && (line.empty() || line[0] == '#')) continue;
    const bool more = absl::ConsumeSuffix(&line, "\\");
    absl::StrAppend(&current, current.empty() ? "" : " ", absl::StripAsciiWhitespace(line));
    if (!more) {
      instructions.push_back(current);
      current.clear();
    }
  }
  ASSERT_TRUE(current.empty()) << "dangling line continuation";
  int stages = 0;
  std::string healthcheck, entrypoint, expose, env;
  std::set<std::string> stage_names;
  for (const std::string& ins : instructions) {
    const std::string keyword = ins.substr(0, ins.find(' '));
    EXPECT_TRUE(known.count(keyword)) << "unknown instruction: " << ins;
    const std::string args = ins.substr(keyword.size() + 1);
    if (keyword == "FROM") {
      ++stages;
      if (const size_t as = args.find(" AS "); as != std::string::npos) {
        stage_names.insert(args.substr(as + 4));
      }
      healthcheck.clear();  // only the final stage's settings count
    }
    if (keyword == "HEALTHCHECK") healthcheck = args;
    if (keyword == "ENTRYPOINT") entrypoint = args;
    if (keyword == "EXPOSE") expose = args;
    if (keyword == "ENV") env += args + " ";
    if (keyword == "COPY") {
      std::vector<std::string> parts = absl::StrSplit(args, ' ', absl::SkipEmpty());
      ASSERT_GE(parts.size(), 2u) << ins;
      if (absl::StartsWith(parts[0], "--from=")) {
        EXPECT_TRUE(stage_names.count(parts[0].substr(7))) << "unknown stage: " << ins;
      } else {
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
          EXPECT_EQ(access(SourcePath(parts[i]).c_str(), F_OK), 0) << "missing source: " << ins;
        }
      }
    }
    if (keyword == "RUN" && absl::StrContains(args, "scripts/install-deps.sh")) {
      EXPECT_EQ(access(SourcePath("scripts/install-deps.sh").c_str(), X_OK), 0);
    }
  }
  EXPECT_EQ(stages, 2);
  EXPECT_THAT(healthcheck, HasSubstr("CMD [\"/usr/bin/xtcp2\", \"-healthcheck\"]"));
  EXPECT_THAT(healthcheck, HasSubstr("--timeout=5s"));  // above the probe's own 3 s
  EXPECT_EQ(entrypoint, "[\"/usr/bin/xtcp2\"]");
  EXPECT_EQ(expose, "9088");
  EXPECT_THAT(env, HasSubstr("TCMALLOC_SAMPLE_PARAMETER=524288"));
  // The documented run line grants what the capability check demands and mounts /run/netns.
  EXPECT_THAT(text, HasSubstr("--cap-add NET_ADMIN --cap-add SYS_ADMIN"));
  EXPECT_THAT(text, HasSubstr("-v /run/netns:/run/netns"));
}

TEST(DebPackageTest, CpackBuildsADebWithTheBinaryUnitAndProtos) {
  const std::string cpack = FindTool("cpack"), dpkg_deb = FindTool("dpkg-deb");
  if (cpack.empty() || dpkg_deb.empty()) GTEST_SKIP() << "cpack or dpkg-deb not installed";
  const std::string out = TempDir();
  const RunResult built =
      RunProgram({cpack, "-G", "DEB", "--config", BuildPath("CPackConfig.cmake"), "-B", out}, {},
                 absl::Minutes(10));
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  std::string deb;
  DIR* d = opendir(out.c_str());
  while (dirent* e = readdir(d)) {
    if (absl::EndsWith(e->d_name, ".deb")) deb = out + "/" + e->d_name;
  }
  closedir(d);
  ASSERT_FALSE(deb.empty()) << built.out;
  const RunResult contents = RunProgram({dpkg_deb, "-c", deb});
  ASSERT_EQ(contents.exit_code, 0) << contents.err;
  for (const char* path :
       {"./usr/bin/xtcp2", "./lib/systemd/system/xtcp2.service", "./etc/default/xtcp2",
        "./usr/share/xtcp2/proto/xtcp_flat_record/v1/xtcp_flat_record.proto",
        "./usr/share/xtcp2/proto/xtcp_config/v1/xtcp_config.proto"}) {
    EXPECT_THAT(contents.out, HasSubstr(absl::StrCat(" ", path, "\n"))) << path;
  }
  EXPECT_THAT(contents.out, HasSubstr("rwxr-xr-x root/root"));
  const RunResult info = RunProgram({dpkg_deb, "-I", deb});
  EXPECT_THAT(info.out, HasSubstr("Package: xtcp2"));
  // Depends: comes from dpkg-shlibdeps over the binary's NEEDED libraries.
  EXPECT_THAT(info.out, HasSubstr("Depends:"));
  EXPECT_THAT(info.out, HasSubstr("libc6 ("));
  EXPECT_THAT(info.out, HasSubstr("libstdc++6 ("));
  // Opened at run time by the kafka and http(s) sinks, so declared by hand.
  EXPECT_THAT(info.out, HasSubstr("librdkafka1"));
  EXPECT_THAT(info.out, HasSubstr("libcurl4"));
  EXPECT_THAT(info.out, HasSubstr("conffiles"));
  EXPECT_THAT(info.out, HasSubstr("postinst"));
}

}  // namespace
}  // namespace xtcp::testing
