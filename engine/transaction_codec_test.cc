// Tests of the engine's edge codecs (transaction_codec.h): transactions in
// JSON and binary protobuf, decisions out as JSON.
#include "engine/transaction_codec.h"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/reused_message.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// 2026-11-20T09:30:00+08:00 = 01:30:00Z.
constexpr int64_t kNineThirtyBeijing = 1795138200;

TEST(DecodeTransactionJsonTest, CamelCaseNames) {
  v1::Transaction tx;
  absl::Status s = DecodeTransactionJson(R"json({
    "transactionId": "T-1",
    "occurredAt": "2026-11-20T09:30:00+08:00",
    "type": "TRANSACTION_TYPE_TRANSFER_OUT",
    "channel": "CHANNEL_MOBILE",
    "customerId": "C-1",
    "accountId": "A-1",
    "amountMinor": "4999999",
    "currency": "CNY",
    "direction": "DIRECTION_OUT",
    "crossBorder": true,
    "memo": "安全账户 转账",
    "regionCode": "310101",
    "accountRegionCode": "110101",
    "deviceId": "DEV-1",
    "geo": {"lat": 31.2304, "lon": 121.4737},
    "counterparty": {"accountId": "P-1", "name": "张三", "onUs": true},
    "customer": {"kind": "CUSTOMER_KIND_ENTITY", "birthDate": "1950-01-01"},
    "accountOpenedAt": "2026-11-01T00:00:00Z",
    "session": {"onCall": true, "remoteControlApp": false},
    "purposeCode": "SALA"
  })json",
                                         &tx);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(tx.transaction_id(), "T-1");
  EXPECT_EQ(tx.occurred_at().seconds(), kNineThirtyBeijing);
  EXPECT_EQ(tx.occurred_at().nanos(), 0);
  EXPECT_EQ(tx.type(), v1::TRANSACTION_TYPE_TRANSFER_OUT);
  EXPECT_EQ(tx.channel(), v1::CHANNEL_MOBILE);
  EXPECT_EQ(tx.customer_id(), "C-1");
  EXPECT_EQ(tx.account_id(), "A-1");
  EXPECT_EQ(tx.amount_minor(), 4999999);
  EXPECT_EQ(tx.currency(), "CNY");
  EXPECT_EQ(tx.direction(), v1::DIRECTION_OUT);
  EXPECT_TRUE(tx.cross_border());
  EXPECT_EQ(tx.memo(), "安全账户 转账");
  EXPECT_EQ(tx.region_code(), "310101");
  EXPECT_EQ(tx.account_region_code(), "110101");
  EXPECT_EQ(tx.device_id(), "DEV-1");
  EXPECT_DOUBLE_EQ(tx.geo().lat(), 31.2304);
  EXPECT_DOUBLE_EQ(tx.geo().lon(), 121.4737);
  EXPECT_EQ(tx.counterparty().account_id(), "P-1");
  EXPECT_EQ(tx.counterparty().name(), "张三");
  EXPECT_TRUE(tx.counterparty().on_us());
  EXPECT_EQ(tx.customer().kind(), v1::CUSTOMER_KIND_ENTITY);
  EXPECT_EQ(tx.customer().birth_date(), "1950-01-01");
  EXPECT_EQ(tx.account_opened_at().seconds(), 1793491200);
  EXPECT_TRUE(tx.session().on_call());
  EXPECT_EQ(tx.purpose_code(), "SALA");
}

TEST(DecodeTransactionJsonTest, SnakeCaseNamesMeanTheSame) {
  v1::Transaction camel, snake;
  ASSERT_TRUE(DecodeTransactionJson(
                  R"({"transactionId": "T-1", "amountMinor": 5,
                      "occurredAt": "2026-11-20T01:30:00Z",
                      "reversesTransactionId": "T-0",
                      "counterparty": {"accountId": "P", "regionCode": "440301",
                                       "bankCode": "ICBKCNBJ"},
                      "session": {"remoteControlApp": true}})",
                  &camel)
                  .ok());
  ASSERT_TRUE(DecodeTransactionJson(
                  R"({"transaction_id": "T-1", "amount_minor": 5,
                      "occurred_at": "2026-11-20T09:30:00+08:00",
                      "reverses_transaction_id": "T-0",
                      "counterparty": {"account_id": "P", "region_code": "440301",
                                       "bank_code": "ICBKCNBJ"},
                      "session": {"remote_control_app": true}})",
                  &snake)
                  .ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(camel, snake))
      << camel.DebugString() << "\nvs\n"
      << snake.DebugString();
  EXPECT_EQ(snake.occurred_at().seconds(), kNineThirtyBeijing);
  EXPECT_EQ(snake.reverses_transaction_id(), "T-0");
}

