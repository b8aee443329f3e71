// tcp, unix, udp and unixgram sinks against real sockets the tests listen on.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <string>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sink/peers.h"
#include "xtcp/sink.h"

namespace xtcp {
namespace {

using testing::DatagramPeer;
using testing::StreamPeer;
using testing::TempDir;
using testing::WaitFor;

class SocketSinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<Sink> Make(const std::string& dest) {
    SinkOptions o;
    o.dest = dest;
    o.metrics = &metrics_;
    o.io_timeout = absl::Seconds(2);
    o.reconnect_backoff_initial = absl::Milliseconds(20);
    o.reconnect_backoff_max = absl::Milliseconds(200);
    auto s = CreateSink(o);
    EXPECT_TRUE(s.ok()) << s.status();
    // On failure (already reported) hand back a null sink so the test fails instead of crashing.
    return s.ok() ? *std::move(s) : *CreateSink(SinkOptions{.dest = "null"});
  }

 public:
  double Count(std::string_view f, std::string_view v, std::string_view t) {
    return metrics_.CountValue(f, v, t);
  }

 protected:
  static std::string Tcp(uint16_t port) { return "tcp:127.0.0.1:" + std::to_string(port); }

  Metrics metrics_;
  TempDir dir_;
};

// A port nobody listens on (bound then released).
uint16_t FreePort() {
  const int fd = testing::BindSocket(AF_INET, SOCK_STREAM, 0, "");
  const uint16_t port = testing::LocalPort(fd);
  ::close(fd);
  return port;
}

TEST_F(SocketSinkTest, TcpWritesPayloadsVerbatimAndCounts) {
  StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  auto sink = Make(Tcp(peer.port()));
  ASSERT_TRUE(sink->Send("hello ").ok());
  ASSERT_TRUE(sink->Send("world").ok());
  ASSERT_TRUE(peer.WaitForBytes(11));
  EXPECT_EQ(peer.bytes(), "hello world");
  EXPECT_EQ(Count("destTCP", "Writes", "count"), 2);
  EXPECT_EQ(Count("destTCP", "WriteBytes", "count"), 11);
  EXPECT_EQ(Count("destTCP", "connect", "count"), 1);
  EXPECT_EQ(sink->max_message_size(), 0u);  // streams take any size
}

TEST_F(SocketSinkTest, TcpOverIpv6Literal) {
  StreamPeer peer(AF_INET6);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("tcp:[::1]:" + std::to_string(peer.port()));
  ASSERT_TRUE(sink->Send("six").ok());
  ASSERT_TRUE(peer.WaitForBytes(3));
  EXPECT_EQ(peer.bytes(), "six");
}

TEST_F(SocketSinkTest, TcpReconnectsAfterThePeerRestarts) {
  StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  auto sink = Make(Tcp(peer.port()));
  ASSERT_TRUE(sink->Send("before|").ok());
  ASSERT_TRUE(peer.WaitForBytes(7));
  peer.Stop();  // closes the connection: the sink's socket sees FIN
  // A restart between two flushes: give loopback a moment to deliver the FIN (a peer dying in
  // the middle of a write can always lose that write; TCP cannot tell).
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(peer.Start());
  ASSERT_TRUE(sink->Send("after").ok());
  ASSERT_TRUE(peer.WaitForBytes(12));
  EXPECT_EQ(peer.bytes(), "before|after");  // nothing written into the dead connection
  EXPECT_EQ(peer.connections(), 2);
  EXPECT_EQ(Count("destTCP", "peerClosed", "count"), 1);
  EXPECT_EQ(Count("destTCP", "connect", "count"), 2);
  EXPECT_EQ(Count("destTCP", "Write", "error"), 0);
}

TEST_F(SocketSinkTest, TcpPeerDownFailsFastWithBackoffThenRecovers) {
  const uint16_t port = FreePort();
  auto sink = Make(Tcp(port));
  EXPECT_EQ(sink->Send("lost").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink->Send("lost").code(), absl::StatusCode::kUnavailable);  // within the backoff
  EXPECT_EQ(Count("destTCP", "connect", "error"), 1);
  EXPECT_EQ(Count("destTCP", "backoff", "error"), 1);
  testing::StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  auto later = Make(Tcp(peer.port()));
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_TRUE(later->Send("ok").ok());
  ASSERT_TRUE(peer.WaitForBytes(2));
  EXPECT_EQ(Count("destTCP", "Writes", "count"), 1);
}

TEST_F(SocketSinkTest, TcpRetriesAfterBackoffOnTheSamePort) {
  StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  const uint16_t port = peer.port();
  peer.Stop();
  auto sink = Make(Tcp(port));
  EXPECT_FALSE(sink->Send("x").ok());
  ASSERT_TRUE(peer.Start());  // same port again
  ASSERT_EQ(peer.port(), port);
  EXPECT_TRUE(WaitFor([&] { return sink->Send("y").ok(); }, absl::Seconds(5)));
  ASSERT_TRUE(peer.WaitForBytes(1));
  EXPECT_EQ(peer.bytes(), "y");
}

TEST_F(SocketSinkTest, UnixStreamFramesEachPayloadWithUvarintLength) {
  const std::string path = dir_.File("stream.sock");
  StreamPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("unix:" + path);
  const std::string big(300, 'x');
  ASSERT_TRUE(sink->Send("hi").ok());
  ASSERT_TRUE(sink->Send(big).ok());
  ASSERT_TRUE(peer.WaitForBytes(3 + 2 + 300));
  EXPECT_EQ(peer.bytes(), std::string("\x02hi\xac\x02", 5) + big);  // 300 = 0xac 0x02
  EXPECT_EQ(Count("destUnix", "Writes", "count"), 2);
  EXPECT_EQ(Count("destUnix", "WriteBytes", "count"), 305);
}

TEST_F(SocketSinkTest, UnixStreamReconnectsAfterThePeerRestarts) {
  const std::string path = dir_.File("restart.sock");
  StreamPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("unix:" + path);
  ASSERT_TRUE(sink->Send("a").ok());
  ASSERT_TRUE(peer.WaitForBytes(2));
  peer.Stop();
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(peer.Start());
  ASSERT_TRUE(sink->Send("b").ok());
  ASSERT_TRUE(peer.WaitForBytes(4));
  EXPECT_EQ(peer.bytes(),
            "\x01"
            "a\x01"
            "b");
  EXPECT_EQ(Count("destUnix", "connect", "count"), 2);
}

// What a run of sends did: the payloads that were accepted, and how many were refused.
struct Tally {
  std::string accepted;  // as the peer must have received them
  int ok = 0, failed = 0;
};

// Sends `n` numbered messages ("m007|"), framed as `frame` would put them on the wire.
void SendNumbered(Sink& sink, int first, int n, bool uvarint_framed, Tally* t) {
  for (int i = first; i < first + n; ++i) {
    char msg[16];  // "m999|" and the NUL; room for any int keeps -Wformat-truncation quiet
    std::snprintf(msg, sizeof(msg), "m%03d|", i);
    if (sink.Send(msg).ok()) {
      if (uvarint_framed) t->accepted += '\x05';  // uvarint(5)
      t->accepted += msg;
      ++t->ok;
    } else {
      ++t->failed;
    }
  }
}

// The peer goes away between two flushes and comes back. Every message is either received or
// reported failed (none vanish), and the first send once the backoff (at most its 200 ms cap)
// allows it reconnects: no send after the return is lost.
void PeerGoesAwayAndComesBack(SocketSinkTest* t, StreamPeer& peer, Sink& sink, bool framed,
                              std::string_view fn) {
  Tally tally;
  SendNumbered(sink, 0, 5, framed, &tally);
  ASSERT_TRUE(peer.WaitForBytes(tally.accepted.size()));
  peer.Stop();
  absl::SleepFor(absl::Milliseconds(50));  // loopback delivers the FIN
  SendNumbered(sink, 5, 5, framed, &tally);
  EXPECT_EQ(tally.failed, 5);  // nobody listening: all refused, all reported
  ASSERT_TRUE(peer.Start());
  absl::SleepFor(absl::Milliseconds(220));  // past the backoff cap
  SendNumbered(sink, 10, 5, framed, &tally);
  EXPECT_EQ(tally.ok, 10);
  ASSERT_TRUE(peer.WaitForBytes(tally.accepted.size()));
  EXPECT_EQ(peer.bytes(), tally.accepted);  // received == accepted, in order
  EXPECT_EQ(t->Count(fn, "Writes", "count"), tally.ok);
  EXPECT_EQ(t->Count(fn, "connect", "error") + t->Count(fn, "backoff", "error"), tally.failed);
  EXPECT_EQ(t->Count(fn, "connect", "count"), 2);
  EXPECT_EQ(t->Count(fn, "peerClosed", "count"), 1);
}

TEST_F(SocketSinkTest, TcpOutageEverySendDeliveredOrReportedAndReconnectAtOnce) {
  StreamPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  auto sink = Make(Tcp(peer.port()));
  PeerGoesAwayAndComesBack(this, peer, *sink, /*framed=*/false, "destTCP");
}

TEST_F(SocketSinkTest, UnixOutageEverySendDeliveredOrReportedAndReconnectAtOnce) {
  const std::string path = dir_.File("outage.sock");
  StreamPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("unix:" + path);
  PeerGoesAwayAndComesBack(this, peer, *sink, /*framed=*/true, "destUnix");
}

TEST_F(SocketSinkTest, UnixStreamFramesSendPartsAsOneMessage) {
  const std::string path = dir_.File("parts.sock");
  StreamPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("unix:" + path);
  const std::string_view parts[] = {"ab", "", "cde"};
  ASSERT_TRUE(sink->SendParts(parts).ok());
  ASSERT_TRUE(peer.WaitForBytes(6));
  EXPECT_EQ(peer.bytes(),
            "\x05"
            "abcde");
}

TEST_F(SocketSinkTest, UdpIpv4OneDatagramPerSendUpTo65507) {
  DatagramPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("udp:127.0.0.1:" + std::to_string(peer.port()));
  ASSERT_EQ(sink->max_message_size(), 65507u);
  ASSERT_TRUE(sink->Send("one").ok());
  ASSERT_TRUE(sink->Send(std::string(65507, 'm')).ok());
  EXPECT_EQ(sink->Send(std::string(65508, 'm')).code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(peer.WaitForCount(2));
  EXPECT_EQ(peer.datagrams()[0], "one");
  EXPECT_EQ(peer.datagrams()[1].size(), 65507u);
  EXPECT_EQ(Count("Inetdiager", "udpWrites", "count"), 2);
  EXPECT_EQ(Count("Inetdiager", "udpWriteBytes", "count"), 65510);
  EXPECT_EQ(Count("Inetdiager", "udpConn.Write", "error"), 1);
  EXPECT_EQ(Count("destUDP", "tooLarge", "error"), 1);
}

TEST_F(SocketSinkTest, UdpSendPartsIsOneDatagram) {
  DatagramPeer peer(AF_INET);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("udp:127.0.0.1:" + std::to_string(peer.port()));
  const std::string_view parts[] = {"head|", "body"};
  ASSERT_TRUE(sink->SendParts(parts).ok());
  ASSERT_TRUE(peer.WaitForCount(1));
  EXPECT_EQ(peer.datagrams()[0], "head|body");
  EXPECT_EQ(Count("Inetdiager", "udpWriteBytes", "count"), 9);
}

TEST_F(SocketSinkTest, UdpIpv6AllowsUpTo65527) {
  DatagramPeer peer(AF_INET6);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("udp:[::1]:" + std::to_string(peer.port()));
  ASSERT_EQ(sink->max_message_size(), 65527u);
  ASSERT_TRUE(sink->Send(std::string(65527, 's')).ok());
  EXPECT_FALSE(sink->Send(std::string(65528, 's')).ok());
  ASSERT_TRUE(peer.WaitForCount(1));
  EXPECT_EQ(peer.datagrams()[0].size(), 65527u);
}

TEST_F(SocketSinkTest, UnixgramMaxIsTheSendBufferLimit) {
  const std::string path = dir_.File("dgram.sock");
  DatagramPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  auto sink = Make("unixgram:" + path);
  const size_t max = sink->max_message_size();
  int sndbuf = 0;
  socklen_t len = sizeof(sndbuf);
  const int probe = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  ::getsockopt(probe, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
  ::close(probe);
  ASSERT_EQ(max, static_cast<size_t>(sndbuf) - 32);
  ASSERT_TRUE(sink->Send(std::string(max, 'u')).ok());
  EXPECT_EQ(sink->Send(std::string(max + 1, 'u')).code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(peer.WaitForCount(1));
  EXPECT_EQ(peer.datagrams()[0].size(), max);
  EXPECT_EQ(Count("destUnixGram", "Writes", "count"), 1);
  EXPECT_EQ(Count("destUnixGram", "Write", "error"), 1);
  EXPECT_EQ(Count("destUnixGram", "tooLarge", "error"), 1);
}

TEST_F(SocketSinkTest, UnixgramReceiverAbsentAtStartIsCountedThenDelivered) {
  const std::string path = dir_.File("late.sock");
  auto sink = Make("unixgram:" + path);
  EXPECT_EQ(sink->Send("early").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("destUnixGram", "connect", "error"), 1);
  DatagramPeer peer(AF_UNIX, path);
  ASSERT_TRUE(peer.Start());
  EXPECT_TRUE(WaitFor([&] { return sink->Send("late").ok(); }, absl::Seconds(5)));
  ASSERT_TRUE(peer.WaitForCount(1));
  EXPECT_EQ(peer.datagrams()[0], "late");
}

}  // namespace
}  // namespace xtcp
