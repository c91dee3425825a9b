// Tests of transaction validation (transaction_validator.h): every message a
// feed sees in Decision.input_errors, word for word, and the contract of
// ValidateTransaction (all problems reported, in order, appended to *errors).
// The clock is always passed in as `now_us`; nothing reads the wall clock.
#include "engine/transaction_validator.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;

// 2026-11-20T01:30:00Z (09:30 in Beijing).
constexpr int64_t kOccurredSeconds = 1795138200;
constexpr int64_t kOccurredUs = kOccurredSeconds * kSecond;
// The engine's clock: one minute after the transaction happened.
constexpr int64_t kNowUs = kOccurredUs + 60 * kSecond;
// 9999-12-31T23:59:59Z, the last second a Timestamp may hold.
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// A transaction with every field a validator looks at set to a good value.
v1::Transaction ValidTransaction() {
  v1::Transaction tx;
  tx.set_transaction_id("T-1");
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds);
  tx.mutable_occurred_at()->set_nanos(250000000);
  tx.set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
  tx.set_channel(v1::CHANNEL_MOBILE);
  tx.set_direction(v1::DIRECTION_OUT);
  tx.set_customer_id("C-1");
  tx.set_account_id("A-1");
  tx.set_amount_minor(4999999);
  tx.set_currency("CNY");
  tx.set_memo("安全账户 转账");
  tx.set_region_code("310101");
  tx.set_account_region_code("110101");
  tx.set_device_id("DEV-1");
  tx.mutable_geo()->set_lat(31.2304);
  tx.mutable_geo()->set_lon(121.4737);
  tx.mutable_counterparty()->set_account_id("P-1");
  tx.mutable_counterparty()->set_name("张三");
  tx.mutable_counterparty()->set_region_code("440305");
  tx.mutable_customer()->set_kind(v1::CUSTOMER_KIND_INDIVIDUAL);
  tx.mutable_customer()->set_birth_date("1950-01-01");
  // 2026-11-01T00:00:00Z.
  tx.mutable_account_opened_at()->set_seconds(1793491200);
  return tx;
}

// The problems ValidateTransaction reports for `tx`, checking that its return
// value agrees with them.
std::vector<std::string> Errors(const v1::Transaction& tx,
                                int64_t now_us = kNowUs,
                                const ValidationOptions& options = {}) {
  std::vector<std::string> errors;
  const bool ok = ValidateTransaction(tx, now_us, &errors, options);
  EXPECT_EQ(ok, errors.empty());
  return errors;
}

// --- The whole transaction ------------------------------------------------

TEST(TransactionValidatorTest, ValidTransactionHasNoErrors) {
  std::vector<std::string> errors;
  EXPECT_TRUE(ValidateTransaction(ValidTransaction(), kNowUs, &errors));
  EXPECT_THAT(errors, IsEmpty());
}

TEST(TransactionValidatorTest, OptionalFieldsMayBeAbsent) {
  v1::Transaction tx;
  tx.set_transaction_id("T-1");
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds);
  tx.set_type(v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  tx.set_channel(v1::CHANNEL_COUNTER);
  tx.set_direction(v1::DIRECTION_IN);
  tx.set_customer_id("C-1");
  tx.set_account_id("A-1");
  tx.set_amount_minor(1);
  tx.set_currency("JPY");
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, EmptyTransactionNamesEveryRequiredField) {
  EXPECT_THAT(
      Errors(v1::Transaction()),
      ElementsAre("transaction_id is required", "occurred_at is required",
                  "type is required", "channel is required",
                  "direction is required", "customer_id is required",
                  "account_id is required", "amount_minor must be > 0, got 0",
                  "currency is required"));
}

