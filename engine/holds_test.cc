// Tests of the intercept and override loop (holds.h): ValidateOverride's
// refusals one by one, and a HoldBook over a memory store with a ManualClock
// and a Screener whose SHOW rule renders the customer's daily windows, so a
// test can see what a disposition did to them.
#include "engine/holds.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "engine/audit.h"
#include "engine/clock.h"
#include "engine/flaky_store_testing.h"
#include "engine/partition_state.h"
#include "engine/roster.h"
#include "engine/screener.h"
#include "engine/state_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rules/rule_pack_loader.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/override.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kDay = 24 * 60 * kMinute;

int64_t Micros(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err))
      << rfc3339 << ": " << err;
  return absl::ToUnixMicros(t);
}

// 02:00:00 UTC.
const int64_t kT0 = Micros("2026-11-20T10:00:00+08:00");

constexpr char kRoster[] =
    "staff_id,name,branch_id,role\n"
    "T1,Teller One,B1,teller\n"
    "T2,Teller Two,B1,teller\n"
    "T3,Teller Three,B2,teller\n"
    "S1,Supervisor One,B1,supervisor\n"
    "S2,Supervisor Two,B2,supervisor\n"
    "S3,Supervisor Three,B1,supervisor\n"
    "C1,Compliance One,B1,compliance\n"
    "O1,Operator One,B1,operator\n";

std::shared_ptr<const Roster> TestRoster() {
  absl::StatusOr<std::shared_ptr<const Roster>> roster =
      Roster::Parse(kRoster, "roster.csv");
  EXPECT_TRUE(roster.ok()) << roster.status();
  return roster.ok() ? *roster : Roster::Empty();
}

// --- MaskAccountNumber -----------------------------------------------------

TEST(MaskAccountNumberTest, Examples) {
  EXPECT_EQ(MaskAccountNumber("6222020200112233445"), "6222****3445");
  EXPECT_EQ(MaskAccountNumber("123456789012"), "1234****9012");
  // Shorter than 12: all but the last 4 (at most half) are masked.
  EXPECT_EQ(MaskAccountNumber("12345678901"), "*******8901");
  EXPECT_EQ(MaskAccountNumber("12345678"), "****5678");
  EXPECT_EQ(MaskAccountNumber("1234567"), "****567");
  EXPECT_EQ(MaskAccountNumber("1234"), "**34");
  EXPECT_EQ(MaskAccountNumber("abc"), "**c");
  EXPECT_EQ(MaskAccountNumber("7"), "*");
  EXPECT_EQ(MaskAccountNumber(""), "");
}

TEST(OutcomeNameTest, Names) {
  EXPECT_EQ(OutcomeName(v1::OUTCOME_RELEASE), "RELEASE");
  EXPECT_EQ(OutcomeName(v1::OUTCOME_CANCEL), "CANCEL");
  EXPECT_EQ(OutcomeName(v1::OUTCOME_REPORT_POLICE), "REPORT_POLICE");
  EXPECT_EQ(OutcomeName(v1::OUTCOME_ESCALATE), "ESCALATE");
  EXPECT_EQ(OutcomeName(v1::OUTCOME_ESCALATED_TIMEOUT), "ESCALATED_TIMEOUT");
  EXPECT_EQ(OutcomeName(v1::OUTCOME_UNSPECIFIED), "UNSPECIFIED");
}

// --- ValidateOverride ------------------------------------------------------

class ValidateOverrideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    roster_ = TestRoster();
    hold_.set_transaction_id("TX1");
    hold_.set_customer_id("CU1");
    hold_.set_branch_id("B1");
    hold_.set_verdict(v1::VERDICT_INTERCEPT);
    hold_.set_status(v1::HOLD_STATUS_PENDING);
    SetTimestampMicros(kT0, hold_.mutable_opened_at());
    SetTimestampMicros(kT0 + 30 * kMinute, hold_.mutable_expires_at());
    v1::RuleHit* hit = hold_.add_hits();
    hit->set_rule_id("BIG");
    hit->set_action(v1::ACTION_INTERCEPT);
  }

  // A release that passes every check.
  static v1::Override Release() {
    v1::Override o;
    o.set_override_id("OV1");
    o.set_transaction_id("TX1");
    o.set_customer_id("CU1");
    o.set_teller_id("T1");
    o.set_authorizer_id("S1");
    o.set_outcome(v1::OUTCOME_RELEASE);
    v1::OverrideAnswers* a = o.mutable_answers();
    a->set_purpose("rent");
    a->set_relationship("landlord");
    a->set_source_of_funds("salary");
    a->set_on_call(false);
    a->set_remote_control_app(false);
    a->set_risk_acknowledged(true);
    return o;
  }

  static v1::Override Other(v1::Outcome outcome) {
    v1::Override o;
    o.set_override_id("OV2");
    o.set_transaction_id("TX1");
    o.set_teller_id("T1");
    o.set_outcome(outcome);
    o.set_reason("customer agreed it is a scam");
    return o;
  }

  std::optional<Refusal> Validate(const v1::Override& o, const v1::Hold* hold) {
    return ValidateOverride(o, hold, *roster_, now_);
  }
  std::optional<Refusal> Validate(const v1::Override& o) {
    return Validate(o, &hold_);
  }

  // Expects a refusal with `code` and `reason` (and a Chinese reason).
  void ExpectRefused(const std::optional<Refusal>& r, const std::string& code,
                     const std::string& reason) {
    ASSERT_TRUE(r.has_value()) << "accepted; expected " << code;
    EXPECT_EQ(r->code, code);
    EXPECT_EQ(r->reason, reason);
    EXPECT_FALSE(r->reason_zh.empty());
  }

  std::shared_ptr<const Roster> roster_;
  v1::Hold hold_;
  int64_t now_ = kT0 + 5 * kMinute;
};

TEST_F(ValidateOverrideTest, ValidReleaseIsAccepted) {
  EXPECT_EQ(Validate(Release()), std::nullopt);
}

TEST_F(ValidateOverrideTest, ValidReleaseByASupervisorWithAnotherSupervisor) {
  v1::Override o = Release();
  o.set_teller_id("S1");
  o.set_authorizer_id("S3");
  o.mutable_answers()->set_on_call(true);  // present is enough
  o.mutable_answers()->set_remote_control_app(true);
  o.clear_customer_id();  // optional
  EXPECT_EQ(Validate(o), std::nullopt);
}

TEST_F(ValidateOverrideTest, ValidCancelReportPoliceAndEscalateAreAccepted) {
  EXPECT_EQ(Validate(Other(v1::OUTCOME_CANCEL)), std::nullopt);
  v1::Override police = Other(v1::OUTCOME_REPORT_POLICE);
  police.set_teller_id("S1");
  EXPECT_EQ(Validate(police), std::nullopt);
  v1::Override escalate = Other(v1::OUTCOME_ESCALATE);
  escalate.set_teller_id("T2");
  // Neither an authoriser nor answers are needed; a given one is ignored.
  escalate.set_authorizer_id("nobody");
  EXPECT_EQ(Validate(escalate), std::nullopt);
}

TEST_F(ValidateOverrideTest, InvalidOverrideListsTheMissingFields) {
  std::optional<Refusal> r = Validate(v1::Override(), nullptr);
  ExpectRefused(r, "INVALID_OVERRIDE",
                "the override has no override_id, transaction_id, teller_id");
  EXPECT_EQ(r->reason_zh,
            "撤销/放行指令缺少字段：override_id、transaction_id、teller_id");

  v1::Override o = Release();
  o.clear_override_id();
  o.clear_teller_id();
  ExpectRefused(Validate(o), "INVALID_OVERRIDE",
                "the override has no override_id, teller_id");
}

