#include "fuzz/screening_harness.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "engine/state_store.h"
#include "engine/transaction_codec.h"
#include "fuzz/fuzz_support.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace txscreen::fuzz {

namespace v1 = ::txscreen::v1;

namespace {

// Dedupe records older than this before the newest event are dropped at
// flush (PartitionStateOptions::dedupe_retention_us, 7 days); the restart
// check looks only at transactions well inside it.
constexpr int64_t kRestartCheckWindowUs = 6LL * 86400 * 1000000;

void CheckDecision(const v1::Transaction& tx, const v1::Decision& d) {
  if (d.transaction_id() != tx.transaction_id()) {
    Fail("decision for '" + d.transaction_id() + "' answers '" +
         tx.transaction_id() + "'");
  }
  if (d.customer_id() != tx.customer_id()) {
    Fail("decision for '" + tx.transaction_id() + "' of customer '" +
         tx.customer_id() + "' names customer '" + d.customer_id() + "'");
  }
  if (d.verdict() == v1::VERDICT_UNSPECIFIED)
    Fail("decision without a verdict");
  if ((d.verdict() == v1::VERDICT_REJECTED_INPUT) !=
      (d.input_errors_size() > 0)) {
    Fail(absl::StrCat("verdict ", v1::Verdict_Name(d.verdict()), " with ",
                      d.input_errors_size(), " input errors"));
  }
  std::string json;
  if (absl::Status s = engine::EncodeDecisionJson(d, &json); !s.ok()) {
    Fail(absl::StrCat("decision does not encode: ", s.message()));
  }
}

void CheckJsonMapping(const v1::Transaction& tx) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(tx, &json, options).ok()) {
    Fail("a valid transaction does not print as JSON: " +
         tx.ShortDebugString());
  }
  v1::Transaction back;
  if (absl::Status s = engine::DecodeTransactionJson(json, &back); !s.ok()) {
    Fail(absl::StrCat("a valid transaction's JSON does not decode: ",
                      s.message(), "\n", json));
  }
  v1::Transaction known = tx;
  known.DiscardUnknownFields();
  if (!google::protobuf::util::MessageDifferencer::Equals(known, back)) {
    Fail("JSON round trip changed a valid transaction:\n" +
         known.ShortDebugString() + "\n" + back.ShortDebugString());
  }
}

}  // namespace

void ScreenAndCheck(const std::vector<v1::Transaction>& transactions) {
  const auto& rules = ShippedRuleSet();
  std::unique_ptr<engine::StateStore> store = engine::NewMemoryStateStore();
  engine::ManualClock clock(kFuzzNowMicros);
  std::vector<std::pair<const v1::Transaction*, v1::Verdict>> accepted;
  int64_t newest_us = 0;
  {
    engine::PartitionState state(store.get(), 0);
    engine::Screener screener(rules, &state, &clock);
    v1::Decision decision;
    for (const v1::Transaction& tx : transactions) {
      if (absl::Status s = screener.Screen(tx, &decision); !s.ok()) {
        Fail(absl::StrCat("Screen failed on a memory store: ", s.message()));
      }
      CheckDecision(tx, decision);
      if (decision.verdict() == v1::VERDICT_REJECTED_INPUT) continue;
      CheckJsonMapping(tx);
      if (!decision.duplicate()) accepted.emplace_back(&tx, decision.verdict());
      const int64_t at = tx.occurred_at().seconds() * 1000000;
      if (at > newest_us) newest_us = at;
    }
    if (absl::Status s = state.Flush("fuzz:1"); !s.ok()) {
      Fail(absl::StrCat("Flush failed on a memory store: ", s.message()));
    }
  }
  // Restart on the same store: every accepted transaction is a duplicate.
  engine::PartitionState state(store.get(), 0);
  engine::Screener screener(rules, &state, &clock);
  v1::Decision decision;
  for (const auto& [tx, verdict] : accepted) {
    if (tx->occurred_at().seconds() * 1000000 <
        newest_us - kRestartCheckWindowUs) {
      continue;
    }
    if (absl::Status s = screener.Screen(*tx, &decision); !s.ok()) {
      Fail(absl::StrCat("Screen failed after a restart: ", s.message()));
    }
    if (!decision.duplicate() || decision.verdict() != verdict) {
      Fail(absl::StrCat("after a restart, '", tx->transaction_id(),
                        "' was not answered as a duplicate with verdict ",
                        v1::Verdict_Name(verdict), ": got ",
                        v1::Verdict_Name(decision.verdict()),
                        " duplicate=", decision.duplicate()));
    }
  }
}

}  // namespace txscreen::fuzz
