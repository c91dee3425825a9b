// Tests of the engine's edge codecs (transaction_codec.h): transactions in
// JSON and binary protobuf, decisions out as JSON.
#include "engine/transaction_codec.h"

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
  EXPECT_EQ(s.message(),
            "not a Transaction in JSON: Expected , or } after key:value pair.");
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
  tx.set_transaction_id("T1");  // 1
  tx.set_amount_minor(500);     // 7, a varint
  tx.mutable_geo()->set_lat(1);  // 19, with a fixed64 inside
  tx.mutable_counterparty()->set_account_id("A");  // 20, with 1 inside
  tx.set_purpose_code("P");     // 25
  EXPECT_EQ(TopLevelLengthDelimitedFields(tx.SerializeAsString()),
            (uint64_t{1} << 1) | (uint64_t{1} << 19) | (uint64_t{1} << 20) |
                (uint64_t{1} << 25));
  EXPECT_EQ(TopLevelLengthDelimitedFields(""), 0u);
}

TEST(TopLevelLengthDelimitedFieldsTest, FieldsInsideAGroupAreNotTopLevel) {
  // Field 30 as a group (wire type 3) holding field 19, length-delimited;
  // then field 21, and a fixed32 field 31.
  const std::string bytes(
      "\xf3\x01"   // field 30, start group
      "\x9a\x01\x00"  // field 19, length 0
      "\xf4\x01"   // field 30, end group
      "\xaa\x01\x00"  // field 21, length 0
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
    ASSERT_EQ(got.has_account_opened_at(), fresh.has_account_opened_at())
        << i;
    ASSERT_EQ(got.has_session(), fresh.has_session()) << i;
    ASSERT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(got, fresh))
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
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoder,
                                                                   full));
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
