#include "compliance/state_inspect.h"

#include <memory>
#include <string>

#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/rule_pack_loader.h"

namespace txscreen::compliance {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::HasSubstr;
using ::testing::Not;

class StateInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rules = rules::LoadRulePackOrError(
        {std::string(TXSCREEN_SOURCE_DIR) + "/rules/packs/cn"});
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = *rules;
    store_ = engine::NewMemoryStateStore();
    state_ = std::make_unique<engine::PartitionState>(store_.get(), 3);
    engine::ScreenerOptions options;
    options.mark_late = false;
    screener_ = std::make_unique<engine::Screener>(rules_, state_.get(),
                                                   &clock_, options);
  }

  // Beijing time on 2026-11-20.
  v1::Decision Screen(const std::string& id, int hour, int64_t amount_minor,
                      v1::TransactionType type, const std::string& payee = "") {
    v1::Transaction tx;
    tx.set_transaction_id(id);
    tx.set_customer_id("C1");
    tx.set_account_id("6222000011112222");
    tx.set_amount_minor(amount_minor);
    tx.set_currency("CNY");
    tx.set_type(type);
    tx.set_channel(v1::CHANNEL_COUNTER);
    tx.set_branch_id("BR1");
    tx.set_region_code("320102");
    tx.set_account_region_code("320102");
    const bool in = type == v1::TRANSACTION_TYPE_CASH_DEPOSIT;
    tx.set_direction(in ? v1::DIRECTION_IN : v1::DIRECTION_OUT);
    tx.set_cash(type == v1::TRANSACTION_TYPE_CASH_DEPOSIT);
    if (!payee.empty()) tx.mutable_counterparty()->set_account_id(payee);
    tx.mutable_customer()->set_birth_date("1980-01-01");
    engine::SetTimestampMicros((1795104000LL + (hour - 0) * 3600) *
                                   1000000,  // 2026-11-20 00:00 +08:00
                               tx.mutable_occurred_at());
    v1::Decision d;
    EXPECT_TRUE(screener_->Screen(tx, &d).ok());
    return d;
  }

  engine::SystemClock clock_;
  std::shared_ptr<const rules::RuleSet> rules_;
  std::unique_ptr<engine::StateStore> store_;
  std::unique_ptr<engine::PartitionState> state_;
  std::unique_ptr<engine::Screener> screener_;
};

