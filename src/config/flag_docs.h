#pragma once
// The man page and the bash completion of xtcp2, generated from the flag table (flag_table.h) at
// build time by xtcp2_flag_docs (flag_docs_main.cc), so they list exactly the flags the binary
// accepts. The .deb installs them as /usr/share/man/man8/xtcp2.8.gz and
// /usr/share/bash-completion/completions/xtcp2.

#include <string>
#include <string_view>

namespace xtcp::config {

// xtcp2(8) in man(7) macros. `date` (YYYY-MM-DD) and `version` go in the title line; the caller
// passes the commit's date so the page is reproducible. Non-ASCII text is written as groff
// \[uXXXX] escapes, every '-' as \- (a flag name must render as typed).
std::string ManPage(std::string_view date, std::string_view version);

// A bash completion script: `complete -F _xtcp2 xtcp2`. A word starting with '-' (or "--")
// completes to flag names; after a flag that takes a value, nothing is proposed except file names
// for string flags.
std::string BashCompletion();

}  // namespace xtcp::config