TEST(DecodeTransactionJsonTest, TimestampOffsetsAndFractions) {
  struct Case {
    const char* text;
    int64_t seconds;
    int32_t nanos;
  } cases[] = {
      {"2026-11-20T09:30:00+08:00", kNineThirtyBeijing, 0},
      {"2026-11-20T01:30:00Z", kNineThirtyBeijing, 0},
      {"2026-11-19T20:30:00-05:00", kNineThirtyBeijing, 0},
      {"2026-11-20T09:30:00.250+08:00", kNineThirtyBeijing, 250000000},
      {"2026-11-20T09:30:00.000001+08:00", kNineThirtyBeijing, 1000},
      // Beijing midnight is 16:00 UTC the day before.
      {"2026-11-21T00:00:00+08:00", 1795190400, 0},
  };
  for (const Case& c : cases) {
    v1::Transaction tx;
    absl::Status s = DecodeTransactionJson(
        std::string(R"({"occurredAt": ")") + c.text + "\"}", &tx);
    ASSERT_TRUE(s.ok()) << c.text << ": " << s;
    EXPECT_EQ(tx.occurred_at().seconds(), c.seconds) << c.text;
    EXPECT_EQ(tx.occurred_at().nanos(), c.nanos) << c.text;
  }
}

TEST(DecodeTransactionJsonTest, EnumsByNameOrNumber) {
  v1::Transaction tx;
  ASSERT_TRUE(
      DecodeTransactionJson(
          R"({"type": 7, "channel": "CHANNEL_COUNTER", "direction": 1})", &tx)
          .ok());
  EXPECT_EQ(tx.type(), v1::TRANSACTION_TYPE_REVERSAL);
  EXPECT_EQ(tx.channel(), v1::CHANNEL_COUNTER);
  EXPECT_EQ(tx.direction(), v1::DIRECTION_IN);
}

TEST(DecodeTransactionJsonTest, UnknownEnumNameIsAnError) {
  v1::Transaction tx;
  absl::Status s =
      DecodeTransactionJson(R"({"channel": "CHANNEL_TELEPATHY"})", &tx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("not a Transaction in JSON: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("CHANNEL_TELEPATHY"));
}

TEST(DecodeTransactionJsonTest, UnknownFieldIsAnErrorNamingIt) {
  v1::Transaction tx;
  // A misspelt field must not vanish silently.
  absl::Status s =
      DecodeTransactionJson(R"({"transactionId": "T-1", "amount": 5})", &tx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("not a Transaction in JSON: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("amount"));
  // Also inside nested messages.
  s = DecodeTransactionJson(R"({"counterparty": {"acount_id": "P"}})", &tx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("acount_id"));
}

TEST(DecodeTransactionJsonTest, InvalidJsonIsAnError) {
  v1::Transaction tx;
  for (const char* bad :
       {"", "{", "not json", R"({"transactionId": })", R"(["T-1"])",
        R"({"amountMinor": "ten"})", R"({"occurredAt": "2026-11-20 09:30:00"})",
        R"({"occurredAt": "yesterday"})", R"({"geo": {"lat": "north"}})"}) {
    absl::Status s = DecodeTransactionJson(bad, &tx);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()),
                StartsWith("not a Transaction in JSON: "))
        << bad;
  }
}

TEST(DecodeTransactionJsonTest, TrailingCommaIsTolerated) {
  // protobuf's JSON parser is lenient here; documented so a change shows.
  v1::Transaction tx;
  EXPECT_TRUE(DecodeTransactionJson(R"({"transactionId": "T-1",})", &tx).ok());
  EXPECT_EQ(tx.transaction_id(), "T-1");
}

// protobuf's parser keeps the last of two values of one key, which would
// decide {"transaction_id":"A","transaction_id":"B"} as B: refused, in
// either name style and in nested objects.
TEST(DecodeTransactionJsonTest, AKeyGivenTwiceIsAnError) {
  v1::Transaction tx;
  absl::Status s = DecodeTransactionJson(
      R"({"transaction_id": "A", "memo": "x", "transaction_id": "B"})", &tx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "not a Transaction in JSON: key \"transaction_id\" is given twice "
            "(which one is meant?) at column 38");
  s = DecodeTransactionJson(R"({"transactionId": "A", "transaction_id": "B"})",
                            &tx);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("key \"transaction_id\" is given twice"));
  s = DecodeTransactionJson(
      R"({"counterparty": {"accountId": "P1", "account_id": "P2"}})", &tx);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("key \"account_id\" is given twice"));
  EXPECT_FALSE(DecodeTransactionJsonLenient(
                   R"({"transaction_id": "A", "transaction_id": "B"})", &tx)
                   .ok());
  // The same key in different objects, and quotes, braces and commas
  // inside strings, are not repeats.
  EXPECT_TRUE(DecodeTransactionJson(
                  R"({"transaction_id": "T-1", "memo": "a \"memo\", {x}",
                      "counterparty": {"account_id": "P", "name": "\\"},
                      "session": {"on_call": true}, "account_id": "A"})",
                  &tx)
                  .ok());
  EXPECT_EQ(tx.counterparty().name(), "\\");
}

