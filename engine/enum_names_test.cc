#include "engine/enum_names.h"

#include "gtest/gtest.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;

TEST(ShortEnumNameTest, StripsTheTypesPrefix) {
  EXPECT_EQ(ShortEnumName(v1::VERDICT_ALLOW), "ALLOW");
  EXPECT_EQ(ShortEnumName(v1::VERDICT_REJECTED_INPUT), "REJECTED_INPUT");
  EXPECT_EQ(ShortEnumName(v1::CHANNEL_COUNTER), "COUNTER");
  EXPECT_EQ(ShortEnumName(v1::TRANSACTION_TYPE_CASH_DEPOSIT), "CASH_DEPOSIT");
  EXPECT_EQ(ShortEnumName(v1::CUSTOMER_KIND_UNSPECIFIED), "UNSPECIFIED");
}

TEST(ShortEnumNameTest, UnknownNumbersAreAQuestionMark) {
  EXPECT_EQ(ShortEnumName(static_cast<v1::Verdict>(99)), "?");
}

}  // namespace
}  // namespace txscreen::engine
