// FileWriter's framing, page bytes and error contract. Decoding by real readers is in
// readers_test.mjs (hyparquet, DuckDB).
#include "parquet/writer.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "parquet/flat_record_parquet.h"

namespace xtcp::parquet {
namespace {

std::unique_ptr<FileWriter> MakeWriter(Schema schema, Codec codec = Codec::kUncompressed) {
  WriterOptions options;
  options.codec = codec;
  auto w = FileWriter::Create(std::move(schema), options);
  EXPECT_TRUE(w.ok()) << w.status();
  return std::move(*w);
}

Column Int32Column(std::string name) {
  Column c;
  c.name = std::move(name);
  c.type = PhysicalType::kInt32;
  return c;
}

TEST(ParquetWriterTest, MagicAndFooterFrame) {
  auto w = MakeWriter({Int32Column("a")});
  w->column(0).AppendInt32(1);
  auto file = w->Finish();
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_GT(file->size(), 12u);
  EXPECT_EQ(file->substr(0, 4), "PAR1");
  EXPECT_EQ(file->substr(file->size() - 4), "PAR1");
  uint32_t meta_len = 0;
  std::memcpy(&meta_len, file->data() + file->size() - 8, 4);
  EXPECT_LT(meta_len, file->size() - 12);
  EXPECT_NE(file->find("xtcp2"), std::string::npos);  // created_by
}

TEST(ParquetWriterTest, PlainInt32PageBytes) {
  auto w = MakeWriter({Int32Column("a")});
  for (int32_t v : {1, 2, 3}) w->column(0).AppendInt32(v);
  auto file = w->Finish();
  ASSERT_TRUE(file.ok()) << file.status();
  // PageHeader{type 0, sizes 12/12, DataPageHeader{3 values, PLAIN, RLE, RLE}} then the body.
  const std::vector<uint8_t> want = {'P',  'A',  'R',  '1',  0x15, 0x00, 0x15, 0x18, 0x15,
                                     0x18, 0x2c, 0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15,
                                     0x06, 0x00, 0x00, 1,    0,    0,    0,    2,    0,
                                     0,    0,    3,    0,    0,    0};
  ASSERT_GE(file->size(), want.size());
  EXPECT_THAT(std::vector<uint8_t>(file->begin(), file->begin() + want.size()),
              testing::ElementsAreArray(want));
}

TEST(ParquetWriterTest, OptionalPageHasDefinitionLevels) {
  Column c = Int32Column("a");
  c.optional = true;
  auto w = MakeWriter({c});
  w->column(0).AppendInt32(7);
  w->column(0).AppendNull();
  auto file = w->Finish();
  ASSERT_TRUE(file.ok()) << file.status();
  // Body: levels length 2, levels 1,0 (one padded bit-packed group: 03 01), then the one value.
  // Page sizes 10/10 (zigzag 0x14); the DataPageHeader says 2 values (nulls included).
  const std::vector<uint8_t> want = {0x15, 0x00, 0x15, 0x14, 0x15, 0x14, 0x2c, 0x15, 0x04,
                                     0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00, 2,
                                     0,    0,    0,    0x03, 0x01, 7,    0,    0,    0};
  ASSERT_GE(file->size(), 4 + want.size());
  EXPECT_THAT(std::vector<uint8_t>(file->begin() + 4, file->begin() + 4 + want.size()),
              testing::ElementsAreArray(want));
}

TEST(ParquetWriterTest, RowCountMismatchIsAnError) {
  auto w = MakeWriter({Int32Column("a"), Int32Column("b")});
  w->column(0).AppendInt32(1);
  EXPECT_FALSE(w->EndRowGroup().ok());
}

TEST(ParquetWriterTest, WrongTypeAndNullInRequiredAreErrors) {
  auto w = MakeWriter({Int32Column("a")});
  w->column(0).AppendInt64(1);
  EXPECT_FALSE(w->Finish().ok());
  auto w2 = MakeWriter({Int32Column("a")});
  w2->column(0).AppendNull();
  EXPECT_FALSE(w2->Finish().ok());
}

TEST(ParquetWriterTest, LogicalTypeMustFitPhysical) {
  Column c = Int32Column("a");
  c.logical = Logical::kString;
  EXPECT_FALSE(FileWriter::Create({c}).ok());
  EXPECT_FALSE(FileWriter::Create({}).ok());
}

TEST(ParquetWriterTest, ZstdShrinksRepetitiveData) {
  auto plain = MakeWriter({Int32Column("a")});
  auto zstd = MakeWriter({Int32Column("a")}, Codec::kZstd);
  for (int i = 0; i < 10000; ++i) {
    plain->column(0).AppendInt32(i % 4);
    zstd->column(0).AppendInt32(i % 4);
  }
  auto a = plain->Finish();
  auto b = zstd->Finish();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(a->size(), 40000u);
  EXPECT_LT(b->size(), 2000u);
}

TEST(ParquetWriterTest, FewDistinctStringsAreDictionaryEncoded) {
  Column s;
  s.name = "s";
  s.type = PhysicalType::kByteArray;
  s.logical = Logical::kString;
  auto w = MakeWriter({s});
  for (int i = 0; i < 1000; ++i) w->column(0).AppendBytes(i % 2 ? "cubic" : "bbr");
  auto file = w->Finish();
  ASSERT_TRUE(file.ok());
  // The dictionary page (type 2: 0x15 0x04) comes first, and the body holds each word once.
  EXPECT_EQ(file->substr(4, 2), std::string("\x15\x04", 2));
  EXPECT_LT(file->size(), 1000u);
}

TEST(FlatRecordParquetTest, EveryProtoFieldIsAColumnPlusEventDate) {
  const Schema schema = FlatRecordSchema();
  const auto* d = XtcpFlatRecord::descriptor();
  ASSERT_EQ(schema.size(), static_cast<size_t>(d->field_count()) + 1);
  size_t date = 0;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].name == kEventDateColumn) date = i;
  }
  ASSERT_GT(date, 0u);
  EXPECT_EQ(schema[date - 1].name, "location");
  for (int i = 0; i < d->field_count(); ++i) {
    const size_t col = static_cast<size_t>(i) + (static_cast<size_t>(i) >= date ? 1 : 0);
    EXPECT_EQ(schema[col].name, d->field(i)->name());
  }
}

TEST(FlatRecordParquetTest, EventDateIsUtc) {
  EXPECT_EQ(EventDate(0), "1970-01-01");
  EXPECT_EQ(EventDate(-1), "1969-12-31");
  EXPECT_EQ(EventDate(int64_t{1700000000} * 1000000000), "2023-11-14");
}

TEST(FlatRecordParquetTest, RecordsToParquetRowGroups) {
  std::vector<XtcpFlatRecord> records(5);
  records[2].set_hostname("h");
  auto one = RecordsToParquet(records, {}, 1 << 20);
  auto many = RecordsToParquet(records, {}, 2);  // 3 row groups
  ASSERT_TRUE(one.ok() && many.ok());
  EXPECT_GT(many->size(), one->size());
}

}  // namespace
}  // namespace xtcp::parquet