TEST_F(StateInspectTest, WindowsPayeesRecentTransactionsAndHolds) {
  Screen("D1", 9, 3000000, v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  Screen("D2", 10, 2500000, v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  Screen("P1", 11, 12000, v1::TRANSACTION_TYPE_TRANSFER_OUT,
         "6217000099998888");
  EXPECT_EQ(Screen("B1", 12, 50000, v1::TRANSACTION_TYPE_TRANSFER_OUT,
                   "TEST-FRAUD-ACCT-0001")
                .verdict(),
            v1::VERDICT_BLOCK);
  ASSERT_TRUE(state_->Flush("test:4").ok());
  v1::Hold hold;
  hold.set_transaction_id("B1");
  hold.set_customer_id("C1");
  hold.set_branch_id("BR1");
  hold.set_status(v1::HOLD_STATUS_PENDING);
  hold.set_verdict(v1::VERDICT_BLOCK);
  hold.set_amount_minor(50000);
  hold.set_currency("CNY");
  ASSERT_TRUE(
      store_
          ->Commit({engine::StateWrite::Put(engine::StateFamily::kHolds,
                                            engine::PartitionPrefix(3) + "B1",
                                            hold.SerializeAsString())})
          .ok());

  auto s = InspectCustomer(store_.get(), *rules_, "C1", std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->partition, 3);
  // As of the latest transaction: 12:00 Beijing time.
  EXPECT_EQ(s->as_of_us, (1795104000LL + 12 * 3600) * 1000000);
  auto window = [&](const std::string& name) {
    for (const auto& w : s->windows) {
      if (w.name == name) return w;
    }
    ADD_FAILURE() << "no window " << name;
    return CustomerState::Window();
  };
  EXPECT_EQ(window("cash_in_cny_day").value, 5500000);
  EXPECT_EQ(window("cash_in_cny_day").shown, "55,000.00 CNY");
  EXPECT_EQ(window("cash_in_cny_day").entity, "customer C1");
  EXPECT_EQ(window("cash_in_cny_max_day").value, 3000000);
  // The blocked transfer did not happen: out of the windows.
  EXPECT_EQ(window("xfer_out_dom_cny_day").value, 12000);
  ASSERT_EQ(s->payees.size(), 1u);
  EXPECT_EQ(s->payees[0].account_id, "6217000099998888");
  ASSERT_EQ(s->recent.size(), 4u);
  EXPECT_EQ(s->recent[0].transaction_id, "B1");  // newest first
  EXPECT_EQ(s->recent[0].verdict, "BLOCK");
  EXPECT_THAT(s->recent[0].rules, ::testing::Contains("FRAUD-LIST"));
  ASSERT_EQ(s->pending_holds.size(), 1u);
  EXPECT_EQ(s->pending_holds[0].transaction_id(), "B1");

  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  const std::string text = CustomerStateText(*s, shanghai);
  EXPECT_THAT(text, HasSubstr("customer C1 (partition 3), windows as of "
                              "2026-11-20 12:00:00 +08:00"));
  EXPECT_THAT(
      text,
      HasSubstr("last activity 2026-11-20 11:00:00 +08:00, region 320102"));
  EXPECT_THAT(text,
              HasSubstr("known payees: 1\n  6217000099998888  first paid "
                        "2026-11-20 11:00:00 +08:00, last paid 2026-11-20 "
                        "11:00:00 +08:00"));
  EXPECT_THAT(
      text, HasSubstr("pending holds: 1\n  B1  BLOCK  branch BR1  500.00 CNY"));
  EXPECT_THAT(text, Not(HasSubstr("reversals waiting")));
  const std::string json = CustomerStateJson(*s);
  EXPECT_THAT(
      json, HasSubstr("{\"customer_id\":\"C1\",\"found\":true,\"partition\":3,"
                      "\"as_of\":\"2026-11-20T04:00:00+00:00\""));
  EXPECT_THAT(
      json,
      HasSubstr("{\"name\":\"cash_in_cny_day\",\"entity\":\"customer C1\","
                "\"value\":5500000,\"shown\":\"55,000.00 CNY\""));

  // A later time: the day windows are empty again.
  s = InspectCustomer(store_.get(), *rules_, "C1",
                      (1795104000LL + 30 * 3600) * 1000000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(window("cash_in_cny_day").value, 0);
}

// A held transaction the teller cancelled is shown with its hold's
// outcome, not as "(reversed)": there was no reversal.
TEST_F(StateInspectTest, AResolvedHoldShowsItsOutcome) {
  Screen("D1", 9, 3000000, v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  Screen("D2", 10, 2000000, v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  std::string note;
  ASSERT_TRUE(screener_
                  ->Settle("C1", "D1", (1795104000LL + 9 * 3600) * 1000000,
                           /*happened=*/false, &note)
                  .ok());
  ASSERT_TRUE(state_->Flush("test:2").ok());
  v1::Hold hold;
  hold.set_transaction_id("D1");
  hold.set_customer_id("C1");
  hold.set_status(v1::HOLD_STATUS_RESOLVED);
  hold.mutable_disposition()->set_outcome(v1::OUTCOME_CANCEL);
  ASSERT_TRUE(
      store_
          ->Commit({engine::StateWrite::Put(engine::StateFamily::kHolds,
                                            engine::PartitionPrefix(3) + "D1",
                                            hold.SerializeAsString())})
          .ok());
  auto s = InspectCustomer(store_.get(), *rules_, "C1", std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->recent.size(), 2u);
  EXPECT_EQ(s->recent[1].transaction_id, "D1");
  EXPECT_EQ(s->recent[1].hold_outcome, "CANCEL");
  EXPECT_TRUE(s->recent[1].reversed);
  EXPECT_EQ(s->recent[0].hold_outcome, "");
  EXPECT_TRUE(s->pending_holds.empty());
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  const std::string text = CustomerStateText(*s, shanghai);
  EXPECT_THAT(text, HasSubstr("D1  ALLOW  (hold: CANCEL, taken back)\n"));
  EXPECT_THAT(text, Not(HasSubstr("(reversed)")));
  EXPECT_THAT(CustomerStateJson(*s),
              HasSubstr("\"reversed\":true,\"hold_outcome\":\"CANCEL\"}"));
}

// A reversal that came before its original leaves a marker the history
// keeps until the original comes: shown, so that "why did this transfer
// count nowhere?" has an answer.
TEST_F(StateInspectTest, ReversalsWaitingForTheirOriginalAreShown) {
  Screen("D1", 9, 3000000, v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  v1::Transaction reversal;
  reversal.set_transaction_id("R1");
  reversal.set_customer_id("C1");
  reversal.set_account_id("6222000011112222");
  reversal.set_amount_minor(12000);
  reversal.set_currency("CNY");
  reversal.set_type(v1::TRANSACTION_TYPE_REVERSAL);
  reversal.set_reverses_transaction_id("LATE-1");
  reversal.set_channel(v1::CHANNEL_COUNTER);
  reversal.set_direction(v1::DIRECTION_IN);
  engine::SetTimestampMicros((1795104000LL + 10 * 3600) * 1000000,
                             reversal.mutable_occurred_at());
  v1::Decision d;
  ASSERT_TRUE(screener_->Screen(reversal, &d).ok());
  ASSERT_TRUE(state_->Flush("test:2").ok());
  auto s = InspectCustomer(store_.get(), *rules_, "C1", std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->reversed_before_arrival_us.size(), 1u);
  EXPECT_EQ(s->reversed_before_arrival_us[0],
            (1795104000LL + 10 * 3600) * 1000000);
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  EXPECT_THAT(CustomerStateText(*s, shanghai),
              HasSubstr("reversals waiting for their original (it will be "
                        "decided but count nowhere): 1\n  reversal at "
                        "2026-11-20 10:00:00 +08:00\n"));
  EXPECT_THAT(
      CustomerStateJson(*s),
      HasSubstr("\"reversals_waiting\":[\"2026-11-20T02:00:00+00:00\"]"));
}

TEST_F(StateInspectTest, UnknownCustomer) {
  Screen("D1", 9, 3000000, v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  ASSERT_TRUE(state_->Flush("test:1").ok());
  auto s = InspectCustomer(store_.get(), *rules_, "NOBODY", std::nullopt);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->partition, -1);
  EXPECT_EQ(CustomerStateJson(*s),
            "{\"customer_id\":\"NOBODY\",\"found\":false}");
  EXPECT_EQ(CustomerStateText(*s, absl::UTCTimeZone()),
            "customer NOBODY: the engine has no state for this customer\n");
}

}  // namespace
}  // namespace txscreen::compliance
