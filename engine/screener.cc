#include "engine/screener.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "rules/stable_hash.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

absl::string_view EntityId(v1::Entity kind, const v1::Transaction& tx) {
  switch (kind) {
    case v1::ENTITY_CUSTOMER:
      return tx.customer_id();
    case v1::ENTITY_ACCOUNT:
      return tx.account_id();
    case v1::ENTITY_COUNTERPARTY_ACCOUNT:
      return tx.counterparty().account_id();
    case v1::ENTITY_DEVICE:
      return tx.device_id();
    default:
      return {};
  }
}

std::string Rfc3339(int64_t us) {
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

// "7 days", or the duration as absl writes it.
std::string RetentionText(int64_t us) {
  constexpr int64_t kDay = 86400LL * 1000000;
  if (us > 0 && us % kDay == 0) {
    return absl::StrCat(us / kDay, us == kDay ? " day" : " days");
  }
  return absl::FormatDuration(absl::Microseconds(us));
}

// Great-circle distance in km (haversine, mean Earth radius).
double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRadians = M_PI / 180.0;
  double dlat = (lat2 - lat1) * kRadians, dlon = (lon2 - lon1) * kRadians;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1 * kRadians) * std::cos(lat2 * kRadians) *
                 std::sin(dlon / 2) * std::sin(dlon / 2);
  return 6371.0 * 2 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

// decision->Clear(), except that the three times every decision sets again
// (Finish) keep their storage: Clear() would delete them, and Finish would
// allocate them anew for every transaction.
void ClearDecision(v1::Decision* d) {
  google::protobuf::Timestamp* decided =
      d->has_decided_at() ? d->unsafe_arena_release_decided_at() : nullptr;
  google::protobuf::Timestamp* deadline =
      d->has_deadline() ? d->unsafe_arena_release_deadline() : nullptr;
  google::protobuf::Duration* latency =
      d->has_engine_latency() ? d->unsafe_arena_release_engine_latency()
                              : nullptr;
  d->Clear();
  if (decided != nullptr) {
    decided->Clear();
    d->unsafe_arena_set_allocated_decided_at(decided);
  }
  if (deadline != nullptr) {
    deadline->Clear();
    d->unsafe_arena_set_allocated_deadline(deadline);
  }
  if (latency != nullptr) {
    latency->Clear();
    d->unsafe_arena_set_allocated_engine_latency(latency);
  }
}

}  // namespace

Screener::Screener(std::shared_ptr<const rules::RuleSet> rules,
                   PartitionState* state, Clock* clock, ScreenerOptions options)
    : rules_(std::move(rules)),
      state_(state),
      clock_(clock),
      options_(options),
      buckets_(rules_->time_zone()) {
  slots_.resize(rules_->windows().size());
  ctx_.window_values = &window_values_;
}

void Screener::SetRules(std::shared_ptr<const rules::RuleSet> rules) {
  rules_ = std::move(rules);
  buckets_ = BucketClock(rules_->time_zone());
  ctx_.local_minute = rules::LocalMinute();  // the zone may differ
  slots_.assign(rules_->windows().size(), WindowSlot());
}

void Screener::Finish(const v1::Transaction& tx, int64_t started_us,
                      v1::Decision* decision) {
  int channel = tx.channel();
  int64_t budget = channel >= 0 && channel < rules::kChannelCount &&
                           options_.channel_budget_us[channel] > 0
                       ? options_.channel_budget_us[channel]
                       : options_.default_budget_us;
  int64_t occurred =
      tx.has_occurred_at() ? TimestampMicros(tx.occurred_at()) : started_us;
  int64_t now = clock_->NowMicros();
  SetTimestampMicros(occurred + budget, decision->mutable_deadline());
  SetTimestampMicros(now, decision->mutable_decided_at());
  if (options_.mark_late && now > occurred + budget) {
    decision->set_late(true);
    ++counters_.late;
  }
  int64_t spent = std::max<int64_t>(0, now - started_us);
  decision->mutable_engine_latency()->set_seconds(spent / 1000000);
  decision->mutable_engine_latency()->set_nanos(
      static_cast<int32_t>(spent % 1000000 * 1000));
  if (decision->ruleset_version().empty()) {
    decision->set_ruleset_version(rules_->version());
  }
}

