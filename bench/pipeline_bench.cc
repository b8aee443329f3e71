// Micro-benchmarks of the pipeline after the decoder:
//
//   BM_RowEncoder               record -> Envelope row, metadata cached per datagram (the
//                               readers' path)
//   BM_RowEncoderContainer/<n>  the same plus -resolveContainerId's per-socket cgroup lookup and
//                               container columns; the sockets come from n cgroups
//   BM_DatagramRows/<plain|container|all>  per record, a datagram's SetMeta/30 and the row, without
//                               and with the container, uplink NIC and LLDP columns
//   BM_EnvelopeAppend           encoded rows appended to the batcher (one lock per datagram of
//                               30 rows)
//   BM_Marshal/<format>         one 768 KiB flush marshalled, reported per record
//   BM_SinkFlush/<scheme>       one 64 KiB flush through each sink to a real local peer, per
//                               flush; compare with BM_SinkFlush/null for the per-flush overhead.
//                               nats and valkey against nats-server and redis-server started
//                               here (skipped when not installed; no subscriber), nsq against
//                               the tests' nsqd-protocol server (tests/sink/fake_nsqd.h)
//
// Targets (SPEC.md §5): protobufList encode <= 150 ns per record; no allocation per record.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "civetweb.h"
#include "common/log.h"
#include "common/metrics.h"
#include "enrich/cgroup.h"
#include "pipeline/envelope.h"
#include "pipeline/row_batch.h"
#include "record/record_codec.h"
#include "sink/fake_nsqd.h"
#include "sink/kafka_mock.h"
#include "support/process.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace {

using xtcp::record::FlatRecord;

// A record shaped like a decoded established IPv4 socket (about 280 bytes encoded).
FlatRecord TypicalRecord() {
  FlatRecord r;
  r.meta.schema_version = 1;
  r.meta.daemon_version = "xtcp commit:0123456789ab\tdate(UTC):2026-11-27T10:00:00Z\tversion:0.1.0";
  r.meta.timestamp_ns = 1795000000123456789;
  r.meta.hostname = "host-01.example.net";
  r.meta.netns = "default";
  r.meta.netns_inode = 4026531840;
  r.meta.socket_fd = 7;
  r.meta.netlinker_id = 2;
  auto& p = r.payload;
  p.inet_diag_msg_family = 2;
  p.inet_diag_msg_state = 1;
  p.inet_diag_msg_socket_source_port = 41997;
  p.inet_diag_msg_socket_destination_port = 4003;
  p.inet_diag_msg_socket_source.len = p.inet_diag_msg_socket_destination.len = 16;
  const uint8_t lo[4] = {127, 0, 0, 1};
  std::memcpy(p.inet_diag_msg_socket_source.data, lo, 4);
  std::memcpy(p.inet_diag_msg_socket_destination.data, lo, 4);
  p.inet_diag_msg_socket_cookie = 0x1234;
  p.inet_diag_msg_uid = 1000;
  p.inet_diag_msg_inode = 5896;
  p.tcp_info_state = 1;
  p.tcp_info_options = 31;
  p.tcp_info_send_scale = p.tcp_info_rcv_scale = 9;
  p.tcp_info_rto = 201000;
  p.tcp_info_ato = 40000;
  p.tcp_info_snd_mss = 65483;
  p.tcp_info_rcv_mss = 536;
  p.tcp_info_pmtu = 65535;
  p.tcp_info_rcv_ssthresh = 434517;
  p.tcp_info_rtt = 99;
  p.tcp_info_rtt_var = 77;
  p.tcp_info_snd_ssthresh = 2147483647;
  p.tcp_info_snd_cwnd = 10;
  p.tcp_info_adv_mss = 65483;
  p.tcp_info_reordering = 3;
  p.tcp_info_rcv_space = 434517;
  p.tcp_info_pacing_rate = 105035388464;
  p.tcp_info_max_pacing_rate = ~uint64_t{0};
  p.tcp_info_bytes_acked = 71;
  p.tcp_info_bytes_received = 70;
  p.tcp_info_segs_out = 16;
  p.tcp_info_segs_in = 9;
  p.tcp_info_min_rtt = 11;
  p.tcp_info_data_segs_in = p.tcp_info_data_segs_out = 7;
  p.tcp_info_delivery_rate = 47624000000;
  p.tcp_info_delivered = 8;
  p.tcp_info_bytes_sent = 70;
  p.tcp_info_snd_wnd = p.tcp_info_rcv_wnd = 458752;
  p.congestion_algorithm_string.Assign("cubic");
  p.congestion_algorithm_enum = 1;
  p.sk_mem_info_rcv_buf = 1000000;
  p.sk_mem_info_snd_buf = 2626560;
  p.sock_opt = 82;
  p.c_group = 4069;
  return r;
}

