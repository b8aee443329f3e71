// The http sink against a real HTTP server run by the test (civetweb on 127.0.0.1, port 0).
#include <civetweb.h>

#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sink/peers.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using ::testing::HasSubstr;

struct Request {
  std::string method, uri, content_type, body, flush_id;
  int remote_port = 0;
};

// Records every request. The path picks the answer: /status/<code> answers <code>, /slow waits
// 1.5 s before 200, anything else 200.
class HttpServer {
 public:
  HttpServer() {
    const char* options[] = {"listening_ports",   "127.0.0.1:0", "num_threads", "4",
                             "enable_keep_alive", "yes",         nullptr};
    ctx_ = mg_start(nullptr, nullptr, options);
    if (ctx_ == nullptr) return;
    mg_set_request_handler(ctx_, "/", &HttpServer::Handle, this);
    mg_server_port ports[1];
    if (mg_get_server_ports(ctx_, 1, ports) == 1) port_ = ports[0].port;
  }
  ~HttpServer() {
    if (ctx_ != nullptr) mg_stop(ctx_);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  static int Handle(mg_connection* conn, void* self) {
    const mg_request_info* info = mg_get_request_info(conn);
    Request r;
    r.method = info->request_method;
    r.uri = info->local_uri;
    r.remote_port = info->remote_port;
    if (const char* ct = mg_get_header(conn, "Content-Type")) r.content_type = ct;
    if (const char* id = mg_get_header(conn, "X-Xtcp-Flush-Id")) r.flush_id = id;
    char buf[4096];  // civetweb worker stacks are small
    for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) r.body.append(buf, n);
    {
      auto* s = static_cast<HttpServer*>(self);
      std::lock_guard lock(s->mu_);
      s->requests_.push_back(r);
    }
    int status = 200;
    if (r.uri.rfind("/status/", 0) == 0) status = std::stoi(r.uri.substr(8));
    if (r.uri == "/slow") absl::SleepFor(absl::Milliseconds(1500));
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Length", "2", -1);
    if (status / 100 == 3) mg_response_header_add(conn, "Location", "/elsewhere", -1);
    mg_response_header_send(conn);
    mg_write(conn, "ok", 2);
    return status;
  }

  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Request> requests_;
};

// One server for the suite: stopping civetweb takes ~2 s.
class HttpSinkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new HttpServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_->port(), 0);
    first_ = server_->requests().size();
  }
  // Requests made by this test.
  std::vector<Request> Requests() {
    auto all = server_->requests();
    return std::vector<Request>(all.begin() + static_cast<ptrdiff_t>(first_), all.end());
  }
  std::unique_ptr<Sink> Make(const std::string& url, const std::string& content_type,
                             absl::Duration timeout = absl::ZeroDuration()) {
    SinkOptions o;
    o.dest = url;
    o.content_type = content_type;
    o.produce_timeout = timeout;
    o.metrics = &metrics_;
    auto s = CreateSink(o);
    EXPECT_TRUE(s.ok()) << s.status();
    // On failure (already reported) hand back a null sink so the test fails instead of crashing.
    return s.ok() ? *std::move(s) : *CreateSink(SinkOptions{.dest = "null"});
  }
  double Count(std::string_view v, std::string_view t) {
    return metrics_.CountValue("destHTTP", v, t);
  }

  static HttpServer* server_;
  size_t first_ = 0;
  Metrics metrics_;
};

HttpServer* HttpSinkTest::server_ = nullptr;

TEST_F(HttpSinkTest, PostsEachPayloadWithTheContentType) {
  auto sink = Make(server_->Url("/ingest"), "application/x-ndjson");
  ASSERT_TRUE(sink->Send("{\"a\":1}\n").ok());
  ASSERT_EQ(Requests().size(), 1u);
  const Request r = Requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.uri, "/ingest");
  EXPECT_EQ(r.content_type, "application/x-ndjson");
  EXPECT_EQ(r.body, "{\"a\":1}\n");
  EXPECT_EQ(Count("posts", "count"), 1);
  EXPECT_EQ(Count("postBytes", "count"), 8);
}

TEST_F(HttpSinkTest, EveryMarshallerContentTypeReachesTheServer) {
  for (const char* format :
       {"protobufList", "protoJson", "protoText", "msgpack", "jsonl", "csv", "tsv", "humanize"}) {
    auto m = CreateMarshaller({format, ""});
    ASSERT_TRUE(m.ok());
    auto sink = Make(server_->Url("/"), std::string((*m)->content_type()));
    ASSERT_TRUE(sink->Send(format).ok());
    EXPECT_EQ(Requests().back().content_type, (*m)->content_type()) << format;
  }
  EXPECT_EQ(Requests()[1].content_type, "application/json");  // protoJson
  EXPECT_EQ(Requests()[5].content_type, "text/csv");
}