void Screener::FailSafe(const v1::Transaction& tx, v1::Verdict verdict,
                        absl::string_view why, int64_t started_us,
                        v1::Decision* decision) {
  decision->Clear();
  decision->set_transaction_id(tx.transaction_id());
  decision->set_customer_id(tx.customer_id());
  decision->set_channel(tx.channel());
  decision->set_verdict(verdict);
  decision->add_notes(absl::StrCat(
      "fail-safe verdict of the channel: the engine could not complete "
      "screening (",
      why, ")"));
  Finish(tx, started_us, decision);
}

bool Screener::FirstDecisionOf(const v1::Transaction& tx,
                               v1::Decision* decision) {
  if (tx.transaction_id().empty() || tx.customer_id().empty()) return false;
  // Should the store fail here, the caller's rejection stands: nothing was
  // decided on it.
  absl::StatusOr<const TransactionRecordProto*> first =
      state_->FindRecord(tx.customer_id(), tx.transaction_id());
  state_->EndTransaction();
  if (first.ok() && *first != nullptr &&
      (*first)->transaction_id() == tx.transaction_id() &&
      decision->ParseFromString((*first)->decision())) {
    decision->set_duplicate(true);
    ++counters_.duplicates;
    return true;
  }
  ClearDecision(decision);
  return false;
}

bool Screener::RejectUndecodable(const v1::Transaction& tx,
                                 absl::string_view why,
                                 v1::Decision* decision) {
  if (tx.transaction_id().empty() || tx.customer_id().empty()) return false;
  const int64_t started = clock_->NowMicros();
  ClearDecision(decision);
  // A resend of a transaction already decided (a newer producer adding a
  // field to a retry) gets the first decision, as any duplicate does, not
  // a conflicting rejection.
  if (FirstDecisionOf(tx, decision)) return true;
  decision->set_transaction_id(tx.transaction_id());
  decision->set_customer_id(tx.customer_id());
  decision->set_channel(tx.channel());
  decision->set_verdict(v1::VERDICT_REJECTED_INPUT);
  decision->add_input_errors(std::string(why));
  errors_.clear();
  ValidateTransaction(tx, started, &errors_, options_.validation);
  for (std::string& e : errors_) decision->add_input_errors(std::move(e));
  ++counters_.rejected;
  Finish(tx, started, decision);
  return true;
}