TEST_F(ValidateOverrideTest, InvalidOutcome) {
  v1::Override o = Other(v1::OUTCOME_UNSPECIFIED);
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "INVALID_OUTCOME",
                "outcome 0 is not one of RELEASE, CANCEL, REPORT_POLICE, "
                "ESCALATE");
  EXPECT_EQ(r->reason_zh, "处理结果必须是放行、取消、报警或上报之一");
  // An override cannot ask for the timeout outcome, nor an unknown one.
  ExpectRefused(Validate(Other(v1::OUTCOME_ESCALATED_TIMEOUT)),
                "INVALID_OUTCOME",
                "outcome 5 is not one of RELEASE, CANCEL, REPORT_POLICE, "
                "ESCALATE");
  ExpectRefused(Validate(Other(static_cast<v1::Outcome>(9))), "INVALID_OUTCOME",
                "outcome 9 is not one of RELEASE, CANCEL, REPORT_POLICE, "
                "ESCALATE");
}

TEST_F(ValidateOverrideTest, HoldNotFound) {
  std::optional<Refusal> r = Validate(Release(), nullptr);
  ExpectRefused(r, "HOLD_NOT_FOUND",
                "there is no hold for transaction TX1 (it was not "
                "intercepted, or it belongs to another customer)");
  EXPECT_EQ(r->reason_zh,
            "交易 TX1 没有被拦截的记录（未被拦截，或不属于该客户）");
}

TEST_F(ValidateOverrideTest, HoldOfAnotherCustomerIsNotFound) {
  v1::Override o = Release();
  o.set_customer_id("CU2");
  ExpectRefused(Validate(o), "HOLD_NOT_FOUND",
                "there is no hold for transaction TX1 (it was not "
                "intercepted, or it belongs to another customer)");
}

TEST_F(ValidateOverrideTest, BlockedCannotBeReleased) {
  hold_.set_verdict(v1::VERDICT_BLOCK);
  v1::RuleHit* huge = hold_.add_hits();
  huge->set_rule_id("HUGE");
  huge->set_action(v1::ACTION_BLOCK);
  v1::RuleHit* limit = hold_.add_hits();
  limit->set_rule_id("LIMIT");
  limit->set_action(v1::ACTION_BLOCK);
  std::optional<Refusal> r = Validate(Release());
  ExpectRefused(r, "BLOCKED",
                "transaction TX1 was blocked by HUGE, LIMIT; a block cannot "
                "be released");
  EXPECT_EQ(r->reason_zh, "交易 TX1 已被阻断，不能放行");
  // A block may be cancelled.
  EXPECT_EQ(Validate(Other(v1::OUTCOME_CANCEL)), std::nullopt);
}

TEST_F(ValidateOverrideTest, BlockedWithoutBlockingHitsNamesNoRule) {
  hold_.set_verdict(v1::VERDICT_BLOCK);  // e.g. a fail-safe block
  ExpectRefused(Validate(Release()), "BLOCKED",
                "transaction TX1 was blocked; a block cannot be released");
}

TEST_F(ValidateOverrideTest, HoldResolved) {
  hold_.set_status(v1::HOLD_STATUS_RESOLVED);
  v1::Disposition* d = hold_.mutable_disposition();
  d->set_outcome(v1::OUTCOME_CANCEL);
  d->set_teller_id("T2");
  SetTimestampMicros(kT0 + 2 * kMinute, d->mutable_at());
  std::optional<Refusal> r = Validate(Release());
  ExpectRefused(r, "HOLD_RESOLVED",
                "the hold of transaction TX1 was already resolved: CANCEL by "
                "T2 at 2026-11-20 02:02:00 UTC");
  EXPECT_EQ(r->reason_zh, "交易 TX1 已处理（CANCEL，柜员 T2）");
  // A teller of another branch (or none) learns only that it is resolved.
  v1::Override other = Release();
  other.set_teller_id("T3");
  r = Validate(other);
  ExpectRefused(r, "HOLD_RESOLVED",
                "the hold of transaction TX1 was already resolved");
  EXPECT_EQ(r->reason_zh, "交易 TX1 已处理");
  other.set_teller_id("X9");
  ExpectRefused(Validate(other), "HOLD_RESOLVED",
                "the hold of transaction TX1 was already resolved");
}

TEST_F(ValidateOverrideTest, HoldExpiredAtItsExpiry) {
  now_ = kT0 + 30 * kMinute - 1;
  EXPECT_EQ(Validate(Release()), std::nullopt);
  now_ = kT0 + 30 * kMinute;
  std::optional<Refusal> r = Validate(Release());
  ExpectRefused(r, "HOLD_EXPIRED",
                "the hold of transaction TX1 expired at 2026-11-20 02:30:00 "
                "UTC and was escalated to compliance");
  EXPECT_EQ(r->reason_zh, "交易 TX1 的拦截已超时并上报合规部门");
}

TEST_F(ValidateOverrideTest, HoldEscalatedOnTimeoutIsExpired) {
  hold_.set_status(v1::HOLD_STATUS_ESCALATED_TIMEOUT);
  ExpectRefused(Validate(Other(v1::OUTCOME_CANCEL)), "HOLD_EXPIRED",
                "the hold of transaction TX1 expired at 2026-11-20 02:30:00 "
                "UTC and was escalated to compliance");
}

TEST_F(ValidateOverrideTest, TellerUnknown) {
  v1::Override o = Release();
  o.set_teller_id("X9");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "TELLER_UNKNOWN", "teller X9 is not in the staff roster");
  EXPECT_EQ(r->reason_zh, "柜员 X9 不在员工名册中");
  // An empty roster knows nobody.
  std::optional<Refusal> empty =
      ValidateOverride(Release(), &hold_, *Roster::Empty(), now_);
  ExpectRefused(empty, "TELLER_UNKNOWN",
                "teller T1 is not in the staff roster");
}

TEST_F(ValidateOverrideTest, TellerRole) {
  v1::Override o = Other(v1::OUTCOME_ESCALATE);
  o.set_teller_id("C1");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "TELLER_ROLE",
                "C1 has the role compliance; holds are answered by tellers "
                "and supervisors");
  EXPECT_EQ(r->reason_zh, "C1 的角色是 compliance，只有柜员和主管可以处理拦截");
  o.set_teller_id("O1");
  ExpectRefused(Validate(o), "TELLER_ROLE",
                "O1 has the role operator; holds are answered by tellers and "
                "supervisors");
}

TEST_F(ValidateOverrideTest, TellerWrongBranch) {
  v1::Override o = Other(v1::OUTCOME_CANCEL);
  o.set_teller_id("T3");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "TELLER_WRONG_BRANCH",
                "teller T3 belongs to branch B2; the hold is at branch B1");
  EXPECT_EQ(r->reason_zh, "柜员 T3 属于网点 B2，该拦截属于网点 B1");
}

TEST_F(ValidateOverrideTest, TellerWrongBranchOfAHoldWithoutBranch) {
  hold_.clear_branch_id();
  ExpectRefused(Validate(Other(v1::OUTCOME_CANCEL)), "TELLER_WRONG_BRANCH",
                "teller T1 belongs to branch B1; the hold is at branch (none)");
}

TEST_F(ValidateOverrideTest, AuthorizerMissing) {
  v1::Override o = Release();
  o.clear_authorizer_id();
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "AUTHORIZER_MISSING",
                "a release needs a supervisor's authorisation (authorizer_id)");
  EXPECT_EQ(r->reason_zh, "放行需要主管授权");
}

TEST_F(ValidateOverrideTest, AuthorizerIsTheTeller) {
  v1::Override o = Release();
  o.set_teller_id("S1");
  o.set_authorizer_id("S1");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "AUTHORIZER_IS_TELLER",
                "the authoriser must be another person than the teller (dual "
                "control)");
  EXPECT_EQ(r->reason_zh, "授权人不能是经办柜员本人（双人控制）");
}

TEST_F(ValidateOverrideTest, AuthorizerKeyedTheTransaction) {
  // S1 keyed the transaction; T1 answers the hold: S1 may not authorise
  // its release (maker and checker).
  hold_.set_teller_id("S1");
  std::optional<Refusal> r = Validate(Release());
  ExpectRefused(r, "AUTHORIZER_KEYED_TRANSACTION",
                "authoriser S1 keyed transaction TX1; its release needs "
                "another supervisor (dual control)");
  EXPECT_EQ(r->reason_zh,
            "授权人 S1 是交易 TX1 的经办人，放行须由其他主管授权（双人控制）");
  // Cancelling needs no authoriser.
  EXPECT_EQ(Validate(Other(v1::OUTCOME_CANCEL)), std::nullopt);
}

