#pragma once
// Hiding secrets in text that is shown: logs, /debug/pprof/cmdline, -conf, error messages.
//
// Pure; thread-safe.

#include <string>

namespace xtcp {

// A URL with its userinfo's password (or, without a password, the whole userinfo: it may be a
// token) replaced by "***": "http://admin:pw@host/x" -> "http://admin:***@host/x". Text that is
// not a URL with userinfo comes back unchanged.
std::string MaskUrlUserinfo(const std::string& value);

}  // namespace xtcp
