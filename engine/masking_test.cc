#include "engine/masking.h"

#include "gtest/gtest.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {
namespace {

TEST(MaskDigitRunsTest, RunsOfTwelveOrMoreDigitsAreMasked) {
  EXPECT_EQ(MaskDigitRuns("6222020200112233445"), "6222****3445");
  EXPECT_EQ(MaskDigitRuns("to 123456789012."), "to 1234****9012.");
  EXPECT_EQ(MaskDigitRuns("a 6217000000000005678 b 6228480000000009999"),
            "a 6217****5678 b 6228****9999");
}

TEST(MaskDigitRunsTest, ShorterRunsStay) {
  // Phone numbers, amounts, dates and times.
  EXPECT_EQ(MaskDigitRuns("call 13812345678 about 50,000.00 on 2026-11-20"),
            "call 13812345678 about 50,000.00 on 2026-11-20");
  EXPECT_EQ(MaskDigitRuns("12345678901"), "12345678901");
  EXPECT_EQ(MaskDigitRuns(""), "");
  EXPECT_EQ(MaskDigitRuns("no digits"), "no digits");
}

TEST(MaskDigitRunsTest, FullWidthDigitsAreDigits) {
  EXPECT_EQ(MaskDigitRuns("账户６２２８４８００００００００９９９９。"),
            "账户６２２８****９９９９。");
  // Mixed widths make one run.
  EXPECT_EQ(MaskDigitRuns("6228４８００００００００9999"), "6228****9999");
  // Other characters of the same block (U+FF21, Ａ) are not digits.
  EXPECT_EQ(MaskDigitRuns("ＡＢ１２"), "ＡＢ１２");
}

TEST(MaskDigitRunsTest, GroupsJoinedBySpacesOrHyphensAreOneNumber) {
  EXPECT_EQ(MaskDigitRuns("card 6217 4501 0088 1234."), "card 6217 ****1234.");
  EXPECT_EQ(MaskDigitRuns("6217-4501-0088-1234"), "6217-****1234");
  EXPECT_EQ(MaskDigitRuns("id 110101 19540312 0022"), "id 1101****0022");
  // Dates, times and phone numbers stay: a group of two digits breaks a
  // run, and 3-4-4 is 11 digits.
  EXPECT_EQ(MaskDigitRuns("2026-11-20 12:30 and 2026-11-21"),
            "2026-11-20 12:30 and 2026-11-21");
  EXPECT_EQ(MaskDigitRuns("call 138-1234-5678"), "call 138-1234-5678");
  // Two separators in a row end the run.
  EXPECT_EQ(MaskDigitRuns("123456  123456"), "123456  123456");
}

TEST(MaskMessageStringsTest, AccountsAndTextMaskedIdsKept) {
  txscreen::v1::Transaction tx;
  tx.set_transaction_id("TX-622202100000300200");
  tx.set_customer_id("C320100000000001");
  tx.set_account_id("6222021000003002");
  tx.mutable_counterparty()->set_account_id("6217450100881234");
  tx.mutable_counterparty()->set_name("张三");
  tx.set_memo("转到 6228480000000009999 安全账户");
  MaskMessageStrings(&tx);
  EXPECT_EQ(tx.transaction_id(), "TX-622202100000300200");
  EXPECT_EQ(tx.customer_id(), "C320100000000001");
  EXPECT_EQ(tx.account_id(), "6222****3002");
  EXPECT_EQ(tx.counterparty().account_id(), "6217****1234");
  EXPECT_EQ(tx.counterparty().name(), "张三");
  EXPECT_EQ(tx.memo(), "转到 6228****9999 安全账户");
}

TEST(MaskDigitRunsTest, TruncatedUtf8IsCopied) {
  EXPECT_EQ(MaskDigitRuns("\xEF\xBC"), "\xEF\xBC");
  EXPECT_EQ(MaskDigitRuns("1\xEF"), "1\xEF");
}

}  // namespace
}  // namespace txscreen::engine
