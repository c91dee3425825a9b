// File: state_inspect.h
//
// `txscreen state inspect --customer C`: what the engine knows about one
// customer, read from a state directory (read-only, so it works beside a
// running `serve`): the rule set's windows of the customer and of the
// accounts it used, with their values for a transaction at the inspection
// time; last activity, region and position; known payees; the transactions
// remembered for duplicate detection and reversal, with their verdicts; and
// pending holds. Values are those of the last flush (the service flushes
// at every commit, every 100 ms by default).
//
// Thread safety: none.
#ifndef TXSCREEN_COMPLIANCE_STATE_INSPECT_H_
#define TXSCREEN_COMPLIANCE_STATE_INSPECT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/state_store.h"
#include "rules/rule_set.h"
#include "txscreen/v1/override.pb.h"

namespace txscreen::compliance {

struct CustomerState {
  std::string customer_id;
  int32_t partition = -1;  // where the customer's state is; -1: nowhere
  int64_t as_of_us = 0;    // the time the window values are for
  struct Window {
    std::string name, description;
    std::string entity;  // "customer C1" or "account 6222..."
    int64_t value = 0;
    std::string shown;  // "52,000.00 CNY", "3"
  };
  std::vector<Window> windows;
  bool has_history = false;
  int64_t last_at_us = 0;
  std::string last_region_code;
  bool has_geo = false;
  double last_lat = 0, last_lon = 0;
  struct Payee {
    std::string account_id;  // "" when no remembered transaction names it
    int64_t last_paid_us = 0;
    // engine::PaidPayee::kUnknown when the state predates it.
    int64_t first_paid_us = 0;
  };
  std::vector<Payee> payees;  // most recent first
  struct Recent {
    std::string transaction_id;
    int64_t occurred_at_us = 0;
    std::string verdict;
    std::vector<std::string> rules;
    std::string account_id, counterparty_account_id;
    // Its contributions were taken back: by a reversal, or because its
    // hold ended without a release (hold_outcome then says how).
    bool reversed = false;
    // A held transaction's resolution: "CANCEL", "RELEASE", ...; empty
    // when it was not held or is still pending.
    std::string hold_outcome;
  };
  std::vector<Recent> recent;  // newest first
  // Reversals that came before their original (the event time of each,
  // newest first): the original, when it comes, is decided but counts in
  // no window. The history keeps only the original id's hash.
  std::vector<int64_t> reversed_before_arrival_us;
  std::vector<txscreen::v1::Hold> pending_holds;
};

// Looks the customer up in every partition of `store`. Without `as_of_us`:
// at the customer's latest transaction (or now, when there is none).
absl::StatusOr<CustomerState> InspectCustomer(engine::StateStore* store,
                                              const rules::RuleSet& rules,
                                              const std::string& customer_id,
                                              std::optional<int64_t> as_of_us);

std::string CustomerStateText(const CustomerState& state,
                              const absl::TimeZone& zone);
std::string CustomerStateJson(const CustomerState& state);

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_STATE_INSPECT_H_