TEST(DecodeTransactionJsonTest, ClearsTheOutputFirst) {
  v1::Transaction tx;
  tx.set_memo("left over");
  tx.set_amount_minor(99);
  ASSERT_TRUE(DecodeTransactionJson(R"({"transactionId": "T-2"})", &tx).ok());
  EXPECT_EQ(tx.transaction_id(), "T-2");
  EXPECT_EQ(tx.memo(), "");
  EXPECT_EQ(tx.amount_minor(), 0);
}

TEST(DecodeTransactionProtoTest, BinaryRoundTrip) {
  v1::Transaction in;
  in.set_transaction_id("T-1");
  in.mutable_occurred_at()->set_seconds(kNineThirtyBeijing);
  in.mutable_occurred_at()->set_nanos(5000);
  in.set_type(v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  in.set_amount_minor(5000000);
  in.set_currency("CNY");
  in.set_memo("现金存款");
  in.mutable_geo()->set_lat(-33.5);
  in.mutable_customer()->set_kind(v1::CUSTOMER_KIND_INDIVIDUAL);
  const std::string bytes = in.SerializeAsString();
  v1::Transaction out;
  out.set_device_id("left over");
  absl::Status s = DecodeTransactionProto(bytes, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(in, out))
      << out.DebugString();
}

TEST(DecodeTransactionProtoTest, EmptyBytesAreAnEmptyTransaction) {
  // Decodable; the validator then names every missing field.
  v1::Transaction out;
  out.set_transaction_id("left over");
  ASSERT_TRUE(DecodeTransactionProto("", &out).ok());
  EXPECT_EQ(out.transaction_id(), "");
}

TEST(DecodeTransactionProtoTest, GarbageBytesAreAnError) {
  v1::Transaction out;
  const std::string garbage("\xff\xff\xff\xff\xff", 5);
  absl::Status s = DecodeTransactionProto(garbage, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "not a Transaction in protobuf binary (5 bytes)");

  // A valid message cut in the middle of a field.
  v1::Transaction in;
  in.set_transaction_id("T-1234567890");
  std::string cut = in.SerializeAsString();
  cut.resize(cut.size() - 3);
  s = DecodeTransactionProto(cut, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "not a Transaction in protobuf binary (11 bytes)");

  // JSON is not binary protobuf.
  s = DecodeTransactionProto(R"({"transactionId": "T-1"})", &out);
  EXPECT_FALSE(s.ok());
}

v1::Decision SampleDecision() {
  v1::Decision d;
  d.set_transaction_id("T-1");
  d.set_customer_id("C-1");
  d.set_channel(v1::CHANNEL_COUNTER);
  d.set_verdict(v1::VERDICT_INTERCEPT);
  d.set_ruleset_version("cn-2026.11.1");
  d.mutable_decided_at()->set_seconds(kNineThirtyBeijing);
  d.mutable_deadline()->set_seconds(kNineThirtyBeijing + 10);
  d.set_late(true);
  d.mutable_engine_latency()->set_nanos(1500000);
  v1::RuleHit* hit = d.add_hits();
  hit->set_rule_id("SAFE-ACCT");
  hit->set_rule_version(2);
  hit->set_severity(v1::SEVERITY_CRITICAL);
  hit->set_action(v1::ACTION_INTERCEPT);
  hit->set_reason("转账 50,000.00 CNY to a first-time payee");
  hit->add_reports("SUSPICIOUS");
  d.add_reports("LARGE_VALUE_CASH");
  d.mutable_prompt()->add_ask()->set_zh("请问转账用途？");
  (*d.mutable_scores())["fraud"] = 70;
  d.add_notes("a note");
  return d;
}

TEST(EncodeDecisionJsonTest, ProtoFieldNamesAndEnumNames) {
  std::string json = "left over";
  absl::Status s = EncodeDecisionJson(SampleDecision(), &json);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(json, StartsWith("{"));
  EXPECT_THAT(json, Not(HasSubstr("left over")));
  EXPECT_THAT(json, HasSubstr(R"("transaction_id":"T-1")"));
  EXPECT_THAT(json, HasSubstr(R"("customer_id":"C-1")"));
  EXPECT_THAT(json, HasSubstr(R"("verdict":"VERDICT_INTERCEPT")"));
  EXPECT_THAT(json, HasSubstr(R"("channel":"CHANNEL_COUNTER")"));
  EXPECT_THAT(json, HasSubstr(R"("ruleset_version":"cn-2026.11.1")"));
  EXPECT_THAT(json, HasSubstr(R"("decided_at":"2026-11-20T01:30:00Z")"));
  EXPECT_THAT(json, HasSubstr(R"("deadline":"2026-11-20T01:30:10Z")"));
  EXPECT_THAT(json, HasSubstr(R"("late":true)"));
  EXPECT_THAT(json, HasSubstr(R"("engine_latency":"0.001500s")"));
  EXPECT_THAT(json, HasSubstr(R"("rule_id":"SAFE-ACCT")"));
  EXPECT_THAT(json, HasSubstr(R"("rule_version":2)"));
  EXPECT_THAT(json, HasSubstr(R"("severity":"SEVERITY_CRITICAL")"));
  EXPECT_THAT(json, HasSubstr(R"("action":"ACTION_INTERCEPT")"));
  EXPECT_THAT(json, HasSubstr(R"("reports":["LARGE_VALUE_CASH"])"));
  EXPECT_THAT(json, HasSubstr(R"("scores":{"fraud":"70"})"));
  EXPECT_THAT(json, HasSubstr(R"("notes":["a note"])"));
  // Chinese text stays readable UTF-8.
  EXPECT_THAT(json, HasSubstr("转账 50,000.00 CNY"));
  EXPECT_THAT(json, HasSubstr(R"("ask":[{"zh":"请问转账用途？"}])"));
  // No camelCase, and one line.
  EXPECT_THAT(json, Not(HasSubstr("transactionId")));
  EXPECT_THAT(json, Not(HasSubstr("rulesetVersion")));
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(EncodeDecisionJsonTest, DefaultsAreLeftOut) {
  v1::Decision d;
  d.set_transaction_id("T-1");
  d.set_verdict(v1::VERDICT_ALLOW);
  std::string json;
  ASSERT_TRUE(EncodeDecisionJson(d, &json).ok());
  EXPECT_EQ(json, R"({"transaction_id":"T-1","verdict":"VERDICT_ALLOW"})");
}

TEST(EncodeDecisionJsonTest, RejectedInputListsItsErrors) {
  v1::Decision d;
  d.set_transaction_id("T-1");
  d.set_verdict(v1::VERDICT_REJECTED_INPUT);
  d.add_input_errors("amount_minor must be > 0, got -5");
  d.add_input_errors("currency is required");
  d.set_duplicate(true);
  std::string json;
  ASSERT_TRUE(EncodeDecisionJson(d, &json).ok());
  EXPECT_THAT(json, HasSubstr(R"("verdict":"VERDICT_REJECTED_INPUT")"));
  // protobuf's JSON writer escapes '>' (HTML safety); still valid JSON.
  EXPECT_THAT(
      json,
      HasSubstr(
          R"("input_errors":["amount_minor must be \u003e 0, got -5","currency is required"])"));
  EXPECT_THAT(json, HasSubstr(R"("duplicate":true)"));
}

TEST(EncodeDecisionJsonTest, InvalidTimestampIsAnError) {
  v1::Decision d;
  d.mutable_decided_at()->set_seconds(-99999999999999);
  std::string json;
  absl::Status s = EncodeDecisionJson(d, &json);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("cannot encode txscreen.v1.Decision: "));
}

TEST(TransactionCodecTest, JsonErrorIsOneLineWithoutTheInput) {
  v1::Transaction tx;
  absl::Status s = DecodeTransactionJson(
      R"({"transaction_id":"X","account_id":"6222-0210-0000-1001" "memo":"x"})",
      &tx);
  ASSERT_FALSE(s.ok());
  // Where, without the input around it (it may hold account numbers).
  EXPECT_EQ(std::string(s.message()),
            "not a Transaction in JSON: Expected , or } after key:value pair "
            "at column 58");
}

TEST(TransactionCodecTest, JsonSyntaxErrorSaysWhereOnWhichLine) {
  v1::Transaction tx;
  absl::Status s = DecodeTransactionJson(
      "{\n  \"transaction_id\": \"X\",\n  \"memo\": \"安全账户\",,\n}", &tx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()),
            "not a Transaction in JSON: Expected an object key or } at line 3, "
            "column 18");
  // The input around the error (protobuf quotes 20 bytes each side) twice
  // in the input: no guess.
  const std::string spaces(30, ' ');
  s = DecodeTransactionJson(
      absl::StrCat("{\"memo\":\"x\",", spaces, ",", spaces, ",", spaces, "}"),
      &tx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()).find(" at "), std::string::npos)
      << s.message();
}