void BM_RowEncoder(benchmark::State& state) {
  const FlatRecord r = TypicalRecord();
  xtcp::record::RowEncoder enc;
  enc.SetMeta(r.meta);
  xtcp::ByteBuffer out(1 << 20);
  uint64_t counter = 1;
  for (auto _ : state) {
    if (out.size() > (1 << 20) - 4096) out.Clear();
    enc.Append(counter++, r.payload, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RowEncoder);

// -resolveContainerId: what a reader adds per socket, the cgroup lookup (the reader's CgroupCache
// in front of the CgroupMap, as CollectorReader::ContainerOf does it) and the container columns
// copied into the row. The map is walked from a tree made in a temporary directory: 64 container
// scopes and 256 host services. range(0): how many cgroups the sockets of a datagram come from (1,
// or 64, sockets shuffled over the containers).
class CgroupTree {
 public:
  CgroupTree() {
    root_ = std::filesystem::temp_directory_path() /
            ("xtcp-bench-cgroup-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    char id[65] = {};
    for (int i = 0; i < 64; ++i) {
      std::snprintf(id, sizeof(id), "%064x", 0x1000 + i);
      containers_.push_back(Make("system.slice/docker-" + std::string(id) + ".scope"));
    }
    for (int i = 0; i < 256; ++i) Make("system.slice/service-" + std::to_string(i) + ".service");
    auto map = xtcp::enrich::BuildCgroupMap({.mount_point = root_.string(), .root = "/"});
    if (map.ok()) map_ = std::move(*map);
  }
  ~CgroupTree() { std::filesystem::remove_all(root_); }
  const xtcp::enrich::CgroupMap* map() const { return map_.get(); }
  const std::vector<uint64_t>& containers() const { return containers_; }

 private:
  uint64_t Make(const std::string& rel) {
    std::filesystem::create_directories(root_ / rel);
    struct stat st {};
    ::stat((root_ / rel).c_str(), &st);
    return st.st_ino;
  }
  std::filesystem::path root_;
  std::vector<uint64_t> containers_;
  std::unique_ptr<xtcp::enrich::CgroupMap> map_;
};

void BM_RowEncoderContainer(benchmark::State& state) {
  static CgroupTree tree;
  if (tree.map() == nullptr || tree.map()->containers() != 64) {
    state.SkipWithError("no cgroup tree");
    return;
  }
  const size_t spread = static_cast<size_t>(state.range(0));
  std::vector<uint64_t> ids;  // one datagram's sockets' cgroups
  std::mt19937 rng(5);
  for (int i = 0; i < 30; ++i) ids.push_back(tree.containers()[rng() % spread]);
  FlatRecord r = TypicalRecord();
  xtcp::record::RowEncoder enc;
  enc.SetMeta(r.meta);
  xtcp::ByteBuffer out(1 << 20);
  uint64_t counter = 1;
  xtcp::enrich::CgroupCache cache;
  size_t i = 0;
  for (auto _ : state) {
    if (out.size() > (1 << 20) - 4096) out.Clear();
    r.payload.c_group = ids[i];
    if (++i == ids.size()) i = 0;  // not `%`: a division would cost more than the lookup
    const xtcp::record::ContainerColumns* columns = nullptr;
    cache.Lookup(*tree.map(), r.payload.c_group, &columns);
    enc.Append(counter++, r.payload, columns, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RowEncoderContainer)->Arg(1)->Arg(64);

// -enrichContainer, -enrichNic, -enrichLldp: their columns are per namespace or per host, so they
// go into the metadata a reader encodes once per datagram (SetMeta) and every row copies. Per
// record: 1/30 of a datagram's SetMeta and its generation checks (the readers' Adopt), then the
// row. `plain` is the same loop with today's metadata; `container` adds a Docker container's id,
// runtime, name and image; `all` also two uplinks with their NIC and LLDP neighbour, every value
// as long as real ones.
enum Enriched { kPlain, kContainer, kAll };
void BM_DatagramRows(benchmark::State& state, Enriched enriched) {
  FlatRecord r = TypicalRecord();
  if (enriched != kPlain) {
    xtcp::record::RecordMeta& m = r.meta;
    m.container_id = "4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7";
    m.container_runtime = "docker";
    m.container_name = "payments-api-7";
    m.container_image = "registry.example.net/payments/api:2026.11.3";
  }
  if (enriched == kAll) {
    xtcp::record::RecordMeta& m = r.meta;
    m.uplink1_ifname = m.uplink2_ifname = "enp65s0f0";
    m.uplink1_nic_driver = m.uplink2_nic_driver = "ixgbe";
    m.uplink1_nic_model = m.uplink2_nic_model =
        "Intel Corporation 82599ES 10-Gigabit SFI/SFP+ Network Connection";
    m.uplink1_nic_pci_vendor = m.uplink2_nic_pci_vendor = 0x8086;
    m.uplink1_nic_pci_device = m.uplink2_nic_pci_device = 0x10fb;
    m.uplink1_nic_bus_info = m.uplink2_nic_bus_info = "0000:41:00.0";
    m.uplink1_nic_speed_mbps = m.uplink2_nic_speed_mbps = 10000;
    m.uplink1_nic_fw_version = m.uplink2_nic_fw_version = "0x800003df, 1.2792.0";
    m.uplink1_lldp_chassis_name = m.uplink2_lldp_chassis_name = "tor-switch-3.rack12";
    m.uplink1_lldp_chassis_id = m.uplink2_lldp_chassis_id = "3c:fd:fe:9e:01:7a";
    m.uplink1_lldp_mgmt_ip = m.uplink2_lldp_mgmt_ip = "10.12.0.3";
    m.uplink1_lldp_port_id = m.uplink2_lldp_port_id = "Ethernet1/7";
    m.uplink1_lldp_port_descr = m.uplink2_lldp_port_descr = "server-rack12-u07 eth0";
  }
  std::atomic<uint64_t> docker_gen{1}, uplink_gen{1};
  uint64_t seen_docker = 1, seen_uplink = 1;
  xtcp::record::RowEncoder enc;
  xtcp::ByteBuffer out(1 << 20);
  uint64_t counter = 1;
  int in_datagram = 0;
  for (auto _ : state) {
    if (in_datagram == 0) {
      if (docker_gen.load(std::memory_order_acquire) != seen_docker ||
          uplink_gen.load(std::memory_order_acquire) != seen_uplink) {
        seen_docker = seen_uplink = 0;
      }
      enc.SetMeta(r.meta);
      in_datagram = 30;
    }
    --in_datagram;
    if (out.size() > (1 << 20) - 4096) out.Clear();
    enc.Append(counter++, r.payload, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  out.Clear();
  enc.Append(1, r.payload, &out);
  state.counters["row_bytes"] = static_cast<double>(out.size());
}
BENCHMARK_CAPTURE(BM_DatagramRows, plain, kPlain);
BENCHMARK_CAPTURE(BM_DatagramRows, container, kContainer);
BENCHMARK_CAPTURE(BM_DatagramRows, all, kAll);

// Recycles envelopes at once: measures the batcher, not an output.
class RecyclingConsumer : public xtcp::pipeline::EnvelopeConsumer {
 public:
  std::unique_ptr<xtcp::pipeline::Envelope> Fresh() override {
    if (spare_) return std::move(spare_);
    auto e = std::make_unique<xtcp::pipeline::Envelope>();
    e->bytes.Reserve(800 << 10);
    return e;
  }
  void Submit(std::unique_ptr<xtcp::pipeline::Envelope> env, xtcp::FlushReason) override {
    env->Clear();
    spare_ = std::move(env);
  }

 private:
  std::unique_ptr<xtcp::pipeline::Envelope> spare_;
};

void BM_EnvelopeAppend(benchmark::State& state) {
  const FlatRecord r = TypicalRecord();
  xtcp::record::RowEncoder enc;
  enc.SetMeta(r.meta);
  xtcp::pipeline::RowBatch batch;
  RecyclingConsumer consumer;
  xtcp::pipeline::EnvelopeBatcher batcher(10000, 768 << 10, &consumer);
  constexpr int kRowsPerDatagram = 30;
  // Encode once; measure the append (copy + caps + lock) of a datagram's worth of rows.
  xtcp::ByteBuffer rows;
  std::vector<uint32_t> ends;
  for (int i = 0; i < kRowsPerDatagram; ++i) {
    enc.Append(static_cast<uint64_t>(i) + 1, r.payload, &rows);
    ends.push_back(static_cast<uint32_t>(rows.size()));
  }
  for (auto _ : state) batcher.Append(rows.view(), ends);
  state.SetItemsProcessed(state.iterations() * kRowsPerDatagram);
}
BENCHMARK(BM_EnvelopeAppend);

void BM_Marshal(benchmark::State& state, const char* format) {
  auto m = xtcp::CreateMarshaller({format, ""});
  if (!m.ok()) {
    state.SkipWithError("no such marshaller");
    return;
  }
  const FlatRecord r = TypicalRecord();
  xtcp::record::RowEncoder enc;
  enc.SetMeta(r.meta);
  xtcp::ByteBuffer env;
  uint32_t rows = 0;
  while (env.size() < (768 << 10) - 1024) {
    enc.Append(++rows, r.payload, &env);
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!(*m)->Marshal({env.view(), rows}, &out).ok()) state.SkipWithError("marshal failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["output_bytes_per_record"] = static_cast<double>(out.size()) / rows;
}
BENCHMARK_CAPTURE(BM_Marshal, protobufList, "protobufList");
BENCHMARK_CAPTURE(BM_Marshal, jsonl, "jsonl");
BENCHMARK_CAPTURE(BM_Marshal, csv, "csv");
BENCHMARK_CAPTURE(BM_Marshal, msgpack, "msgpack");

// ---- sinks against real local peers that read and discard ----

class DiscardPeer {
 public:
  // type SOCK_STREAM or SOCK_DGRAM; unix path empty for loopback IPv4.
  DiscardPeer(int type, const std::string& unix_path) : type_(type), path_(unix_path) {
    const int family = path_.empty() ? AF_INET : AF_UNIX;
    fd_ = ::socket(family, type | SOCK_CLOEXEC, 0);
    if (family == AF_INET) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
      socklen_t len = sizeof(a);
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    } else {
      ::unlink(path_.c_str());
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strncpy(a.sun_path, path_.c_str(), sizeof(a.sun_path) - 1);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    }
    const int big = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    if (type == SOCK_STREAM) ::listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~DiscardPeer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  uint16_t port() const { return port_; }

 private:
  void Serve() {
    std::vector<char> buf(1 << 20);
    int conn = -1;
    while (!stop_) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {conn, POLLIN, 0}};
      if (::poll(p, conn >= 0 ? 2 : 1, 50) <= 0) continue;
      if (type_ == SOCK_DGRAM) {
        (void)::recv(fd_, buf.data(), buf.size(), 0);
        continue;
      }
      if (p[0].revents & POLLIN) {
        if (conn >= 0) ::close(conn);
        conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      }
      if (conn >= 0 && (p[1].revents & POLLIN) && ::read(conn, buf.data(), buf.size()) <= 0) {
        ::close(conn);
        conn = -1;
      }
    }
    if (conn >= 0) ::close(conn);
  }
  int type_;
  std::string path_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A server program (nats-server, redis-server) on 127.0.0.1:port, up once it accepts (10 s at
// most).
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& argv, uint16_t port) {
    child_ = std::make_unique<xtcp::testing::Child>(xtcp::testing::Child::Start(argv, "/dev/null"));
    for (int i = 0; i < 1000 && child_->ok() && !up_; ++i) {
      up_ = Accepts(port);
      if (!up_) ::usleep(10 * 1000);
    }
  }
  ~ServerProcess() {
    if (!child_->ok()) return;
    child_->Signal(SIGTERM);
    if (child_->Wait(absl::Seconds(5)) == -1000) child_->Finish(absl::Seconds(1));
  }
  bool up() const { return up_; }

  static uint16_t FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

 private:
  static bool Accepts(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    return ok;
  }
  std::unique_ptr<xtcp::testing::Child> child_;
  bool up_ = false;
};

int DiscardHandler(mg_connection* conn, void*) {
  char buf[4096];  // civetweb worker stacks are small
  while (mg_read(conn, buf, sizeof(buf)) > 0) {
  }
  mg_printf(conn, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
  return 204;
}

void BM_SinkFlush(benchmark::State& state, const char* scheme) {
  xtcp::Metrics metrics;
  std::unique_ptr<DiscardPeer> peer;
  mg_context* http = nullptr;
  std::unique_ptr<xtcp::testing::MockKafka> kafka;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<xtcp::testing::FakeNsqd> nsqd;
  const std::string dir = "/tmp/xtcp-bench-" + std::to_string(::getpid());
  std::string dest = scheme;
  size_t payload_size = 64 << 10;
  if (dest == "tcp") {
    peer = std::make_unique<DiscardPeer>(SOCK_STREAM, "");
    dest = "tcp:127.0.0.1:" + std::to_string(peer->port());
  } else if (dest == "udp") {
    peer = std::make_unique<DiscardPeer>(SOCK_DGRAM, "");
    dest = "udp:127.0.0.1:" + std::to_string(peer->port());
    payload_size = 60000;
  } else if (dest == "unix") {
    peer = std::make_unique<DiscardPeer>(SOCK_STREAM, dir + ".sock");
    dest = "unix:" + dir + ".sock";
  } else if (dest == "unixgram") {
    peer = std::make_unique<DiscardPeer>(SOCK_DGRAM, dir + ".dgram");
    dest = "unixgram:" + dir + ".dgram";
    payload_size = 60000;
  } else if (dest == "http") {
    mg_init_library(0);
    const char* options[] = {"listening_ports",   "127.0.0.1:0", "num_threads", "2",
                             "enable_keep_alive", "yes",         nullptr};
    http = mg_start(nullptr, nullptr, options);
    mg_set_request_handler(http, "/ingest", DiscardHandler, nullptr);
    mg_server_port ports[1];
    mg_get_server_ports(http, 1, ports);
    dest = "http://127.0.0.1:" + std::to_string(ports[0].port) + "/ingest";
  } else if (dest == "kafka") {
    kafka = std::make_unique<xtcp::testing::MockKafka>();
    kafka->CreateTopic("bench");
    dest = "kafka:" + kafka->bootstraps();
  } else if (dest == "nats" || dest == "valkey") {
    const uint16_t port = ServerProcess::FreePort();
    const std::string p = std::to_string(port);
    const std::vector<std::string> argv =
        dest == "nats" ? std::vector<std::string>{"nats-server", "-a", "127.0.0.1", "-p", p}
                       : std::vector<std::string>{
                             "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"};
    server = std::make_unique<ServerProcess>(argv, port);
    if (!server->up()) {
      state.SkipWithError((argv[0] + " not installed or did not start").c_str());
      return;
    }
    dest += ":127.0.0.1:" + p;
  } else if (dest == "nsq") {
    nsqd = std::make_unique<xtcp::testing::FakeNsqd>();
    nsqd->DiscardBodies();
    if (!nsqd->Start(0, 1 << 20)) {
      state.SkipWithError("no nsqd-protocol server");
      return;
    }
    dest = "nsq:127.0.0.1:" + std::to_string(nsqd->port());
  } else if (dest == "file") {
    dest = "file:/dev/null";
  }
  xtcp::SinkOptions opts;
  opts.dest = dest;
  opts.topic = "bench";
  opts.content_type = "application/octet-stream";
  opts.metrics = &metrics;
  auto sink = xtcp::CreateSink(opts);
  if (!sink.ok()) {
    state.SkipWithError(std::string(sink.status().message()).c_str());
    return;
  }
  const std::string payload(payload_size, 'x');
  for (auto _ : state) {
    if (const absl::Status st = (*sink)->Send(payload); !st.ok()) {
      state.SkipWithError(std::string(st.message()).c_str());
      break;
    }
  }
  (void)(*sink)->Drain(absl::Seconds(30));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
  sink->reset();
  if (http != nullptr) mg_stop(http);
}
BENCHMARK_CAPTURE(BM_SinkFlush, null, "null");
BENCHMARK_CAPTURE(BM_SinkFlush, file, "file");
BENCHMARK_CAPTURE(BM_SinkFlush, tcp, "tcp");
BENCHMARK_CAPTURE(BM_SinkFlush, unix, "unix");
BENCHMARK_CAPTURE(BM_SinkFlush, udp, "udp");
BENCHMARK_CAPTURE(BM_SinkFlush, unixgram, "unixgram");
BENCHMARK_CAPTURE(BM_SinkFlush, http, "http");
BENCHMARK_CAPTURE(BM_SinkFlush, kafka, "kafka")->Iterations(2000);
// Synchronous sinks: each flush waits for the server (a PING/PONG, a reply, an OK), so real time
// is what a flush costs the output thread.
BENCHMARK_CAPTURE(BM_SinkFlush, nats, "nats")->UseRealTime();
BENCHMARK_CAPTURE(BM_SinkFlush, valkey, "valkey")->UseRealTime();
BENCHMARK_CAPTURE(BM_SinkFlush, nsq, "nsq")->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  xtcp::SetDebugLevel(0);  // sinks log their connects at info level
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