TEST(TransactionValidatorTest, EveryProblemIsReportedInFieldOrder) {
  v1::Transaction tx = ValidTransaction();
  tx.set_transaction_id("T\x01");
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds + 2 * 86400);
  tx.set_type(static_cast<v1::TransactionType>(99));
  tx.clear_channel();
  tx.set_direction(static_cast<v1::Direction>(42));
  tx.set_customer_id(std::string(129, 'c'));
  tx.clear_account_id();
  tx.set_amount_minor(-5);
  tx.set_currency("usd");
  tx.set_region_code("31010");
  tx.set_account_region_code("３１０１０１");
  tx.mutable_counterparty()->set_region_code("abcdef");
  tx.mutable_counterparty()->set_account_id("P\t1");
  tx.set_device_id("D\x7f");
  tx.mutable_geo()->set_lat(std::numeric_limits<double>::quiet_NaN());
  tx.mutable_geo()->set_lon(200);
  tx.mutable_customer()->set_birth_date("1849-12-31");
  tx.mutable_customer()->set_kind(static_cast<v1::CustomerKind>(9));
  tx.set_reverses_transaction_id("T-0\n");
  tx.mutable_account_opened_at()->set_seconds(kOccurredSeconds + 3 * 86400);

  std::vector<std::string> errors;
  EXPECT_FALSE(ValidateTransaction(tx, kNowUs, &errors));
  EXPECT_THAT(
      errors,
      ElementsAre(
          "transaction_id must not contain control characters, got 'T\\x01'",
          "occurred_at is more than 24h in the future, got "
          "2026-11-22T01:30:00+00:00",
          "type has unknown TransactionType value 99", "channel is required",
          "direction has unknown Direction value 42",
          "customer_id must be at most 128 bytes, got 129",
          "account_id is required", "amount_minor must be > 0, got -5",
          "currency: currency must be 3 upper-case letters (ISO 4217), got "
          "'usd'",
          "region_code must be a 6-digit GB/T 2260 code, got '31010'",
          "account_region_code must be a 6-digit GB/T 2260 code, got "
          "'３１０１０１'",
          "counterparty.region_code must be a 6-digit GB/T 2260 code, got "
          "'abcdef'",
          "counterparty.account_id must not contain control characters, got "
          "'P\\t1'",
          "device_id must not contain control characters, got 'D\\x7f'",
          "geo.lat must be in [-90, 90], got nan",
          "geo.lon must be in [-180, 180], got 200",
          "customer.birth_date must be a date YYYY-MM-DD, got '1849-12-31'",
          "customer.kind has unknown CustomerKind value 9",
          "reverses_transaction_id must not contain control characters, got "
          "'T-0\\n'",
          "reverses_transaction_id is only for TRANSACTION_TYPE_REVERSAL, got "
          "'T-0\\n'",
          "account_opened_at is after occurred_at (2026-11-23T01:30:00+00:00 "
          "> 2026-11-22T01:30:00+00:00)"));
  EXPECT_EQ(errors.size(), 21u);
}

TEST(TransactionValidatorTest, ErrorsAreAppendedAfterExistingOnes) {
  std::vector<std::string> errors = {"from an earlier step"};
  v1::Transaction bad = ValidTransaction();
  bad.set_amount_minor(-5);
  bad.set_currency("XYZ");
  EXPECT_FALSE(ValidateTransaction(bad, kNowUs, &errors));
  EXPECT_THAT(
      errors,
      ElementsAre("from an earlier step", "amount_minor must be > 0, got -5",
                  "currency: unknown currency 'XYZ' (not an ISO 4217 "
                  "code)"));
}

TEST(TransactionValidatorTest, ReturnValueIgnoresErrorsAlreadyInTheVector) {
  std::vector<std::string> errors = {"from an earlier step"};
  EXPECT_TRUE(ValidateTransaction(ValidTransaction(), kNowUs, &errors));
  EXPECT_THAT(errors, ElementsAre("from an earlier step"));
}

// --- amount_minor and currency --------------------------------------------

TEST(TransactionValidatorTest, AmountMustBePositive) {
  v1::Transaction tx = ValidTransaction();
  tx.set_amount_minor(-5);
  EXPECT_THAT(Errors(tx), ElementsAre("amount_minor must be > 0, got -5"));
  tx.set_amount_minor(0);
  EXPECT_THAT(Errors(tx), ElementsAre("amount_minor must be > 0, got 0"));
  tx.set_amount_minor(std::numeric_limits<int64_t>::min());
  EXPECT_THAT(Errors(tx), ElementsAre("amount_minor must be > 0, got "
                                      "-9223372036854775808"));
  tx.set_amount_minor(1);
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, AmountHasACeiling) {
  // Beyond any payment; window sums of such amounts would saturate.
  v1::Transaction tx = ValidTransaction();
  tx.set_amount_minor(kMaxAmountMinor);
  EXPECT_THAT(Errors(tx), IsEmpty());
  tx.set_amount_minor(kMaxAmountMinor + 1);
  EXPECT_THAT(Errors(tx), ElementsAre("amount_minor must be at most "
                                      "1000000000000000, got "
                                      "1000000000000001"));
  tx.set_amount_minor(std::numeric_limits<int64_t>::max());
  EXPECT_THAT(Errors(tx), ElementsAre("amount_minor must be at most "
                                      "1000000000000000, got "
                                      "9223372036854775807"));
}

TEST(TransactionValidatorTest, BirthDateAfterTheTransactionIsRejected) {
  // A typo (2954 for 1954) would make the age unknown and switch off the
  // age tests. The latest local date anywhere (UTC+14) still passes.
  v1::Transaction tx = ValidTransaction();  // 2026-11-20T01:30:00Z
  tx.mutable_customer()->set_birth_date("2954-03-02");
  EXPECT_THAT(Errors(tx), ElementsAre("customer.birth_date is after "
                                      "occurred_at, got '2954-03-02'"));
  tx.mutable_customer()->set_birth_date("2026-11-21");
  EXPECT_THAT(Errors(tx), ElementsAre(HasSubstr("is after occurred_at")));
  tx.mutable_customer()->set_birth_date("2026-11-20");
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, CurrencyIsRequired) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_currency();
  EXPECT_THAT(Errors(tx), ElementsAre("currency is required"));
}

