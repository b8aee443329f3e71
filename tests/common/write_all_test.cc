// WriteAll / WriteAllParts against real pipes and socket pairs: every byte arrives in order
// through partial writes, and errors come back as the documented codes.
#include "common/write_all.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace xtcp {
namespace {

struct Pair {
  UniqueFd reader, writer;
};

Pair MakePipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Pair MakeSocketPair() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Everything `fd` yields until EOF (bounded by 64 MiB).
std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (ssize_t n; out.size() < (64u << 20) && (n = ::read(fd, buf, sizeof(buf))) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Writes `parts` to `p.writer` while a thread drains `p.reader`; returns what arrived.
std::string RoundTrip(Pair p, std::span<const std::string_view> parts, FdKind kind) {
  std::string got;
  std::thread reader([&] { got = ReadAll(p.reader.get()); });
  EXPECT_TRUE(WriteAllParts(p.writer.get(), parts, kind).ok());
  p.writer.reset();
  reader.join();
  return got;
}

TEST(WriteAll, PartsArriveInOrderWithEmptyOnesSkipped) {
  const std::string_view parts[] = {"head|", "", "body|", "tail"};
  EXPECT_EQ(RoundTrip(MakePipe(), parts, FdKind::kFile), "head|body|tail");
}

TEST(WriteAll, MoreThanAPipeBufferSurvivesPartialWrites) {
  const std::string big(4 << 20, 'x'), small = "end";  // 4 MiB: the 64 KiB pipe fills many times
  const std::string_view parts[] = {big, small};
  EXPECT_EQ(RoundTrip(MakePipe(), parts, FdKind::kFile), big + small);
}

TEST(WriteAll, SocketKindUsesSendmsg) {
  const std::string big(1 << 20, 's');
  const std::string_view parts[] = {"len:", big};
  EXPECT_EQ(RoundTrip(MakeSocketPair(), parts, FdKind::kSocket), "len:" + big);
}

TEST(WriteAll, SingleBufferForm) {
  Pair p = MakePipe();
  ASSERT_TRUE(WriteAll(p.writer.get(), "one").ok());
  p.writer.reset();
  EXPECT_EQ(ReadAll(p.reader.get()), "one");
}

TEST(WriteAll, FullNonBlockingPipeIsDeadlineExceeded) {
  Pair p = MakePipe();
  ASSERT_EQ(::fcntl(p.writer.get(), F_SETFL, O_NONBLOCK), 0);
  const std::string big(1 << 20, 'x');  // more than the pipe holds, nobody reading
  EXPECT_EQ(WriteAll(p.writer.get(), big).code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(WriteAll, ClosedPeerSocketIsUnavailableWithoutSigpipe) {
  Pair p = MakeSocketPair();
  p.reader.reset();
  const absl::Status s = WriteAll(p.writer.get(), "lost", FdKind::kSocket);  // no SIGPIPE: alive
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "write: Broken pipe");
}

TEST(WriteAll, BadFdIsUnavailable) {
  EXPECT_EQ(WriteAll(-1, "x").code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace xtcp
