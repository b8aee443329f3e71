// The generated man page and bash completion (flag_docs.h): every flag of the table is in both;
// the built page renders through man/groff without a warning; bash with the built completion
// sourced proposes flag names for a prefix.
#include "config/flag_docs.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "config/flag_table.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xtcp::config {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Shell {
  int status = -1;
  std::string out;  // stdout (commands add 2>&1 where they want stderr)
};

// Runs `command` with sh -c (a fixed command line of this test, no input from elsewhere), bounded
// by `timeout 30` unless `bounded` is false (shell builtins).
Shell Sh(const std::string& command, bool bounded = true) {
  Shell r;
  FILE* p = popen(absl::StrCat(bounded ? "timeout 30 " : "", command).c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool Have(const std::string& tool) {
  return Sh(absl::StrCat("command -v ", tool, " >/dev/null 2>&1"), /*bounded=*/false).status == 0;
}

std::string ManName(std::string_view flag) {
  return absl::StrCat("\\-", absl::StrReplaceAll(std::string(flag), {{"-", "\\-"}}));
}

TEST(FlagDocs, ManPageHasEveryFlagWithItsEnvironmentVariable) {
  const std::string page = ManPage("2024-05-01", "0.1.0");
  EXPECT_THAT(page, HasSubstr(".TH XTCP2 8 \"2024-05-01\" \"xtcp2 0.1.0\""));
  for (const FlagRow& f : Flags()) {
    EXPECT_THAT(page, AnyOf(HasSubstr(absl::StrCat("\n.B ", ManName(f.name), "\n")),
                            HasSubstr(absl::StrCat("\n.BI ", ManName(f.name), " \""))))
        << f.name;
    if (!f.env.empty()) {
      EXPECT_THAT(page, HasSubstr(absl::StrCat("Environment: ", std::string(f.env))));
    }
  }
}

TEST(FlagDocs, ManPageEscapesWhatRoffWouldMisread) {
  const std::string page = ManPage("2024-05-01", "0.1.0");
  for (char c : page) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "non-ASCII byte";
  EXPECT_THAT(page, Not(HasSubstr("\n'")));  // a line starting with ' is a request
}

TEST(FlagDocs, CompletionListsEveryFlag) {
  const std::string script = BashCompletion();
  EXPECT_THAT(script, HasSubstr("\ncomplete -F _xtcp2 xtcp2\n"));
  for (const FlagRow& f : Flags()) {
    EXPECT_THAT(script, HasSubstr(absl::StrCat(" -", std::string(f.name), " "))) << f.name;
  }
}

TEST(FlagDocs, BuiltFilesAreTheGeneratedOnes) {
  EXPECT_EQ(ReadFile(XTCP_BASH_COMPLETION), BashCompletion());
  const std::string page = ReadFile(XTCP_MAN_PAGE);
  ASSERT_FALSE(page.empty());
  for (const FlagRow& f : Flags()) EXPECT_THAT(page, HasSubstr(ManName(f.name))) << f.name;
  // The packaged copy is the same page, gzipped.
  EXPECT_EQ(
      Sh(absl::StrCat("gzip -dc ", XTCP_MAN_PAGE, ".gz | cmp - ", XTCP_MAN_PAGE, " 2>&1")).status,
      0);
}

TEST(FlagDocs, ManRendersWithoutWarnings) {
  if (!Have("groff") || !Have("man")) GTEST_SKIP() << "groff/man missing (groff-base man-db)";
  // groff -ww: every warning; -z: parse and format, no output.
  const Shell groff =
      Sh(absl::StrCat("env LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z ", XTCP_MAN_PAGE, " 2>&1"));
  EXPECT_EQ(groff.status, 0);
  EXPECT_EQ(groff.out, "");  // no warning at all
  const std::string man =
      absl::StrCat("env LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l ", XTCP_MAN_PAGE, ".gz");
  const Shell warnings = Sh(absl::StrCat(man, " 2>&1 >/dev/null"));  // stderr only
  EXPECT_EQ(warnings.status, 0);
  EXPECT_EQ(warnings.out, "");
  const Shell page = Sh(man);
  EXPECT_THAT(page.out, HasSubstr("-frequency duration"));
  EXPECT_THAT(page.out, HasSubstr("EXIT STATUS"));
}

// COMPREPLY of the built completion for the words given (the last one is completed).
std::string Complete(const std::string& words) {
  const Shell r = Sh(absl::StrCat("bash --norc --noprofile -c 'source ", XTCP_BASH_COMPLETION,
                                  "; COMP_WORDS=(xtcp2 ", words,
                                  "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _xtcp2; printf "
                                  "\"%s\\n\" \"${COMPREPLY[@]}\"' 2>&1"));
  EXPECT_EQ(r.status, 0) << r.out;
  return r.out;
}

TEST(FlagDocs, BashProposesFlagNamesForAPrefix) {
  if (!Have("bash")) GTEST_SKIP() << "bash missing";
  EXPECT_EQ(Complete("-freq"), "-frequency\n");
  EXPECT_EQ(Complete("--freq"), "--frequency\n");
  const std::string kafka = Complete("-kafka");
  for (const FlagRow& f : Flags()) {
    if (std::string_view(f.name).starts_with("kafka")) {
      EXPECT_THAT(kafka, HasSubstr(absl::StrCat("-", std::string(f.name), "\n")));
    }
  }
  EXPECT_THAT(kafka, Not(HasSubstr("-frequency")));
  // After a flag that takes a number or duration nothing is proposed.
  EXPECT_EQ(Complete("-frequency \"\""), "\n");
  // After a string flag, file names.
  EXPECT_THAT(Complete(absl::StrCat("-capturePath ", XTCP_BASH_COMPLETION)),
              HasSubstr(absl::StrCat(XTCP_BASH_COMPLETION, "\n")));
}

}  // namespace
}  // namespace xtcp::config