TEST(TransactionValidatorTest, UnknownCurrencyIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.set_currency("XYZ");
  EXPECT_THAT(Errors(tx),
              ElementsAre("currency: unknown currency 'XYZ' (not an ISO 4217 "
                          "code)"));
}

TEST(TransactionValidatorTest, MalformedCurrencyIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.set_currency("usd");
  EXPECT_THAT(Errors(tx),
              ElementsAre("currency: currency must be 3 upper-case letters "
                          "(ISO 4217), got 'usd'"));
  tx.set_currency("US");
  EXPECT_THAT(Errors(tx),
              ElementsAre("currency: currency must be 3 upper-case letters "
                          "(ISO 4217), got 'US'"));
  tx.set_currency("CNY\n");
  EXPECT_THAT(Errors(tx),
              ElementsAre("currency: currency must be 3 upper-case letters "
                          "(ISO 4217), got 'CNY\\n'"));
}

TEST(TransactionValidatorTest, KnownCurrenciesAreAccepted) {
  for (const char* code : {"CNY", "USD", "JPY", "KWD", "HKD", "EUR"}) {
    SCOPED_TRACE(code);
    v1::Transaction tx = ValidTransaction();
    tx.set_currency(code);
    EXPECT_THAT(Errors(tx), IsEmpty());
  }
}

// --- Region codes -----------------------------------------------------------

// The three region code fields share one check; each test runs it on all.
struct RegionField {
  const char* name;
  std::function<void(v1::Transaction*, const std::string&)> set;
};

std::vector<RegionField> RegionFields() {
  return {
      {"region_code", [](v1::Transaction* tx,
                         const std::string& v) { tx->set_region_code(v); }},
      {"account_region_code",
       [](v1::Transaction* tx, const std::string& v) {
         tx->set_account_region_code(v);
       }},
      {"counterparty.region_code",
       [](v1::Transaction* tx, const std::string& v) {
         tx->mutable_counterparty()->set_region_code(v);
       }},
  };
}

TEST(TransactionValidatorTest, RegionCodesAreOptional) {
  for (const RegionField& field : RegionFields()) {
    SCOPED_TRACE(field.name);
    v1::Transaction tx = ValidTransaction();
    field.set(&tx, "");
    EXPECT_THAT(Errors(tx), IsEmpty());
  }
}

TEST(TransactionValidatorTest, RegionCodeMustBeSixAsciiDigits) {
  for (const RegionField& field : RegionFields()) {
    SCOPED_TRACE(field.name);
    const std::string prefix =
        std::string(field.name) + " must be a 6-digit GB/T 2260 code, got ";
    v1::Transaction tx = ValidTransaction();

    field.set(&tx, "31010");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'31010'"));
    field.set(&tx, "3101011");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'3101011'"));
    field.set(&tx, "31010a");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'31010a'"));
    field.set(&tx, "-31010");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'-31010'"));
    field.set(&tx, "000000");
    EXPECT_THAT(Errors(tx), IsEmpty());
  }
}

TEST(TransactionValidatorTest, RegionCodeInFullWidthDigitsIsShownAsWritten) {
  for (const RegionField& field : RegionFields()) {
    SCOPED_TRACE(field.name);
    v1::Transaction tx = ValidTransaction();
    field.set(&tx, "３１０１０１");
    EXPECT_THAT(Errors(tx),
                ElementsAre(std::string(field.name) +
                            " must be a 6-digit GB/T 2260 code, got "
                            "'３１０１０１'"));
  }
}

TEST(TransactionValidatorTest, RegionCodeControlCharactersAreEscaped) {
  for (const RegionField& field : RegionFields()) {
    SCOPED_TRACE(field.name);
    const std::string prefix =
        std::string(field.name) + " must be a 6-digit GB/T 2260 code, got ";
    v1::Transaction tx = ValidTransaction();
    field.set(&tx, "31010\n");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'31010\\n'"));
    field.set(&tx, std::string("3101\0"
                               "1",
                               6));
    // A hex digit after a \x escape is escaped too, so it cannot be read as
    // part of the escape.
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'3101\\x00\\x31'"));
    field.set(&tx, "'31010'");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'\\'31010\\''"));
  }
}

TEST(TransactionValidatorTest, LongValuesAreCutAt64Bytes) {
  for (const RegionField& field : RegionFields()) {
    SCOPED_TRACE(field.name);
    const std::string prefix =
        std::string(field.name) + " must be a 6-digit GB/T 2260 code, got ";
    v1::Transaction tx = ValidTransaction();
    field.set(&tx, std::string(64, '1'));
    EXPECT_THAT(Errors(tx),
                ElementsAre(prefix + "'" + std::string(64, '1') + "'"));
    field.set(&tx, std::string(65, '1'));
    EXPECT_THAT(Errors(tx),
                ElementsAre(prefix + "'" + std::string(64, '1') + "...'"));
    field.set(&tx, std::string(10000, '2'));
    EXPECT_THAT(Errors(tx),
                ElementsAre(prefix + "'" + std::string(64, '2') + "...'"));
  }
}

