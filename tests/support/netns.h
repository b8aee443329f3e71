#pragma once
// Test helpers around real network namespaces, ss and the daemon's protobufList output.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "record/record_codec.h"

namespace xtcp::testing {

// Why namespace tests cannot run here ("" if they can: root and `ip netns` work).
std::string NetnsUnavailableReason();

// A namespace made with `ip netns add` for one test, deleted with `ip netns del` when destroyed.
class TestNetns {
 public:
  // Unique name: <prefix>-<pid>-<counter>.
  static std::unique_ptr<TestNetns> Create(const std::string& prefix);
  ~TestNetns();
  const std::string& name() const { return name_; }
  uint64_t inode() const { return inode_; }
  // argv prefix that runs a command inside: {"ip", "netns", "exec", name}.
  std::vector<std::string> Exec(std::vector<std::string> cmd) const;

 private:
  std::string name_;
  uint64_t inode_ = 0;
};

// Cookies (ss's "sk:" field) of every TCP socket ss lists in `netns` ("" = the test's own).
std::set<uint64_t> SsCookies(const std::string& netns);

// Every record of a protobufList stream (varint length ‖ Envelope, repeated).
std::vector<record::ProtoRecord> ReadProtobufList(const std::string& path,
                                                  size_t* envelopes = nullptr);

// A fresh temporary file path (the file is removed when the test process exits).
std::string TempPath(const std::string& stem);

}  // namespace xtcp::testing