TEST_F(ValidateOverrideTest, AuthorizerUnknown) {
  v1::Override o = Release();
  o.set_authorizer_id("S9");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "AUTHORIZER_UNKNOWN",
                "authoriser S9 is not in the staff roster");
  EXPECT_EQ(r->reason_zh, "授权人 S9 不在员工名册中");
}

TEST_F(ValidateOverrideTest, AuthorizerNotSupervisor) {
  v1::Override o = Release();
  o.set_authorizer_id("T2");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "AUTHORIZER_NOT_SUPERVISOR",
                "authoriser T2 has the role teller; a release needs the "
                "supervisor role");
  EXPECT_EQ(r->reason_zh, "授权人 T2 的角色是 teller，放行需要主管授权");
  o.set_authorizer_id("C1");
  ExpectRefused(Validate(o), "AUTHORIZER_NOT_SUPERVISOR",
                "authoriser C1 has the role compliance; a release needs the "
                "supervisor role");
}

TEST_F(ValidateOverrideTest, AuthorizerWrongBranch) {
  v1::Override o = Release();
  o.set_authorizer_id("S2");
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "AUTHORIZER_WRONG_BRANCH",
                "authoriser S2 belongs to branch B2; the hold is at branch B1");
  EXPECT_EQ(r->reason_zh, "授权人 S2 属于网点 B2，该拦截属于网点 B1");
}

TEST_F(ValidateOverrideTest, AnswersMissingListsEveryMissingAnswer) {
  v1::Override o = Release();
  o.clear_answers();
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "ANSWERS_MISSING",
                "a release needs the customer's answers; missing: purpose, "
                "relationship to the payee, source of funds, whether the "
                "customer is on a call, whether a remote-control app is used");
  EXPECT_EQ(r->reason_zh,
            "放行前须记录客户回答，缺少：用途、与收款人关系、资金来源、"
            "是否正在通话、是否使用远程控制软件");
}

TEST_F(ValidateOverrideTest, AnswersMissingListsOnlyWhatIsMissing) {
  v1::Override o = Release();
  o.mutable_answers()->clear_relationship();
  o.mutable_answers()->clear_remote_control_app();
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "ANSWERS_MISSING",
                "a release needs the customer's answers; missing: "
                "relationship to the payee, whether a remote-control app is "
                "used");
  EXPECT_EQ(r->reason_zh,
            "放行前须记录客户回答，缺少：与收款人关系、是否使用远程控制软件");
}

TEST_F(ValidateOverrideTest, RiskNotAcknowledged) {
  v1::Override o = Release();
  o.mutable_answers()->set_risk_acknowledged(false);
  std::optional<Refusal> r = Validate(o);
  ExpectRefused(r, "RISK_NOT_ACKNOWLEDGED",
                "a release needs the customer's signed risk acknowledgement");
  EXPECT_EQ(r->reason_zh, "放行前客户须签署风险告知书");
  o.mutable_answers()->clear_risk_acknowledged();
  ExpectRefused(Validate(o), "RISK_NOT_ACKNOWLEDGED",
                "a release needs the customer's signed risk acknowledgement");
}

TEST_F(ValidateOverrideTest, ReasonMissing) {
  for (v1::Outcome outcome :
       {v1::OUTCOME_CANCEL, v1::OUTCOME_REPORT_POLICE, v1::OUTCOME_ESCALATE}) {
    v1::Override o = Other(outcome);
    o.clear_reason();
    std::optional<Refusal> r = Validate(o);
    ExpectRefused(r, "REASON_MISSING",
                  absl::StrCat(OutcomeName(outcome), " needs a reason"));
    EXPECT_EQ(r->reason_zh, "请填写处理原因");
  }
  // A release needs no reason.
  v1::Override release = Release();
  release.clear_reason();
  EXPECT_EQ(Validate(release), std::nullopt);
}

TEST_F(ValidateOverrideTest, FirstProblemWins) {
  // Missing fields come before a missing hold, the hold before the people.
  v1::Override o;
  o.set_transaction_id("TX1");
  EXPECT_EQ(Validate(o, nullptr)->code, "INVALID_OVERRIDE");
  v1::Override unknown = Release();
  unknown.set_teller_id("X9");
  EXPECT_EQ(Validate(unknown, nullptr)->code, "HOLD_NOT_FOUND");
  now_ = kT0 + 31 * kMinute;
  EXPECT_EQ(Validate(unknown)->code, "HOLD_EXPIRED");
}

// --- HoldBook --------------------------------------------------------------

// Every transaction contributes to the customer's daily count and sum; SHOW
// renders them. 10,000.00 CNY or more is intercepted, 1,000,000.00 blocked.
constexpr char kPack[] = R"pb(
  pack {
    name: "h"
    version: "h-1"
    time_zone: "Asia/Shanghai"
    base_currency: "CNY"
  }
  window {
    name: "cust_n_day"
    aggregate: AGGREGATE_COUNT
    group_by: ENTITY_CUSTOMER
    calendar: CALENDAR_UNIT_DAY
  }
  window {
    name: "cust_sum_day"
    aggregate: AGGREGATE_SUM
    of: "tx.amount_minor"
    group_by: ENTITY_CUSTOMER
    calendar: CALENDAR_UNIT_DAY
  }
  rule {
    id: "SHOW"
    version: 1
    title: "show windows"
    why: "test"
    owner: "test"
    severity: SEVERITY_LOW
    when: "true"
    action: ACTION_REVIEW
    reason: "n={window.cust_n_day};sum={window.cust_sum_day}"
  }
  rule {
    id: "BIG"
    version: 1
    title: "large amount"
    why: "test"
    owner: "test"
    severity: SEVERITY_HIGH
    when: "tx.amount_minor >= 1000000"
    action: ACTION_INTERCEPT
    reason: "large amount"
    prompt {
      why { zh: "大额转账" en: "a large transfer" }
      ask { zh: "附言“{tx.memo}”是什么用途？" en: "what is '{tx.memo}' for?" }
    }
  }
  rule {
    id: "HUGE"
    version: 1
    title: "huge amount"
    why: "test"
    owner: "test"
    severity: SEVERITY_HIGH
    when: "tx.amount_minor >= 100000000"
    action: ACTION_BLOCK
    reason: "huge amount"
    prompt {
      why { zh: "超限" en: "over the limit" }
      ask { zh: "用途？" en: "what for?" }
    }
  }
)pb";

const std::filesystem::path& ScratchRoot() {
  static const std::filesystem::path* root =
      new std::filesystem::path(std::filesystem::path(::testing::TempDir()) /
                                absl::StrCat("holds_test.", getpid()));
  return *root;
}

class RemoveScratchRoot : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(ScratchRoot(), ignored);
  }
};
const ::testing::Environment* const kRemoveScratchRoot =
    ::testing::AddGlobalTestEnvironment(new RemoveScratchRoot);

std::shared_ptr<const rules::RuleSet> LoadPack(const std::string& text) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir =
      ScratchRoot() / absl::StrCat(info->test_suite_name(), ".", info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "pack.textproto", std::ios::binary);
    out << text;
  }
  rules::LoadResult result = rules::LoadRulePack({dir.string()});
  EXPECT_THAT(result.errors, IsEmpty());
  return result.rule_set;
}

// A transfer of customer CU1 at the counter of branch B1, teller T1.
v1::Transaction Tx(const std::string& id, int64_t at_us, int64_t amount_minor,
                   const std::string& customer = "CU1") {
  v1::Transaction tx;
  tx.set_transaction_id(id);
  SetTimestampMicros(at_us, tx.mutable_occurred_at());
  tx.set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
  tx.set_channel(v1::CHANNEL_COUNTER);
  tx.set_direction(v1::DIRECTION_OUT);
  tx.set_customer_id(customer);
  tx.set_account_id("6222020200112233445");
  tx.set_branch_id("B1");
  tx.set_teller_id("T1");
  tx.set_amount_minor(amount_minor);
  tx.set_currency("CNY");
  tx.set_memo("house deposit");
  tx.mutable_counterparty()->set_account_id("6217000011112222");
  tx.mutable_counterparty()->set_name("Safe Account Ltd");
  return tx;
}

