#include "engine/report_record.h"

#include <string>

#include "engine/clock.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

// 1,000,000.00 USD: the reference amount for the base -> USD rate, large
// enough that the rate keeps every digit of the pack's 4-decimal rates.
constexpr int64_t kUsdReferenceMinor = 100'000'000;

}  // namespace

bool BuildReportRecord(const v1::Transaction& tx, const v1::Decision& decision,
                       const rules::RuleSet& rules, v1::ReportRecord* record) {
  record->Clear();
  if (decision.reports_size() == 0 || decision.duplicate()) return false;
  // A blocked transaction did not happen (and a rejected one was not
  // screened): nothing to report.
  if (decision.verdict() == v1::VERDICT_BLOCK ||
      decision.verdict() == v1::VERDICT_REJECTED_INPUT) {
    return false;
  }
  *record->mutable_transaction() = tx;
  record->mutable_reports()->CopyFrom(decision.reports());
  for (const v1::RuleHit& hit : decision.hits()) {
    if (hit.reports_size() > 0) *record->add_hits() = hit;
  }
  record->set_ruleset_version(decision.ruleset_version());
  *record->mutable_decided_at() = decision.decided_at();
  record->set_verdict(decision.verdict());
  const rules::FxTable& fx = rules.fx();
  record->set_base_currency(fx.base_currency());
  absl::StatusOr<int64_t> base = fx.ToBase(tx.amount_minor(), tx.currency());
  if (!base.ok()) return true;
  record->set_amount_base_minor(*base);
  if (tx.currency() == "USD") {
    record->set_amount_usd_minor(tx.amount_minor());
    return true;
  }
  absl::StatusOr<int64_t> usd_in_base = fx.ToBase(kUsdReferenceMinor, "USD");
  if (usd_in_base.ok() && *usd_in_base > 0) {
    // base * reference / usd_in_base, rounded half away from zero.
    const __int128 n = static_cast<__int128>(*base) * kUsdReferenceMinor;
    const __int128 d = *usd_in_base;
    __int128 q = n / d;
    const __int128 r = n % d;
    if (2 * (r < 0 ? -r : r) >= d) q += n < 0 ? -1 : 1;
    record->set_amount_usd_minor(static_cast<int64_t>(q));
  }
  return true;
}

void BuildRetractionRecord(absl::string_view transaction_id,
                           absl::string_view customer_id,
                           int64_t occurred_at_us, absl::string_view cause,
                           absl::string_view by_transaction_id,
                           int64_t decided_at_us, v1::ReportRecord* record) {
  record->Clear();
  v1::Retraction* r = record->mutable_retraction();
  r->set_transaction_id(std::string(transaction_id));
  r->set_customer_id(std::string(customer_id));
  SetTimestampMicros(occurred_at_us, r->mutable_occurred_at());
  r->set_cause(std::string(cause));
  r->set_by_transaction_id(std::string(by_transaction_id));
  SetTimestampMicros(decided_at_us, record->mutable_decided_at());
}

}  // namespace txscreen::engine