absl::Status Screener::Screen(const v1::Transaction& tx,
                              v1::Decision* decision) {
  const int64_t started = clock_->NowMicros();
  now_us_ = started;
  has_retracted_ = false;
  ClearDecision(decision);
  decision->set_transaction_id(tx.transaction_id());
  decision->set_customer_id(tx.customer_id());
  decision->set_channel(tx.channel());
  errors_.clear();
  absl::Status facts = absl::OkStatus();
  if (ValidateTransaction(tx, started, &errors_, options_.validation)) {
    facts = rules_->PrepareTransactionFacts(tx, &ctx_);
    if (!facts.ok())
      errors_.push_back(absl::StrCat("currency: ", facts.message()));
  }
  if (!errors_.empty()) {
    // A resend of a transaction already decided, now invalid (an FX rate
    // or currency removed by a reload since), gets the first decision.
    if (FirstDecisionOf(tx, decision)) return absl::OkStatus();
    decision->set_transaction_id(tx.transaction_id());
    decision->set_customer_id(tx.customer_id());
    decision->set_channel(tx.channel());
    // Rejected input never happened: no state changes, and a corrected
    // resend with the same id is screened afresh.
    decision->set_verdict(v1::VERDICT_REJECTED_INPUT);
    for (std::string& e : errors_) decision->add_input_errors(std::move(e));
    ++counters_.rejected;
    Finish(tx, started, decision);
    return absl::OkStatus();
  }
  absl::StatusOr<CustomerHistory*> history = state_->History(tx.customer_id());
  if (!history.ok()) return history.status();
  const uint64_t id_hash = StableTextHash(tx.transaction_id());
  bool reversed_before_arrival = false;
  if (auto seen = (*history)->seen.find(id_hash);
      seen != (*history)->seen.end()) {
    if (seen->second.reversed_before_arrival()) {
      reversed_before_arrival = true;
    } else {
      const SeenTransaction first = seen->second;
      absl::StatusOr<const TransactionRecordProto*> record = state_->FindRecord(
          tx.customer_id(), tx.transaction_id(), seen->second);
      if (!record.ok()) return record.status();
      if (*record == nullptr) {
        // Seen, and its record gone with its day: a duplicate all the same,
        // which must not count twice.
        return AnswerForgotten(tx, &first, started, decision);
      }
      if ((*record)->transaction_id() == tx.transaction_id()) {
        if (!decision->ParseFromString((*record)->decision())) {
          return absl::DataLossError(absl::StrCat("state: stored decision of '",
                                                  tx.transaction_id(),
                                                  "' does not parse"));
        }
        decision->set_duplicate(true);
        ++counters_.duplicates;
        state_->EndTransaction();
        return absl::OkStatus();
      }
      // Another transaction with the same 64-bit id hash: this one is new.
    }
  } else if (ctx_.occurred_at_us < state_->DedupeHorizon(**history)) {
    return AnswerForgotten(tx, nullptr, started, decision);
  }
  // Cheap unless an entry is due (PartitionState::Expire).
  state_->Expire(*history, ctx_.occurred_at_us);
  contributions_.clear();
  if (tx.type() == v1::TRANSACTION_TYPE_REVERSAL) {
    if (absl::Status s = Reverse(tx, *history, decision); !s.ok()) return s;
    ++counters_.reversals;
    decision->set_verdict(v1::VERDICT_ALLOW);
  } else {
    HistoryFacts(tx, **history);
    if (absl::Status s = Windows(tx); !s.ok()) return s;
    rules_->Evaluate(&ctx_, decision);
    counters_.division_by_zero += ctx_.division_by_zero;
    // A blocked transaction did not happen: its rules saw it in the
    // windows, but it leaves no contribution behind; nor does one whose
    // reversal came first.
    if (decision->verdict() != v1::VERDICT_BLOCK && !reversed_before_arrival) {
      ApplyWindows();
    }
    pending_.clear();
  }
  if (reversed_before_arrival) {
    decision->add_notes(absl::StrCat(
        "reversed before it arrived: ", tx.transaction_id(),
        " counts in no window, and its payee does not become known"));
    retracted_.transaction_id = tx.transaction_id();
    retracted_.occurred_at_us = ctx_.occurred_at_us;
    retracted_.by_transaction_id.clear();
    retracted_.cause = "REVERSED_BEFORE_ARRIVAL";
    has_retracted_ = true;
  } else {
    UpdateHistory(tx, decision->verdict(), *history);
  }
  Finish(tx, started, decision);
  state_->PutRecord(
      *history,
      ScreenedRecord{.transaction_id = tx.transaction_id(),
                     .customer_id = tx.customer_id(),
                     .occurred_at_us = ctx_.occurred_at_us,
                     .account_id = tx.account_id(),
                     .counterparty_account_id = tx.counterparty().account_id(),
                     .device_id = tx.device_id(),
                     .contributions = contributions_,
                     .reversed = reversed_before_arrival},
      *decision);
  state_->EndTransaction();
  ++counters_.screened;
  return absl::OkStatus();
}

