#include "engine/holds.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "rules/rule_set.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

std::string FormatTime(int64_t us) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

Refusal Refuse(std::string code, std::string reason, std::string reason_zh) {
  return Refusal{std::move(code), std::move(reason), std::move(reason_zh)};
}

bool MayAnswerHolds(StaffRole role) {
  return role == StaffRole::kTeller || role == StaffRole::kSupervisor;
}

}  // namespace

bool HappenedAfter(v1::Outcome outcome) {
  return outcome == v1::OUTCOME_RELEASE;
}

absl::string_view OutcomeName(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_RELEASE:
      return "RELEASE";
    case v1::OUTCOME_CANCEL:
      return "CANCEL";
    case v1::OUTCOME_REPORT_POLICE:
      return "REPORT_POLICE";
    case v1::OUTCOME_ESCALATE:
      return "ESCALATE";
    case v1::OUTCOME_ESCALATED_TIMEOUT:
      return "ESCALATED_TIMEOUT";
    default:
      return "UNSPECIFIED";
  }
}

std::optional<Refusal> ValidateOverride(const v1::Override& o,
                                        const v1::Hold* hold,
                                        const Roster& roster, int64_t now_us) {
  // The message itself.
  std::vector<std::string> missing;
  if (o.override_id().empty()) missing.push_back("override_id");
  if (o.transaction_id().empty()) missing.push_back("transaction_id");
  if (o.teller_id().empty()) missing.push_back("teller_id");
  if (!missing.empty()) {
    return Refuse(
        "INVALID_OVERRIDE",
        absl::StrCat("the override has no ", absl::StrJoin(missing, ", ")),
        absl::StrCat("撤销/放行指令缺少字段：", absl::StrJoin(missing, "、")));
  }
  if (o.outcome() < v1::OUTCOME_RELEASE || o.outcome() > v1::OUTCOME_ESCALATE) {
    return Refuse(
        "INVALID_OUTCOME",
        absl::StrCat("outcome ", static_cast<int>(o.outcome()),
                     " is not one of RELEASE, CANCEL, REPORT_POLICE, ESCALATE"),
        "处理结果必须是放行、取消、报警或上报之一");
  }
  // The hold.
  if (hold == nullptr ||
      (!o.customer_id().empty() && o.customer_id() != hold->customer_id())) {
    return Refuse(
        "HOLD_NOT_FOUND",
        absl::StrCat("there is no hold for transaction ", o.transaction_id(),
                     " (it was not intercepted, or it belongs to "
                     "another customer)"),
        absl::StrCat("交易 ", o.transaction_id(),
                     " 没有被拦截的记录（未被拦截，或不属于该客户）"));
  }
  if (o.outcome() == v1::OUTCOME_RELEASE &&
      hold->verdict() == v1::VERDICT_BLOCK) {
    std::vector<std::string> rules;
    for (const v1::RuleHit& h : hold->hits()) {
      if (h.action() == v1::ACTION_BLOCK) rules.push_back(h.rule_id());
    }
    return Refuse(
        "BLOCKED",
        absl::StrCat("transaction ", o.transaction_id(), " was blocked",
                     rules.empty() ? "" : " by ", absl::StrJoin(rules, ", "),
                     "; a block cannot be released"),
        absl::StrCat("交易 ", o.transaction_id(), " 已被阻断，不能放行"));
  }
  if (hold->status() == v1::HOLD_STATUS_RESOLVED) {
    const v1::Disposition& d = hold->disposition();
    // Who resolved it, and how, is for the hold's own branch.
    const Staff* asking = roster.Find(o.teller_id());
    if (asking == nullptr || asking->branch_id != hold->branch_id()) {
      return Refuse("HOLD_RESOLVED",
                    absl::StrCat("the hold of transaction ", o.transaction_id(),
                                 " was already resolved"),
                    absl::StrCat("交易 ", o.transaction_id(), " 已处理"));
    }
    return Refuse(
        "HOLD_RESOLVED",
        absl::StrCat("the hold of transaction ", o.transaction_id(),
                     " was already resolved: ", OutcomeName(d.outcome()),
                     " by ", d.teller_id(), " at ",
                     FormatTime(TimestampMicros(d.at()))),
        absl::StrCat("交易 ", o.transaction_id(), " 已处理（",
                     OutcomeName(d.outcome()), "，柜员 ", d.teller_id(), "）"));
  }
  const int64_t expires_us = TimestampMicros(hold->expires_at());
  if (hold->status() == v1::HOLD_STATUS_ESCALATED_TIMEOUT ||
      now_us >= expires_us) {
    return Refuse("HOLD_EXPIRED",
                  absl::StrCat("the hold of transaction ", o.transaction_id(),
                               " expired at ", FormatTime(expires_us),
                               " and was escalated to compliance"),
                  absl::StrCat("交易 ", o.transaction_id(),
                               " 的拦截已超时并上报合规部门"));
  }
  // The people.
  const Staff* teller = roster.Find(o.teller_id());
  if (teller == nullptr) {
    return Refuse(
        "TELLER_UNKNOWN",
        absl::StrCat("teller ", o.teller_id(), " is not in the staff roster"),
        absl::StrCat("柜员 ", o.teller_id(), " 不在员工名册中"));
  }
  if (!MayAnswerHolds(teller->role)) {
    return Refuse(
        "TELLER_ROLE",
        absl::StrCat(o.teller_id(), " has the role ", RoleName(teller->role),
                     "; holds are answered by tellers and "
                     "supervisors"),
        absl::StrCat(o.teller_id(), " 的角色是 ", RoleName(teller->role),
                     "，只有柜员和主管可以处理拦截"));
  }
  if (teller->branch_id != hold->branch_id()) {
    return Refuse(
        "TELLER_WRONG_BRANCH",
        absl::StrCat("teller ", o.teller_id(), " belongs to branch ",
                     teller->branch_id, "; the hold is at branch ",
                     hold->branch_id().empty() ? "(none)" : hold->branch_id()),
        absl::StrCat("柜员 ", o.teller_id(), " 属于网点 ", teller->branch_id,
                     "，该拦截属于网点 ",
                     hold->branch_id().empty() ? "（无）" : hold->branch_id()));
  }
  if (o.outcome() == v1::OUTCOME_RELEASE) {
    if (o.authorizer_id().empty()) {
      return Refuse("AUTHORIZER_MISSING",
                    "a release needs a supervisor's authorisation "
                    "(authorizer_id)",
                    "放行需要主管授权");
    }
    if (o.authorizer_id() == o.teller_id()) {
      return Refuse("AUTHORIZER_IS_TELLER",
                    "the authoriser must be another person than the teller "
                    "(dual control)",
                    "授权人不能是经办柜员本人（双人控制）");
    }
    if (o.authorizer_id() == hold->teller_id()) {
      // Maker and checker: whoever keyed the transaction does not
      // authorise its release, even when another teller answers the hold.
      return Refuse(
          "AUTHORIZER_KEYED_TRANSACTION",
          absl::StrCat("authoriser ", o.authorizer_id(), " keyed transaction ",
                       o.transaction_id(),
                       "; its release needs another supervisor (dual "
                       "control)"),
          absl::StrCat("授权人 ", o.authorizer_id(), " 是交易 ",
                       o.transaction_id(),
                       " 的经办人，放行须由其他主管授权（双人控制）"));
    }
    const Staff* authorizer = roster.Find(o.authorizer_id());
    if (authorizer == nullptr) {
      return Refuse(
          "AUTHORIZER_UNKNOWN",
          absl::StrCat("authoriser ", o.authorizer_id(),
                       " is not in the staff roster"),
          absl::StrCat("授权人 ", o.authorizer_id(), " 不在员工名册中"));
    }
    if (authorizer->role != StaffRole::kSupervisor) {
      return Refuse(
          "AUTHORIZER_NOT_SUPERVISOR",
          absl::StrCat("authoriser ", o.authorizer_id(), " has the role ",
                       RoleName(authorizer->role),
                       "; a release needs the supervisor role"),
          absl::StrCat("授权人 ", o.authorizer_id(), " 的角色是 ",
                       RoleName(authorizer->role), "，放行需要主管授权"));
    }
    if (authorizer->branch_id != hold->branch_id()) {
      return Refuse("AUTHORIZER_WRONG_BRANCH",
                    absl::StrCat("authoriser ", o.authorizer_id(),
                                 " belongs to branch ", authorizer->branch_id,
                                 "; the hold is at branch ", hold->branch_id()),
                    absl::StrCat("授权人 ", o.authorizer_id(), " 属于网点 ",
                                 authorizer->branch_id, "，该拦截属于网点 ",
                                 hold->branch_id()));
    }
    const v1::OverrideAnswers& a = o.answers();
    std::vector<std::string> absent, absent_zh;
    auto need = [&](bool present, const char* en, const char* zh) {
      if (!present) {
        absent.push_back(en);
        absent_zh.push_back(zh);
      }
    };
    need(!a.purpose().empty(), "purpose", "用途");
    need(!a.relationship().empty(), "relationship to the payee",
         "与收款人关系");
    need(!a.source_of_funds().empty(), "source of funds", "资金来源");
    need(a.has_on_call(), "whether the customer is on a call", "是否正在通话");
    need(a.has_remote_control_app(), "whether a remote-control app is used",
         "是否使用远程控制软件");
    if (!absent.empty()) {
      return Refuse("ANSWERS_MISSING",
                    absl::StrCat("a release needs the customer's answers; "
                                 "missing: ",
                                 absl::StrJoin(absent, ", ")),
                    absl::StrCat("放行前须记录客户回答，缺少：",
                                 absl::StrJoin(absent_zh, "、")));
    }
    if (!a.risk_acknowledged()) {
      return Refuse("RISK_NOT_ACKNOWLEDGED",
                    "a release needs the customer's signed risk "
                    "acknowledgement",
                    "放行前客户须签署风险告知书");
    }
  } else if (o.reason().empty()) {
    return Refuse("REASON_MISSING",
                  absl::StrCat(OutcomeName(o.outcome()), " needs a reason"),
                  "请填写处理原因");
  }
  return std::nullopt;
}

