#pragma once
// Test helpers: the vocabulary main would pass (kept literal: config tests do not link decode),
// and ParseCommandLine over a list of words.

#include <string>
#include <vector>

#include "config/config.h"

namespace xtcp::config::testing {

inline Vocabulary TestVocabulary() {
  Vocabulary v;
  v.deserializers = {"meminfo", "info",  "vegas", "cong",    "tos",    "tc",     "skmem",
                     "shut",    "dctcp", "bbr",   "classid", "cgroup", "sockopt"};
  v.default_deserializers.assign(v.deserializers.begin() + 1, v.deserializers.end());
  v.marshallers = {"protobufList", "protoJson", "protoText", "msgpack",
                   "jsonl",        "csv",       "tsv",       "humanize"};
  v.dest_schemes = {"null",  "stdout", "stderr", "file",     "tcp",  "http",
                    "https", "udp",    "unix",   "unixgram", "kafka"};
  return v;
}

inline std::vector<const char*> Argv(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return argv;
}

inline CliResult Parse(std::vector<std::string> args, const Environment& env = {}) {
  args.insert(args.begin(), "xtcp2");
  const std::vector<const char*> argv = Argv(args);
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), env, TestVocabulary());
}

}  // namespace xtcp::config::testing
