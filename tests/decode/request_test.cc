#include "decode/request.h"

#include <netinet/in.h>

#include "gtest/gtest.h"

namespace xtcp::decode {
namespace {

TEST(DumpRequest, Ipv4DefaultLayout) {
  const DumpRequest r = BuildDumpRequest(AF_INET, 0xfe, 666);
  const uint8_t want_head[24] = {72, 0, 0, 0, 20, 0, 1,    3, 0x9a, 2,    0, 0,
                                 0,  0, 0, 0, 2,  6, 0xfe, 0, 0xff, 0x3f, 0, 0};
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(r[i], want_head[i]) << "byte " << i;
  for (size_t i = 24; i < 72; ++i) EXPECT_EQ(r[i], 0) << "sockid byte " << i;
}

TEST(DumpRequest, Ipv6AndSequenceRewrite) {
  DumpRequest r = BuildDumpRequest(AF_INET6, 0, 1);
  EXPECT_EQ(r[16], AF_INET6);
  EXPECT_EQ(r[18], 0);
  SetRequestSeq(&r, 0x01020304);
  EXPECT_EQ(r[8], 4);
  EXPECT_EQ(r[9], 3);
  EXPECT_EQ(r[10], 2);
  EXPECT_EQ(r[11], 1);
}

TEST(CompatDumpRequest, Layout) {
  const CompatDumpRequest r = BuildCompatDumpRequest(0xfe, 666);
  // len 76, type 18, flags REQUEST|DUMP, seq 666, pid 0; family AF_UNSPEC, no address lengths.
  const uint8_t want_head[20] = {76, 0, 0, 0, 18, 0, 1, 3, 0x9a, 2,
                                 0,  0, 0, 0, 0,  0, 0, 0, 0,    0xfe};
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(r[i], want_head[i]) << "byte " << i;
  for (size_t i = 20; i < 68; ++i) EXPECT_EQ(r[i], 0) << "sockid byte " << i;
  const uint8_t want_tail[8] = {0xff, 0x3f, 0, 0, 0, 0, 0, 0};  // all states, idiag_dbs 0
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(r[68 + i], want_tail[i]) << "byte " << 68 + i;
}

TEST(CompatDumpRequest, SequenceRewrite) {
  CompatDumpRequest r = BuildCompatDumpRequest(0, 1);
  SetRequestSeq(&r, 0x01020304);
  EXPECT_EQ(r[8], 4);
  EXPECT_EQ(r[11], 1);
  EXPECT_EQ(r[4], 18);  // the rest untouched
}

}  // namespace
}  // namespace xtcp::decode