absl::Status Screener::AnswerForgotten(const v1::Transaction& tx,
                                       const SeenTransaction* first,
                                       int64_t started_us,
                                       v1::Decision* decision) {
  // Nothing changes: neither counted again nor remembered.
  state_->EndTransaction();
  const std::string retention =
      RetentionText(state_->options().dedupe_retention_us);
  decision->set_verdict(v1::VERDICT_REJECTED_INPUT);
  if (first != nullptr) {
    decision->set_duplicate(true);
    ++counters_.duplicates;
    decision->add_input_errors(absl::StrCat(
        "transaction_id: '", tx.transaction_id(),
        "' was screened before (occurred_at ", Rfc3339(first->at_us),
        "); its decision is past the dedupe retention of ", retention,
        " and no longer kept, and it is not screened twice"));
  } else {
    ++counters_.rejected;
    ++counters_.too_old;
    decision->add_input_errors(absl::StrCat(
        "occurred_at: ", Rfc3339(ctx_.occurred_at_us),
        " is more than the dedupe retention of ", retention,
        " before a later transaction of customer '", tx.customer_id(),
        "': whether it was screened already can no longer be told, and "
        "screening it again could count it twice"));
  }
  Finish(tx, started_us, decision);
  return absl::OkStatus();
}

absl::Status Screener::Reverse(const v1::Transaction& tx,
                               CustomerHistory* history,
                               v1::Decision* decision) {
  const std::string& original_id = tx.reverses_transaction_id();
  const uint64_t original_hash = StableTextHash(original_id);
  const TransactionRecordProto* found = nullptr;
  if (auto seen = history->seen.find(original_hash);
      seen != history->seen.end()) {
    if (seen->second.reversed_before_arrival()) {
      decision->add_notes(
          absl::StrCat("reversal of ", original_id,
                       ": already reversed (before the transaction arrived)"));
      return absl::OkStatus();
    }
    absl::StatusOr<const TransactionRecordProto*> record =
        state_->FindRecord(tx.customer_id(), original_id, seen->second);
    if (!record.ok()) return record.status();
    if (*record != nullptr && (*record)->transaction_id() == original_id) {
      found = *record;
    } else if (*record == nullptr) {
      decision->add_notes(absl::StrCat(
          "reversal of ", original_id,
          ": its record is past the dedupe retention; nothing retracted"));
      return absl::OkStatus();
    }
  }
  if (found == nullptr && history->seen.contains(original_hash)) {
    // Another transaction with the same 64-bit id hash: its entry stays.
    decision->add_notes(absl::StrCat("reversal of ", original_id,
                                     ": no such transaction of this customer; "
                                     "nothing retracted"));
    return absl::OkStatus();
  }
  if (found == nullptr) {
    // The original has not come (yet): remembered, so that when it does it
    // is screened but counts nowhere.
    state_->SeeReversedBeforeArrival(history, original_hash,
                                     ctx_.occurred_at_us);
    decision->add_notes(absl::StrCat(
        "reversal of ", original_id,
        ": no such transaction of this customer yet; should it arrive "
        "within the dedupe retention, it will count in no window"));
    return absl::OkStatus();
  }
  if (found->reversed()) {
    decision->add_notes(
        absl::StrCat("reversal of ", original_id, ": already reversed"));
    return absl::OkStatus();
  }
  TransactionRecordProto original = *found;
  absl::StatusOr<int> retracted = Retract(original);
  if (!retracted.ok()) return retracted.status();
  original.set_reversed(true);
  if (absl::Status s = state_->PutRecord(original); !s.ok()) return s;
  retracted_.transaction_id = original_id;
  retracted_.occurred_at_us = original.occurred_at_us();
  retracted_.by_transaction_id = tx.transaction_id();
  retracted_.cause = "REVERSAL";
  has_retracted_ = true;
  decision->add_notes(absl::StrCat("reversal of ", original_id, ": retracted ",
                                   *retracted, " window contribution",
                                   *retracted == 1 ? "" : "s"));
  return absl::OkStatus();
}