TEST(TransactionCodecTest, JsonErrorMasksAnAccountNumberItQuotes) {
  v1::Transaction tx;
  absl::Status s = DecodeTransactionJson(
      R"({"transaction_id":"X","account_id":6222000000000001234})", &tx);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("6222****1234"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("6222000000000001234")));
}

}  // namespace
}  // namespace txscreen::engine

namespace txscreen::engine {
namespace {

TEST(ReusedMessageTest, EachMessageStartsEmptyAcrossArenaRenewals) {
  ReusedMessage<txscreen::v1::Transaction> reused;
  txscreen::v1::Transaction with_parts;
  with_parts.set_transaction_id("T1");
  with_parts.mutable_geo()->set_lat(31.2);
  with_parts.mutable_counterparty()->set_name(std::string(100, 'n'));
  with_parts.mutable_customer()->set_birth_date("1950-01-01");
  const std::string full = with_parts.SerializeAsString();
  txscreen::v1::Transaction bare;
  bare.set_transaction_id("T2");
  const std::string empty = bare.SerializeAsString();
  // Enough messages for the arena to pass its bound and start afresh
  // several times.
  for (int i = 0; i < 20000; ++i) {
    // Both ways in: cleared by Next(), or by the decoder itself.
    txscreen::v1::Transaction* tx =
        i % 4 < 2 ? reused.Next() : reused.ForDecoding();
    const bool odd = i % 2 == 1;
    ASSERT_TRUE(DecodeTransactionProto(odd ? empty : full, tx).ok());
    if (odd) {
      ASSERT_EQ(tx->transaction_id(), "T2");
      ASSERT_FALSE(tx->has_geo());
      ASSERT_FALSE(tx->has_counterparty());
      ASSERT_FALSE(tx->has_customer());
    } else {
      ASSERT_EQ(tx->SerializeAsString(), full);
    }
  }
}

}  // namespace
}  // namespace txscreen::engine

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;