TEST(TransactionValidatorTest, CutHappensBeforeEscaping) {
  // 64 newlines show as 64 escapes; the 65th byte is cut.
  v1::Transaction tx = ValidTransaction();
  tx.set_region_code(std::string(65, '\n'));
  std::string shown;
  for (int i = 0; i < 64; ++i) shown += "\\n";
  EXPECT_THAT(
      Errors(tx),
      ElementsAre("region_code must be a 6-digit GB/T 2260 code, got '" +
                  shown + "...'"));
}

// --- Ids
// ----------------------------------------------------------------------

struct IdField {
  const char* name;
  bool required;
  std::function<void(v1::Transaction*, const std::string&)> set;
};

// Every id field. The transaction is a reversal, so that
// reverses_transaction_id is allowed and only the id check speaks.
std::vector<IdField> IdFields() {
  return {
      {"transaction_id", true,
       [](v1::Transaction* tx, const std::string& v) {
         tx->set_transaction_id(v);
       }},
      {"customer_id", true,
       [](v1::Transaction* tx, const std::string& v) {
         tx->set_customer_id(v);
       }},
      {"account_id", true,
       [](v1::Transaction* tx, const std::string& v) {
         tx->set_account_id(v);
       }},
      {"counterparty.account_id", false,
       [](v1::Transaction* tx, const std::string& v) {
         tx->mutable_counterparty()->set_account_id(v);
       }},
      {"device_id", false,
       [](v1::Transaction* tx, const std::string& v) { tx->set_device_id(v); }},
      {"reverses_transaction_id", false,
       [](v1::Transaction* tx, const std::string& v) {
         tx->set_reverses_transaction_id(v);
       }},
  };
}

v1::Transaction ValidReversal() {
  v1::Transaction tx = ValidTransaction();
  tx.set_type(v1::TRANSACTION_TYPE_REVERSAL);
  tx.set_reverses_transaction_id("T-0");
  return tx;
}

TEST(TransactionValidatorTest, ValidReversalHasNoErrors) {
  EXPECT_THAT(Errors(ValidReversal()), IsEmpty());
}

TEST(TransactionValidatorTest, RequiredIdsMustBePresent) {
  for (const IdField& field : IdFields()) {
    SCOPED_TRACE(field.name);
    if (std::string(field.name) == "reverses_transaction_id") continue;
    v1::Transaction tx = ValidReversal();
    field.set(&tx, "");
    if (field.required) {
      EXPECT_THAT(Errors(tx),
                  ElementsAre(std::string(field.name) + " is required"));
    } else {
      EXPECT_THAT(Errors(tx), IsEmpty());
    }
  }
}

TEST(TransactionValidatorTest, IdsAreAtMost128Bytes) {
  for (const IdField& field : IdFields()) {
    SCOPED_TRACE(field.name);
    v1::Transaction tx = ValidReversal();
    field.set(&tx, std::string(128, 'x'));
    EXPECT_THAT(Errors(tx), IsEmpty());
    field.set(&tx, std::string(129, 'x'));
    EXPECT_THAT(Errors(tx), ElementsAre(std::string(field.name) +
                                        " must be at most 128 bytes, got 129"));
    field.set(&tx, std::string(5000, 'x'));
    EXPECT_THAT(Errors(tx),
                ElementsAre(std::string(field.name) +
                            " must be at most 128 bytes, got 5000"));
  }
}

TEST(TransactionValidatorTest, IdsMustNotContainControlCharacters) {
  for (const IdField& field : IdFields()) {
    SCOPED_TRACE(field.name);
    const std::string prefix =
        std::string(field.name) + " must not contain control characters, got ";
    v1::Transaction tx = ValidReversal();
    field.set(&tx, "T\r\n");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'T\\r\\n'"));
    field.set(&tx, "a\tb");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'a\\tb'"));
    field.set(&tx, "\x1b[31mX");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'\\x1b[31mX'"));
    field.set(&tx, "DEL\x7f");
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'DEL\\x7f'"));
    field.set(&tx, std::string("a\0b", 3));
    // 'b' is a hex digit, so it is escaped after the \x00.
    EXPECT_THAT(Errors(tx), ElementsAre(prefix + "'a\\x00\\x62'"));
  }
}

// The check reads eight bytes at a time: every byte value at every offset
// of the words and of the tail, in ids of lengths around the word size.
TEST(TransactionValidatorTest, EveryByteAtEveryOffsetIsCheckedExactly) {
  for (size_t length : {1, 7, 8, 9, 15, 16, 17, 23, 24}) {
    for (size_t at = 0; at < length; ++at) {
      for (int b = 1; b < 256; ++b) {
        // Filled with bytes on both sides of the bounds: ' ' (0x20), '~'
        // (0x7e) and 0x80 (a UTF-8 continuation byte, not checked here).
        std::string id(length, ' ');
        for (size_t i = 0; i < length; ++i) {
          id[i] = "~ \x80"[i % 3];
        }
        id[at] = static_cast<char>(b);
        v1::Transaction tx = ValidTransaction();
        tx.set_device_id(id);
        const bool control = b < 0x20 || b == 0x7f;
        const std::vector<std::string> errors = Errors(tx);
        ASSERT_EQ(errors.size(), control ? 1u : 0u)
            << "length " << length << " at " << at << " byte " << b;
      }
    }
  }
}