absl::Status Screener::Settle(absl::string_view customer_id,
                              absl::string_view transaction_id,
                              int64_t occurred_at_us, bool happened,
                              std::string* note) {
  absl::StatusOr<const TransactionRecordProto*> found =
      state_->FindRecord(customer_id, transaction_id);
  if (!found.ok()) return found.status();
  if (*found == nullptr || (*found)->transaction_id() != transaction_id) {
    *note = absl::StrCat("no record of ", transaction_id,
                         " within the dedupe retention; windows unchanged");
    return absl::OkStatus();
  }
  TransactionRecordProto record = **found;
  if (happened && record.reversed()) {
    // Reversed before it arrived (or since): released, it still did not
    // happen, and its payee does not become known.
    *note = "released, but reversed: windows and payees unchanged";
    return absl::OkStatus();
  }
  if (happened) {
    absl::StatusOr<CustomerHistory*> history = state_->History(customer_id);
    if (!history.ok()) return history.status();
    if (!record.counterparty_account_id().empty()) {
      state_->Pay(*history, StableTextHash(record.counterparty_account_id()),
                  occurred_at_us);
    }
    *note = "released: the transaction stands";
    return absl::OkStatus();
  }
  if (record.reversed()) {
    *note = "already retracted (reversed)";
    return absl::OkStatus();
  }
  absl::StatusOr<int> retracted = Retract(record);
  if (!retracted.ok()) return retracted.status();
  record.set_reversed(true);
  if (absl::Status s = state_->PutRecord(record); !s.ok()) return s;
  *note = absl::StrCat("did not happen: retracted ", *retracted,
                       " window contribution", *retracted == 1 ? "" : "s");
  return absl::OkStatus();
}

const rules::WindowDef* Screener::WindowDefOf(uint64_t fingerprint) const {
  for (const rules::WindowDef& def : rules_->windows()) {
    if (def.fingerprint == fingerprint) return &def;
  }
  return nullptr;
}

namespace {

// The first bucket a window keeps when a transaction adds to `bucket` and
// the clock's present is in `present`. Keep the previous calendar bucket
// for late arrivals. A sliding window keeps one more span, so that a
// transaction up to a span late still finds the whole window it belongs
// to, and never drops what the clock's present needs: a transaction dated
// ahead (up to a day is accepted) emptied the current 24 h of a customer's
// windows.
int64_t KeptFrom(const rules::WindowDef& def, int64_t bucket, int64_t present) {
  if (def.span != rules::WindowDef::Span::kSliding) return bucket - 1;
  return std::min(bucket, present) - 2 * def.lookback_buckets;
}

}  // namespace

int64_t Screener::EvictBefore(const rules::WindowDef& def, int64_t bucket) {
  if (def.span != rules::WindowDef::Span::kSliding) return bucket - 1;
  return KeptFrom(def, bucket, buckets_.Bucket(def, now_us_));
}

absl::StatusOr<int64_t> Screener::SweepIdle(size_t max_keys) {
  return state_->SweepIdle(
      [this](uint64_t fingerprint, int64_t at_us) -> int64_t {
        const rules::WindowDef* def = WindowDefOf(fingerprint);
        if (def == nullptr) return std::numeric_limits<int64_t>::max();
        // What a transaction at `at_us` keeps, the clock there too.
        const int64_t bucket = buckets_.Bucket(*def, at_us);
        return KeptFrom(*def, bucket, bucket);
      },
      max_keys);
}

