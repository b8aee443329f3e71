#include "oracle/loopback_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <functional>
#include <set>
#include <vector>

#include "decode/capture.h"
#include "gtest/gtest.h"
#include "record/flat_record.h"
#include "support/capture_dumps.h"
#include "support/files.h"
#include "support/ss_compare.h"
#include "support/ss_text.h"
#include "tools/loopback_scenario.h"

namespace xtcp::testing {
namespace {

using record::RecordPayload;
using namespace scenario;  // NOLINT(build/namespaces)

// TCP states (include/net/tcp_states.h) and inet_diag timer codes.
constexpr uint32_t kEstablished = 1, kSynSent = 2, kFinWait2 = 5, kTimeWait = 6, kCloseWait = 8,
                   kListen = 10;
constexpr uint32_t kTimerOn = 1, kTimerTimeWait = 3;
// sock_opt bits (struct inet_diag_sockopt), shutdown bits (RCV_SHUTDOWN, SEND_SHUTDOWN).
constexpr uint32_t kIsIcsk = 1u << 1, kMcLoop = 1u << 4;
constexpr uint32_t kRcvShutdown = 1, kSendShutdown = 2;
constexpr uint32_t kLoopbackIfindex = 1;  // lo is the first device of every namespace
// IP_TOS 0x10 (IPTOS_LOWDELAY) also sets sk_priority = ip_tos2prio[8] = TC_PRIO_INTERACTIVE,
// which inet_diag reports as the class id when no cgroup classid is set.
constexpr uint32_t kPrioInteractive = 6;

using Pred = std::function<bool(const RecordPayload&)>;

std::vector<const RecordPayload*> Select(const std::vector<RecordPayload>& all, const Pred& pred) {
  std::vector<const RecordPayload*> out;
  for (const RecordPayload& p : all) {
    if (pred(p)) out.push_back(&p);
  }
  return out;
}

Pred LocalPort(uint16_t port) {
  return [port](const RecordPayload& p) { return p.inet_diag_msg_socket_source_port == port; };
}
Pred PeerPort(uint16_t port) {
  return [port](const RecordPayload& p) { return p.inet_diag_msg_socket_destination_port == port; };
}
Pred State(uint32_t state) {
  return [state](const RecordPayload& p) { return p.inet_diag_msg_state == state; };
}
Pred And(Pred a, Pred b) {
  return [a, b](const RecordPayload& p) { return a(p) && b(p); };
}

// The one socket matching `pred`.
const RecordPayload& One(const std::vector<RecordPayload>& all, const Pred& pred,
                         const char* what) {
  static const RecordPayload kNone{};
  const std::vector<const RecordPayload*> found = Select(all, pred);
  EXPECT_EQ(found.size(), 1u) << what;
  return found.size() == 1 ? *found[0] : kNone;
}

void CheckAgainstSs(const std::string& prefix, const std::vector<Dump>& dumps,
                    uint32_t tolerance_ms) {
  absl::StatusOr<SsListing> listing = ReadSsFile(prefix + ".ss");
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->sockets.size(), kSockets);
  absl::StatusOr<std::string> meta = ReadFileText(prefix + ".meta");
  ASSERT_TRUE(meta.ok()) << meta.status();
  CompareOptions opts;
  ASSERT_TRUE(SsDialect::FromVersionText(*meta, &opts.dialect)) << *meta;
  opts.time_tolerance_ms = tolerance_ms;
  // The modes make_captures.sh asked for are the ones the text shows.
  const SsDialect seen = SsDialect::Infer(*listing);
  EXPECT_TRUE(seen.details && seen.options && seen.mem && seen.info && seen.tos && seen.sockopt &&
              seen.numeric);
  for (int family : {AF_INET, AF_INET6}) {
    int index = -1;
    const ListingReport r = BestDumpFor(dumps, *listing, family, opts, &index);
    EXPECT_TRUE(r.ok()) << "family " << family << ": " << r.Summary();
    EXPECT_EQ(index, family == AF_INET ? 0 : 1);  // nl_capture dumps IPv4 first
  }
}

void CheckCongestionControl(const std::vector<RecordPayload>& all) {
  for (const RecordPayload& p : all) {
    if (p.tcp_info_state == 0) continue;  // TIME-WAIT: no attributes
    const std::string_view name = p.congestion_algorithm_string.view();
    const uint32_t want = name == "cubic" ? 1 : name == "bbr" ? 5 : 0;
    EXPECT_TRUE(name == "cubic" || name == "bbr" || name == "reno") << DescribeSocket(p);
    EXPECT_EQ(p.congestion_algorithm_enum, want) << DescribeSocket(p);
    if (name == "bbr" && p.inet_diag_msg_state == kEstablished) {
      // tcp_bbr.c gains: high_gain 739 while starting, cwnd 739 or 512. (A listener has no BBR
      // state and the kernel sends no BBRINFO for it.)
      EXPECT_TRUE(std::set<uint32_t>({739, 88, 320, 192, 256}).count(p.bbr_info_pacing_gain));
      EXPECT_TRUE(std::set<uint32_t>({739, 512}).count(p.bbr_info_cwnd_gain));
      EXPECT_GT(p.bbr_info_min_rtt, 0u);
    }
  }
  EXPECT_EQ(
      Select(all,
             [](const RecordPayload& p) { return p.congestion_algorithm_string.view() == "reno"; })
          .size(),
      1u);
  // bbr: the 5002 listener, both ends of its connection, the bbr v6 client.
  EXPECT_EQ(
      Select(all,
             [](const RecordPayload& p) { return p.congestion_algorithm_string.view() == "bbr"; })
          .size(),
      4u);
}

void CheckSocketOptions(const std::vector<RecordPayload>& all) {
  const RecordPayload& bbr_client = One(all, PeerPort(kBbrPort), "bbr client");
  EXPECT_EQ(bbr_client.type_of_service, kTos);
  EXPECT_EQ(bbr_client.class_id, kPrioInteractive);
  EXPECT_EQ(One(all, And(LocalPort(kBbrPort), State(kListen)), "bbr listener").type_of_service,
            kTos);
  EXPECT_EQ(One(all, And(LocalPort(kV6OnlyPort), State(kListen)), "v6 listener").traffic_class,
            kTclass);
  EXPECT_EQ(Select(all, [](const RecordPayload& p) { return p.traffic_class == kTclass; }).size(),
            4u);  // the listener, the tclass client and the two accepted sockets
  const std::vector<const RecordPayload*> bound = Select(all, [](const RecordPayload& p) {
    return p.inet_diag_msg_socket_source_port == kBoundToLoPort ||
           p.inet_diag_msg_socket_destination_port == kBoundToLoPort;
  });
  EXPECT_EQ(bound.size(), 3u);
  for (const RecordPayload* p : bound) {
    EXPECT_EQ(p->inet_diag_msg_socket_interface, kLoopbackIfindex);
  }
  for (const RecordPayload& p : all) {
    if (p.tcp_info_state == 0) continue;
    EXPECT_EQ(p.sock_opt & (kIsIcsk | kMcLoop), kIsIcsk | kMcLoop) << DescribeSocket(p);
  }
  const RecordPayload& mapped =
      One(all, And(LocalPort(kDualStackPort), State(kEstablished)), "v4-mapped server");
  EXPECT_EQ(mapped.inet_diag_msg_family, static_cast<uint32_t>(AF_INET6));
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, mapped.inet_diag_msg_socket_source.data, text, sizeof(text));
  EXPECT_STREQ(text, "::ffff:127.0.0.1");
}

