// Tests of the strict RFC 4180 reader (csv.h): field values, line numbers
// and columns of rows and fields, and the position of every error.
#include "engine/csv.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// One row as read: its line and its field values and columns.
struct Row {
  int line = 0;
  std::vector<std::string> values;
  std::vector<int> columns;
};

// Reads every row of `text`; *error gets "line:col: why" when reading
// stopped on an error, else "".
std::vector<Row> ReadAll(const std::string& text, std::string* error,
                         char separator = ',') {
  CsvReader reader(text, separator);
  std::vector<Row> rows;
  CsvRow row;
  while (reader.Next(&row)) {
    Row r;
    r.line = row.line;
    for (const CsvField& f : row.fields) {
      r.values.push_back(f.value);
      r.columns.push_back(f.column);
    }
    rows.push_back(std::move(r));
  }
  *error = reader.error().empty() ? ""
                                  : std::to_string(reader.error_line()) + ":" +
                                        std::to_string(reader.error_column()) +
                                        ": " + reader.error();
  return rows;
}

std::vector<int> Lines(const std::vector<Row>& rows) {
  std::vector<int> lines;
  for (const Row& r : rows) lines.push_back(r.line);
  return lines;
}

constexpr char kQuoteInUnquoted[] =
    "quote inside an unquoted field (quote the whole field and write the "
    "quote as \"\")";
constexpr char kJunkAfterQuote[] =
    "unexpected character after a closing quote (a quote inside a quoted "
    "field is written \"\")";
constexpr char kUnclosed[] =
    "quoted field is not closed before the end of the file";

TEST(CsvReaderTest, SkipBadRowsMakesAStrayQuoteAnErrorOfItsRowOnly) {
  // An unquoted field cannot span lines: the next row starts on the next
  // line, so reading goes on there (CRLF too).
  CsvReader reader("a,b\r\n1,12\" pipe,x\r\n2,ok\n", ',');
  reader.set_skip_bad_rows(true);
  CsvRow row;
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.error, "");
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 2);
  EXPECT_EQ(row.error, kQuoteInUnquoted);
  EXPECT_EQ(row.error_column, 5);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 3);
  EXPECT_EQ(row.error, "");
  ASSERT_EQ(row.fields.size(), 2u);
  EXPECT_EQ(row.fields[1].value, "ok");
  EXPECT_FALSE(reader.Next(&row));
  EXPECT_EQ(reader.error(), "");
}

TEST(CsvReaderTest, PlainRowsWithLinesAndColumns) {
  std::string error;
  std::vector<Row> rows = ReadAll("a,bb,ccc\n1,22,333\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_THAT(rows[0].values, ElementsAre("a", "bb", "ccc"));
  EXPECT_THAT(rows[0].columns, ElementsAre(1, 3, 6));
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_THAT(rows[1].values, ElementsAre("1", "22", "333"));
  EXPECT_THAT(rows[1].columns, ElementsAre(1, 3, 6));
}

TEST(CsvReaderTest, EmptyTextHasNoRowsAndNoError) {
  CsvReader reader("");
  CsvRow row;
  EXPECT_FALSE(reader.Next(&row));
  EXPECT_EQ(reader.error(), "");
  EXPECT_THAT(row.fields, IsEmpty());
}

TEST(CsvReaderTest, EndOfTextKeepsAnsweringFalse) {
  CsvReader reader("x\n");
  CsvRow row;
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_FALSE(reader.Next(&row));
  EXPECT_FALSE(reader.Next(&row));
  EXPECT_EQ(reader.error(), "");
  EXPECT_THAT(row.fields, IsEmpty());
}

TEST(CsvReaderTest, EmptyFieldsBetweenAndAfterSeparators) {
  std::string error;
  std::vector<Row> rows = ReadAll(",a,,\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("", "a", "", ""));
  EXPECT_THAT(rows[0].columns, ElementsAre(1, 2, 4, 5));
}

TEST(CsvReaderTest, QuotedFieldsMayHoldSeparators) {
  std::string error;
  std::vector<Row> rows = ReadAll("\"a,b\",c,\"\"\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a,b", "c", ""));
  EXPECT_THAT(rows[0].columns, ElementsAre(1, 7, 9));
}

TEST(CsvReaderTest, DoubledQuotesAreOneQuote) {
  std::string error;
  std::vector<Row> rows =
      ReadAll("\"say \"\"hi\"\"\",\"\"\"\",\"\"\"x\"\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("say \"hi\"", "\"", "\"x"));
}

