#include "rules/builtin_fields.h"

#include "absl/container/flat_hash_map.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::rules {
namespace {

using Ctx = EvalContext;
namespace v1 = ::txscreen::v1;

#define TX_STRING(path_, field_, slot_, doc_)                              \
  FieldDef {                                                               \
    path_, StringType(), FieldGroup::kTransaction, nullptr,                \
        +[](const Ctx& c) -> absl::string_view { return c.tx->field_(); }, \
        +[](const Ctx& c) { return !c.tx->field_().empty(); }, slot_, doc_ \
  }
#define CP_STRING(path_, field_, slot_, doc_)                                 \
  FieldDef {                                                                  \
    path_, StringType(), FieldGroup::kTransaction, nullptr,                   \
        +[](const Ctx& c) -> absl::string_view {                              \
          return c.tx->counterparty().field_();                               \
        },                                                                    \
        +[](const Ctx& c) { return !c.tx->counterparty().field_().empty(); }, \
        slot_, doc_                                                           \
  }

std::vector<FieldDef> MakeFields() {
  return {
      TX_STRING("tx.transaction_id", transaction_id, -1, "idempotency key"),
      {"tx.type", EnumType(v1::TransactionType_descriptor()),
       FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->type(); }, nullptr, nullptr,
       -1, "TransactionType without prefix: CASH_DEPOSIT, TRANSFER_OUT, ..."},
      {"tx.channel", EnumType(v1::Channel_descriptor()),
       FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->channel(); }, nullptr,
       nullptr, -1, "Channel without prefix: COUNTER, ATM, MOBILE, ..."},
      TX_STRING("tx.customer_id", customer_id, 0, "customer number"),
      TX_STRING("tx.account_id", account_id, 1, "account number"),
      {"tx.amount", MoneyType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.amount_base; }, nullptr, nullptr,
       -1, "amount in the pack's base currency (money)"},
      {"tx.amount_minor", IntType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->amount_minor(); }, nullptr,
       nullptr, -1, "amount in minor units of tx.currency (int)"},
      TX_STRING("tx.currency", currency, -1, "ISO 4217 code"),
      {"tx.cash", BoolType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->cash(); }, nullptr, nullptr,
       -1, "banknotes change hands"},
      {"tx.direction", EnumType(v1::Direction_descriptor()),
       FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->direction(); }, nullptr,
       nullptr, -1, "IN or OUT"},
      {"tx.cross_border", BoolType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->cross_border(); }, nullptr,
       nullptr, -1, "counterparty abroad"},
      TX_STRING("tx.memo", memo, 2, "free text (purpose, remarks)"),
      TX_STRING("tx.region_code", region_code, 3,
                "GB/T 2260 code where it happens"),
      TX_STRING("tx.account_region_code", account_region_code, 4,
                "GB/T 2260 code of the account-opening branch"),
      TX_STRING("tx.branch_id", branch_id, 5, "branch"),
      TX_STRING("tx.teller_id", teller_id, 6, "teller"),
      TX_STRING("tx.terminal_id", terminal_id, 7, "terminal"),
      TX_STRING("tx.device_id", device_id, 8, "device fingerprint"),
      TX_STRING("tx.purpose_code", purpose_code, 9, "purpose code"),
      TX_STRING("tx.reverses_transaction_id", reverses_transaction_id, -1,
                "reversed transaction"),
      TX_STRING("tx.accounting_date", accounting_date, -1,
                "bank business date YYYY-MM-DD"),
      TX_STRING("tx.ip", ip, -1, "client IP address"),
      {"tx.occurred_at", TimeType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.occurred_at_us; }, nullptr,
       nullptr, -1, "event time"},
      {"tx.local_hour", IntType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.local_hour; }, nullptr, nullptr,
       -1, "hour of day 0-23 in the pack's time zone"},
      {"tx.account_age", DurationType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.account_age_us; }, nullptr,
       +[](const Ctx& c) { return c.account_age_known; }, -1,
       "occurred_at - account_opened_at; absent when not given"},
      CP_STRING("tx.counterparty.account_id", account_id, 10,
                "counterparty account"),
      CP_STRING("tx.counterparty.name", name, 11, "counterparty name"),
      CP_STRING("tx.counterparty.bank_code", bank_code, 12,
                "counterparty bank"),
      CP_STRING("tx.counterparty.region_code", region_code, 13,
                "counterparty region"),
      {"tx.counterparty.on_us", BoolType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->counterparty().on_us(); },
       nullptr, nullptr, -1, "counterparty account held here"},
      {"tx.session.on_call", BoolType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t { return c.tx->session().on_call(); },
       nullptr, nullptr, -1, "customer on a phone call"},
      {"tx.session.remote_control_app", BoolType(), FieldGroup::kTransaction,
       +[](const Ctx& c) -> int64_t {
         return c.tx->session().remote_control_app();
       },
       nullptr, nullptr, -1, "remote-control app running"},
      {"customer.age", IntType(), FieldGroup::kCustomer,
       +[](const Ctx& c) -> int64_t { return c.customer_age; }, nullptr,
       +[](const Ctx& c) { return c.customer_age_known; }, -1,
       "whole years at occurred_at; absent without birth_date"},
      {"customer.kind", EnumType(v1::CustomerKind_descriptor()),
       FieldGroup::kCustomer,
       +[](const Ctx& c) -> int64_t { return c.tx->customer().kind(); },
       nullptr, nullptr, -1, "INDIVIDUAL or ENTITY"},
      {"customer.risk_level", StringType(), FieldGroup::kCustomer, nullptr,
       +[](const Ctx& c) -> absl::string_view {
         return c.tx->customer().risk_level();
       },
       +[](const Ctx& c) { return !c.tx->customer().risk_level().empty(); }, 14,
       "bank's risk rating"},
      {"customer.vulnerable", BoolType(), FieldGroup::kCustomer,
       +[](const Ctx& c) -> int64_t { return c.tx->customer().vulnerable(); },
       nullptr, nullptr, -1, "flagged vulnerable"},
      {"history.has_previous", BoolType(), FieldGroup::kHistory,
       +[](const Ctx& c) -> int64_t { return c.history.has_previous; }, nullptr,
       nullptr, -1, "the customer has an earlier transaction"},
      {"history.since_previous", DurationType(), FieldGroup::kHistory,
       +[](const Ctx& c) -> int64_t { return c.history.since_previous_us; },
       nullptr, +[](const Ctx& c) { return c.history.has_previous; }, -1,
       "time since the previous transaction (dormancy)"},
      {"history.previous_region_code", StringType(), FieldGroup::kHistory,
       nullptr,
       +[](const Ctx& c) -> absl::string_view {
         return c.history.previous_region_code;
       },
       +[](const Ctx& c) { return !c.history.previous_region_code.empty(); },
       -1, "region of the previous transaction"},
      {"history.distance_km", IntType(), FieldGroup::kHistory,
       +[](const Ctx& c) -> int64_t { return c.history.distance_km; }, nullptr,
       +[](const Ctx& c) { return c.history.distance_known; }, -1,
       "distance from the previous transaction's position"},
      {"history.speed_kmh", IntType(), FieldGroup::kHistory,
       +[](const Ctx& c) -> int64_t { return c.history.speed_kmh; }, nullptr,
       +[](const Ctx& c) { return c.history.distance_known; }, -1,
       "implied travel speed from the previous position"},
      {"history.first_payment_to_counterparty", BoolType(),
       FieldGroup::kHistory,
       +[](const Ctx& c) -> int64_t {
         return c.history.first_payment_to_counterparty;
       },
       nullptr, nullptr, -1,
       "outgoing to a counterparty account this customer never paid"},
      {"history.counterparty_known_for", DurationType(), FieldGroup::kHistory,
       +[](const Ctx& c) -> int64_t {
         return c.history.counterparty_known_for_us;
       },
       nullptr, +[](const Ctx& c) { return c.history.counterparty_known; }, -1,
       "outgoing to a counterparty account this customer paid before: time "
       "since the first of those payments (a test payment minutes before "
       "does not make a payee known for long)"},
  };
}

#undef TX_STRING
#undef CP_STRING

}  // namespace

const std::vector<FieldDef>& BuiltinFields() {
  static const std::vector<FieldDef>* fields =
      new std::vector<FieldDef>(MakeFields());
  return *fields;
}

const FieldDef* FindBuiltinField(absl::string_view path) {
  static const auto* index = [] {
    auto* m = new absl::flat_hash_map<std::string, const FieldDef*>();
    for (const FieldDef& f : BuiltinFields()) (*m)[f.path] = &f;
    return m;
  }();
  auto it = index->find(path);
  return it == index->end() ? nullptr : it->second;
}

}  // namespace txscreen::rules
