#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace xtcp {
namespace {

TEST(Utf8, AcceptsWellFormedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("cubic"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));                      // U+10FFFF
}

TEST(Utf8, RejectsWhatProtobufRejects) {
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

TEST(Utf8, EachInvalidByteBecomesOneReplacement) {
  std::string s = "a\xff\xe2\x82z";
  EXPECT_EQ(MakeValidUtf8(&s), 3u);
  EXPECT_EQ(s, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
  std::string ok = "netns-\xc3\xa9";
  EXPECT_EQ(MakeValidUtf8(&ok), 0u);
  EXPECT_EQ(ok, "netns-\xc3\xa9");
}

TEST(Utf8, BoundedCopyStopsBeforeACharacterThatDoesNotFit) {
  char out[4];
  size_t bad = 0;
  EXPECT_EQ(CopyValidUtf8("a\xff\xff", out, sizeof(out), &bad), 4u);  // 'a' + one U+FFFD
  EXPECT_EQ(bad, 2u);
  EXPECT_EQ(std::string(out, 4), "a\xef\xbf\xbd");
}

}  // namespace
}  // namespace xtcp