absl::StatusOr<int> Screener::Retract(const TransactionRecordProto& record) {
  int retracted = 0;
  const int n = record.contribution_fingerprint_size();
  if (record.contribution_entity_size() != n ||
      record.contribution_bucket_size() != n ||
      record.contribution_value_size() != n ||
      record.contribution_key_size() != n) {
    return absl::DataLossError(absl::StrCat(
        "state: contributions of '", record.transaction_id(), "' are damaged"));
  }
  retract_entities_.assign(static_cast<size_t>(n), nullptr);
  for (int i = 0; i < n; ++i) {
    const auto kind = static_cast<v1::Entity>(record.contribution_entity(i));
    absl::string_view id;
    switch (kind) {
      case v1::ENTITY_CUSTOMER:
        id = record.customer_id();
        break;
      case v1::ENTITY_ACCOUNT:
        id = record.account_id();
        break;
      case v1::ENTITY_COUNTERPARTY_ACCOUNT:
        id = record.counterparty_account_id();
        break;
      case v1::ENTITY_DEVICE:
        id = record.device_id();
        break;
      default:
        continue;
    }
    absl::StatusOr<EntityWindows*> entity = state_->FindWindows(kind, id);
    if (!entity.ok()) return entity.status();
    retract_entities_[i] = *entity;
  }
  // Every entity is in memory before the first change: a store failure
  // above leaves all of them as they were (the transaction is tried again
  // and must not take anything back twice).
  for (int i = 0; i < n; ++i) {
    EntityWindows* entity = retract_entities_[i];
    if (entity == nullptr) continue;
    WindowState* w = entity->Find(record.contribution_fingerprint(i));
    if (w == nullptr) continue;
    // A bucket the window may have evicted since (below what an addition
    // to its newest bucket keeps) is not the original's any more: a late
    // transaction may have made it anew.
    if (const rules::WindowDef* def =
            WindowDefOf(record.contribution_fingerprint(i));
        def != nullptr &&
        w->newest_bucket() != std::numeric_limits<int64_t>::min() &&
        record.contribution_bucket(i) < EvictBefore(*def, w->newest_bucket())) {
      continue;
    }
    if (w->Retract(record.contribution_bucket(i), record.contribution_value(i),
                   record.contribution_key(i))) {
      entity->dirty = true;
      ++retracted;
    }
  }
  return retracted;
}

void Screener::HistoryFacts(const v1::Transaction& tx,
                            const CustomerHistory& history) {
  rules::HistoryFacts& h = ctx_.history;
  h = rules::HistoryFacts();
  if (history.has_previous) {
    h.has_previous = true;
    h.since_previous_us =
        std::max<int64_t>(0, ctx_.occurred_at_us - history.last_at_us);
    h.previous_region_code = history.last_region_code;
    if (history.has_geo && tx.has_geo()) {
      double km = DistanceKm(history.last_lat, history.last_lon, tx.geo().lat(),
                             tx.geo().lon());
      h.distance_known = true;
      h.distance_km = static_cast<int64_t>(km);
      // Same instant, different place: as fast as it gets. A transaction
      // that arrives after a later one is that far from it in time too
      // (since_previous_us, clamped at 0 for dormancy, would make it
      // millions of km/h).
      const int64_t apart_us = ctx_.occurred_at_us > history.last_at_us
                                   ? ctx_.occurred_at_us - history.last_at_us
                                   : history.last_at_us - ctx_.occurred_at_us;
      double hours =
          std::max<double>(static_cast<double>(apart_us), 1e6) / 3.6e9;
      h.speed_kmh = static_cast<int64_t>(std::min(km / hours, 1e9));
    }
  }
  if (tx.direction() == v1::DIRECTION_OUT &&
      !tx.counterparty().account_id().empty()) {
    auto paid =
        history.payees.find(StableTextHash(tx.counterparty().account_id()));
    h.first_payment_to_counterparty = paid == history.payees.end();
    if (!h.first_payment_to_counterparty &&
        paid->second.first_us != PaidPayee::kUnknown) {
      h.counterparty_known = true;
      h.counterparty_known_for_us =
          std::max<int64_t>(0, ctx_.occurred_at_us - paid->second.first_us);
    }
  }
}

