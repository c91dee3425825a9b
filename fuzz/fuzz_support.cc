#include "fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

#include "rules/rule_pack_loader.h"

namespace txscreen::fuzz {

namespace v1 = ::txscreen::v1;

void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string ShippedPackDir() {
  if (const char* dir = std::getenv("TXSCREEN_PACK_DIR"); dir && *dir) {
    return dir;
  }
  return TXSCREEN_SOURCE_DIR "/rules/packs/cn";
}

const std::shared_ptr<const rules::RuleSet>& ShippedRuleSet() {
  static const std::shared_ptr<const rules::RuleSet>* set = [] {
    rules::LoadResult loaded = rules::LoadRulePack({ShippedPackDir()});
    if (loaded.rule_set == nullptr) {
      std::string errors;
      for (const std::string& e : loaded.errors) errors += "\n  " + e;
      Fail("the shipped pack " + ShippedPackDir() + " does not load:" + errors);
    }
    return new std::shared_ptr<const rules::RuleSet>(loaded.rule_set);
  }();
  return *set;
}

v1::Transaction SampleTransaction() {
  v1::Transaction tx;
  tx.set_transaction_id("FUZZ-0001");
  tx.mutable_occurred_at()->set_seconds(1795140000);  // 2026-11-20T10:00+08:00
  tx.set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
  tx.set_channel(v1::CHANNEL_COUNTER);
  tx.set_customer_id("C-FUZZ-0001");
  tx.set_account_id("6222-0000-0000-4001");
  tx.set_amount_minor(8000000);
  tx.set_currency("CNY");
  tx.set_direction(v1::DIRECTION_OUT);
  tx.set_memo("按公安要求转入安全账户");
  tx.set_region_code("320102");
  tx.set_account_region_code("320106");
  tx.set_branch_id("NJ-0102");
  tx.set_teller_id("T-0217");
  tx.mutable_geo()->set_lat(32.04);
  tx.mutable_geo()->set_lon(118.78);
  tx.mutable_counterparty()->set_account_id("6217-4501-0088-1234");
  tx.mutable_counterparty()->set_name("李某");
  tx.mutable_counterparty()->set_region_code("450102");
  tx.mutable_customer()->set_kind(v1::CUSTOMER_KIND_INDIVIDUAL);
  tx.mutable_customer()->set_birth_date("1954-03-12");
  tx.mutable_customer()->set_risk_level("LOW");
  tx.mutable_session()->set_on_call(true);
  tx.mutable_account_opened_at()->set_seconds(1700000000);
  tx.set_purpose_code("122030");
  return tx;
}

namespace {

// A base-128 varint of at most 10 bytes; false at the end of the input or
// on an over-long varint.
bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t byte = *(*p)++;
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<absl::string_view> SplitRecords(const uint8_t* data, size_t size,
                                            size_t max) {
  std::vector<absl::string_view> records;
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  while (p < end && records.size() < max) {
    const uint8_t* record = p;
    uint64_t length = 0;
    size_t record_size;
    if (ReadVarint(&p, end, &length) &&
        length <= static_cast<uint64_t>(end - p)) {
      record = p;
      record_size = static_cast<size_t>(length);
    } else {
      record_size = static_cast<size_t>(end - record);
    }
    records.emplace_back(reinterpret_cast<const char*>(record), record_size);
    p = record + record_size;
  }
  return records;
}

}  // namespace txscreen::fuzz