void CheckStates(const std::vector<RecordPayload>& all) {
  const RecordPayload& tw = One(all, State(kTimeWait), "TIME-WAIT");
  EXPECT_EQ(tw.inet_diag_msg_timer, kTimerTimeWait);
  EXPECT_LE(tw.inet_diag_msg_expires, 60000u);  // TCP_TIMEWAIT_LEN
  EXPECT_EQ(tw.tcp_info_state, 0u);             // a timewait sock carries no attributes
  EXPECT_EQ(One(all, State(kFinWait2), "FIN-WAIT-2").shutdown_state, kSendShutdown);
  EXPECT_EQ(One(all, State(kCloseWait), "CLOSE-WAIT").shutdown_state, kRcvShutdown);
  const RecordPayload& syn = One(all, State(kSynSent), "SYN-SENT");
  EXPECT_EQ(syn.inet_diag_msg_timer, kTimerOn);
  EXPECT_EQ(syn.tcp_info_unacked, 1u);  // the SYN
  const RecordPayload& unread = One(
      all, [](const RecordPayload& p) { return p.inet_diag_msg_rqueue == kUnreadBytes; },
      "unread receive queue");
  EXPECT_EQ(unread.inet_diag_msg_socket_source_port, kCubicPort);
  EXPECT_EQ(unread.tcp_info_bytes_received, kUnreadBytes);
  for (const RecordPayload* l : Select(all, State(kListen))) {
    // A listener reports its accept queue and backlog as Recv-Q and Send-Q.
    const bool full = l->inet_diag_msg_socket_source_port == kFullBacklogPort;
    EXPECT_EQ(l->inet_diag_msg_rqueue, full ? 1u : 0u);
    EXPECT_EQ(l->inet_diag_msg_wqueue, full ? 0u : static_cast<uint32_t>(kListenBacklog));
  }
}