constexpr int64_t kBig = 1000000;     // 10,000.00: intercepted
constexpr int64_t kSmall = 10000;     // 100.00: reviewed
constexpr int64_t kHuge = 100000000;  // 1,000,000.00: blocked

v1::Override ReleaseOf(const std::string& tx_id, const std::string& id) {
  v1::Override o;
  o.set_override_id(id);
  o.set_transaction_id(tx_id);
  o.set_customer_id("CU1");
  o.set_teller_id("T1");
  o.set_authorizer_id("S1");
  o.set_outcome(v1::OUTCOME_RELEASE);
  v1::OverrideAnswers* a = o.mutable_answers();
  a->set_purpose("house deposit");
  a->set_relationship("seller");
  a->set_source_of_funds("savings");
  a->set_on_call(false);
  a->set_remote_control_app(false);
  a->set_risk_acknowledged(true);
  return o;
}

v1::Override OverrideOf(const std::string& tx_id, const std::string& id,
                        v1::Outcome outcome) {
  v1::Override o;
  o.set_override_id(id);
  o.set_transaction_id(tx_id);
  o.set_teller_id("T1");
  o.set_authorizer_id("S1");
  o.set_outcome(outcome);
  o.set_reason("the caller posed as the police");
  return o;
}

class HoldBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_ = LoadPack(kPack);
    ASSERT_NE(rules_, nullptr);
    roster_ = TestRoster();
    store_ = NewMemoryStateStore();
    clock_.Set(kT0);
    Restart();
  }

  // A new PartitionState, Screener and HoldBook over the same store, the
  // book loaded: what a restart leaves.
  void Restart() {
    screener_.reset();
    state_ = std::make_unique<PartitionState>(store_.get(), 0);
    screener_ = std::make_unique<Screener>(rules_, state_.get(), &clock_);
    book_ = std::make_unique<HoldBook>(store_.get(), 0, &clock_);
    absl::Status s = book_->Load();
    ASSERT_TRUE(s.ok()) << s;
  }

  // Flushes the state and the book into the store.
  void Flush() {
    absl::Status s = state_->Flush("pos");
    ASSERT_TRUE(s.ok()) << s;
    s = store_->Commit(book_->BuildFlush());
    ASSERT_TRUE(s.ok()) << s;
    book_->FlushDone();
  }

  // Screens `tx` at its event time and tells the book; events in events_.
  v1::Decision Screen(const v1::Transaction& tx) {
    clock_.Set(TimestampMicros(tx.occurred_at()));
    v1::Decision d;
    absl::Status s = screener_->Screen(tx, &d);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_NE(d.verdict(), v1::VERDICT_REJECTED_INPUT) << d.DebugString();
    events_.Clear();
    book_->Decided(tx, d, rules_->time_zone(), &events_);
    return d;
  }

  // Answers `o` at `at_us`; events in events_.
  void Answer(const v1::Override& o, int64_t at_us) {
    clock_.Set(at_us);
    events_.Clear();
    absl::Status s = book_->Answer(o, *roster_, screener_.get(), &events_);
    ASSERT_TRUE(s.ok()) << s;
  }

  void ExpireDue(int64_t at_us) {
    clock_.Set(at_us);
    events_.Clear();
    absl::Status s = book_->ExpireDue(screener_.get(), &events_);
    ASSERT_TRUE(s.ok()) << s;
  }

  // The single override result of the last step.
  v1::OverrideResult Result() {
    EXPECT_EQ(events_.results.size(), 1u);
    return events_.results.empty() ? v1::OverrideResult()
                                   : events_.results.front();
  }

  // The customer's daily count and sum as a small transaction screened at
  // `at_us` sees them (itself included).
  std::pair<int64_t, int64_t> WindowsSeenBy(const std::string& id,
                                            int64_t at_us) {
    v1::Decision d = Screen(Tx(id, at_us, kSmall));
    for (const v1::RuleHit& h : d.hits()) {
      if (h.rule_id() != "SHOW") continue;
      std::map<std::string, std::string> kv;
      for (absl::string_view part : absl::StrSplit(h.reason(), ';')) {
        std::pair<std::string, std::string> p = absl::StrSplit(part, '=');
        kv[p.first] = p.second;
      }
      int64_t n = -1, sum = -1;
      EXPECT_TRUE(absl::SimpleAtoi(kv["n"], &n)) << h.reason();
      EXPECT_TRUE(absl::SimpleAtoi(kv["sum"], &sum)) << h.reason();
      return {n, sum};
    }
    ADD_FAILURE() << "no SHOW hit in " << d.DebugString();
    return {-1, -1};
  }

  // The kinds of every audit entry in the store, in order.
  std::vector<v1::AuditEntry::Kind> AuditKinds() {
    std::vector<v1::AuditEntry::Kind> kinds;
    absl::Status s =
        ScanAudit(store_.get(), 0, INT64_MAX,
                  [&](const v1::AuditRecord&, const v1::AuditEntry& e) {
                    kinds.push_back(e.kind());
                  });
    EXPECT_TRUE(s.ok()) << s;
    return kinds;
  }

  std::shared_ptr<const rules::RuleSet> rules_;
  std::shared_ptr<const Roster> roster_;
  std::unique_ptr<StateStore> store_;
  ManualClock clock_;
  std::unique_ptr<PartitionState> state_;
  std::unique_ptr<Screener> screener_;
  std::unique_ptr<HoldBook> book_;
  HoldEvents events_;
};

TEST_F(HoldBookTest, InterceptOpensAHold) {
  v1::Decision d = Screen(Tx("TX1", kT0, kBig));
  ASSERT_EQ(d.verdict(), v1::VERDICT_INTERCEPT);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_THAT(events_.results, IsEmpty());
  EXPECT_THAT(events_.dispositions, IsEmpty());
  const v1::Hold& h = events_.holds[0];
  EXPECT_EQ(h.transaction_id(), "TX1");
  EXPECT_EQ(h.customer_id(), "CU1");
  EXPECT_EQ(h.branch_id(), "B1");
  EXPECT_EQ(h.teller_id(), "T1");
  EXPECT_EQ(h.channel(), v1::CHANNEL_COUNTER);
  EXPECT_EQ(h.type(), v1::TRANSACTION_TYPE_TRANSFER_OUT);
  EXPECT_EQ(h.amount_minor(), kBig);
  EXPECT_EQ(h.currency(), "CNY");
  EXPECT_EQ(h.account_masked(), "6222****3445");
  EXPECT_EQ(h.counterparty_name(), "Safe Account Ltd");
  EXPECT_EQ(h.counterparty_account_masked(), "6217****2222");
  EXPECT_EQ(h.memo(), "house deposit");
  EXPECT_EQ(h.verdict(), v1::VERDICT_INTERCEPT);
  ASSERT_EQ(h.prompt().why_size(), 1);
  EXPECT_EQ(h.prompt().why(0).en(), "a large transfer");
  EXPECT_EQ(h.prompt().why(0).zh(), "大额转账");
  std::vector<std::string> hits;
  for (const v1::RuleHit& hit : h.hits()) hits.push_back(hit.rule_id());
  EXPECT_THAT(hits, ::testing::UnorderedElementsAre("SHOW", "BIG"));
  EXPECT_EQ(TimestampMicros(h.occurred_at()), kT0);
  EXPECT_EQ(TimestampMicros(h.opened_at()), kT0);
  EXPECT_EQ(TimestampMicros(h.expires_at()), kT0 + 30 * kMinute);
  EXPECT_EQ(h.status(), v1::HOLD_STATUS_PENDING);
  EXPECT_EQ(h.ruleset_version(), "h-1");
  EXPECT_FALSE(h.has_disposition());

  EXPECT_EQ(book_->pending(), 1u);
  ASSERT_EQ(book_->Pending().size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(*book_->Pending()[0], h));
  EXPECT_TRUE(book_->dirty());
}

