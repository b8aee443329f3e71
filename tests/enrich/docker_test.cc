// The Docker Engine API client of -enrichContainer against FakeDockerEngine (tests/fakes): Docker
// cannot run a container on the test machines (no registry, no images), so the engine's documented
// responses are served from a Unix socket in a temporary directory.
#include "enrich/docker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "fakes/fake_docker.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"

namespace xtcp::enrich {
namespace {

using testing::FakeContainer;
using testing::FakeDockerEngine;

std::string TempSocket(const std::string& stem) {
  static int n = 0;
  return absl::StrCat("/tmp/xtcp-", stem, "-", ::getpid(), "-", n++, ".sock");
}

uint64_t Inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// A regular file stands for a sandbox bind mount: its inode is what the index keys on.
struct Sandbox {
  std::string path = absl::StrCat("/tmp/xtcp-sandbox-", ::getpid(), "-", counter++);
  Sandbox() { std::ofstream(path) << "x"; }
  ~Sandbox() { ::unlink(path.c_str()); }
  static inline int counter = 0;
};

FakeContainer Web(const std::string& sandbox) {
  return {.id = std::string(63, 'a') + "1",
          .name = "web",
          .image = "nginx:1.27",
          .sandbox_key = sandbox};
}

DockerIndexOptions Options(const std::string& socket) {
  return {.socket = socket,
          .request_timeout = absl::Milliseconds(500),
          .retry_delay = absl::Milliseconds(50),
          .retry_max = absl::Milliseconds(200),
          .warn_interval = absl::Milliseconds(1)};
}

// Waits (at most 5 s) for `pred`.
template <typename F>
bool Eventually(F pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return pred();
}

TEST(DockerVersion, ComparesDottedNumbers) {
  EXPECT_LT(CompareApiVersion("1.9", "1.10"), 0);
  EXPECT_EQ(CompareApiVersion("1.44", "1.44.0"), 0);
  EXPECT_GT(CompareApiVersion("1.45", "1.44"), 0);
}

TEST(DockerVersion, NegotiatesAsUpstream) {
  EXPECT_EQ(NegotiateApiVersion("1.47", "1.24", "1.44"), "1.44");  // capped at ours
  EXPECT_EQ(NegotiateApiVersion("1.41", "1.12", "1.44"), "1.41");  // an older engine's own
  EXPECT_EQ(NegotiateApiVersion("1.50", "1.45", "1.44"), "1.45");  // raised to its minimum
  EXPECT_EQ(NegotiateApiVersion("", "", "1.44"), "");              // unversioned
}

TEST(DockerParse, InspectTakesNameImagePidSandbox) {
  auto in = ParseInspect(R"({"Id":"abc","Name":"/db","Image":"sha256:ff",
      "Config":{"Image":"postgres:16"},"State":{"Pid":4242,"Running":true},
      "HostConfig":{"NetworkMode":"bridge"},
      "NetworkSettings":{"SandboxKey":"/var/run/docker/netns/0123abcd"}})");
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->container.name, "db");
  EXPECT_EQ(in->container.image, "postgres:16");
  EXPECT_EQ(in->pid, 4242);
  EXPECT_EQ(in->sandbox_key, "/var/run/docker/netns/0123abcd");
  EXPECT_EQ(in->network_mode, "bridge");
}

TEST(DockerParse, ImageFallsBackToTheImageId) {
  auto in = ParseInspect(R"({"Id":"abc","Name":"/x","Image":"sha256:ff","Config":{}})");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->container.image, "sha256:ff");
}

TEST(DockerParse, ListAndEvents) {
  auto ids = ParseContainerList(R"([{"Id":"a1"},{"Names":["/x"]},{"Id":"../b"},{"Id":"c3"}])");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a1", "c3"}));
  EXPECT_FALSE(ParseContainerList("{").ok());
  EXPECT_TRUE(IsRefreshEvent(R"({"Type":"container","Action":"start","id":"a1"})"));
  EXPECT_TRUE(IsRefreshEvent(R"({"Type":"container","Action":"die"})"));
  EXPECT_FALSE(IsRefreshEvent(R"({"Type":"network","Action":"connect"})"));
  EXPECT_FALSE(IsRefreshEvent(R"({"Type":"container","Action":"exec_start: sh"})"));
  EXPECT_FALSE(IsRefreshEvent("not json"));
}

TEST(DockerIndexTest, NegotiatesListsAndKeysBySandboxInode) {
  const std::string sock = TempSocket("docker");
  FakeDockerEngine engine(sock, "1.47", "1.24");
  Sandbox web;
  engine.SetContainers({Web(web.path),
                        {.id = std::string(63, 'b') + "2",
                         .name = "hostnet",
                         .image = "busybox",
                         .sandbox_key = "/proc/self/ns/net",
                         .network_mode = "host"}});
  ASSERT_TRUE(engine.Start());
  auto index = DockerIndex::Create(Options(sock), nullptr);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Refresh().ok());
  EXPECT_EQ((*index)->api_prefix(), "/v1.44");
  const auto map = (*index)->Current();
  EXPECT_EQ(map->size(), 1u);  // the host-network container names no namespace
  const DockerContainer* c = map->Find(Inode(web.path));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->id, Web("").id);
  EXPECT_EQ(c->name, "web");
  EXPECT_EQ(c->image, "nginx:1.27");
  EXPECT_EQ(c->runtime, "docker");
  EXPECT_EQ((*index)->generation(), 1u);
}