TEST(TopLevelLengthDelimitedFieldsTest, OnlyTopLevelLengthDelimitedFields) {
  v1::Transaction tx;
  tx.set_transaction_id("T1");                     // 1
  tx.set_amount_minor(500);                        // 7, a varint
  tx.mutable_geo()->set_lat(1);                    // 19, with a fixed64 inside
  tx.mutable_counterparty()->set_account_id("A");  // 20, with 1 inside
  tx.set_purpose_code("P");                        // 25
  EXPECT_EQ(TopLevelLengthDelimitedFields(tx.SerializeAsString()),
            (uint64_t{1} << 1) | (uint64_t{1} << 19) | (uint64_t{1} << 20) |
                (uint64_t{1} << 25));
  EXPECT_EQ(TopLevelLengthDelimitedFields(""), 0u);
}

TEST(TopLevelLengthDelimitedFieldsTest, FieldsInsideAGroupAreNotTopLevel) {
  // Field 30 as a group (wire type 3) holding field 19, length-delimited;
  // then field 21, and a fixed32 field 31.
  const std::string bytes(
      "\xf3\x01"                   // field 30, start group
      "\x9a\x01\x00"               // field 19, length 0
      "\xf4\x01"                   // field 30, end group
      "\xaa\x01\x00"               // field 21, length 0
      "\xfd\x01\x01\x02\x03\x04",  // field 31, fixed32
      16);
  EXPECT_EQ(TopLevelLengthDelimitedFields(bytes), uint64_t{1} << 21);
}

TEST(TopLevelLengthDelimitedFieldsTest, StopsAtBytesThatEndEarly) {
  v1::Transaction tx;
  tx.set_transaction_id("T1");
  tx.set_memo(std::string(300, 'm'));  // 12, a two-byte length
  const std::string bytes = tx.SerializeAsString();
  EXPECT_EQ(TopLevelLengthDelimitedFields(bytes),
            (uint64_t{1} << 1) | (uint64_t{1} << 12));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    // Some subset of the fields, and no read past the end (ASan).
    const std::string head = bytes.substr(0, cut);
    EXPECT_EQ(TopLevelLengthDelimitedFields(head) &
                  ~((uint64_t{1} << 1) | (uint64_t{1} << 12)),
              0u);
  }
  EXPECT_EQ(TopLevelLengthDelimitedFields(std::string(11, '\xff')), 0u);
}

