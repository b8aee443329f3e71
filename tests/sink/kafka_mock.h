#pragma once
// librdkafka's in-process mock cluster (real brokers on loopback TCP ports) and two independent
// readers of what reached it: a librdkafka consumer and the kcat command-line tool.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace xtcp::testing {

class MockKafka {
 public:
  static constexpr int32_t kBroker = 1;  // the one broker's id

  MockKafka() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk_ != nullptr) cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
  }
  ~MockKafka() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }
  bool ok() const { return cluster_ != nullptr; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void CreateTopic(const std::string& topic) {
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), 1, 1);
  }
  void SetDown() { rd_kafka_mock_broker_set_down(cluster_, kBroker); }
  void SetUp() { rd_kafka_mock_broker_set_up(cluster_, kBroker); }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// Reads partition 0 of `topic` from the beginning with a librdkafka consumer until `want`
// messages arrived or `timeout` passed.
inline std::vector<std::string> ConsumeWithLibrdkafka(const std::string& bootstraps,
                                                      const std::string& topic, size_t want,
                                                      absl::Duration timeout = absl::Seconds(30)) {
  std::vector<std::string> out;
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) return out;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  rd_kafka_consume_start(rkt, 0, RD_KAFKA_OFFSET_BEGINNING);
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < want && absl::Now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consume(rkt, 0, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.emplace_back(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consume_stop(rkt, 0);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return out;
}

// Reads partition 0 of `topic` from the beginning to its end with kcat (bounded to 60 s), framing
// each message as kcat's %R (32-bit big-endian length) + payload. Sets `*exit_code`.
inline std::vector<std::string> ConsumeWithKcat(const std::string& bootstraps,
                                                const std::string& topic, int* exit_code) {
  std::vector<std::string> out;
  const std::string cmd = "timeout 60 kcat -b " + bootstraps + " -C -t " + topic +
                          " -p 0 -o beginning -e -q -f '%R%s' 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::string all;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) all.append(buf, n);
  const int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  size_t pos = 0;
  while (pos + 4 <= all.size()) {
    const auto* b = reinterpret_cast<const unsigned char*>(all.data() + pos);
    const size_t len = size_t{b[0]} << 24 | size_t{b[1]} << 16 | size_t{b[2]} << 8 | b[3];
    if (pos + 4 + len > all.size()) break;
    out.push_back(all.substr(pos + 4, len));
    pos += 4 + len;
  }
  return out;
}

}  // namespace xtcp::testing