TEST_F(HoldBookTest, HoldKnowsTheCustomersAgeAtTheTransaction) {
  v1::Transaction tx = Tx("TX1", kT0, kBig);
  tx.mutable_customer()->set_birth_date("1956-11-21");  // 70 tomorrow
  Screen(tx);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].customer_age(), 69);
}

TEST_F(HoldBookTest, HoldCountsTheAgeInThePacksTimeZone) {
  // 00:30 in Beijing on the 70th birthday: still the day before in UTC,
  // but the rules (Asia/Shanghai) already count 70, and so does the hold.
  v1::Transaction tx = Tx("TX1", Micros("2026-11-21T00:30:00+08:00"), kBig);
  tx.mutable_customer()->set_birth_date("1956-11-21");
  Screen(tx);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].customer_age(), 70);
  // One minute before midnight it is the day before: 69.
  tx = Tx("TX2", Micros("2026-11-20T23:59:00+08:00"), kBig);
  tx.mutable_customer()->set_birth_date("1956-11-21");
  Screen(tx);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].customer_age(), 69);
}

TEST_F(HoldBookTest, AllowAndReviewOpenNoHold) {
  v1::Decision d = Screen(Tx("TX1", kT0, kSmall));
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
  EXPECT_THAT(events_.holds, IsEmpty());
  v1::Decision allow;
  allow.set_transaction_id("TX2");
  allow.set_verdict(v1::VERDICT_ALLOW);
  book_->Decided(Tx("TX2", kT0, kSmall), allow, rules_->time_zone(), &events_);
  EXPECT_THAT(events_.holds, IsEmpty());
  EXPECT_EQ(book_->pending(), 0u);
  EXPECT_FALSE(book_->dirty());
  EXPECT_THAT(book_->BuildFlush(), IsEmpty());
}

TEST_F(HoldBookTest, AccountNumbersInTheMemoAreMasked) {
  v1::Transaction tx = Tx("TX1", kT0, kBig);
  tx.mutable_counterparty()->set_account_id("MCH00001542");
  tx.set_memo(
      "按对方要求转入安全账户 6217000000000005678，另一账户"
      "６２２８４８００００００００９９９９ 商户 MCH00001542 "
      "电话 13812345678");
  Screen(tx);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].memo(),
            "按对方要求转入安全账户 6217****5678，另一账户"
            "６２２８****９９９９ 商户 *******1542 电话 13812345678");
  // Prompt lines that quote the memo are masked the same way.
  ASSERT_EQ(events_.holds[0].prompt().ask_size(), 1);
  EXPECT_EQ(events_.holds[0].prompt().ask(0).en(),
            "what is '按对方要求转入安全账户 6217****5678，另一账户"
            "６２２８****９９９９ 商户 *******1542 电话 13812345678' for?");
}

TEST_F(HoldBookTest, BlockOpensAHoldThatCannotBeReleased) {
  v1::Decision d = Screen(Tx("TX1", kT0, kHuge));
  ASSERT_EQ(d.verdict(), v1::VERDICT_BLOCK);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].verdict(), v1::VERDICT_BLOCK);
  EXPECT_EQ(book_->pending(), 1u);

  Answer(ReleaseOf("TX1", "OV1"), kT0 + kMinute);
  v1::OverrideResult r = Result();
  EXPECT_FALSE(r.accepted());
  EXPECT_EQ(r.refusal_code(), "BLOCKED");
  EXPECT_EQ(r.refusal_reason(),
            "transaction TX1 was blocked by HUGE; a block cannot be released");
  EXPECT_EQ(book_->pending(), 1u);

  Answer(OverrideOf("TX1", "OV2", v1::OUTCOME_REPORT_POLICE), kT0 + kMinute);
  EXPECT_TRUE(Result().accepted());
  ASSERT_EQ(events_.dispositions.size(), 1u);
  EXPECT_EQ(events_.dispositions[0].verdict(), v1::VERDICT_BLOCK);
  // The block left no contribution, so there is nothing to retract.
  EXPECT_THAT(events_.notes,
              ElementsAre("hold TX1 REPORT_POLICE: did not happen: retracted 0 "
                          "window contributions"));
  EXPECT_EQ(WindowsSeenBy("TX2", kT0 + 2 * kMinute),
            std::make_pair(int64_t{1}, kSmall));
}

TEST_F(HoldBookTest, DuplicateDecisionOpensNoSecondHold) {
  Screen(Tx("TX1", kT0, kBig));
  ASSERT_EQ(events_.holds.size(), 1u);
  v1::Decision again = Screen(Tx("TX1", kT0, kBig));
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.verdict(), v1::VERDICT_INTERCEPT);
  EXPECT_THAT(events_.holds, IsEmpty());
  EXPECT_THAT(events_.notes, IsEmpty());
  EXPECT_EQ(book_->pending(), 1u);
}

TEST_F(HoldBookTest, DuplicateOfAResolvedTransactionDoesNotReopenIt) {
  Screen(Tx("TX1", kT0, kBig));
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL), kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  ASSERT_EQ(book_->pending(), 0u);
  v1::Decision again = Screen(Tx("TX1", kT0, kBig));
  EXPECT_TRUE(again.duplicate());
  EXPECT_THAT(events_.holds, IsEmpty());
  EXPECT_EQ(book_->pending(), 0u);
}

TEST_F(HoldBookTest, SameIdOfAnotherCustomerWhilePendingIsNotHeldTwice) {
  Screen(Tx("TX1", kT0, kBig));
  v1::Decision other = Screen(Tx("TX1", kT0 + kSecond, kBig, "CU2"));
  ASSERT_FALSE(other.duplicate());
  ASSERT_EQ(other.verdict(), v1::VERDICT_INTERCEPT);
  EXPECT_THAT(events_.holds, IsEmpty());
  EXPECT_THAT(events_.notes,
              ElementsAre("transaction id TX1 is already held for another "
                          "transaction; no second hold"));
  ASSERT_EQ(book_->pending(), 1u);
  EXPECT_EQ(book_->Pending()[0]->customer_id(), "CU1");
}

TEST_F(HoldBookTest, SameIdOfAnotherCustomerAfterResolutionKeepsTheRecord) {
  Screen(Tx("TX1", kT0, kBig));
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL), kT0 + kSecond);
  ASSERT_EQ(events_.dispositions.size(), 1u);
  Flush();
  Restart();
  v1::Decision other = Screen(Tx("TX1", kT0 + 2 * kSecond, kBig, "CU2"));
  ASSERT_FALSE(other.duplicate());
  EXPECT_THAT(events_.holds, IsEmpty());
  EXPECT_THAT(events_.notes,
              ElementsAre("transaction id TX1 had a hold before; no second "
                          "hold"));
  // The first customer's record and outcome stand.
  Answer(OverrideOf("TX1", "OV2", v1::OUTCOME_CANCEL), kT0 + 3 * kSecond);
  EXPECT_EQ(Result().refusal_code(), "HOLD_RESOLVED");
}

TEST_F(HoldBookTest, AcceptedReleaseIssuesTheDisposition) {
  Screen(Tx("TX1", kT0, kBig));
  const v1::Override o = ReleaseOf("TX1", "OV1");
  const int64_t at = kT0 + 90 * kSecond;
  Answer(o, at);

  v1::OverrideResult r = Result();
  EXPECT_TRUE(r.accepted());
  EXPECT_FALSE(r.duplicate());
  EXPECT_EQ(r.override_id(), "OV1");
  EXPECT_EQ(r.transaction_id(), "TX1");
  EXPECT_EQ(r.teller_id(), "T1");
  EXPECT_EQ(r.refusal_code(), "");
  EXPECT_EQ(TimestampMicros(r.decided_at()), at);

  ASSERT_EQ(events_.dispositions.size(), 1u);
  const v1::Disposition& d = events_.dispositions[0];
  EXPECT_EQ(d.transaction_id(), "TX1");
  EXPECT_EQ(d.outcome(), v1::OUTCOME_RELEASE);
  EXPECT_EQ(d.teller_id(), "T1");
  EXPECT_EQ(d.authorizer_id(), "S1");
  EXPECT_EQ(d.override_id(), "OV1");
  EXPECT_EQ(d.customer_id(), "CU1");
  EXPECT_EQ(d.branch_id(), "B1");
  EXPECT_EQ(d.amount_minor(), kBig);
  EXPECT_EQ(d.currency(), "CNY");
  EXPECT_EQ(d.verdict(), v1::VERDICT_INTERCEPT);
  EXPECT_EQ(TimestampMicros(d.at()), at);
  EXPECT_EQ(d.answered_after_ms(), 90000);
  EXPECT_TRUE(MessageDifferencer::Equals(d.answers(), o.answers()));

  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].status(), v1::HOLD_STATUS_RESOLVED);
  EXPECT_TRUE(MessageDifferencer::Equals(events_.holds[0].disposition(), d));
  EXPECT_THAT(
      events_.notes,
      ElementsAre("hold TX1 RELEASE: released: the transaction stands"));
  EXPECT_EQ(book_->pending(), 0u);
  EXPECT_THAT(book_->Pending(), IsEmpty());
}

