// xtcp2_flag_docs: writes the generated man page or bash completion (flag_docs.h) to a file.
//   xtcp2_flag_docs man <out> <YYYY-MM-DD> <version>
//   xtcp2_flag_docs bash-completion <out>
// A build-time tool (packaging/packaging.cmake); not installed.
#include <cstdio>
#include <fstream>
#include <string>

#include "config/flag_docs.h"

int main(int argc, char** argv) {
  const std::string what = argc > 2 ? argv[1] : "";
  std::string text;
  if (what == "man" && argc == 5) {
    text = xtcp::config::ManPage(argv[3], argv[4]);
  } else if (what == "bash-completion" && argc == 3) {
    text = xtcp::config::BashCompletion();
  } else {
    std::fprintf(stderr,
                 "usage: xtcp2_flag_docs man <out> <date> <version> | bash-completion <out>\n");
    return 2;
  }
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "xtcp2_flag_docs: cannot write %s\n", argv[2]);
    return 1;
  }
  return 0;
}