TEST(CsvReaderTest, LineBreaksInsideQuotesKeepLineNumbersRight) {
  std::string error;
  std::vector<Row> rows =
      ReadAll("id,note\n1,\"first\nsecond\nthird\"\n2,plain\n3,x\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(Lines(rows), ElementsAre(1, 2, 5, 6));
  EXPECT_THAT(rows[1].values, ElementsAre("1", "first\nsecond\nthird"));
  EXPECT_THAT(rows[2].values, ElementsAre("2", "plain"));
  EXPECT_THAT(rows[2].columns, ElementsAre(1, 3));
}

TEST(CsvReaderTest, ErrorAfterAMultiLineFieldNamesItsOwnLine) {
  std::string error;
  std::vector<Row> rows = ReadAll("\"a\nb\"\nok\nba\"d\n", &error);
  EXPECT_THAT(Lines(rows), ElementsAre(1, 3));
  EXPECT_EQ(error, std::string("4:3: ") + kQuoteInUnquoted);
}

TEST(CsvReaderTest, CrlfLineEnds) {
  std::string error;
  std::vector<Row> rows = ReadAll("a,b\r\n\"c\",d\r\ne,f\r\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(Lines(rows), ElementsAre(1, 2, 3));
  EXPECT_THAT(rows[0].values, ElementsAre("a", "b"));
  EXPECT_THAT(rows[1].values, ElementsAre("c", "d"));
  EXPECT_THAT(rows[2].values, ElementsAre("e", "f"));
}

TEST(CsvReaderTest, CrlfInsideQuotesIsKeptAndCounted) {
  std::string error;
  std::vector<Row> rows = ReadAll("\"x\r\ny\"\r\nz\r\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0].values, ElementsAre("x\r\ny"));
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_THAT(rows[1].values, ElementsAre("z"));
}

TEST(CsvReaderTest, MixedLfAndCrlf) {
  std::string error;
  std::vector<Row> rows = ReadAll("a\nb\r\nc\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(Lines(rows), ElementsAre(1, 2, 3));
  EXPECT_THAT(rows[1].values, ElementsAre("b"));
}

TEST(CsvReaderTest, LoneCarriageReturnInsideAFieldIsData) {
  std::string error;
  std::vector<Row> rows = ReadAll("a\rb,c\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a\rb", "c"));
}

TEST(CsvReaderTest, Utf8ByteOrderMarkIsSkipped) {
  std::string error;
  std::vector<Row> rows = ReadAll(
      "\xEF\xBB\xBFstaff_id,name\nT1,\xE5\xBC\xA0\xE4\xB8\x89\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_THAT(rows[0].values, ElementsAre("staff_id", "name"));
  // Columns count from after the mark.
  EXPECT_THAT(rows[0].columns, ElementsAre(1, 10));
  EXPECT_THAT(rows[1].values, ElementsAre("T1", "张三"));
}

TEST(CsvReaderTest, ByteOrderMarkBeforeAQuotedField) {
  std::string error;
  std::vector<Row> rows = ReadAll("\xEF\xBB\xBF\"a\",b", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a", "b"));
  EXPECT_THAT(rows[0].columns, ElementsAre(1, 5));
}

TEST(CsvReaderTest, ByteOrderMarkOnlyInTheFirstLine) {
  std::string error;
  std::vector<Row> rows = ReadAll(
      "a\n\xEF\xBB\xBF"
      "b\n",
      &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[1].values, ElementsAre("\xEF\xBB\xBF"
                                          "b"));
}

TEST(CsvReaderTest, LastRowWithoutNewline) {
  std::string error;
  std::vector<Row> rows = ReadAll("a,b\nc,d", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_THAT(rows[1].values, ElementsAre("c", "d"));
}

TEST(CsvReaderTest, LastQuotedFieldWithoutNewline) {
  std::string error;
  std::vector<Row> rows = ReadAll("a,\"b,c\"", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a", "b,c"));
}

TEST(CsvReaderTest, TrailingCarriageReturnAtTheEndIsALineEnd) {
  std::string error;
  std::vector<Row> rows = ReadAll("a,b\r", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a", "b"));
  rows = ReadAll("a,\"b\"\r", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a", "b"));
}

TEST(CsvReaderTest, TrailingNewlineAddsNoRow) {
  std::string error;
  EXPECT_EQ(ReadAll("a\nb\n", &error).size(), 2u);
  EXPECT_EQ(ReadAll("a\nb", &error).size(), 2u);
  EXPECT_EQ(ReadAll("a\r\nb\r\n", &error).size(), 2u);
}

TEST(CsvReaderTest, BlankLineIsARowWithOneEmptyField) {
  std::string error;
  std::vector<Row> rows = ReadAll("a\n\nb\r\n\r\nc\n", &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_THAT(Lines(rows), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(rows[1].values, ElementsAre(""));
  EXPECT_THAT(rows[1].columns, ElementsAre(1));
  EXPECT_THAT(rows[3].values, ElementsAre(""));
  EXPECT_THAT(rows[4].values, ElementsAre("c"));
}

TEST(CsvReaderTest, OtherSeparator) {
  std::string error;
  std::vector<Row> rows = ReadAll("a\tb,c\t\"d\te\"\n", &error, '\t');
  EXPECT_EQ(error, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].values, ElementsAre("a", "b,c", "d\te"));
  EXPECT_THAT(rows[0].columns, ElementsAre(1, 3, 7));
}

TEST(CsvReaderTest, UnclosedQuoteNamesWhereItOpened) {
  CsvReader reader("a,b\nc,\"de\nf,g\n");
  CsvRow row;
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_FALSE(reader.Next(&row));
  EXPECT_EQ(reader.error(), kUnclosed);
  EXPECT_EQ(reader.error_line(), 2);
  EXPECT_EQ(reader.error_column(), 3);
  // The reader stays stopped.
  EXPECT_FALSE(reader.Next(&row));
  EXPECT_EQ(reader.error(), kUnclosed);
}

TEST(CsvReaderTest, UnclosedQuoteAtTheVeryEnd) {
  std::string error;
  std::vector<Row> rows = ReadAll("x,\"", &error);
  EXPECT_THAT(rows, IsEmpty());
  EXPECT_EQ(error, std::string("1:3: ") + kUnclosed);
}

TEST(CsvReaderTest, QuoteInsideAnUnquotedField) {
  std::string error;
  std::vector<Row> rows = ReadAll("ok\nab,c\"d,e\n", &error);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(error, std::string("2:5: ") + kQuoteInUnquoted);
}

TEST(CsvReaderTest, JunkAfterAClosingQuote) {
  std::string error;
  std::vector<Row> rows = ReadAll("a\n\"bc\"d,e\n", &error);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(error, std::string("2:5: ") + kJunkAfterQuote);
}

TEST(CsvReaderTest, SpaceAfterAClosingQuoteIsJunkToo) {
  std::string error;
  ReadAll("\"a\" ,b\n", &error);
  EXPECT_EQ(error, std::string("1:4: ") + kJunkAfterQuote);
}

TEST(CsvReaderTest, CarriageReturnNotEndingALineAfterAQuoteIsJunk) {
  std::string error;
  ReadAll("\"a\"\rb\n", &error);
  EXPECT_EQ(error, std::string("1:4: ") + kJunkAfterQuote);
}

TEST(CsvReaderTest, JunkAfterAMultiLineQuotedFieldNamesTheClosingLine) {
  std::string error;
  ReadAll("\"a\nbc\"x\n", &error);
  EXPECT_EQ(error, std::string("2:4: ") + kJunkAfterQuote);
}

}  // namespace
}  // namespace txscreen::engine