// Every combination of sub-messages present, absent, and present but empty
// (which proto3 keeps apart for messages), one after another through one
// decoder, JSON between them, and past several renewals of its arena: each
// must decode exactly as a fresh message does.
TEST(TransactionDecoderTest, DecodesAsAFreshMessageDoes) {
  std::vector<std::string> variants;
  for (int mask = 0; mask < 729; mask += 7) {  // 3^6 combinations, sampled
    v1::Transaction tx;
    tx.set_transaction_id(absl::StrCat("T", mask));
    tx.set_memo(mask % 2 == 0 ? std::string(40, 'm') : "");
    int m = mask;
    auto next = [&m] {
      const int state = m % 3;  // 0 absent, 1 empty, 2 with values
      m /= 3;
      return state;
    };
    if (int s = next(); s > 0) {
      tx.mutable_occurred_at()->set_seconds(s == 2 ? 1795138200 : 0);
    }
    if (int s = next(); s > 0) tx.mutable_geo()->set_lat(s == 2 ? 31.2 : 0);
    if (int s = next(); s > 0) {
      tx.mutable_counterparty()->set_name(s == 2 ? std::string(50, 'n') : "");
      if (s == 2) tx.mutable_counterparty()->set_account_id("6222");
    }
    if (int s = next(); s > 0) {
      tx.mutable_customer()->set_birth_date(s == 2 ? "1950-01-01" : "");
    }
    if (int s = next(); s > 0) {
      tx.mutable_account_opened_at()->set_nanos(s == 2 ? 5 : 0);
    }
    if (int s = next(); s > 0) tx.mutable_session()->set_on_call(s == 2);
    variants.push_back(tx.SerializeAsString());
  }
  TransactionDecoder decoder;
  for (int i = 0; i < 30000; ++i) {
    const std::string& bytes = variants[(i * 37) % variants.size()];
    if (i % 97 == 0) {
      ASSERT_TRUE(DecodeTransactionJson(R"({"transaction_id":"J","geo":{}})",
                                        decoder.ForDecoding())
                      .ok());
      ASSERT_TRUE(decoder->has_geo());
      ASSERT_FALSE(decoder->has_counterparty());
    }
    if (i % 101 == 0) {
      EXPECT_FALSE(decoder.DecodeProto("\xff\xff").ok());
    }
    ASSERT_TRUE(decoder.DecodeProto(bytes).ok()) << i;
    v1::Transaction fresh;
    ASSERT_TRUE(fresh.ParseFromString(bytes));
    const v1::Transaction& got = *decoder;
    ASSERT_EQ(got.has_occurred_at(), fresh.has_occurred_at()) << i;
    ASSERT_EQ(got.has_geo(), fresh.has_geo()) << i;
    ASSERT_EQ(got.has_counterparty(), fresh.has_counterparty()) << i;
    ASSERT_EQ(got.has_customer(), fresh.has_customer()) << i;
    ASSERT_EQ(got.has_account_opened_at(), fresh.has_account_opened_at()) << i;
    ASSERT_EQ(got.has_session(), fresh.has_session()) << i;
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, fresh))
        << i << ": " << got.ShortDebugString() << " vs "
        << fresh.ShortDebugString();
  }
}

// JSON decodes take new parts from the arena, and parts that come and go
// are left to it, until it starts afresh; parts kept across a decode must
// not outlive it.
TEST(TransactionDecoderTest, KeptPartsGoWithTheArena) {
  v1::Transaction full;
  full.set_transaction_id("P");
  full.mutable_occurred_at()->set_seconds(1795138200);
  full.mutable_geo()->set_lat(31.2);
  full.mutable_counterparty()->set_name(std::string(64, 'n'));
  full.mutable_customer()->set_birth_date("1950-01-01");
  full.mutable_account_opened_at()->set_seconds(1);
  full.mutable_session()->set_on_call(true);
  const std::string bytes = full.SerializeAsString();
  const std::string json =
      R"({"transaction_id":"J","occurred_at":"2026-11-20T09:30:00Z",)"
      R"("geo":{"lat":1},"counterparty":{"name":"n"},)"
      R"("customer":{"birth_date":"1950-01-01"},)"
      R"("account_opened_at":"2026-01-01T00:00:00Z",)"
      R"("session":{"on_call":true}})";
  TransactionDecoder decoder;
  for (int i = 0; i < 20000 && decoder.renewals() < 2; ++i) {
    ASSERT_TRUE(DecodeTransactionJson(json, decoder.ForDecoding()).ok());
    ASSERT_TRUE(decoder.DecodeProto(bytes).ok());
    ASSERT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(*decoder, full));
    // Absent parts after present ones, and back.
    ASSERT_TRUE(decoder.DecodeProto("\x0a\x01X").ok());
    ASSERT_FALSE(decoder->has_counterparty());
  }
  EXPECT_GE(decoder.renewals(), 2u);
}

TEST(TransactionDecoderTest, ErrorNamesTheSize) {
  TransactionDecoder decoder;
  absl::Status s = decoder.DecodeProto("\x0a\x05T");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "not a Transaction in protobuf binary (3 bytes)");
}

}  // namespace
}  // namespace txscreen::engine

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;