TEST_F(HoldBookTest, CancelRetractsTheWindowContribution) {
  Screen(Tx("TX1", kT0, kBig));
  v1::Override o = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  Answer(o, kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  ASSERT_EQ(events_.dispositions.size(), 1u);
  const v1::Disposition& d = events_.dispositions[0];
  EXPECT_EQ(d.outcome(), v1::OUTCOME_CANCEL);
  EXPECT_EQ(d.reason(), "the caller posed as the police");
  // Only a release records an authoriser.
  EXPECT_EQ(d.authorizer_id(), "");
  EXPECT_THAT(events_.notes,
              ElementsAre("hold TX1 CANCEL: did not happen: retracted 2 window "
                          "contributions"));
  // TX2 sees only itself.
  EXPECT_EQ(WindowsSeenBy("TX2", kT0 + 2 * kMinute),
            std::make_pair(int64_t{1}, kSmall));
}

TEST_F(HoldBookTest, ReleaseKeepsTheWindowContribution) {
  Screen(Tx("TX1", kT0, kBig));
  Answer(ReleaseOf("TX1", "OV1"), kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  EXPECT_EQ(WindowsSeenBy("TX2", kT0 + 2 * kMinute),
            std::make_pair(int64_t{2}, kBig + kSmall));
}

TEST_F(HoldBookTest, ReportPoliceAndEscalateRetractToo) {
  Screen(Tx("TX1", kT0, kBig));
  Screen(Tx("TX2", kT0 + kSecond, kBig));
  ASSERT_EQ(book_->pending(), 2u);
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_REPORT_POLICE), kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  Answer(OverrideOf("TX2", "OV2", v1::OUTCOME_ESCALATE), kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  ASSERT_EQ(events_.dispositions.size(), 1u);
  EXPECT_EQ(events_.dispositions[0].outcome(), v1::OUTCOME_ESCALATE);
  EXPECT_EQ(book_->pending(), 0u);
  EXPECT_EQ(WindowsSeenBy("TX3", kT0 + 2 * kMinute),
            std::make_pair(int64_t{1}, kSmall));
}

TEST_F(HoldBookTest, RefusedOverrideChangesNothing) {
  Screen(Tx("TX1", kT0, kBig));
  v1::Override o = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  o.set_teller_id("T3");
  Answer(o, kT0 + kMinute);
  v1::OverrideResult r = Result();
  EXPECT_FALSE(r.accepted());
  EXPECT_FALSE(r.duplicate());
  EXPECT_EQ(r.refusal_code(), "TELLER_WRONG_BRANCH");
  EXPECT_EQ(r.refusal_reason(),
            "teller T3 belongs to branch B2; the hold is at branch B1");
  EXPECT_EQ(r.refusal_reason_zh(), "柜员 T3 属于网点 B2，该拦截属于网点 B1");
  EXPECT_THAT(events_.dispositions, IsEmpty());
  EXPECT_THAT(events_.holds, IsEmpty());
  ASSERT_EQ(book_->pending(), 1u);
  EXPECT_EQ(book_->Pending()[0]->status(), v1::HOLD_STATUS_PENDING);
  EXPECT_EQ(WindowsSeenBy("TX2", kT0 + 2 * kMinute),
            std::make_pair(int64_t{2}, kBig + kSmall));
}

TEST_F(HoldBookTest, OverrideOfAnotherCustomerIsNotFound) {
  Screen(Tx("TX1", kT0, kBig));
  v1::Override o = ReleaseOf("TX1", "OV1");
  o.set_customer_id("CU2");
  Answer(o, kT0 + kMinute);
  EXPECT_EQ(Result().refusal_code(), "HOLD_NOT_FOUND");
  Answer(ReleaseOf("TX9", "OV2"), kT0 + kMinute);
  EXPECT_EQ(Result().refusal_code(), "HOLD_NOT_FOUND");
  EXPECT_EQ(book_->pending(), 1u);
}

TEST_F(HoldBookTest, RepeatedOverrideIdIsAcceptedAgainAndChangesNothing) {
  Screen(Tx("TX1", kT0, kBig));
  const v1::Override o = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  Answer(o, kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  ASSERT_EQ(events_.dispositions.size(), 1u);

  Answer(o, kT0 + 2 * kMinute);
  v1::OverrideResult again = Result();
  EXPECT_TRUE(again.accepted());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.override_id(), "OV1");
  EXPECT_EQ(again.transaction_id(), "TX1");
  EXPECT_THAT(events_.dispositions, IsEmpty());
  EXPECT_THAT(events_.holds, IsEmpty());
  EXPECT_THAT(events_.notes, IsEmpty());
  // Retracted once only.
  EXPECT_EQ(WindowsSeenBy("TX2", kT0 + 3 * kMinute),
            std::make_pair(int64_t{1}, kSmall));
  // And audited once: decision, override, disposition.
  Flush();
  EXPECT_THAT(AuditKinds(), ElementsAre(v1::AuditEntry::KIND_DECISION,
                                        v1::AuditEntry::KIND_OVERRIDE,
                                        v1::AuditEntry::KIND_DISPOSITION));
}

TEST_F(HoldBookTest, ResolvingOverrideIdReusedWithOtherContentIsRefused) {
  Screen(Tx("TX1", kT0, kBig));
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL), kT0 + 90 * kSecond);
  ASSERT_TRUE(Result().accepted());
  Flush();
  // Another outcome, teller or customer under the id that resolved the
  // hold: not a repeat of it.
  v1::Override release = ReleaseOf("TX1", "OV1");
  v1::Override other_teller = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  other_teller.set_teller_id("T9");
  v1::Override other_customer = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  other_customer.set_customer_id("CU2");
  for (const v1::Override& o : {release, other_teller, other_customer}) {
    Answer(o, kT0 + 2 * kMinute);
    v1::OverrideResult r = Result();
    EXPECT_FALSE(r.accepted()) << o.ShortDebugString();
    EXPECT_FALSE(r.duplicate());
    EXPECT_EQ(r.refusal_code(), "OVERRIDE_ID_REUSED");
    EXPECT_THAT(events_.dispositions, IsEmpty());
  }
  EXPECT_EQ(Result().refusal_reason(),
            "override OV1 already resolved the hold of transaction TX1 "
            "(CANCEL by T1); this one differs from it");
  EXPECT_EQ(Result().refusal_reason_zh(),
            "指令 OV1 已用于处理交易 TX1（CANCEL，柜员 T1），本次内容与之不符");
  // A cancel's retry that carries an authoriser is still the same cancel.
  v1::Override retry = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  retry.set_authorizer_id("S1");
  Answer(retry, kT0 + 3 * kMinute);
  EXPECT_TRUE(Result().accepted());
  EXPECT_TRUE(Result().duplicate());
  // Each refusal is audited; the duplicate is not.
  Flush();
  EXPECT_THAT(
      AuditKinds(),
      ElementsAre(v1::AuditEntry::KIND_DECISION, v1::AuditEntry::KIND_OVERRIDE,
                  v1::AuditEntry::KIND_DISPOSITION,
                  v1::AuditEntry::KIND_OVERRIDE, v1::AuditEntry::KIND_OVERRIDE,
                  v1::AuditEntry::KIND_OVERRIDE));
}

