// File: report_record.h
//
// The ReportRecord (proto/txscreen/v1/report.proto) of a decision that
// names regulatory report kinds: the transaction, the report kinds and the
// hits that asked for them, and the amount in the pack's base currency and
// in USD at decision time. Built by the streaming service (for
// `txscreen.reports`) and by `txscreen screen --reports`.
//
// Thread safety: stateless.
#ifndef TXSCREEN_ENGINE_REPORT_RECORD_H_
#define TXSCREEN_ENGINE_REPORT_RECORD_H_

#include "rules/rule_set.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/report.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {

// Fills *record (cleared first) and returns true when `decision` names a
// report kind, is not a duplicate's answer (the first decision's record was
// made already) and lets the transaction stand or wait (not BLOCK); false
// otherwise. A held transaction (INTERCEPT, DELAY) is recorded with its
// verdict, which the report shows.
bool BuildReportRecord(const txscreen::v1::Transaction& tx,
                       const txscreen::v1::Decision& decision,
                       const rules::RuleSet& rules,
                       txscreen::v1::ReportRecord* record);

// Fills *record (cleared first) with a retraction: transaction
// `transaction_id` of `customer_id`, which occurred at `occurred_at_us`,
// did not happen after all (`cause`: "REVERSAL", with the reversal's id in
// `by_transaction_id`, or a hold's outcome).
void BuildRetractionRecord(absl::string_view transaction_id,
                           absl::string_view customer_id,
                           int64_t occurred_at_us, absl::string_view cause,
                           absl::string_view by_transaction_id,
                           int64_t decided_at_us,
                           txscreen::v1::ReportRecord* record);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_REPORT_RECORD_H_