TEST_F(HttpSinkTest, KeepsTheConnectionAlive) {
  auto sink = Make(server_->Url("/"), "text/csv");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sink->Send("x,y\n").ok());
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].remote_port, reqs[1].remote_port);  // same client socket each time
  EXPECT_EQ(reqs[1].remote_port, reqs[2].remote_port);
}

TEST_F(HttpSinkTest, Non2xxIsAnErrorCountedAsStatus) {
  auto sink = Make(server_->Url("/status/503"), "text/plain");
  const absl::Status s = sink->Send("data");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("status 503"));
  EXPECT_TRUE(Make(server_->Url("/status/204"), "text/plain")->Send("data").ok());
  EXPECT_FALSE(Make(server_->Url("/status/302"), "text/plain")->Send("data").ok());  // no follow
  EXPECT_EQ(Count("status", "error"), 2);
  EXPECT_EQ(Count("posts", "count"), 1);
  EXPECT_EQ(Requests().size(), 3u);  // the redirect was not chased
}

TEST_F(HttpSinkTest, ProduceTimeoutBoundsTheRequest) {
  auto sink = Make(server_->Url("/slow"), "text/plain", absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  EXPECT_EQ(sink->Send("data").code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
  EXPECT_EQ(Count("do", "error"), 1);
}

TEST_F(HttpSinkTest, UnreachableServerIsATransportError) {
  const int fd = testing::BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const uint16_t port = testing::LocalPort(fd);
  ::close(fd);
  auto sink = Make("http://127.0.0.1:" + std::to_string(port) + "/", "text/plain");
  EXPECT_EQ(sink->Send("data").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("do", "error"), 1);
}

// The server answers /slow after the sink gave up, but processes it: the output stage's retries
// of that flush reach it too, all with one flush id, so it can keep just one.
TEST_F(HttpSinkTest, TimedOutFlushIsRetriedWithTheSameFlushId) {
  auto sink = Make(server_->Url("/slow"), "text/plain", absl::Milliseconds(200));
  for (int attempt = 0; attempt < 3; ++attempt) EXPECT_FALSE(sink->Send("flush-1").ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Requests().size() >= 3; }));
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 3u);  // one per Send: received = 1 flush + 2 retries
  EXPECT_THAT(reqs[0].flush_id, ::testing::MatchesRegex("[0-9a-f]+\\.[0-9a-f]+-[0-9]+"));
  EXPECT_EQ(reqs[1].flush_id, reqs[0].flush_id);
  EXPECT_EQ(reqs[2].flush_id, reqs[0].flush_id);
  EXPECT_EQ(Count("retry", "count"), 2);
  EXPECT_EQ(Count("timeout", "error"), 3);
  EXPECT_EQ(Count("do", "error"), 3);
}

TEST_F(HttpSinkTest, EveryNewFlushGetsANewIdEvenWithEqualBytes) {
  auto sink = Make(server_->Url("/"), "text/plain");
  ASSERT_TRUE(sink->Send("same").ok());
  ASSERT_TRUE(sink->Send("same").ok());  // after a success equal bytes are a new flush
  EXPECT_FALSE(Make(server_->Url("/status/500"), "text/plain")->Send("same").ok());
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_NE(reqs[0].flush_id, reqs[1].flush_id);
  EXPECT_NE(reqs[1].flush_id, reqs[2].flush_id);  // another sink: another sequence number
  const auto process = [](const std::string& id) { return id.substr(0, id.rfind('-')); };
  EXPECT_EQ(process(reqs[0].flush_id), process(reqs[2].flush_id));
  EXPECT_EQ(Count("retry", "count"), 0);
}

TEST_F(HttpSinkTest, RetryAfterAFailedStatusKeepsTheIdThenSuccessMovesOn) {
  auto sink = Make(server_->Url("/status/503"), "text/plain");
  EXPECT_FALSE(sink->Send("batch").ok());
  EXPECT_FALSE(sink->Send("batch").ok());
  EXPECT_FALSE(sink->Send("other").ok());  // a different flush: the first one was given up
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].flush_id, reqs[1].flush_id);
  EXPECT_NE(reqs[1].flush_id, reqs[2].flush_id);
  EXPECT_EQ(Count("retry", "count"), 1);
  EXPECT_EQ(Count("status", "error"), 3);
}

TEST(HttpSinkFactory, MalformedUrlsAreInvalidArguments) {
  for (const char* dest : {"http://", "https://", "http://ex ample.com/", "http://[::1/",
                           "http://host:notaport/", "http:///path"}) {
    SinkOptions o;
    o.dest = dest;
    auto s = CreateSink(o);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << dest;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("for flag -dest")) << dest;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("valid schemes are:")) << dest;
  }
}

}  // namespace
}  // namespace xtcp
