#include "compliance/state_inspect.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/enum_names.h"
#include "engine/holds.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "engine/window.h"
#include "rules/currency.h"
#include "rules/money.h"
#include "serve/json_util.h"
#include "txscreen/v1/decision.pb.h"

namespace txscreen::compliance {

namespace v1 = ::txscreen::v1;

namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

std::string Shown(const rules::RuleSet& rules, const rules::WindowDef& def,
                  int64_t value) {
  if (def.type.base == rules::BaseType::kMoney) {
    const std::string& base = rules.fx().base_currency();
    return rules::FormatMoney(value, base, rules.fx().base_minor_digits());
  }
  return absl::StrCat(value);
}

std::string Time(int64_t us, const absl::TimeZone& zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Ez", absl::FromUnixMicros(us),
                          zone);
}

std::string Str(absl::string_view v) {
  return absl::StrCat("\"", serve::JsonEscape(v), "\"");
}

std::string Rfc3339(int64_t us) {
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<CustomerState> InspectCustomer(engine::StateStore* store,
                                              const rules::RuleSet& rules,
                                              const std::string& customer_id,
                                              std::optional<int64_t> as_of_us) {
  CustomerState out;
  out.customer_id = customer_id;
  // The partitions this state holds: those with a committed input position.
  std::set<int32_t> partitions;
  absl::Status scanned = store->Scan(
      engine::StateFamily::kOffsets, "",
      [&](absl::string_view key, absl::string_view) {
        if (key.size() >= 4) {
          const auto b = [&](int i) {
            return static_cast<uint32_t>(static_cast<uint8_t>(key[i]));
          };
          partitions.insert(
              static_cast<int32_t>(b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3)));
        }
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (partitions.empty()) partitions.insert(0);

  for (int32_t p : partitions) {
    engine::PartitionState state(store, p);
    absl::StatusOr<engine::CustomerHistory*> history =
        state.History(customer_id);
    if (!history.ok()) return history.status();
    absl::StatusOr<engine::EntityWindows*> windows =
        state.FindWindows(v1::ENTITY_CUSTOMER, customer_id);
    if (!windows.ok()) return windows.status();
    const engine::CustomerHistory& h = **history;
    const bool known = h.has_previous || !h.payees.empty() || !h.seen.empty() ||
                       *windows != nullptr;
    if (!known) continue;
    out.partition = p;
    out.has_history = h.has_previous;
    out.last_at_us = h.last_at_us;
    out.last_region_code = h.last_region_code;
    out.has_geo = h.has_geo;
    out.last_lat = h.last_lat;
    out.last_lon = h.last_lon;
    // The customer's latest event time: the last activity, else the latest
    // remembered transaction (one that was held or blocked).
    int64_t latest = h.has_previous ? h.last_at_us : 0;
    for (const auto& [id, seen] : (*history)->seen) {
      latest = std::max(latest, seen.at_us);
      if (seen.reversed_before_arrival()) {
        out.reversed_before_arrival_us.push_back(seen.at_us);
      }
    }
    std::sort(out.reversed_before_arrival_us.begin(),
              out.reversed_before_arrival_us.end(), std::greater<>());
    out.as_of_us = as_of_us.has_value() ? *as_of_us
                   : latest != 0        ? latest
                                        : absl::ToUnixMicros(absl::Now());

    // Remembered transactions (dedupe records) of the retention period.
    std::set<std::string> accounts;
    std::map<uint64_t, std::string> payee_accounts;
    v1::Decision decision;
    absl::Status s = state.ScanRecords(
        customer_id, out.as_of_us - state.options().dedupe_retention_us,
        out.as_of_us + kMicrosPerDay,
        [&](const engine::TransactionRecordProto& r) {
          CustomerState::Recent recent;
          recent.transaction_id = r.transaction_id();
          recent.occurred_at_us = r.occurred_at_us();
          recent.account_id = r.account_id();
          recent.counterparty_account_id = r.counterparty_account_id();
          recent.reversed = r.reversed();
          if (decision.ParseFromString(r.decision())) {
            recent.verdict = engine::ShortEnumName(decision.verdict());
            for (const v1::RuleHit& hit : decision.hits()) {
              recent.rules.push_back(hit.rule_id());
            }
          }
          if (!r.account_id().empty()) accounts.insert(r.account_id());
          if (!r.counterparty_account_id().empty()) {
            payee_accounts[engine::StableTextHash(
                r.counterparty_account_id())] = r.counterparty_account_id();
          }
          out.recent.push_back(std::move(recent));
        });
    if (!s.ok()) return s;
    std::sort(out.recent.begin(), out.recent.end(),
              [](const auto& a, const auto& b) {
                return a.occurred_at_us != b.occurred_at_us
                           ? a.occurred_at_us > b.occurred_at_us
                           : a.transaction_id < b.transaction_id;
              });

    for (const auto& [hash, paid] : (*history)->payees) {
      auto it = payee_accounts.find(hash);
      out.payees.push_back({it == payee_accounts.end() ? "" : it->second,
                            paid.last_us, paid.first_us});
    }
    std::sort(out.payees.begin(), out.payees.end(),
              [](const auto& a, const auto& b) {
                return a.last_paid_us != b.last_paid_us
                           ? a.last_paid_us > b.last_paid_us
                           : a.account_id < b.account_id;
              });

    // Window values for a transaction at as_of (without it).
    engine::BucketClock clock(rules.time_zone());
    std::vector<std::pair<v1::Entity, std::string>> entities = {
        {v1::ENTITY_CUSTOMER, customer_id}};
    for (const std::string& a : accounts)
      entities.emplace_back(v1::ENTITY_ACCOUNT, a);
    for (const auto& [kind, id] : entities) {
      absl::StatusOr<engine::EntityWindows*> e = state.FindWindows(kind, id);
      if (!e.ok()) return e.status();
      for (const rules::WindowDef& def : rules.windows()) {
        if (def.group_by != kind) continue;
        const int64_t bucket = clock.Bucket(def, out.as_of_us);
        const int64_t first = engine::BucketClock::FirstBucket(def, bucket);
        engine::WindowState* w =
            *e == nullptr ? nullptr : (*e)->Find(def.fingerprint);
        const int64_t value =
            w == nullptr ? 0 : w->Value(def.aggregate, first, bucket);
        out.windows.push_back(
            {def.name, def.description,
             absl::StrCat(
                 kind == v1::ENTITY_CUSTOMER ? "customer " : "account ", id),
             value, Shown(rules, def, value)});
      }
    }

    // Holds of the customer: pending ones, and how the others ended.
    v1::Hold hold;
    std::map<std::string, std::string> outcomes;
    s = store->Scan(engine::StateFamily::kHolds, engine::PartitionPrefix(p),
                    [&](absl::string_view, absl::string_view value) {
                      if (!hold.ParseFromArray(
                              value.data(), static_cast<int>(value.size())) ||
                          hold.customer_id() != customer_id) {
                        return true;
                      }
                      if (hold.status() == v1::HOLD_STATUS_PENDING) {
                        out.pending_holds.push_back(hold);
                      } else if (hold.has_disposition()) {
                        outcomes[hold.transaction_id()] = std::string(
                            engine::OutcomeName(hold.disposition().outcome()));
                      }
                      return true;
                    });
    if (!s.ok()) return s;
    for (CustomerState::Recent& r : out.recent) {
      if (auto it = outcomes.find(r.transaction_id); it != outcomes.end()) {
        r.hold_outcome = it->second;
      }
    }
    break;
  }
  return out;
}

std::string CustomerStateText(const CustomerState& s,
                              const absl::TimeZone& zone) {
  if (s.partition < 0) {
    return absl::StrCat("customer ", s.customer_id,
                        ": the engine has no state for this customer\n");
  }
  std::string out =
      absl::StrCat("customer ", s.customer_id, " (partition ", s.partition,
                   "), windows as of ", Time(s.as_of_us, zone), "\n");
  if (s.has_history) {
    absl::StrAppend(&out, "last activity ", Time(s.last_at_us, zone),
                    ", region ",
                    s.last_region_code.empty() ? "-" : s.last_region_code);
    if (s.has_geo)
      absl::StrAppend(
          &out, absl::StrFormat(", at %.5f,%.5f", s.last_lat, s.last_lon));
    out += "\n";
  } else {
    out += "no activity that let money move yet\n";
  }
  out += "\nwindows:\n";
  size_t width = 0;
  for (const auto& w : s.windows) width = std::max(width, w.name.size());
  for (const auto& w : s.windows) {
    absl::StrAppend(
        &out, absl::StrFormat("  %-*s %20s  %s (%s)\n", static_cast<int>(width),
                              w.name, w.shown, w.description, w.entity));
  }
  absl::StrAppend(&out, "\nknown payees: ", s.payees.size(), "\n");
  for (size_t i = 0; i < s.payees.size() && i < 20; ++i) {
    const auto& p = s.payees[i];
    absl::StrAppend(&out, "  ",
                    p.account_id.empty()
                        ? "(account not in recent transactions)"
                        : p.account_id,
                    "  first paid ",
                    p.first_paid_us == engine::PaidPayee::kUnknown
                        ? std::string("(not recorded)")
                        : Time(p.first_paid_us, zone),
                    ", last paid ", Time(p.last_paid_us, zone), "\n");
  }
  if (s.payees.size() > 20)
    absl::StrAppend(&out, "  ... ", s.payees.size() - 20, " more\n");
  absl::StrAppend(&out, "\nremembered transactions (duplicates, reversals): ",
                  s.recent.size(), "\n");
  for (size_t i = 0; i < s.recent.size() && i < 20; ++i) {
    const auto& r = s.recent[i];
    absl::StrAppend(&out, "  ", Time(r.occurred_at_us, zone), "  ",
                    r.transaction_id, "  ", r.verdict,
                    r.rules.empty() ? "" : " ", absl::StrJoin(r.rules, " "),
                    r.counterparty_account_id.empty() ? "" : "  to/from ",
                    r.counterparty_account_id,
                    !r.hold_outcome.empty()
                        ? absl::StrCat("  (hold: ", r.hold_outcome,
                                       r.reversed ? ", taken back)" : ")")
                    : r.reversed ? "  (reversed)"
                                 : "",
                    "\n");
  }
  if (s.recent.size() > 20)
    absl::StrAppend(&out, "  ... ", s.recent.size() - 20, " more\n");
  if (!s.reversed_before_arrival_us.empty()) {
    absl::StrAppend(&out,
                    "\nreversals waiting for their original (it will be "
                    "decided but count nowhere): ",
                    s.reversed_before_arrival_us.size(), "\n");
    for (int64_t at : s.reversed_before_arrival_us) {
      absl::StrAppend(&out, "  reversal at ", Time(at, zone), "\n");
    }
  }
  absl::StrAppend(&out, "\npending holds: ", s.pending_holds.size(), "\n");
  for (const v1::Hold& h : s.pending_holds) {
    absl::StrAppend(&out, "  ", h.transaction_id(), "  ",
                    engine::ShortEnumName(h.verdict()), "  branch ",
                    h.branch_id(), "  ",
                    rules::FormatMoney(
                        h.amount_minor(), h.currency(),
                        rules::CurrencyMinorDigits(h.currency()).value_or(0)),
                    "\n");
  }
  return out;
}

std::string CustomerStateJson(const CustomerState& s) {
  std::string out =
      absl::StrCat("{\"customer_id\":", Str(s.customer_id),
                   ",\"found\":", s.partition >= 0 ? "true" : "false");
  if (s.partition < 0) return out + "}";
  absl::StrAppend(&out, ",\"partition\":", s.partition,
                  ",\"as_of\":", Str(Rfc3339(s.as_of_us)));
  if (s.has_history) {
    absl::StrAppend(&out, ",\"last_activity\":", Str(Rfc3339(s.last_at_us)),
                    ",\"last_region_code\":", Str(s.last_region_code));
    if (s.has_geo)
      absl::StrAppend(&out, ",\"last_geo\":{\"lat\":", s.last_lat,
                      ",\"lon\":", s.last_lon, "}");
  }
  absl::StrAppend(&out, ",\"windows\":[");
  for (size_t i = 0; i < s.windows.size(); ++i) {
    const auto& w = s.windows[i];
    absl::StrAppend(&out, i ? "," : "", "{\"name\":", Str(w.name),
                    ",\"entity\":", Str(w.entity), ",\"value\":", w.value,
                    ",\"shown\":", Str(w.shown),
                    ",\"description\":", Str(w.description), "}");
  }
  absl::StrAppend(&out, "],\"payees\":[");
  for (size_t i = 0; i < s.payees.size(); ++i) {
    absl::StrAppend(
        &out, i ? "," : "", "{\"account_id\":", Str(s.payees[i].account_id),
        ",\"last_paid\":", Str(Rfc3339(s.payees[i].last_paid_us)), "}");
  }
  absl::StrAppend(&out, "],\"recent\":[");
  for (size_t i = 0; i < s.recent.size(); ++i) {
    const auto& r = s.recent[i];
    std::vector<std::string> rules;
    for (const auto& id : r.rules) rules.push_back(Str(id));
    absl::StrAppend(
        &out, i ? "," : "", "{\"transaction_id\":", Str(r.transaction_id),
        ",\"occurred_at\":", Str(Rfc3339(r.occurred_at_us)),
        ",\"verdict\":", Str(r.verdict), ",\"rules\":[",
        absl::StrJoin(rules, ","), "],\"account_id\":", Str(r.account_id),
        ",\"counterparty_account_id\":", Str(r.counterparty_account_id),
        ",\"reversed\":", r.reversed ? "true" : "false",
        ",\"hold_outcome\":", Str(r.hold_outcome), "}");
  }
  absl::StrAppend(&out, "],\"reversals_waiting\":[");
  for (size_t i = 0; i < s.reversed_before_arrival_us.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "",
                    Str(Rfc3339(s.reversed_before_arrival_us[i])));
  }
  absl::StrAppend(&out, "],\"pending_holds\":[");
  for (size_t i = 0; i < s.pending_holds.size(); ++i) {
    const v1::Hold& h = s.pending_holds[i];
    absl::StrAppend(&out, i ? "," : "",
                    "{\"transaction_id\":", Str(h.transaction_id()),
                    ",\"verdict\":", Str(engine::ShortEnumName(h.verdict())),
                    ",\"branch_id\":", Str(h.branch_id()),
                    ",\"amount_minor\":", h.amount_minor(),
                    ",\"currency\":", Str(h.currency()), "}");
  }
  return out + "]}";
}

}  // namespace txscreen::compliance
