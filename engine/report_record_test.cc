#include "engine/report_record.h"

#include <string>

#include "gtest/gtest.h"
#include "rules/rule_pack_loader.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;

class ReportRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rules = rules::LoadRulePackOrError(
        {std::string(TXSCREEN_SOURCE_DIR) + "/rules/packs/cn"});
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = *rules;
    tx_.set_transaction_id("T1");
    tx_.set_customer_id("C1");
    tx_.set_amount_minor(6000000);  // 60,000.00
    tx_.set_currency("CNY");
    decision_.set_transaction_id("T1");
    decision_.set_verdict(v1::VERDICT_ALLOW);
    decision_.set_ruleset_version("cn-test");
    decision_.add_reports("LARGE_VALUE_CASH");
    v1::RuleHit* report = decision_.add_hits();
    report->set_rule_id("CN-AML-01");
    report->add_reports("LARGE_VALUE_CASH");
    decision_.add_hits()->set_rule_id("VELOCITY");
  }
  std::shared_ptr<const rules::RuleSet> rules_;
  v1::Transaction tx_;
  v1::Decision decision_;
};

TEST_F(ReportRecordTest, CarriesTheTransactionReportHitsAndAmounts) {
  v1::ReportRecord r;
  ASSERT_TRUE(BuildReportRecord(tx_, decision_, *rules_, &r));
  EXPECT_EQ(r.transaction().transaction_id(), "T1");
  ASSERT_EQ(r.reports_size(), 1);
  EXPECT_EQ(r.reports(0), "LARGE_VALUE_CASH");
  ASSERT_EQ(r.hits_size(), 1);  // only the hit that asked for the report
  EXPECT_EQ(r.hits(0).rule_id(), "CN-AML-01");
  EXPECT_EQ(r.base_currency(), "CNY");
  EXPECT_EQ(r.amount_base_minor(), 6000000);
  EXPECT_EQ(r.amount_usd_minor(), 845070);  // at the pack's 7.1000 CNY/USD
  tx_.set_currency("USD");
  tx_.set_amount_minor(1000000);  // 10,000.00 USD
  ASSERT_TRUE(BuildReportRecord(tx_, decision_, *rules_, &r));
  EXPECT_EQ(r.amount_base_minor(), 7100000);
  EXPECT_EQ(r.amount_usd_minor(), 1000000);
}

TEST_F(ReportRecordTest, NoneForBlockedDuplicateRejectedOrUnreported) {
  v1::ReportRecord r;
  decision_.set_verdict(v1::VERDICT_BLOCK);
  EXPECT_FALSE(BuildReportRecord(tx_, decision_, *rules_, &r));
  decision_.set_verdict(v1::VERDICT_REJECTED_INPUT);
  EXPECT_FALSE(BuildReportRecord(tx_, decision_, *rules_, &r));
  decision_.set_verdict(v1::VERDICT_INTERCEPT);  // held: reported, with it
  ASSERT_TRUE(BuildReportRecord(tx_, decision_, *rules_, &r));
  EXPECT_EQ(r.verdict(), v1::VERDICT_INTERCEPT);
  decision_.set_duplicate(true);
  EXPECT_FALSE(BuildReportRecord(tx_, decision_, *rules_, &r));
  decision_.set_duplicate(false);
  decision_.clear_reports();
  EXPECT_FALSE(BuildReportRecord(tx_, decision_, *rules_, &r));
}

}  // namespace
}  // namespace txscreen::engine