TEST(TransactionValidatorTest, ControlCharacterIsReportedOncePerId) {
  v1::Transaction tx = ValidTransaction();
  tx.set_device_id("\n\n\n");
  EXPECT_THAT(Errors(tx),
              ElementsAre("device_id must not contain control characters, "
                          "got '\\n\\n\\n'"));
}

TEST(TransactionValidatorTest, IdTooLongWithControlCharacterGetsBothErrors) {
  v1::Transaction tx = ValidTransaction();
  tx.set_customer_id(std::string(200, 'c') + "\n");
  EXPECT_THAT(
      Errors(tx),
      ElementsAre("customer_id must be at most 128 bytes, got 201",
                  "customer_id must not contain control characters, got '" +
                      std::string(64, 'c') + "...'"));
}

TEST(TransactionValidatorTest, IdsMayBeNonAsciiUtf8) {
  v1::Transaction tx = ValidTransaction();
  tx.set_customer_id("客户-甲");
  tx.set_account_id("６２２２０２１２３４");
  tx.mutable_counterparty()->set_account_id("收款人 1");
  EXPECT_THAT(Errors(tx), IsEmpty());
}

// --- occurred_at ----------------------------------------------------------

TEST(TransactionValidatorTest, OccurredAtIsRequired) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_occurred_at();
  EXPECT_THAT(Errors(tx), ElementsAre("occurred_at is required"));
}

TEST(TransactionValidatorTest, OccurredAtWithNegativeNanosIsInvalid) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_nanos(-1);
  EXPECT_THAT(Errors(tx), ElementsAre("occurred_at is not a valid time, got "
                                      "1795138200s -1ns"));
}

TEST(TransactionValidatorTest, OccurredAtWithTooManyNanosIsInvalid) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_nanos(1000000000);
  EXPECT_THAT(Errors(tx), ElementsAre("occurred_at is not a valid time, got "
                                      "1795138200s 1000000000ns"));
  tx.mutable_occurred_at()->set_nanos(999999999);
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, OccurredAtBeforeTheEpochIsInvalid) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_account_opened_at();
  tx.mutable_occurred_at()->set_seconds(-1);
  tx.mutable_occurred_at()->set_nanos(0);
  EXPECT_THAT(Errors(tx),
              ElementsAre("occurred_at is not a valid time, got -1s 0ns"));
  tx.mutable_occurred_at()->set_seconds(0);
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, OccurredAtAfterYear9999IsInvalid) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_seconds(kMaxTimestampSeconds + 1);
  tx.mutable_occurred_at()->set_nanos(0);
  // Not also "in the future": an invalid time is not compared to the clock.
  EXPECT_THAT(Errors(tx), ElementsAre("occurred_at is not a valid time, got "
                                      "253402300800s 0ns"));
}

TEST(TransactionValidatorTest, LastValidSecondIsStillTooFarInTheFuture) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_seconds(kMaxTimestampSeconds);
  tx.mutable_occurred_at()->set_nanos(999999999);
  EXPECT_THAT(Errors(tx), ElementsAre("occurred_at is more than 24h in the "
                                      "future, got 9999-12-31T23:59:59+00:00"));
}

TEST(TransactionValidatorTest, OccurredAtMayBeUpToADayAhead) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds);
  tx.mutable_occurred_at()->set_nanos(0);
  const int64_t now_us = kOccurredUs - kDay;
  EXPECT_THAT(Errors(tx, now_us), IsEmpty());
  // Nanoseconds below a microsecond do not count.
  tx.mutable_occurred_at()->set_nanos(999);
  EXPECT_THAT(Errors(tx, now_us), IsEmpty());
  tx.mutable_occurred_at()->set_nanos(1000);
  EXPECT_THAT(Errors(tx, now_us),
              ElementsAre("occurred_at is more than 24h in the future, got "
                          "2026-11-20T01:30:00+00:00"));
}

TEST(TransactionValidatorTest, OccurredAtMoreThanADayAheadIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds + 86401);
  tx.mutable_occurred_at()->set_nanos(0);
  tx.clear_account_opened_at();
  EXPECT_THAT(Errors(tx, kOccurredUs),
              ElementsAre("occurred_at is more than 24h in the future, got "
                          "2026-11-21T01:30:01+00:00"));
  // The same transaction is fine once the clock has moved on.
  EXPECT_THAT(Errors(tx, kOccurredUs + kSecond), IsEmpty());
}

