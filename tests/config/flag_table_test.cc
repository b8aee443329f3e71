// The flag table against the XtcpConfig proto (by reflection) and against the docs page.
#include "config/flag_table.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "config/test_vocabulary.h"
#include "gtest/gtest.h"

namespace xtcp::config {
namespace {

using google::protobuf::FieldDescriptor;
using testing::TestVocabulary;

const FieldDescriptor* ProtoField(std::string_view name) {
  return ::xtcp_config::v1::XtcpConfig::descriptor()->FindFieldByName(std::string(name));
}

TEST(FlagTable, EveryProtoFieldHasARow) {
  std::set<std::string> mapped;
  for (const FlagRow& row : Flags()) mapped.emplace(row.proto);
  for (std::string_view f : kProtoFieldsWithoutFlag) mapped.emplace(f);
  const auto* d = ::xtcp_config::v1::XtcpConfig::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    EXPECT_TRUE(mapped.count(std::string(d->field(i)->name()))) << d->field(i)->name();
  }
}

TEST(FlagTable, EveryRowNamesARealFieldOfItsType) {
  for (const FlagRow& row : Flags()) {
    if (row.proto.empty()) continue;
    const FieldDescriptor* fd = ProtoField(row.proto);
    ASSERT_NE(fd, nullptr) << row.name << " -> " << row.proto;
    switch (row.field.type) {
      case Type::kBool:
        EXPECT_EQ(fd->cpp_type(), FieldDescriptor::CPPTYPE_BOOL) << row.name;
        break;
      case Type::kUint:
        EXPECT_TRUE(fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                    fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT64)
            << row.name;
        break;
      case Type::kDuration:
        EXPECT_EQ(fd->message_type()->full_name(), "google.protobuf.Duration") << row.name;
        break;
      case Type::kString:
      case Type::kInt:
        EXPECT_TRUE(fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING ||
                    row.name == "deserializers")
            << row.name;
        break;
    }
  }
}

TEST(FlagTable, NamesAndVariablesAreUnique) {
  std::set<std::string_view> names, envs;
  for (const FlagRow& row : Flags()) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    if (!row.env.empty()) {
      EXPECT_TRUE(envs.insert(row.env).second) << row.env;
    }
    EXPECT_FALSE(row.help.empty()) << row.name;
  }
}

TEST(FlagTable, DefaultsPassTheirOwnRules) {
  for (const FlagRow& row : Flags()) {
    EXPECT_EQ(CheckRow(row, Config{}, TestVocabulary()), "") << row.name;
  }
}

TEST(FlagTable, ProtoRoundTripKeepsEveryMappedValue) {
  Config c;
  c.netlinkers = 7;
  c.poll_frequency = absl::Milliseconds(1500);
  c.uplink_interfaces = {"eth0", "eth1"};
  c.s3_secret_key = "k";
  c.deserializers_spec = "info,tos";
  const auto p = ToProto(c, TestVocabulary());
  Config back;
  ASSERT_TRUE(FromProto(p, &back, TestVocabulary()).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(ToProto(back, TestVocabulary()), p));
  EXPECT_EQ(back.deserializers, (std::vector<std::string>{"info", "tos"}));
  EXPECT_EQ(back.poll_frequency, absl::Milliseconds(1500));
}

// The page's flag section is FlagTableMarkdown() verbatim. To regenerate it after changing a row:
//   XTCP_UPDATE_DOCS=1 build/tests/config/config_test --gtest_filter='FlagTable.Docs*'
TEST(FlagTable, DocsPageIsGeneratedFromTheTable) {
  const std::string path = std::string(XTCP_SOURCE_DIR) + "/docs/configuration.md";
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string page = buf.str();
  const std::string begin =
      "<!-- flags:begin (generated: see tests/config/flag_table_test.cc) -->\n";
  const std::string end = "<!-- flags:end -->";
  const size_t b = page.find(begin), e = page.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string want = FlagTableMarkdown() + "\n";
  if (std::getenv("XTCP_UPDATE_DOCS") != nullptr) {
    page.replace(b + begin.size(), e - b - begin.size(), want);
    std::ofstream(path) << page;
    return;
  }
  EXPECT_EQ(page.substr(b + begin.size(), e - b - begin.size()), want);
}

}  // namespace
}  // namespace xtcp::config