// protobuf 3.21's ReadTag reads at most five bytes and keeps 32 bits: a tag
// whose fifth byte sets bits past 32 is the tag of its low 32 bits. Here geo
// (field 19, length-delimited, tag 154), present and empty, written as
// 154 + 2^32: ParseFromArray gives has_geo().
TEST(TransactionDecoderTest, TagWithBitsPast32IsThe32BitTag) {
  const std::string bytes("\x9a\x81\x80\x80\x10\x00", 6);
  v1::Transaction fresh;
  ASSERT_TRUE(fresh.ParseFromString(bytes));
  ASSERT_TRUE(fresh.has_geo());
  EXPECT_EQ(TopLevelLengthDelimitedFields(bytes), uint64_t{1} << 19);

  v1::Transaction with_geo;
  with_geo.mutable_geo()->set_lat(31.2);
  TransactionDecoder decoder;
  ASSERT_TRUE(decoder.DecodeProto(with_geo.SerializeAsString()).ok());
  ASSERT_TRUE(decoder.DecodeProto(bytes).ok());
  EXPECT_EQ(decoder->has_geo(), fresh.has_geo());
}

// --- A randomized differential test against ParseFromString: top-level
// wire data of every kind the parser accepts or refuses (parts empty, full,
// with only unknown or default fields, with other wire types; groups;
// tags and lengths padded to five bytes; tags with bits past 32; mutated
// bytes), through one decoder between full transactions, JSON and failed
// decodes.

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// `v` in exactly five bytes (v < 2^35).
void PutFiveBytes(std::string* out, uint64_t v) {
  for (int i = 0; i < 4; ++i) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

class WireWriter {
 public:
  explicit WireWriter(uint32_t seed) : rng_(seed) {}

  std::string Message() {
    std::string out;
    const int items = Below(9);
    for (int i = 0; i < items; ++i) Item(&out, 0);
    if (Below(8) == 0) Mutate(&out);
    return out;
  }

  int Below(int n) { return static_cast<int>(rng_() % n); }

 private:
  static constexpr int kParts[] = {2, 19, 20, 21, 22, 24};
  static constexpr int kStrings[] = {1,  5,  6,  8,  12, 13, 14, 15,
                                     16, 17, 18, 23, 25, 26, 27};
  static constexpr int kVarints[] = {3, 4, 7, 9, 10, 11};
  static constexpr uint32_t kUnknown[] = {28, 40, 63, 64, 100, 536870911};

  template <typename T, size_t N>
  T Pick(const T (&a)[N]) {
    return a[Below(N)];
  }

  void Tag(std::string* out, uint32_t field, int wire_type) {
    const uint64_t tag = (uint64_t{field} << 3) | wire_type;
    switch (Below(8)) {
      case 0:  // the same value, padded to five bytes
        PutFiveBytes(out, tag);
        break;
      case 1:  // five bytes, bits past 32 set
        PutFiveBytes(
            out, tag | (uint64_t{1 + static_cast<uint64_t>(Below(7))} << 32));
        break;
      default:
        PutVarint(out, tag);
    }
  }

  void Length(std::string* out, size_t n) {
    if (Below(6) == 0) {
      PutFiveBytes(out, n);
    } else {
      PutVarint(out, n);
    }
  }

  std::string PartPayload(int field) {
    switch (Below(4)) {
      case 0:
      case 1:
        return "";
      case 2: {
        v1::Transaction tx;
        switch (field) {
          case 2:
            tx.mutable_occurred_at()->set_seconds(1 + Below(1000));
            return tx.occurred_at().SerializeAsString();
          case 19:
            tx.mutable_geo()->set_lat(Below(2) ? 1.5 : -0.0);
            return tx.geo().SerializeAsString();
          case 20:
            tx.mutable_counterparty()->set_name("n");
            return tx.counterparty().SerializeAsString();
          case 21:
            tx.mutable_customer()->set_vulnerable(true);
            return tx.customer().SerializeAsString();
          case 22:
            tx.mutable_account_opened_at()->set_nanos(7);
            return tx.account_opened_at().SerializeAsString();
          default:
            tx.mutable_session()->set_on_call(true);
            return tx.session().SerializeAsString();
        }
      }
      default:  // only an unknown field inside, or a default value written out
        return Below(2) ? std::string("\x50\x01", 2)
                        : std::string("\x08\x00", 2);
    }
  }

  void Item(std::string* out, int depth) {
    switch (Below(depth < 3 ? 10 : 9)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const int field = Pick(kParts);
        const std::string payload = PartPayload(field);
        Tag(out, field, 2);
        Length(out, payload.size());
        *out += payload;
        break;
      }
      case 4: {  // a part with another wire type
        const int field = Pick(kParts);
        switch (Below(3)) {
          case 0:
            Tag(out, field, 0);
            PutVarint(out, Below(300));
            break;
          case 1:
            Tag(out, field, 1);
            out->append(8, '\x01');
            break;
          default:
            Tag(out, field, 5);
            out->append(4, '\x01');
            break;
        }
        break;
      }
      case 5: {
        Tag(out, Pick(kStrings), 2);
        const std::string s(Below(5), 'a' + Below(26));
        Length(out, s.size());
        *out += s;
        break;
      }
      case 6:
        Tag(out, Pick(kVarints), 0);
        PutVarint(out, Below(2) ? Below(200) : ~uint64_t{0});
        break;
      case 7: {
        const uint32_t field = Pick(kUnknown);
        switch (Below(4)) {
          case 0:
            Tag(out, field, 0);
            PutVarint(out, rng_());
            break;
          case 1:
            Tag(out, field, 1);
            out->append(8, '\x02');
            break;
          case 2:
            Tag(out, field, 2);
            Length(out, 1);
            out->push_back('x');
            break;
          default:
            Tag(out, field, 5);
            out->append(4, '\x02');
            break;
        }
        break;
      }
      case 8:  // an empty string field
        Tag(out, Pick(kStrings), 2);
        Length(out, 0);
        break;
      default: {  // a group (depth < 3)
        const uint32_t field = Below(2) ? Pick(kParts) : Pick(kUnknown);
        Tag(out, field, 3);
        const int items = Below(4);
        for (int i = 0; i < items; ++i) Item(out, depth + 1);
        Tag(out, field, 4);
      }
    }
  }

  void Mutate(std::string* out) {
    if (out->empty()) return;
    const size_t at = Below(static_cast<int>(out->size()));
    switch (Below(4)) {
      case 0:
        (*out)[at] ^= static_cast<char>(1 << Below(8));
        break;
      case 1:
        out->resize(at);
        break;
      case 2:
        out->insert(at, 1, static_cast<char>(rng_()));
        break;
      default:
        out->erase(at, 1);
    }
  }

  std::mt19937 rng_;
};