TEST(TransactionValidatorTest, OccurredAtFarInThePastIsAccepted) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_account_opened_at();
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds - 10 * 365 * 86400);
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, MaxFutureIsConfigurable) {
  ValidationOptions options;
  options.max_future_us = kHour;
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds);
  tx.mutable_occurred_at()->set_nanos(0);
  EXPECT_THAT(Errors(tx, kOccurredUs - kHour, options), IsEmpty());
  EXPECT_THAT(Errors(tx, kOccurredUs - kHour - 1, options),
              ElementsAre("occurred_at is more than 1h in the future, got "
                          "2026-11-20T01:30:00+00:00"));

  options.max_future_us = 90 * 60 * kSecond;
  EXPECT_THAT(Errors(tx, kOccurredUs - 2 * kHour, options),
              ElementsAre("occurred_at is more than 1h30m in the future, got "
                          "2026-11-20T01:30:00+00:00"));
  // A day ahead passes the default but not a tighter limit.
  EXPECT_THAT(Errors(tx, kOccurredUs - 2 * kHour), IsEmpty());
}

TEST(TransactionValidatorTest, ZeroMaxFutureRejectsAnyTimeAfterNow) {
  ValidationOptions options;
  options.max_future_us = 0;
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_seconds(kOccurredSeconds);
  tx.mutable_occurred_at()->set_nanos(0);
  EXPECT_THAT(Errors(tx, kOccurredUs, options), IsEmpty());
  EXPECT_THAT(Errors(tx, kOccurredUs - 1, options),
              ElementsAre("occurred_at is more than 0 in the future, got "
                          "2026-11-20T01:30:00+00:00"));
}

// --- Enums
// --------------------------------------------------------------------

TEST(TransactionValidatorTest, TypeIsRequiredAndMustBeKnown) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_type();
  EXPECT_THAT(Errors(tx), ElementsAre("type is required"));
  tx.set_type(static_cast<v1::TransactionType>(99));
  EXPECT_THAT(Errors(tx),
              ElementsAre("type has unknown TransactionType value 99"));
  tx.set_type(static_cast<v1::TransactionType>(-1));
  EXPECT_THAT(Errors(tx),
              ElementsAre("type has unknown TransactionType value -1"));
}

TEST(TransactionValidatorTest, ChannelIsRequiredAndMustBeKnown) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_channel();
  EXPECT_THAT(Errors(tx), ElementsAre("channel is required"));
  tx.set_channel(static_cast<v1::Channel>(8));
  EXPECT_THAT(Errors(tx), ElementsAre("channel has unknown Channel value 8"));
}

TEST(TransactionValidatorTest, DirectionIsRequiredAndMustBeKnown) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_direction();
  EXPECT_THAT(Errors(tx), ElementsAre("direction is required"));
  tx.set_direction(static_cast<v1::Direction>(3));
  EXPECT_THAT(Errors(tx),
              ElementsAre("direction has unknown Direction value 3"));
}

TEST(TransactionValidatorTest, EveryDeclaredEnumValueIsAccepted) {
  for (int type = 1; type <= 6; ++type) {
    v1::Transaction tx = ValidTransaction();
    tx.set_type(static_cast<v1::TransactionType>(type));
    EXPECT_THAT(Errors(tx), IsEmpty()) << "type " << type;
  }
  for (int channel = 1; channel <= 7; ++channel) {
    v1::Transaction tx = ValidTransaction();
    tx.set_channel(static_cast<v1::Channel>(channel));
    EXPECT_THAT(Errors(tx), IsEmpty()) << "channel " << channel;
  }
  for (int direction = 1; direction <= 2; ++direction) {
    v1::Transaction tx = ValidTransaction();
    tx.set_direction(static_cast<v1::Direction>(direction));
    EXPECT_THAT(Errors(tx), IsEmpty()) << "direction " << direction;
  }
}

// --- geo
// ------------------------------------------------------------------------

TEST(TransactionValidatorTest, GeoBoundsAreInclusive) {
  v1::Transaction tx = ValidTransaction();
  for (double lat : {-90.0, 0.0, 90.0}) {
    for (double lon : {-180.0, 0.0, 180.0}) {
      tx.mutable_geo()->set_lat(lat);
      tx.mutable_geo()->set_lon(lon);
      EXPECT_THAT(Errors(tx), IsEmpty()) << lat << "," << lon;
    }
  }
}

TEST(TransactionValidatorTest, LatitudeOutOfRangeIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_geo()->set_lat(90.5);
  EXPECT_THAT(Errors(tx),
              ElementsAre("geo.lat must be in [-90, 90], got 90.5"));
  tx.mutable_geo()->set_lat(-91);
  EXPECT_THAT(Errors(tx), ElementsAre("geo.lat must be in [-90, 90], got -91"));
}

TEST(TransactionValidatorTest, LongitudeOutOfRangeIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_geo()->set_lon(180.5);
  EXPECT_THAT(Errors(tx),
              ElementsAre("geo.lon must be in [-180, 180], got 180.5"));
  tx.mutable_geo()->set_lon(-200);
  EXPECT_THAT(Errors(tx),
              ElementsAre("geo.lon must be in [-180, 180], got -200"));
}