TEST_F(HoldBookTest, StoreFailureWhileSettlingIsAnEngineErrorEverywhere) {
  auto flaky = std::make_unique<FlakyStore>();
  FlakyStore* store = flaky.get();
  store_ = std::move(flaky);
  Restart();
  Screen(Tx("TX1", kT0, kBig));
  Flush();
  Restart();  // the customer's state is in the store only
  store->fail_gets = 1;
  clock_.Set(kT0 + kMinute);
  events_.Clear();
  absl::Status s = book_->Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL),
                                 *roster_, screener_.get(), &events_);
  EXPECT_FALSE(s.ok());
  v1::OverrideResult r = Result();
  EXPECT_FALSE(r.accepted());
  EXPECT_EQ(r.refusal_code(), "ENGINE_ERROR");
  EXPECT_THAT(events_.dispositions, IsEmpty());
  EXPECT_EQ(book_->pending(), 1u);
  // The audit log says what the teller was told, and its chain holds.
  Flush();
  EXPECT_THAT(AuditKinds(), ElementsAre(v1::AuditEntry::KIND_DECISION,
                                        v1::AuditEntry::KIND_OVERRIDE));
  v1::AuditEntry::Kind kind = v1::AuditEntry::KIND_UNSPECIFIED;
  std::string code;
  ASSERT_TRUE(ScanAudit(store_.get(), 0, INT64_MAX,
                        [&](const v1::AuditRecord&, const v1::AuditEntry& e) {
                          kind = e.kind();
                          code = e.result().refusal_code();
                        })
                  .ok());
  EXPECT_EQ(kind, v1::AuditEntry::KIND_OVERRIDE);
  EXPECT_EQ(code, "ENGINE_ERROR");
  absl::StatusOr<std::vector<AuditChainReport>> chains =
      VerifyAudit(store_.get());
  ASSERT_TRUE(chains.ok()) << chains.status();
  ASSERT_EQ(chains->size(), 1u);
  EXPECT_EQ((*chains)[0].problem, "");
  // Tried again: accepted.
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL), kT0 + 2 * kMinute);
  EXPECT_TRUE(Result().accepted());
  EXPECT_EQ(book_->pending(), 0u);
}

TEST_F(HoldBookTest, AnotherOverrideOfAResolvedHoldIsRefused) {
  Screen(Tx("TX1", kT0, kBig));
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL), kT0 + 90 * kSecond);
  ASSERT_TRUE(Result().accepted());
  Answer(ReleaseOf("TX1", "OV2"), kT0 + 2 * kMinute);
  v1::OverrideResult r = Result();
  EXPECT_FALSE(r.accepted());
  EXPECT_FALSE(r.duplicate());
  EXPECT_EQ(r.refusal_code(), "HOLD_RESOLVED");
  EXPECT_EQ(r.refusal_reason(),
            "the hold of transaction TX1 was already resolved: CANCEL by T1 "
            "at 2026-11-20 02:01:30 UTC");
  EXPECT_THAT(events_.dispositions, IsEmpty());
}

TEST_F(HoldBookTest, HandedOffResolutionIsSeenBeforeItIsCommitted) {
  // The streaming service's committer: the pending hold is in the store, its
  // resolution handed off but not yet written; a second override must meet
  // the resolution, not the stored pending hold.
  Screen(Tx("TX1", kT0, kBig));
  Flush();
  Answer(OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL), kT0 + 90 * kSecond);
  ASSERT_TRUE(Result().accepted());
  std::vector<StateWrite> writes = book_->BuildFlush();
  book_->HandOff();
  EXPECT_FALSE(book_->dirty());
  Answer(ReleaseOf("TX1", "OV2"), kT0 + 2 * kMinute);
  EXPECT_EQ(Result().refusal_code(), "HOLD_RESOLVED");
  ASSERT_TRUE(store_->Commit(writes).ok());
  book_->Committed();
  Answer(ReleaseOf("TX1", "OV3"), kT0 + 3 * kMinute);
  EXPECT_EQ(Result().refusal_code(), "HOLD_RESOLVED");
  // What changed after the hand-off is the next flush's.
  EXPECT_TRUE(book_->dirty());
}

TEST_F(HoldBookTest, UnansweredHoldEscalatesAtExpiry) {
  Screen(Tx("TX1", kT0, kBig));
  ExpireDue(kT0 + 30 * kMinute - 1);
  EXPECT_THAT(events_.dispositions, IsEmpty());
  EXPECT_EQ(book_->pending(), 1u);

  ExpireDue(kT0 + 30 * kMinute);
  ASSERT_EQ(events_.dispositions.size(), 1u);
  const v1::Disposition& d = events_.dispositions[0];
  EXPECT_EQ(d.transaction_id(), "TX1");
  EXPECT_EQ(d.outcome(), v1::OUTCOME_ESCALATED_TIMEOUT);
  EXPECT_EQ(d.reason(), "nobody answered the hold within 30 min");
  EXPECT_EQ(d.teller_id(), "");
  EXPECT_EQ(d.override_id(), "");
  EXPECT_EQ(d.customer_id(), "CU1");
  EXPECT_EQ(TimestampMicros(d.at()), kT0 + 30 * kMinute);
  EXPECT_EQ(d.answered_after_ms(), 30 * 60 * 1000);
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(events_.holds[0].status(), v1::HOLD_STATUS_ESCALATED_TIMEOUT);
  EXPECT_THAT(events_.notes,
              ElementsAre("hold TX1 ESCALATED_TIMEOUT: did not happen: "
                          "retracted 2 window contributions"));
  EXPECT_EQ(book_->pending(), 0u);

  // Once only.
  ExpireDue(kT0 + 31 * kMinute);
  EXPECT_THAT(events_.dispositions, IsEmpty());

  // Later overrides are refused.
  Answer(ReleaseOf("TX1", "OV1"), kT0 + 32 * kMinute);
  v1::OverrideResult r = Result();
  EXPECT_FALSE(r.accepted());
  EXPECT_EQ(r.refusal_code(), "HOLD_EXPIRED");
  EXPECT_EQ(r.refusal_reason(),
            "the hold of transaction TX1 expired at 2026-11-20 02:30:00 UTC "
            "and was escalated to compliance");
  EXPECT_THAT(events_.dispositions, IsEmpty());
  EXPECT_EQ(WindowsSeenBy("TX2", kT0 + 33 * kMinute),
            std::make_pair(int64_t{1}, kSmall));
}

TEST_F(HoldBookTest, OverrideAfterExpiryBeforeTheSweepIsRefused) {
  Screen(Tx("TX1", kT0, kBig));
  Answer(ReleaseOf("TX1", "OV1"), kT0 + 30 * kMinute);
  EXPECT_EQ(Result().refusal_code(), "HOLD_EXPIRED");
  EXPECT_THAT(events_.dispositions, IsEmpty());
  EXPECT_EQ(book_->pending(), 1u);
  ExpireDue(kT0 + 30 * kMinute);
  ASSERT_EQ(events_.dispositions.size(), 1u);
  EXPECT_EQ(events_.dispositions[0].outcome(), v1::OUTCOME_ESCALATED_TIMEOUT);
}

TEST_F(HoldBookTest, ShorterTimeoutFromTheOptions) {
  HoldOptions options;
  options.timeout_us = 5 * kMinute;
  book_ = std::make_unique<HoldBook>(store_.get(), 0, &clock_, options);
  ASSERT_TRUE(book_->Load().ok());
  Screen(Tx("TX1", kT0, kBig));
  ASSERT_EQ(events_.holds.size(), 1u);
  EXPECT_EQ(TimestampMicros(events_.holds[0].expires_at()), kT0 + 5 * kMinute);
  ExpireDue(kT0 + 5 * kMinute);
  ASSERT_EQ(events_.dispositions.size(), 1u);
  EXPECT_EQ(events_.dispositions[0].reason(),
            "nobody answered the hold within 5 min");
}

