#pragma once
// Checks of one capture of the loopback scenario (tests/tools/loopback_scenario.h) made by
// tests/testdata/make_captures.sh: NAME.pcap decoded by our walker must hold exactly the sockets
// NAME.ss lists with every printed field equal (time-varying ones within `tolerance_ms`, since
// ss and nl_capture read the namespace one after the other), and the sockets must show what the
// scenario set on them, including fields ss does not print.

#include <cstdint>
#include <string>

namespace xtcp::testing {

// `prefix` is DIR/NAME (NAME.pcap, NAME.ss, NAME.meta beside it). Reports through gtest.
void CheckLoopbackCapture(const std::string& prefix, uint32_t tolerance_ms);

}  // namespace xtcp::testing