TEST(TransactionValidatorTest, NonFiniteCoordinatesAreRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_geo()->set_lat(std::numeric_limits<double>::quiet_NaN());
  tx.mutable_geo()->set_lon(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(Errors(tx),
              ElementsAre("geo.lat must be in [-90, 90], got nan",
                          "geo.lon must be in [-180, 180], got nan"));
  tx.mutable_geo()->set_lat(std::numeric_limits<double>::infinity());
  tx.mutable_geo()->set_lon(-std::numeric_limits<double>::infinity());
  EXPECT_THAT(Errors(tx),
              ElementsAre("geo.lat must be in [-90, 90], got inf",
                          "geo.lon must be in [-180, 180], got -inf"));
}

TEST(TransactionValidatorTest, AbsentGeoIsNotChecked) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_geo();
  EXPECT_THAT(Errors(tx), IsEmpty());
}

// --- customer ---------------------------------------------------------------

TEST(TransactionValidatorTest, BirthDateIsOptional) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_customer()->clear_birth_date();
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, BirthDateMustBeADate) {
  for (const char* date :
       {"1990/05/17", "17.05.1990", "19900517", "1990-13-01", "1990-00-10",
        "1990-05-00", "1990-04-31", "2000-02-30", "1900-02-29", "2023-02-29",
        "1990-5-17", " 1990-05-17", "1990-05-1a", "1990-05-17T00:00",
        "unknown"}) {
    SCOPED_TRACE(date);
    v1::Transaction tx = ValidTransaction();
    tx.mutable_customer()->set_birth_date(date);
    EXPECT_THAT(Errors(tx),
                ElementsAre(std::string("customer.birth_date must be a date "
                                        "YYYY-MM-DD, got '") +
                            date + "'"));
  }
}

TEST(TransactionValidatorTest, BirthDateIsQuotedLikeOtherValues) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_customer()->set_birth_date("一九九〇年\n");
  EXPECT_THAT(Errors(tx), ElementsAre("customer.birth_date must be a date "
                                      "YYYY-MM-DD, got '一九九〇年\\n'"));
}

TEST(TransactionValidatorTest, BirthDateBefore1850IsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_customer()->set_birth_date("1849-12-31");
  EXPECT_THAT(Errors(tx), ElementsAre("customer.birth_date must be a date "
                                      "YYYY-MM-DD, got '1849-12-31'"));
  tx.mutable_customer()->set_birth_date("0000-01-01");
  EXPECT_THAT(Errors(tx), ElementsAre("customer.birth_date must be a date "
                                      "YYYY-MM-DD, got '0000-01-01'"));
  tx.mutable_customer()->set_birth_date("1850-01-01");
  EXPECT_THAT(Errors(tx), IsEmpty());
  tx.mutable_customer()->set_birth_date("2000-02-29");
  EXPECT_THAT(Errors(tx), IsEmpty());
  tx.mutable_customer()->set_birth_date("1960-02-29");
  EXPECT_THAT(Errors(tx), IsEmpty());
  tx.mutable_customer()->set_birth_date("1990-12-31");
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, UnknownCustomerKindIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_customer()->set_kind(static_cast<v1::CustomerKind>(3));
  EXPECT_THAT(Errors(tx),
              ElementsAre("customer.kind has unknown CustomerKind value 3"));
  tx.mutable_customer()->set_kind(static_cast<v1::CustomerKind>(-7));
  EXPECT_THAT(Errors(tx),
              ElementsAre("customer.kind has unknown CustomerKind value -7"));
}

TEST(TransactionValidatorTest, CustomerKindIsOptional) {
  for (v1::CustomerKind kind :
       {v1::CUSTOMER_KIND_UNSPECIFIED, v1::CUSTOMER_KIND_INDIVIDUAL,
        v1::CUSTOMER_KIND_ENTITY}) {
    v1::Transaction tx = ValidTransaction();
    tx.mutable_customer()->set_kind(kind);
    EXPECT_THAT(Errors(tx), IsEmpty()) << kind;
  }
}

// --- Reversals --------------------------------------------------------------

TEST(TransactionValidatorTest, ReversalNeedsReversedTransactionId) {
  v1::Transaction tx = ValidReversal();
  tx.clear_reverses_transaction_id();
  EXPECT_THAT(Errors(tx), ElementsAre("reverses_transaction_id is required for "
                                      "TRANSACTION_TYPE_REVERSAL"));
}

TEST(TransactionValidatorTest, ReversalMustNotNameItself) {
  v1::Transaction tx = ValidReversal();
  tx.set_reverses_transaction_id(tx.transaction_id());
  EXPECT_THAT(Errors(tx),
              ElementsAre("reverses_transaction_id must name another "
                          "transaction, got its own id"));
}

TEST(TransactionValidatorTest, ReversedIdOnlyForReversals) {
  v1::Transaction tx = ValidTransaction();
  tx.set_reverses_transaction_id("T-0");
  EXPECT_THAT(Errors(tx), ElementsAre("reverses_transaction_id is only for "
                                      "TRANSACTION_TYPE_REVERSAL, got 'T-0'"));
}