HoldBook::HoldBook(StateStore* store, int32_t partition, Clock* clock,
                   HoldOptions options)
    : store_(store),
      partition_(partition),
      clock_(clock),
      options_(options),
      prefix_(PartitionPrefix(partition)),
      audit_(store, partition) {}

std::string HoldBook::Key(absl::string_view transaction_id) const {
  return absl::StrCat(prefix_, transaction_id);
}

absl::Status HoldBook::Load() {
  pending_.clear();
  expiry_.clear();
  changed_.clear();
  erase_.clear();
  handed_off_changed_.clear();
  handed_off_erase_.clear();
  audit_dirty_ = false;
  if (absl::Status s = audit_.Load(); !s.ok()) return s;
  v1::Hold hold;
  absl::Status damaged;
  absl::Status s =
      store_->Scan(StateFamily::kHolds, prefix_,
                   [&](absl::string_view key, absl::string_view value) {
                     if (!hold.ParseFromString(std::string(value))) {
                       damaged = absl::DataLossError(absl::StrCat(
                           "hold ", key.substr(prefix_.size()),
                           " of partition ", partition_, " is damaged"));
                       return false;
                     }
                     if (hold.status() == v1::HOLD_STATUS_PENDING) {
                       expiry_.emplace(TimestampMicros(hold.expires_at()),
                                       hold.transaction_id());
                       pending_[hold.transaction_id()] = hold;
                     }
                     return true;
                   });
  if (!s.ok()) return s;
  return damaged;
}