std::string Hex(const std::string& s) {
  std::string h;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "%02x ", c);
    h += buf;
  }
  return h;
}

TEST(TransactionDecoderTest, DifferentialAgainstParseFromString) {
  v1::Transaction full;
  full.set_transaction_id("F");
  full.mutable_occurred_at()->set_seconds(1795138200);
  full.mutable_geo()->set_lat(31.2);
  full.mutable_counterparty()->set_name(std::string(40, 'n'));
  full.mutable_customer()->set_birth_date("1950-01-01");
  full.mutable_account_opened_at()->set_seconds(1);
  full.mutable_session()->set_on_call(true);
  const std::string full_bytes = full.SerializeAsString();

  // SEED=n in the environment for another sequence.
  WireWriter writer(std::getenv("SEED") ? std::atoi(std::getenv("SEED"))
                                        : 20261207);
  TransactionDecoder decoder;
  int decoded = 0, failed = 0, mismatches = 0;
  for (int i = 0; i < 300000; ++i) {
    switch (writer.Below(20)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        ASSERT_TRUE(decoder.DecodeProto(full_bytes).ok());
        break;
      case 6:
        ASSERT_TRUE(
            DecodeTransactionJson(
                R"({"transaction_id":"J","geo":{},"session":{"on_call":true}})",
                decoder.ForDecoding())
                .ok());
        break;
      case 7:
        EXPECT_FALSE(decoder.DecodeProto("\x0a\x05T").ok());
        break;
      default:
        break;
    }
    const std::string bytes = writer.Message();
    v1::Transaction fresh;
    const bool fresh_ok = fresh.ParseFromString(bytes);
    const bool ok = decoder.DecodeProto(bytes).ok();
    ASSERT_EQ(ok, fresh_ok) << Hex(bytes);
    if (!ok) {
      ++failed;
      continue;
    }
    ++decoded;
    const v1::Transaction& got = *decoder;
    const bool same =
        got.SerializeAsString() == fresh.SerializeAsString() &&
        got.has_occurred_at() == fresh.has_occurred_at() &&
        got.has_geo() == fresh.has_geo() &&
        got.has_counterparty() == fresh.has_counterparty() &&
        got.has_customer() == fresh.has_customer() &&
        got.has_account_opened_at() == fresh.has_account_opened_at() &&
        got.has_session() == fresh.has_session();
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << "bytes: " << Hex(bytes)
                    << "\n got: " << got.ShortDebugString()
                    << "\n fresh: " << fresh.ShortDebugString();
    }
  }
  // Both outcomes and the arena's renewals happen.
  EXPECT_GT(decoded, 100000);
  EXPECT_GT(failed, 1000);
  EXPECT_GT(decoder.renewals(), 0u);
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace txscreen::engine