// tcp_info fields iproute2 6.1 does not print, from what the scenario did.
void CheckUnprintedInfo(const std::vector<RecordPayload>& all) {
  for (const RecordPayload* p : Select(all, State(kEstablished))) {
    SCOPED_TRACE(DescribeSocket(*p));
    EXPECT_EQ(p->tcp_info_state, kEstablished);
    EXPECT_EQ(p->tcp_info_ca_state, 0u);  // TCP_CA_Open: nothing lost on loopback
    EXPECT_GT(p->tcp_info_rcv_wnd, 0u);   // tcp_info 6.2+
    EXPECT_EQ(p->tcp_info_total_rto, 0u);
    EXPECT_EQ(p->tcp_info_total_rto_recoveries, 0u);
    EXPECT_EQ(p->tcp_info_total_rto_time, 0u);
    EXPECT_EQ(p->tcp_info_total_retrans, 0u);
    if (p->tcp_info_bytes_received == kEchoBytes) {
      EXPECT_EQ(p->tcp_info_bytes_sent, kEchoBytes);  // an echo pair: as much sent as received
    }
  }
}

}  // namespace

void CheckLoopbackCapture(const std::string& prefix, uint32_t tolerance_ms) {
  absl::StatusOr<decode::Capture> cap = decode::ReadCapture(prefix + ".pcap");
  ASSERT_TRUE(cap.ok()) << cap.status();
  EXPECT_EQ(cap->requests, 2u);
  EXPECT_EQ(cap->skipped_packets, 0u);
  const std::vector<Dump> dumps = DecodeDumps(*cap);
  ASSERT_EQ(dumps.size(), 2u);
  std::vector<RecordPayload> all;
  for (const Dump& d : dumps) {
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.problems.Total(), 0u);
    all.insert(all.end(), d.sockets.begin(), d.sockets.end());
  }
  EXPECT_EQ(dumps[0].family(), AF_INET);
  EXPECT_EQ(dumps[1].family(), AF_INET6);
  EXPECT_EQ(all.size(), kSockets);
  CheckAgainstSs(prefix, dumps, tolerance_ms);
  CheckCongestionControl(all);
  CheckSocketOptions(all);
  CheckStates(all);
  CheckUnprintedInfo(all);
}

}  // namespace xtcp::testing