void HoldBook::Audit(v1::AuditEntry::Kind kind, absl::string_view tx_id,
                     v1::AuditEntry* entry) {
  entry->set_kind(kind);
  entry->set_transaction_id(std::string(tx_id));
  SetTimestampMicros(clock_->NowMicros(), entry->mutable_at());
  audit_.Append(std::move(*entry));
  audit_dirty_ = true;
}

void HoldBook::Decided(const v1::Transaction& tx, const v1::Decision& decision,
                       const absl::TimeZone& zone, HoldEvents* out) {
  if (decision.duplicate() || (decision.verdict() != v1::VERDICT_INTERCEPT &&
                               decision.verdict() != v1::VERDICT_BLOCK)) {
    return;
  }
  const std::string& id = tx.transaction_id();
  if (pending_.contains(id)) {
    // Another customer's transaction with the same id is held here; the
    // first hold stands (ids are meant to be unique).
    out->notes.push_back(absl::StrCat(
        "transaction id ", id,
        " is already held for another transaction; no second hold"));
    return;
  }
  // A resolved hold with this id (another customer's: a duplicate of the
  // same customer never gets here) keeps its record and its outcome.
  absl::StatusOr<const v1::Hold*> earlier = Find(id);
  if (!earlier.ok() || *earlier != nullptr) {
    out->notes.push_back(absl::StrCat(
        "transaction id ", id, " ",
        earlier.ok() ? "had a hold before" : earlier.status().message(),
        "; no second hold"));
    return;
  }
  const int64_t now = clock_->NowMicros();
  v1::Hold hold;
  hold.set_transaction_id(id);
  hold.set_customer_id(tx.customer_id());
  hold.set_branch_id(tx.branch_id());
  hold.set_teller_id(tx.teller_id());
  hold.set_channel(tx.channel());
  hold.set_type(tx.type());
  hold.set_amount_minor(tx.amount_minor());
  hold.set_currency(tx.currency());
  hold.set_account_masked(MaskAccountNumber(tx.account_id()));
  hold.set_counterparty_name(tx.counterparty().name());
  hold.set_counterparty_account_masked(
      MaskAccountNumber(tx.counterparty().account_id()));
  // A memo may quote account or card numbers ("转入安全账户 6217..."):
  // any long run of digits is masked, and the transaction's own accounts
  // below.
  hold.set_memo(MaskDigitRuns(tx.memo()));
  hold.set_verdict(decision.verdict());
  *hold.mutable_prompt() = decision.prompt();
  *hold.mutable_hits() = decision.hits();
  // The console shows account numbers masked, wherever a rule's text put
  // them (the decision itself, for core banking, keeps them).
  std::vector<std::pair<std::string, std::string>> masks;
  for (const std::string* account :
       {&tx.account_id(), &tx.counterparty().account_id()}) {
    if (account->size() >= 4) {
      masks.emplace_back(*account, MaskAccountNumber(*account));
    }
  }
  // Also any long digit run: a rule may quote the memo ("附言：{tx.memo}"),
  // and with it a card or ID number the customer was told to write there.
  auto mask = [&](std::string* text) {
    for (const auto& [plain, masked] : masks) {
      if (text->find(plain) != std::string::npos) {
        *text = absl::StrReplaceAll(*text, {{plain, masked}});
      }
    }
    *text = MaskDigitRuns(*text);
  };
  for (auto* lines : {hold.mutable_prompt()->mutable_why(),
                      hold.mutable_prompt()->mutable_ask(),
                      hold.mutable_prompt()->mutable_look_for(),
                      hold.mutable_prompt()->mutable_dissuade()}) {
    for (v1::LocalizedText& line : *lines) {
      mask(line.mutable_zh());
      mask(line.mutable_en());
    }
  }
  for (v1::RuleHit& hit : *hold.mutable_hits()) mask(hit.mutable_reason());
  mask(hold.mutable_memo());
  *hold.mutable_occurred_at() = tx.occurred_at();
  SetTimestampMicros(now, hold.mutable_opened_at());
  SetTimestampMicros(now + options_.timeout_us, hold.mutable_expires_at());
  hold.set_status(v1::HOLD_STATUS_PENDING);
  hold.set_ruleset_version(decision.ruleset_version());
  hold.set_partition(partition_);
  // customer.age as the rules saw it is not in the decision; derived the
  // same way: from the birth date to the event's date in the pack's zone.
  if (tx.has_occurred_at()) {
    const std::optional<int64_t> age = rules::CustomerAgeAt(
        tx.customer().birth_date(), TimestampMicros(tx.occurred_at()), zone);
    if (age.has_value() && *age < 150) {
      hold.set_customer_age(static_cast<int32_t>(*age));
    }
  }
  expiry_.emplace(now + options_.timeout_us, id);
  out->holds.push_back(hold);
  changed_[id] = hold;
  pending_[id] = std::move(hold);

  v1::AuditEntry entry;
  *entry.mutable_decision() = decision;
  Audit(v1::AuditEntry::KIND_DECISION, id, &entry);
}

