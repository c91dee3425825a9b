#include "engine/transaction_validator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "rules/currency.h"
#include "rules/iso_date.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

// Quoted, escaped and shortened, so hostile values cannot flood a log line.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 64;
  // Cut on a character boundary so the message stays valid UTF-8.
  size_t cut = std::min(kMax, value.size());
  while (cut < value.size() && cut > 0 &&
         (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  // Keeps valid UTF-8 (Chinese, full-width) readable; escapes the rest.
  std::string shown = absl::Utf8SafeCHexEscape(value.substr(0, cut));
  return absl::StrCat("'", shown, value.size() > cut ? "...'" : "'");
}

bool IsRegionCode(absl::string_view code) {
  if (code.size() != 6) return false;
  for (char c : code) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Exactly YYYY-MM-DD, a real calendar day (proleptic Gregorian). Written
// out because absl::ParseCivilTime costs ~3,000 instructions per call on the
// hot path and also takes "1990-5-17" or " 1990-05-17".
bool IsIsoDate(absl::string_view d, absl::CivilDay* out) {
  int y = 0, m = 0, day = 0;
  if (!rules::ParseIsoDateDigits(d, &y, &m, &day)) return false;
  if (m < 1 || m > 12 || day < 1) return false;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (day > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return false;
  *out = absl::CivilDay(y, m, day);
  return true;
}

void CheckRegion(absl::string_view field, absl::string_view code,
                 std::vector<std::string>* errors) {
  if (!code.empty() && !IsRegionCode(code)) {
    errors->push_back(absl::StrCat(
        field, " must be a 6-digit GB/T 2260 code, got ", Quote(code)));
  }
}

// Whether any byte is below 0x20 or is 0x7f; eight bytes at a time (the
// per-byte loop was ~8 instructions a byte, ids are checked per transaction).
bool HasControlCharacter(absl::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  // A byte b < 0x20 sets its high bit in (b - 0x20) & ~b; a byte equal to
  // 0x7f is zero after the xor and sets it in (y - 1) & ~y. Borrows only
  // flow upwards from a byte that already matched, so "any" is exact.
  auto word_has = [&](size_t at) {
    uint64_t x;
    std::memcpy(&x, s.data() + at, 8);
    const uint64_t below = (x - 0x20 * kOnes) & ~x;
    const uint64_t y = x ^ (0x7f * kOnes);
    const uint64_t del = (y - kOnes) & ~y;
    return ((below | del) & kHighs) != 0;
  };
  if (s.size() < 8) {
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
  }
  for (size_t i = 0; i + 8 < s.size(); i += 8) {
    if (word_has(i)) return true;
  }
  return word_has(s.size() - 8);  // the last word, overlapping the one before
}

void CheckId(absl::string_view field, absl::string_view id, bool required,
             std::vector<std::string>* errors) {
  if (id.empty()) {
    if (required) errors->push_back(absl::StrCat(field, " is required"));
    return;
  }
  if (id.size() > 128) {
    errors->push_back(
        absl::StrCat(field, " must be at most 128 bytes, got ", id.size()));
  }
  if (HasControlCharacter(id)) {
    errors->push_back(absl::StrCat(field,
                                   " must not contain control "
                                   "characters, got ",
                                   Quote(id)));
  }
}

template <typename Enum>
void CheckEnum(absl::string_view field, int value, bool (*is_valid)(int),
               const google::protobuf::EnumDescriptor* (*descriptor)(),
               std::vector<std::string>* errors) {
  if (value == 0) {
    errors->push_back(absl::StrCat(field, " is required"));
  } else if (!is_valid(value)) {
    // Looked up only here: each descriptor call checks protobuf's one-time
    // initialisation (~100 instructions).
    errors->push_back(absl::StrCat(field, " has unknown ", descriptor()->name(),
                                   " value ", value));
  }
}

}  // namespace

namespace {

// A timestamp from year 1970 to 9999: its microseconds, or nullopt with
// the problem appended (the field, and the seconds and nanos as given).
std::optional<int64_t> CheckTime(absl::string_view field,
                                 const google::protobuf::Timestamp& t,
                                 std::vector<std::string>* errors) {
  if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < 0 ||
      t.seconds() > 253402300799) {
    errors->push_back(absl::StrCat(field, " is not a valid time, got ",
                                   t.seconds(), "s ", t.nanos(), "ns"));
    return std::nullopt;
  }
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

std::string Rfc3339(int64_t us) {
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

}  // namespace

bool ValidateTransaction(const v1::Transaction& tx, int64_t now_us,
                         std::vector<std::string>* errors,
                         const ValidationOptions& options) {
  const size_t before = errors->size();
  CheckId("transaction_id", tx.transaction_id(), true, errors);
  std::optional<int64_t> occurred_us;
  if (!tx.has_occurred_at()) {
    errors->push_back("occurred_at is required");
  } else {
    occurred_us = CheckTime("occurred_at", tx.occurred_at(), errors);
    if (occurred_us.has_value() &&
        *occurred_us > now_us + options.max_future_us) {
      errors->push_back(absl::StrCat(
          "occurred_at is more than ",
          absl::FormatDuration(absl::Microseconds(options.max_future_us)),
          " in the future, got ", Rfc3339(*occurred_us)));
    }
  }
  CheckEnum<v1::TransactionType>("type", tx.type(), v1::TransactionType_IsValid,
                                 v1::TransactionType_descriptor, errors);
  CheckEnum<v1::Channel>("channel", tx.channel(), v1::Channel_IsValid,
                         v1::Channel_descriptor, errors);
  CheckEnum<v1::Direction>("direction", tx.direction(), v1::Direction_IsValid,
                           v1::Direction_descriptor, errors);
  CheckId("customer_id", tx.customer_id(), true, errors);
  CheckId("account_id", tx.account_id(), true, errors);
  if (tx.amount_minor() <= 0) {
    errors->push_back(
        absl::StrCat("amount_minor must be > 0, got ", tx.amount_minor()));
  } else if (tx.amount_minor() > kMaxAmountMinor) {
    // Beyond any real payment, and so large that window sums would
    // saturate (a reversal then takes back more than was counted).
    errors->push_back(absl::StrCat("amount_minor must be at most ",
                                   kMaxAmountMinor, ", got ",
                                   tx.amount_minor()));
  }
  if (tx.currency().empty()) {
    errors->push_back("currency is required");
  } else if (!rules::IsKnownCurrency(tx.currency())) {
    errors->push_back(absl::StrCat(
        "currency: ", rules::ValidateCurrencyCode(tx.currency()).message()));
  }
  CheckRegion("region_code", tx.region_code(), errors);
  CheckRegion("account_region_code", tx.account_region_code(), errors);
  CheckRegion("counterparty.region_code", tx.counterparty().region_code(),
              errors);
  CheckId("counterparty.account_id", tx.counterparty().account_id(), false,
          errors);
  CheckId("device_id", tx.device_id(), false, errors);
  if (tx.has_geo()) {
    double lat = tx.geo().lat(), lon = tx.geo().lon();
    if (!std::isfinite(lat) || lat < -90 || lat > 90) {
      errors->push_back(absl::StrCat("geo.lat must be in [-90, 90], got ",
                                     absl::StrFormat("%.9g", lat)));
    }
    if (!std::isfinite(lon) || lon < -180 || lon > 180) {
      errors->push_back(absl::StrCat("geo.lon must be in [-180, 180], got ",
                                     absl::StrFormat("%.9g", lon)));
    }
  }
  if (!tx.customer().birth_date().empty()) {
    absl::CivilDay born;
    if (!IsIsoDate(tx.customer().birth_date(), &born) || born.year() < 1850) {
      errors->push_back(
          absl::StrCat("customer.birth_date must be a date YYYY-MM-DD, got ",
                       Quote(tx.customer().birth_date())));
    } else if (occurred_us.has_value()) {
      // A birth after the transaction is a typo that would make the age
      // unknown and so switch off every age test (the elderly customer's
      // safe-account check). The latest local date anywhere (UTC+14) is
      // allowed, whatever the pack's zone.
      const absl::CivilDay latest =
          absl::ToCivilDay(absl::FromUnixMicros(*occurred_us) + absl::Hours(14),
                           absl::UTCTimeZone());
      if (born > latest) {
        errors->push_back(
            absl::StrCat("customer.birth_date is after occurred_at, got ",
                         Quote(tx.customer().birth_date())));
      }
    }
  }
  if (tx.customer().kind() != 0 &&
      !v1::CustomerKind_IsValid(tx.customer().kind())) {
    errors->push_back(
        absl::StrCat("customer.kind has unknown CustomerKind "
                     "value ",
                     tx.customer().kind()));
  }
  CheckId("reverses_transaction_id", tx.reverses_transaction_id(), false,
          errors);
  if (tx.type() == v1::TRANSACTION_TYPE_REVERSAL) {
    if (tx.reverses_transaction_id().empty()) {
      errors->push_back(
          "reverses_transaction_id is required for TRANSACTION_TYPE_REVERSAL");
    } else if (tx.reverses_transaction_id() == tx.transaction_id()) {
      errors->push_back(
          "reverses_transaction_id must name another "
          "transaction, got its own id");
    }
  } else if (!tx.reverses_transaction_id().empty()) {
    errors->push_back(absl::StrCat(
        "reverses_transaction_id is only for TRANSACTION_TYPE_REVERSAL, got ",
        Quote(tx.reverses_transaction_id())));
  }
  if (!tx.accounting_date().empty()) {
    const std::string& d = tx.accounting_date();
    absl::CivilDay day;
    if (!IsIsoDate(d, &day)) {
      errors->push_back(absl::StrCat(
          "accounting_date must be a date YYYY-MM-DD, got ", Quote(d)));
    }
  }
  if (!tx.ip().empty()) {
    unsigned char buffer[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, tx.ip().c_str(), buffer) != 1 &&
        inet_pton(AF_INET6, tx.ip().c_str(), buffer) != 1) {
      errors->push_back(absl::StrCat("ip must be an IPv4 or IPv6 address, got ",
                                     Quote(tx.ip())));
    }
  }
  if (tx.has_account_opened_at()) {
    std::optional<int64_t> opened_us =
        CheckTime("account_opened_at", tx.account_opened_at(), errors);
    // Compared by the second: an account opened within the transaction's
    // second is accepted (clocks of two systems), with account age 0.
    if (opened_us.has_value() && occurred_us.has_value() &&
        tx.account_opened_at().seconds() > tx.occurred_at().seconds()) {
      errors->push_back(absl::StrCat("account_opened_at is after occurred_at (",
                                     Rfc3339(*opened_us), " > ",
                                     Rfc3339(*occurred_us), ")"));
    }
  }
  return errors->size() == before;
}

}  // namespace txscreen::engine
