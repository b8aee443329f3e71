// -dest parsing: every scheme of the table, and one clear InvalidArgument line for bad input.
#include <string>

#include "config/config.h"
#include "config/flag_table.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using ::testing::HasSubstr;

absl::Status Create(const std::string& dest) {
  SinkOptions o;
  o.dest = dest;
  return CreateSink(o).status();
}

TEST(SinkFactory, UnknownSchemeListsEveryValidScheme) {
  const absl::Status s = Create("s3parquet:bucket");
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "invalid value \"s3parquet:bucket\" for flag -dest: unknown destination; valid "
            "schemes are: null, stdout, stderr, file, tcp, http, https, udp, unix, unixgram, "
            "kafka, nats, valkey, nsq");
}

TEST(SinkFactory, WellFormedNetworkDestinationsNeedNoPeerAtStart) {
  for (const char* dest :
       {"tcp:127.0.0.1:1", "tcp:[::1]:1", "tcp:localhost:http", "tcp::9", "udp:127.0.0.1:1",
        "udp:[::1]:9", "unix:/nonexistent/xtcp.sock", "unixgram:/nonexistent/xtcp.sock",
        "http://127.0.0.1:1/x", "https://example.invalid/ingest", "kafka:127.0.0.1:1",
        "valkey:127.0.0.1:1", "valkey:[::1]:6379", "valkey::6379", "nats:127.0.0.1:1",
        "nats:127.0.0.1:1,[::1]:2", "nsq:127.0.0.1:1", "nsq:[::1]:4150", "nsq::4150"}) {
    EXPECT_TRUE(Create(dest).ok()) << dest << ": " << Create(dest);
  }
}

TEST(SinkFactory, MalformedAddressesNameTheSyntaxAndTheSchemes) {
  struct Bad {
    std::string dest, why;
  };
  for (const Bad& b :
       {Bad{"tcp:", "missing port"}, Bad{"tcp:host", "missing port"},
        Bad{"tcp:host:", "missing port"}, Bad{"tcp:a:b:c", "too many colons"},
        Bad{"tcp:[::1:80", "missing ']'"}, Bad{"udp:h:70000", "port out of range"},
        Bad{"udp:[::1]", "missing port"}, Bad{"udp:host:notaport", "unknown port name"},
        Bad{"tcp:host:0", "port out of range"}, Bad{"udp:h:-1", "unknown port name"},
        Bad{"tcp:h:99999999999", "port out of range"}, Bad{"unix:", "socket path"},
        Bad{"unixgram:", "socket path"}, Bad{"unix:/" + std::string(200, 'x'), "socket path"}}) {
    const absl::Status s = Create(b.dest);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << b.dest;
    EXPECT_THAT(std::string(s.message()), HasSubstr(b.why)) << b.dest;
    EXPECT_THAT(std::string(s.message()), HasSubstr("\"" + b.dest + "\" for flag -dest")) << b.dest;
    EXPECT_THAT(std::string(s.message()), HasSubstr("valid schemes are: null,")) << b.dest;
  }
}

// -help lists the registry's sinks; the flag table's copy (man page, configuration.md) must say
// the same, so adding a sink without its help fails here.
TEST(SinkFactory, DestHelpIsTheRegistrysList) {
  const std::vector<std::string> syntaxes = SinkSyntaxes();
  ASSERT_EQ(syntaxes.size(), SinkSchemes().size());
  for (size_t i = 0; i < syntaxes.size(); ++i) {
    EXPECT_EQ(syntaxes[i].rfind(SinkSchemes()[i], 0), 0u) << syntaxes[i];
  }
  const config::FlagRow* dest = config::FindFlag("dest");
  ASSERT_NE(dest, nullptr);
  EXPECT_EQ(std::string(dest->help), config::DestHelp(syntaxes));
  config::Vocabulary v;
  v.dest_syntaxes = {"null", "carrier:pigeon"};
  EXPECT_NE(config::Usage(v).find("Destination scheme:address: null, carrier:pigeon"),
            std::string::npos);
}

}  // namespace
}  // namespace xtcp