absl::StatusOr<const v1::Hold*> HoldBook::Find(absl::string_view id) {
  if (auto it = pending_.find(id); it != pending_.end()) return &it->second;
  if (auto it = changed_.find(id); it != changed_.end()) return &it->second;
  if (auto it = handed_off_changed_.find(id); it != handed_off_changed_.end()) {
    return &it->second;
  }
  std::string value;
  bool found = false;
  if (absl::Status s =
          store_->Get(StateFamily::kHolds, Key(id), &value, &found);
      !s.ok()) {
    return s;
  }
  if (!found) return nullptr;
  if (!loaded_.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("hold ", id, " is damaged"));
  }
  for (const std::vector<std::string>* erase : {&erase_, &handed_off_erase_}) {
    if (std::find(erase->begin(), erase->end(), id) != erase->end()) {
      return nullptr;  // forgotten at the next flush
    }
  }
  return &loaded_;
}

absl::Status HoldBook::Answer(const v1::Override& o, const Roster& roster,
                              Screener* screener, HoldEvents* out) {
  const int64_t now = clock_->NowMicros();
  v1::OverrideResult result;
  result.set_override_id(o.override_id());
  result.set_transaction_id(o.transaction_id());
  result.set_teller_id(o.teller_id());
  SetTimestampMicros(now, result.mutable_decided_at());
  // When the state store fails, the teller is told to try again.
  auto engine_error = [&](v1::OverrideResult* r) {
    r->set_accepted(false);
    r->set_refusal_code("ENGINE_ERROR");
    r->set_refusal_reason(
        "the engine could not process the override; try again");
    r->set_refusal_reason_zh("系统暂时无法处理，请重试");
  };
  absl::StatusOr<const v1::Hold*> found = Find(o.transaction_id());
  if (!found.ok()) {
    engine_error(&result);
    out->results.push_back(std::move(result));
    return found.status();
  }
  const v1::Hold* hold = *found;

  // A repeat of the override that resolved the hold: the same answer, if
  // it is the same override. Its id with another teller, outcome or
  // authoriser is refused (and audited): an id is not a licence.
  std::optional<Refusal> refusal;
  if (hold != nullptr && !o.override_id().empty() &&
      hold->status() == v1::HOLD_STATUS_RESOLVED &&
      hold->disposition().override_id() == o.override_id()) {
    const v1::Disposition& d = hold->disposition();
    if (o.teller_id() == d.teller_id() && o.outcome() == d.outcome() &&
        (o.outcome() != v1::OUTCOME_RELEASE ||
         o.authorizer_id() == d.authorizer_id()) &&
        (o.customer_id().empty() || o.customer_id() == hold->customer_id())) {
      result.set_accepted(true);
      result.set_duplicate(true);
      out->results.push_back(std::move(result));
      return absl::OkStatus();
    }
    refusal = Refuse(
        "OVERRIDE_ID_REUSED",
        absl::StrCat("override ", o.override_id(),
                     " already resolved the hold of transaction ",
                     o.transaction_id(), " (", OutcomeName(d.outcome()), " by ",
                     d.teller_id(),
                     d.authorizer_id().empty()
                         ? ""
                         : absl::StrCat(", authorised by ", d.authorizer_id()),
                     "); this one differs from it"),
        absl::StrCat("指令 ", o.override_id(), " 已用于处理交易 ",
                     o.transaction_id(), "（", OutcomeName(d.outcome()),
                     "，柜员 ", d.teller_id(), "），本次内容与之不符"));
  } else {
    refusal = ValidateOverride(o, hold, roster, now);
  }
  v1::AuditEntry entry;
  *entry.mutable_override() = o;
  if (refusal.has_value()) {
    result.set_accepted(false);
    result.set_refusal_code(refusal->code);
    result.set_refusal_reason(refusal->reason);
    result.set_refusal_reason_zh(refusal->reason_zh);
    *entry.mutable_result() = result;
    Audit(v1::AuditEntry::KIND_OVERRIDE, o.transaction_id(), &entry);
    out->results.push_back(std::move(result));
    return absl::OkStatus();
  }
  result.set_accepted(true);
  *entry.mutable_result() = result;
  const AuditLog::Mark before = audit_.mark();
  Audit(v1::AuditEntry::KIND_OVERRIDE, o.transaction_id(), &entry);

  v1::Hold& h = pending_[o.transaction_id()];  // validated: pending
  v1::Disposition d;
  d.set_outcome(o.outcome());
  d.set_teller_id(o.teller_id());
  if (o.outcome() == v1::OUTCOME_RELEASE)
    d.set_authorizer_id(o.authorizer_id());
  d.set_override_id(o.override_id());
  *d.mutable_answers() = o.answers();
  d.set_reason(o.reason());
  if (absl::Status s = Resolve(&h, std::move(d), screener, out); !s.ok()) {
    // The state store failed while settling: the hold stays pending, and
    // the audit log says what the teller is told, not "accepted".
    audit_.Rollback(before);
    engine_error(&result);
    *entry.mutable_result() = result;
    Audit(v1::AuditEntry::KIND_OVERRIDE, o.transaction_id(), &entry);
    out->results.push_back(std::move(result));
    return s;
  }
  out->results.push_back(std::move(result));
  return absl::OkStatus();
}