TEST_F(HoldBookTest, PendingIsOldestFirst) {
  Screen(Tx("TX3", kT0 + 2 * kSecond, kBig));
  Screen(Tx("TX1", kT0 + 3 * kSecond, kBig));
  Screen(Tx("TX2", kT0 + 4 * kSecond, kBig));
  std::vector<std::string> ids;
  for (const v1::Hold* h : book_->Pending()) ids.push_back(h->transaction_id());
  EXPECT_THAT(ids, ElementsAre("TX3", "TX1", "TX2"));
}

TEST_F(HoldBookTest, PendingHoldsSurviveARestartAfterAFlush) {
  Screen(Tx("TX1", kT0, kBig));
  Screen(Tx("TX2", kT0 + kSecond, kBig));
  Screen(Tx("TX3", kT0 + 2 * kSecond, kBig));
  Answer(OverrideOf("TX2", "OV2", v1::OUTCOME_CANCEL), kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  std::vector<v1::Hold> before;
  for (const v1::Hold* h : book_->Pending()) before.push_back(*h);
  ASSERT_EQ(before.size(), 2u);
  ASSERT_TRUE(book_->dirty());
  Flush();
  EXPECT_FALSE(book_->dirty());
  EXPECT_THAT(book_->BuildFlush(), IsEmpty());

  Restart();
  EXPECT_FALSE(book_->dirty());
  ASSERT_EQ(book_->pending(), 2u);
  std::vector<const v1::Hold*> after = book_->Pending();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals(*after[0], before[0]))
      << after[0]->DebugString();
  EXPECT_TRUE(MessageDifferencer::Equals(*after[1], before[1]))
      << after[1]->DebugString();
  EXPECT_EQ(after[0]->transaction_id(), "TX1");
  EXPECT_EQ(after[1]->transaction_id(), "TX3");

  // The resolved hold is answered from the store.
  Answer(OverrideOf("TX2", "OV2", v1::OUTCOME_CANCEL), kT0 + 2 * kMinute);
  EXPECT_TRUE(Result().accepted());
  EXPECT_TRUE(Result().duplicate());
  Answer(OverrideOf("TX2", "OV9", v1::OUTCOME_ESCALATE), kT0 + 2 * kMinute);
  EXPECT_EQ(Result().refusal_code(), "HOLD_RESOLVED");

  // The loaded holds are answered and expire as before.
  Answer(ReleaseOf("TX1", "OV1"), kT0 + 3 * kMinute);
  ASSERT_TRUE(Result().accepted());
  ASSERT_EQ(events_.dispositions.size(), 1u);
  EXPECT_EQ(events_.dispositions[0].answered_after_ms(), 3 * 60 * 1000);
  ExpireDue(kT0 + 2 * kSecond + 30 * kMinute);
  ASSERT_EQ(events_.dispositions.size(), 1u);
  EXPECT_EQ(events_.dispositions[0].transaction_id(), "TX3");
  EXPECT_EQ(events_.dispositions[0].outcome(), v1::OUTCOME_ESCALATED_TIMEOUT);
  EXPECT_EQ(book_->pending(), 0u);
  // TX3's contributions were found in the flushed state and retracted.
  EXPECT_THAT(events_.notes,
              ElementsAre("hold TX3 ESCALATED_TIMEOUT: did not happen: "
                          "retracted 2 window contributions"));
}

TEST_F(HoldBookTest, UnflushedHoldsAreLostWithARestart) {
  Screen(Tx("TX1", kT0, kBig));
  Restart();
  EXPECT_EQ(book_->pending(), 0u);
  EXPECT_THAT(AuditKinds(), IsEmpty());
}

TEST_F(HoldBookTest, EveryStepIsAuditedInAnIntactChain) {
  Screen(Tx("TX1", kT0, kBig));
  Screen(Tx("TX2", kT0 + kSecond, kSmall));  // no hold: not audited
  v1::Override refused = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  refused.clear_reason();
  Answer(refused, kT0 + kMinute);
  ASSERT_EQ(Result().refusal_code(), "REASON_MISSING");
  Answer(OverrideOf("TX1", "OV2", v1::OUTCOME_CANCEL), kT0 + 2 * kMinute);
  ASSERT_TRUE(Result().accepted());
  Screen(Tx("TX3", kT0 + 3 * kMinute, kBig));
  Flush();

  std::vector<v1::AuditEntry> entries;
  ASSERT_TRUE(ScanAudit(store_.get(), 0, INT64_MAX,
                        [&](const v1::AuditRecord&, const v1::AuditEntry& e) {
                          entries.push_back(e);
                        })
                  .ok());
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].kind(), v1::AuditEntry::KIND_DECISION);
  EXPECT_EQ(entries[0].transaction_id(), "TX1");
  EXPECT_EQ(entries[0].decision().verdict(), v1::VERDICT_INTERCEPT);
  EXPECT_EQ(TimestampMicros(entries[0].at()), kT0);
  EXPECT_EQ(entries[1].kind(), v1::AuditEntry::KIND_OVERRIDE);
  EXPECT_EQ(entries[1].override().override_id(), "OV1");
  EXPECT_FALSE(entries[1].result().accepted());
  EXPECT_EQ(entries[1].result().refusal_code(), "REASON_MISSING");
  EXPECT_EQ(TimestampMicros(entries[1].at()), kT0 + kMinute);
  EXPECT_EQ(entries[2].kind(), v1::AuditEntry::KIND_OVERRIDE);
  EXPECT_TRUE(entries[2].result().accepted());
  EXPECT_EQ(entries[3].kind(), v1::AuditEntry::KIND_DISPOSITION);
  EXPECT_EQ(entries[3].disposition().outcome(), v1::OUTCOME_CANCEL);
  EXPECT_EQ(entries[4].kind(), v1::AuditEntry::KIND_DECISION);
  EXPECT_EQ(entries[4].transaction_id(), "TX3");
  for (const v1::AuditEntry& e : entries) EXPECT_EQ(e.partition(), 0);

  // After a restart the chain goes on.
  Restart();
  ExpireDue(kT0 + 3 * kMinute + 30 * kMinute);
  ASSERT_EQ(events_.dispositions.size(), 1u);
  Flush();
  absl::StatusOr<std::vector<AuditChainReport>> reports =
      VerifyAudit(store_.get());
  ASSERT_TRUE(reports.ok()) << reports.status();
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_EQ((*reports)[0].problem, "");
  EXPECT_EQ((*reports)[0].records, 6u);
  EXPECT_EQ((*reports)[0].head_seq, 6u);
}

TEST_F(HoldBookTest, ResolvedHoldIsForgottenAfterItsRetention) {
  Screen(Tx("TX1", kT0, kBig));
  const v1::Override o = OverrideOf("TX1", "OV1", v1::OUTCOME_CANCEL);
  Answer(o, kT0 + kMinute);
  ASSERT_TRUE(Result().accepted());
  Flush();
  std::string value;
  bool found = false;
  const std::string key = absl::StrCat(PartitionPrefix(0), "TX1");
  ASSERT_TRUE(store_->Get(StateFamily::kHolds, key, &value, &found).ok());
  ASSERT_TRUE(found);

  // Within the retention the repeat is still answered.
  ExpireDue(kT0 + kMinute + 7 * kDay - kSecond);
  Answer(o, kT0 + kMinute + 7 * kDay - kSecond);
  EXPECT_TRUE(Result().duplicate());
  Flush();
  ASSERT_TRUE(store_->Get(StateFamily::kHolds, key, &value, &found).ok());
  ASSERT_TRUE(found);

  // The next sweep (an hour later) forgets it.
  ExpireDue(kT0 + kMinute + 7 * kDay + 3600 * kSecond);
  std::vector<StateWrite> writes = book_->BuildFlush();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].family, StateFamily::kHolds);
  EXPECT_EQ(writes[0].key, key);
  EXPECT_TRUE(writes[0].erase);
  Answer(o, kT0 + kMinute + 7 * kDay + 3600 * kSecond);
  EXPECT_EQ(Result().refusal_code(), "HOLD_NOT_FOUND");
  Flush();
  ASSERT_TRUE(store_->Get(StateFamily::kHolds, key, &value, &found).ok());
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace txscreen::engine