TEST(TransactionValidatorTest, ReversedIdWithControlCharacterOnNonReversal) {
  v1::Transaction tx = ValidTransaction();
  tx.set_reverses_transaction_id("T-0\r\n");
  EXPECT_THAT(Errors(tx),
              ElementsAre("reverses_transaction_id must not contain control "
                          "characters, got 'T-0\\r\\n'",
                          "reverses_transaction_id is only for "
                          "TRANSACTION_TYPE_REVERSAL, got 'T-0\\r\\n'"));
}

TEST(TransactionValidatorTest, LongReversedIdOnNonReversalIsCut) {
  v1::Transaction tx = ValidTransaction();
  tx.set_reverses_transaction_id(std::string(100, 'r'));
  EXPECT_THAT(Errors(tx), ElementsAre("reverses_transaction_id is only for "
                                      "TRANSACTION_TYPE_REVERSAL, got '" +
                                      std::string(64, 'r') + "...'"));
}

// --- account_opened_at
// --------------------------------------------------------

TEST(TransactionValidatorTest, AccountOpenedAfterOccurredAtIsRejected) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_account_opened_at()->set_seconds(kOccurredSeconds + 1);
  EXPECT_THAT(Errors(tx), ElementsAre("account_opened_at is after occurred_at "
                                      "(2026-11-20T01:30:01+00:00 > "
                                      "2026-11-20T01:30:00+00:00)"));
}

TEST(TransactionValidatorTest, AccountOpenedAtMustBeAValidTime) {
  // Seconds far out of range would overflow the account age.
  v1::Transaction tx = ValidTransaction();
  tx.mutable_account_opened_at()->set_seconds(-288230374356657844);
  EXPECT_THAT(Errors(tx), ElementsAre("account_opened_at is not a valid time, "
                                      "got -288230374356657844s 0ns"));
  tx.mutable_account_opened_at()->set_seconds(kOccurredSeconds - 86400);
  tx.mutable_account_opened_at()->set_nanos(-1);
  EXPECT_THAT(Errors(tx), ElementsAre(HasSubstr("account_opened_at is not a "
                                                "valid time")));
}

TEST(TransactionValidatorTest, AccountOpenedInTheSameSecondIsAccepted) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_occurred_at()->set_nanos(0);
  tx.mutable_account_opened_at()->set_seconds(kOccurredSeconds);
  tx.mutable_account_opened_at()->set_nanos(999999999);
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, AccountOpenedAtIsOptional) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_account_opened_at();
  EXPECT_THAT(Errors(tx), IsEmpty());
}

TEST(TransactionValidatorTest, AccountOpenedAtWithoutOccurredAtIsNotCompared) {
  v1::Transaction tx = ValidTransaction();
  tx.clear_occurred_at();
  EXPECT_THAT(Errors(tx), ElementsAre("occurred_at is required"));
}

TEST(TransactionValidatorTest, BirthDateMustBeExactlyYyyyMmDd) {
  for (const char* loose :
       {"1990-5-17", "+1990-05-17", " 1990-05-17", "1990-05-17 ", "19900517"}) {
    v1::Transaction tx = ValidTransaction();
    tx.mutable_customer()->set_birth_date(loose);
    EXPECT_THAT(Errors(tx),
                ElementsAre(absl::StrCat(
                    "customer.birth_date must be a date YYYY-MM-DD, got '",
                    loose, "'")))
        << loose;
  }
}

TEST(TransactionValidatorTest, LongValuesAreCutOnACharacterBoundary) {
  v1::Transaction tx = ValidTransaction();
  // 63 ASCII bytes and then a 3-byte character across the 64-byte cut.
  tx.set_region_code(std::string(63, '1') + "中");
  std::vector<std::string> errors = Errors(tx);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], absl::StrCat("region_code must be a 6-digit GB/T 2260 "
                                    "code, got '",
                                    std::string(63, '1'), "...'"));
}

TEST(TransactionValidatorTest, GeoValuesAreShownPrecisely) {
  v1::Transaction tx = ValidTransaction();
  tx.mutable_geo()->set_lat(-90.0000001);
  tx.mutable_geo()->set_lon(180.00001);
  EXPECT_THAT(Errors(tx),
              ElementsAre("geo.lat must be in [-90, 90], got -90.0000001",
                          "geo.lon must be in [-180, 180], got 180.00001"));
}

TEST(TransactionValidatorTest, AccountingDateAndIp) {
  v1::Transaction tx = ValidTransaction();
  tx.set_accounting_date("2026-11-21");
  tx.set_ip("203.0.113.7");
  EXPECT_THAT(Errors(tx), testing::IsEmpty());
  tx.set_ip("2001:db8::1");
  EXPECT_THAT(Errors(tx), testing::IsEmpty());
  tx.set_accounting_date("2026-11-31");
  tx.set_ip("203.0.113.999");
  EXPECT_THAT(Errors(tx),
              ElementsAre("accounting_date must be a date YYYY-MM-DD, got "
                          "'2026-11-31'",
                          "ip must be an IPv4 or IPv6 address, got "
                          "'203.0.113.999'"));
}

}  // namespace
}  // namespace txscreen::engine