absl::Status HoldBook::Resolve(v1::Hold* hold, v1::Disposition d,
                               Screener* screener, HoldEvents* out) {
  const int64_t now = clock_->NowMicros();
  d.set_transaction_id(hold->transaction_id());
  d.set_customer_id(hold->customer_id());
  d.set_branch_id(hold->branch_id());
  d.set_amount_minor(hold->amount_minor());
  d.set_currency(hold->currency());
  d.set_verdict(hold->verdict());
  *d.mutable_occurred_at() = hold->occurred_at();
  SetTimestampMicros(now, d.mutable_at());
  d.set_answered_after_ms((now - TimestampMicros(hold->opened_at())) / 1000);

  std::string note;
  if (absl::Status s =
          screener->Settle(hold->customer_id(), hold->transaction_id(),
                           TimestampMicros(hold->occurred_at()),
                           HappenedAfter(d.outcome()), &note);
      !s.ok()) {
    return s;
  }
  out->notes.push_back(absl::StrCat("hold ", hold->transaction_id(), " ",
                                    OutcomeName(d.outcome()), ": ", note));

  hold->set_status(d.outcome() == v1::OUTCOME_ESCALATED_TIMEOUT
                       ? v1::HOLD_STATUS_ESCALATED_TIMEOUT
                       : v1::HOLD_STATUS_RESOLVED);
  *hold->mutable_disposition() = d;
  v1::AuditEntry entry;
  *entry.mutable_disposition() = d;
  Audit(v1::AuditEntry::KIND_DISPOSITION, hold->transaction_id(), &entry);
  out->dispositions.push_back(std::move(d));
  out->holds.push_back(*hold);

  const std::string id = hold->transaction_id();
  const int64_t expires = TimestampMicros(hold->expires_at());
  for (auto [it, end] = expiry_.equal_range(expires); it != end; ++it) {
    if (it->second == id) {
      expiry_.erase(it);
      break;
    }
  }
  changed_[id] = std::move(*hold);
  pending_.erase(id);
  return absl::OkStatus();
}