absl::Status Screener::Windows(const v1::Transaction& tx) {
  const auto& defs = rules_->windows();
  pending_.clear();
  // Each entity is looked up once per transaction, not once per window.
  std::array<EntityWindows*, 5> entities{};
  std::array<bool, 5> looked_up{};
  auto entity_of = [&](v1::Entity kind, absl::string_view id,
                       bool create) -> absl::StatusOr<EntityWindows*> {
    const int k = static_cast<int>(kind);
    if (looked_up[k] && (entities[k] != nullptr || !create)) return entities[k];
    absl::StatusOr<EntityWindows*> e =
        create ? state_->Windows(kind, id) : state_->FindWindows(kind, id);
    if (!e.ok()) return e.status();
    looked_up[k] = true;
    entities[k] = *e;
    return *e;
  };
  // Every filter is evaluated (it decides what the transaction adds); the
  // values wait until a rule reads them (WindowValue).
  for (size_t i = 0; i < defs.size(); ++i) {
    const rules::WindowDef& def = defs[i];
    WindowSlot& slot = slots_[i];
    slot = WindowSlot();
    absl::string_view id = EntityId(def.group_by, tx);
    if (id.empty()) {
      slot.has_value = true;  // 0: nothing to group by
      continue;
    }
    const bool include = def.filter == nullptr || def.filter->EvalBool(ctx_);
    absl::StatusOr<EntityWindows*> entity =
        entity_of(def.group_by, id, include);
    if (!entity.ok()) return entity.status();
    slot.entity = *entity;
    if (!include) continue;
    slot.include = true;
    slot.window = (*entity)->IndexOrAdd(def.fingerprint);
    slot.bucket = buckets_.Bucket(def, ctx_.occurred_at_us);
    if (def.aggregate == v1::AGGREGATE_DISTINCT) {
      absl::string_view text = def.of->EvalString(ctx_);
      slot.add_key = text.empty() ? 0 : StableTextHash(text);
    } else if (def.of != nullptr) {
      slot.add_value = def.of->EvalInt(ctx_);
    }
    // The rules see the window with this transaction; state changes only
    // once the decision lets it stand (see ApplyWindows).
    if (def.aggregate != v1::AGGREGATE_DISTINCT || slot.add_key != 0) {
      pending_.push_back(PendingAdd{
          *entity, slot.window, slot.bucket, slot.add_value, slot.add_key,
          EvictBefore(def, slot.bucket), def.group_by});
    }
  }
  return absl::OkStatus();
}

int64_t Screener::WindowValue(int index) {
  WindowSlot& slot = slots_[index];
  if (slot.has_value) return slot.value;
  slot.has_value = true;
  if (slot.entity == nullptr) return slot.value = 0;
  const rules::WindowDef& def = rules_->windows()[index];
  if (slot.include) {
    const int64_t first = BucketClock::FirstBucket(def, slot.bucket);
    return slot.value = slot.entity->windows[slot.window].second.ValueWith(
               def.aggregate, first, slot.bucket, slot.add_value, slot.add_key);
  }
  const WindowState* w = slot.entity->Find(def.fingerprint);
  if (w == nullptr) return slot.value = 0;
  const int64_t bucket = buckets_.Bucket(def, ctx_.occurred_at_us);
  return slot.value = w->Value(def.aggregate,
                               BucketClock::FirstBucket(def, bucket), bucket);
}

void Screener::ApplyWindows() {
  for (const PendingAdd& add : pending_) {
    auto& [fingerprint, w] = add.entity->windows[add.window];
    w.Add(add.bucket, add.value, add.key);
    w.EvictBefore(add.evict_before);
    add.entity->dirty = true;
    contributions_.push_back(WindowContribution{
        fingerprint, add.kind, add.bucket, add.value, add.key});
  }
  pending_.clear();
}

void Screener::UpdateHistory(const v1::Transaction& tx, v1::Verdict verdict,
                             CustomerHistory* history) {
  // The transaction itself is remembered with its record (PutRecord).
  const int64_t t = ctx_.occurred_at_us;
  // Only money that moves makes history: a blocked transaction did not
  // happen, and a held one (INTERCEPT, DELAY, WARN) has not happened yet, so
  // its payee must not become "known" — a coached victim retrying on another
  // channel still meets the first-payment checks.
  if (tx.type() == v1::TRANSACTION_TYPE_REVERSAL ||
      (verdict != v1::VERDICT_ALLOW && verdict != v1::VERDICT_REVIEW)) {
    return;
  }
  if (!history->has_previous || t >= history->last_at_us) {
    history->has_previous = true;
    history->last_at_us = t;
    history->last_region_code = tx.region_code();
    history->has_geo = tx.has_geo();
    history->last_lat = tx.geo().lat();
    history->last_lon = tx.geo().lon();
  }
  if (tx.direction() == v1::DIRECTION_OUT &&
      !tx.counterparty().account_id().empty()) {
    state_->Pay(history, StableTextHash(tx.counterparty().account_id()), t);
  }
}

}  // namespace txscreen::engine