TEST(DockerIndexTest, WithoutASandboxKeyThePidsNamespaceIsUsed) {
  const std::string sock = TempSocket("docker");
  FakeDockerEngine engine(sock, "1.41", "1.12");
  engine.SetContainers({{.id = std::string(64, 'c'),
                         .name = "me",
                         .image = "self",
                         .pid = ::getpid(),
                         .sandbox_key = ""}});
  ASSERT_TRUE(engine.Start());
  auto index = DockerIndex::Create(Options(sock), nullptr);
  ASSERT_TRUE((*index)->Refresh().ok());
  EXPECT_EQ((*index)->api_prefix(), "/v1.41");
  const DockerContainer* c = (*index)->Current()->Find(Inode("/proc/self/ns/net"));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "me");
}

TEST(DockerIndexTest, VersionFromPingWhenVersionIsRefused) {
  const std::string sock = TempSocket("docker");
  FakeDockerEngine engine(sock, "", "", "1.43");
  Sandbox web;
  engine.SetContainers({Web(web.path)});
  ASSERT_TRUE(engine.Start());
  auto index = DockerIndex::Create(Options(sock), nullptr);
  ASSERT_TRUE((*index)->Refresh().ok());
  EXPECT_EQ((*index)->api_prefix(), "/v1.43");
  EXPECT_EQ((*index)->Current()->size(), 1u);
}

TEST(DockerIndexTest, AStartEventListsAgain) {
  const std::string sock = TempSocket("docker");
  FakeDockerEngine engine(sock, "1.44");
  Sandbox web, db;
  engine.SetContainers({Web(web.path)});
  ASSERT_TRUE(engine.Start());
  Metrics metrics;
  auto index = DockerIndex::Create(Options(sock), &metrics);
  (*index)->Start();
  ASSERT_TRUE(Eventually([&] { return engine.OpenStreams() == 1; }));
  EXPECT_EQ((*index)->Current()->size(), 1u);
  engine.SetContainers(
      {Web(web.path),
       {.id = std::string(64, 'd'), .name = "db", .image = "pg", .sandbox_key = db.path}});
  engine.PushEvent(R"({"Type":"container","Action":"start","Actor":{"ID":"dd"}})");
  ASSERT_TRUE(Eventually([&] { return (*index)->Current()->size() == 2; }));
  EXPECT_EQ((*index)->Current()->Find(Inode(db.path))->name, "db");
  EXPECT_EQ(metrics.Count("dockermeta", "events", "count").Value(), 1);
  (*index)->Stop();
}

TEST(DockerIndexTest, ASlowEngineTimesOutWithinTheRequestTimeout) {
  const std::string sock = TempSocket("docker");
  FakeDockerEngine engine(sock, "1.44");
  engine.SetDelay(absl::Seconds(10));
  ASSERT_TRUE(engine.Start());
  auto index = DockerIndex::Create(Options(sock), nullptr);
  const absl::Time start = absl::Now();
  const absl::Status s = (*index)->Refresh();
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ((*index)->Current()->size(), 0u);
}

TEST(DockerIndexTest, StopEndsAnIdleEventStreamAtOnce) {
  const std::string sock = TempSocket("docker");
  FakeDockerEngine engine(sock, "1.44");
  ASSERT_TRUE(engine.Start());
  auto index = DockerIndex::Create(Options(sock), nullptr);
  (*index)->Start();
  ASSERT_TRUE(Eventually([&] { return engine.OpenStreams() == 1; }));
  const absl::Time start = absl::Now();
  (*index)->Stop();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST(DockerIndexTest, AnEngineThatGoesAwayKeepsTheLastListAndCountsErrors) {
  const std::string sock = TempSocket("docker");
  auto engine = std::make_unique<FakeDockerEngine>(sock, "1.44");
  Sandbox web;
  engine->SetContainers({Web(web.path)});
  ASSERT_TRUE(engine->Start());
  Metrics metrics;
  auto index = DockerIndex::Create(Options(sock), &metrics);
  (*index)->Start();
  ASSERT_TRUE(Eventually([&] { return engine->OpenStreams() == 1; }));
  engine.reset();  // closes the stream and the socket
  prometheus::Counter& list_errors = metrics.Count("dockermeta", "rebuild", "error");
  ASSERT_TRUE(Eventually([&] { return list_errors.Value() >= 2; }));
  EXPECT_GE(metrics.Count("dockermeta", "events", "error").Value(), 1);
  EXPECT_EQ((*index)->Current()->size(), 1u);
  EXPECT_EQ((*index)->Current()->Find(Inode(web.path))->name, "web");
  // It comes back: listed again (the backoff is at most 200 ms here).
  FakeDockerEngine again(sock, "1.44");
  again.SetContainers({});
  ASSERT_TRUE(again.Start());
  ASSERT_TRUE(Eventually([&] { return (*index)->Current()->size() == 0; }));
  (*index)->Stop();
}

TEST(DockerIndexTest, AbsentEngineIsAnErrorNotAWait) {
  auto index = DockerIndex::Create(Options("/nonexistent/docker.sock"), nullptr);
  const absl::Time start = absl::Now();
  EXPECT_FALSE((*index)->Refresh().ok());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

}  // namespace
}  // namespace xtcp::enrich