absl::Status HoldBook::ExpireDue(Screener* screener, HoldEvents* out) {
  const int64_t now = clock_->NowMicros();
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    const std::string id = expiry_.begin()->second;
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      expiry_.erase(expiry_.begin());
      continue;
    }
    v1::Disposition d;
    d.set_outcome(v1::OUTCOME_ESCALATED_TIMEOUT);
    d.set_reason(absl::StrCat("nobody answered the hold within ",
                              options_.timeout_us / 60000000, " min"));
    if (absl::Status s = Resolve(&it->second, std::move(d), screener, out);
        !s.ok()) {
      return s;
    }
  }
  if (now >= next_sweep_us_) {
    next_sweep_us_ = now + 3600LL * 1000000;
    v1::Hold hold;
    absl::Status s = store_->Scan(
        StateFamily::kHolds, prefix_,
        [&](absl::string_view key, absl::string_view value) {
          if (hold.ParseFromString(std::string(value)) &&
              hold.status() != v1::HOLD_STATUS_PENDING &&
              TimestampMicros(hold.disposition().at()) +
                      options_.resolved_retention_us <
                  now &&
              !changed_.contains(hold.transaction_id()) &&
              !handed_off_changed_.contains(hold.transaction_id())) {
            erase_.emplace_back(key.substr(prefix_.size()));
          }
          return true;
        });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<const v1::Hold*> HoldBook::Pending() const {
  std::vector<const v1::Hold*> out;
  out.reserve(pending_.size());
  for (const auto& [id, hold] : pending_) out.push_back(&hold);
  std::sort(out.begin(), out.end(), [](const v1::Hold* a, const v1::Hold* b) {
    return TimestampMicros(a->opened_at()) < TimestampMicros(b->opened_at());
  });
  return out;
}

std::vector<StateWrite> HoldBook::BuildFlush() {
  std::vector<StateWrite> writes = audit_.BuildFlush();
  for (const auto& [id, hold] : changed_) {
    writes.push_back(StateWrite::Put(StateFamily::kHolds, Key(id),
                                     hold.SerializeAsString()));
  }
  for (const std::string& id : erase_) {
    writes.push_back(StateWrite::Erase(StateFamily::kHolds, Key(id)));
  }
  return writes;
}

void HoldBook::FlushDone() {
  HandOff();
  Committed();
}

void HoldBook::HandOff() {
  audit_.FlushDone();
  audit_dirty_ = false;
  handed_off_changed_ = std::move(changed_);
  handed_off_erase_ = std::move(erase_);
  changed_.clear();
  erase_.clear();
}

void HoldBook::Committed() {
  handed_off_changed_.clear();
  handed_off_erase_.clear();
}

}  // namespace txscreen::engine
