#include "bench/transaction_generator.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace txscreen::bench {

namespace v1 = ::txscreen::v1;

namespace {

struct Province {
  const char* region;  // a district of the capital
  double lat, lon;
};

constexpr Province kProvinces[] = {
    {"310101", 31.23, 121.47}, {"110105", 39.92, 116.44},
    {"440305", 22.54, 113.93}, {"320102", 32.05, 118.80},
    {"330106", 30.27, 120.13}, {"510104", 30.66, 104.08},
    {"420106", 30.55, 114.32}, {"370102", 36.66, 117.02},
    {"350203", 24.47, 118.09}, {"530102", 25.04, 102.71},
};
constexpr int kProvinceCount = sizeof(kProvinces) / sizeof(kProvinces[0]);

const std::vector<std::string>& TransferMemos() {
  static const auto* memos = new std::vector<std::string>{
      "",       "",       "",     "生活费", "房租", "还款",          "货款",
      "红包",   "学费",   "转账", "工资",   "借款", "装修款",        "AA 聚餐",
      "物业费", "给妈妈", "定金", "报销",   "rent", "loan repayment"};
  return *memos;
}

const std::vector<std::string>& ShopMemos() {
  static const auto* memos = new std::vector<std::string>{
      "",     "早餐",     "超市购物", "加油",     "外卖",   "电费",
      "水费", "话费充值", "京东购物", "视频会员", "停车费", "药店"};
  return *memos;
}

// Each holds a phrase of rules/packs/cn/lists/scam_phrases.txt.
const std::vector<std::string>& ScamMemos() {
  static const auto* memos = new std::vector<std::string>{
      "按公安要求转入安全账户", "配合調查 轉入安全賬戶", "资金清查", "转账解冻",
      "涉嫌洗钱 配合调查"};
  return *memos;
}

bool IsScamMemo(const std::string& memo) {
  const std::vector<std::string>& scam = ScamMemos();
  return std::find(scam.begin(), scam.end(), memo) != scam.end();
}

const std::vector<std::string>& Names() {
  static const auto* names = new std::vector<std::string>{"张伟",
                                                          "王芳",
                                                          "李娜",
                                                          "刘洋",
                                                          "陈静",
                                                          "杨磊",
                                                          "赵敏",
                                                          "黄强",
                                                          "上海某科技有限公司",
                                                          "某物业管理有限公司",
                                                          "某食品批发部"};
  return *names;
}

// Cheap deterministic mixing for per-customer attributes.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void SetTime(int64_t us, google::protobuf::Timestamp* t) {
  t->set_seconds(us / 1000000);
  t->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

}  // namespace

TransactionGenerator::TransactionGenerator(GeneratorOptions options)
    : options_(options),
      rng_(options.seed),
      now_us_(options.start_us),
      mean_gap_us_(
          86400.0 * 1e6 /
          (options.per_customer_per_day *
           static_cast<double>(std::max<int64_t>(1, options.customers)))),
      last_of_customer_(static_cast<size_t>(options.customers), 0) {
  if (options_.skew > 0) {
    zipf_cdf_.resize(static_cast<size_t>(options_.customers));
    double total = 0;
    for (size_t r = 0; r < zipf_cdf_.size(); ++r) {
      total += std::pow(static_cast<double>(r + 1), -options_.skew);
      zipf_cdf_[r] = total;
    }
  }
  if (options_.scenario_share > 0) {
    // Steps per scenario on average, kScenarios in order: 1, 3 to 5, 3,
    // 6 to 9, 6 to 9, 1, 1, 6 to 10, 1 or 2.
    constexpr double kMeanSteps =
        (1 + 4 + 3 + 7.5 + 7.5 + 1 + 1 + 8 + 1.5) / 9.0;
    scenario_start_chance_ =
        std::min(options_.scenario_share, 0.5) / kMeanSteps;
  }
}

int64_t TransactionGenerator::Amount(int64_t min_fen, int64_t max_fen) {
  const double lo = std::log(static_cast<double>(min_fen));
  const double hi = std::log(static_cast<double>(max_fen));
  std::normal_distribution<double> n((lo + hi) / 2, (hi - lo) / 4);
  return static_cast<int64_t>(std::exp(std::clamp(n(rng_), lo, hi)));
}

int64_t TransactionGenerator::DrawCustomer() {
  if (zipf_cdf_.empty()) {
    return std::uniform_int_distribution<int64_t>(0,
                                                  options_.customers - 1)(rng_);
  }
  const double u =
      std::uniform_real_distribution<double>(0.0, zipf_cdf_.back())(rng_);
  const auto it = std::upper_bound(zipf_cdf_.begin(), zipf_cdf_.end(), u);
  return std::min<int64_t>(it - zipf_cdf_.begin(), options_.customers - 1);
}

const std::string& TransactionGenerator::Pick(
    const std::vector<std::string>& from) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng_)];
}

void TransactionGenerator::Customer(int64_t c, v1::Transaction* tx) {
  const uint64_t h = Mix(static_cast<uint64_t>(c));
  const Province& home = kProvinces[h % kProvinceCount];
  tx->set_customer_id(absl::StrFormat("C%09d", c));
  tx->set_account_id(absl::StrFormat("6222%012d", c));
  tx->set_account_region_code(home.region);
  // 3 % of customers bank away from home.
  const Province& here =
      (h >> 8) % 100 < 3 ? kProvinces[(h >> 16) % kProvinceCount] : home;
  tx->set_region_code(here.region);
  v1::Customer* customer = tx->mutable_customer();
  if ((h >> 24) % 50 == 0) {
    customer->set_kind(v1::CUSTOMER_KIND_ENTITY);
  } else {
    customer->set_kind(v1::CUSTOMER_KIND_INDIVIDUAL);
    // Born 1940..2006, evenly: 27 of 67 years, about two fifths, are 60 or
    // older in 2026 (more than among a real bank's customers, ~a fifth).
    customer->set_birth_date(absl::StrFormat(
        "%04d-%02d-%02d", 1940 + static_cast<int>((h >> 32) % 67),
        1 + static_cast<int>((h >> 40) % 12),
        1 + static_cast<int>((h >> 44) % 28)));
  }
  customer->set_risk_level((h >> 48) % 20 == 0 ? "HIGH" : "LOW");
  if ((h >> 52) % 200 == 0) customer->set_vulnerable(true);
  // Accounts opened between 2010 and late 2025; 1 % within the last weeks.
  const int64_t opened =
      (h >> 56) % 100 == 0
          ? now_us_ - static_cast<int64_t>((h >> 20) % 40) * 86400 * 1000000
          : 1262304000LL * 1000000 +
                static_cast<int64_t>((h >> 12) % 5000) * 86400 * 1000000;
  SetTime(std::min(opened, now_us_), tx->mutable_account_opened_at());
}

void TransactionGenerator::Next(v1::Transaction* tx) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::exponential_distribution<double> gap(1.0 / mean_gap_us_);
  now_us_ += static_cast<int64_t>(gap(rng_));

  // Channels resend after a timeout: an exact duplicate.
  if (sequence_ > 0 && unit(rng_) < 0.005) {
    *tx = previous_;
    label_ = previous_label_;
    resent_ = true;
    return;
  }
  resent_ = false;
  if (scenario_start_chance_ > 0 && unit(rng_) < scenario_start_chance_) {
    StartScenario();
  }
  if (!pending_.empty() && pending_.front().at_us <= now_us_) {
    std::pop_heap(pending_.begin(), pending_.end(), Later);
    *tx = std::move(pending_.back().tx);
    label_ = std::move(pending_.back().label);
    pending_.pop_back();
    tx->set_transaction_id(
        absl::StrFormat("%s%012d", options_.id_prefix, sequence_++));
    SetTime(now_us_, tx->mutable_occurred_at());
  } else {
    Ordinary(tx);
    label_ = TrafficLabel{};
    // Rare ordinary payments the pack rightly alerts on, so the label says
    // so too: one to a police-listed account (FRAUD-LIST blocks it), and
    // one with a scam memo (SAFE-ACCT holds an outgoing payment whose memo
    // has a scam phrase whatever the customer's age or session, and
    // SAFE-ACCT-CASH such a cash withdrawal). Scam memos go on outgoing
    // transfers only; one on money coming in would stay unlabelled, as the
    // pack rightly does not alert on it (the payer's bank holds the payment).
    label_.suspicious =
        tx->counterparty().account_id() == "TEST-FRAUD-ACCT-0001" ||
        (tx->direction() == v1::DIRECTION_OUT &&
         tx->type() != v1::TRANSACTION_TYPE_REVERSAL && IsScamMemo(tx->memo()));
  }
  previous_ = *tx;
  previous_label_ = label_;
}

void TransactionGenerator::Schedule(int64_t at_us, v1::Transaction tx,
                                    TrafficLabel label) {
  pending_.push_back(
      Pending{at_us, pending_order_++, std::move(tx), std::move(label)});
  std::push_heap(pending_.begin(), pending_.end(), Later);
}

void TransactionGenerator::StartScenario() {
  constexpr int64_t kSecond = 1000000, kMinute = 60 * kSecond;
  constexpr int64_t kHour = 60 * kMinute, kDay = 24 * kHour;
  const int64_t n = scenarios_++;
  const int kind = std::uniform_int_distribution<int>(
      0, static_cast<int>(std::size(kScenarios)) - 1)(rng_);
  auto between = [this](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  };
  // `at`, or 09:00 the next Beijing day (UTC+8) when steps spread over
  // `span` from `at` would not end by 23:00 Beijing time: steps that the
  // pack adds up per day stay on one day.
  auto within_beijing_day = [](int64_t at, int64_t span) {
    const int64_t local = (at + 8 * kHour) % kDay;
    return local + span > kDay - kHour ? at + kDay - local + 9 * kHour : at;
  };
  // The actor: a customer of its own, 41 years old, account opened three
  // years ago in Shanghai.
  v1::Transaction base;
  base.set_customer_id(absl::StrFormat("S%09d", n));
  base.set_account_id(absl::StrFormat("6230%012d", n));
  base.set_currency("CNY");
  base.set_region_code("310101");
  base.set_account_region_code("310101");
  v1::Customer* customer = base.mutable_customer();
  customer->set_kind(v1::CUSTOMER_KIND_INDIVIDUAL);
  customer->set_birth_date("1985-06-15");
  customer->set_risk_level("LOW");
  SetTime(now_us_ - 3 * 365 * 86400 * kSecond,
          base.mutable_account_opened_at());
  const std::string device = absl::StrFormat("dev-S%09d", n);

  auto counterparty = [this](v1::Transaction* tx, const std::string& account) {
    tx->mutable_counterparty()->set_account_id(account);
    tx->mutable_counterparty()->set_name(Pick(Names()));
    tx->mutable_counterparty()->set_bank_code("102100099996");
  };
  auto fresh_account = [&between]() {
    return absl::StrFormat("6228%012d", between(0, 999999999999LL));
  };
  // A step of `type` on `channel` with the direction and cash flag it
  // implies.
  auto make = [&](v1::TransactionType type, v1::Channel channel,
                  int64_t amount) {
    v1::Transaction tx = base;
    tx.set_type(type);
    tx.set_channel(channel);
    tx.set_amount_minor(amount);
    const bool in = type == v1::TRANSACTION_TYPE_TRANSFER_IN ||
                    type == v1::TRANSACTION_TYPE_CASH_DEPOSIT;
    tx.set_direction(in ? v1::DIRECTION_IN : v1::DIRECTION_OUT);
    if (type == v1::TRANSACTION_TYPE_CASH_DEPOSIT ||
        type == v1::TRANSACTION_TYPE_CASH_WITHDRAWAL) {
      tx.set_cash(true);
    }
    if (channel == v1::CHANNEL_COUNTER) {
      tx.set_branch_id("BR0042");
      tx.set_teller_id("T00042");
    } else if (channel == v1::CHANNEL_MOBILE) {
      tx.set_device_id(device);
    }
    return tx;
  };
  const std::string name(kScenarios[kind]);
  auto label = [&name](int step, bool suspicious) {
    return TrafficLabel{name, step, suspicious};
  };
  int64_t at = now_us_;
  if (name == "safe_account_scam") {
    // An elderly customer at the counter pays a first-time payee a large
    // sum: told by a caller to move savings to a "safe account".
    base.mutable_customer()->set_birth_date("1948-03-10");
    v1::Transaction tx = make(v1::TRANSACTION_TYPE_TRANSFER_OUT,
                              v1::CHANNEL_COUNTER, Amount(6000000, 30000000));
    counterparty(&tx, fresh_account());
    if (between(0, 1) == 0) {
      tx.set_memo(Pick(ScamMemos()));
    } else {
      tx.set_memo("转账");
      tx.mutable_session()->set_on_call(true);
    }
    Schedule(at, std::move(tx), label(1, true));
  } else if (name == "structuring") {
    // Cash deposits just below the 50,000 CNY report threshold, all on one
    // Beijing day (UTC+8): the second already takes the day's cash past the
    // threshold, the third makes three parts in 24 h. A run that would
    // cross midnight starts at 09:00 the next day instead.
    const int parts = static_cast<int>(between(3, 5));
    at = within_beijing_day(at, parts * 90 * kMinute);
    for (int i = 1; i <= parts; ++i) {
      Schedule(at,
               make(v1::TRANSACTION_TYPE_CASH_DEPOSIT, v1::CHANNEL_COUNTER,
                    between(4000000, 4999999)),
               label(i, i >= 2));
      at += between(30, 90) * kMinute;
    }
  } else if (name == "mule_in_out") {
    // Two payments in, then nearly all of it out to a new payee.
    int64_t in = 0;
    for (int i = 1; i <= 2; ++i) {
      v1::Transaction tx = make(v1::TRANSACTION_TYPE_TRANSFER_IN,
                                v1::CHANNEL_MOBILE, Amount(3000000, 10000000));
      in += tx.amount_minor();
      counterparty(&tx, fresh_account());
      Schedule(at, std::move(tx), label(i, false));
      at += between(10, 40) * kMinute;
    }
    v1::Transaction out = make(v1::TRANSACTION_TYPE_TRANSFER_OUT,
                               v1::CHANNEL_MOBILE, in * between(95, 105) / 100);
    counterparty(&out, fresh_account());
    Schedule(at, std::move(out), label(3, true));
  } else if (name == "fan_in" || name == "fan_out") {
    // Many distinct accounts paying in, or paid out, within hours.
    const bool fan_in = name == "fan_in";
    const int steps = static_cast<int>(between(6, 9));
    for (int i = 1; i <= steps; ++i) {
      v1::Transaction tx =
          fan_in ? make(v1::TRANSACTION_TYPE_TRANSFER_IN, v1::CHANNEL_MOBILE,
                        Amount(200000, 2000000))
                 : make(v1::TRANSACTION_TYPE_TRANSFER_OUT, v1::CHANNEL_MOBILE,
                        Amount(100000, 900000));
      counterparty(&tx, fresh_account());
      Schedule(at, std::move(tx), label(i, i >= 5));
      at += between(8, 20) * kMinute;
    }
  } else if (name == "cross_region") {
    // A large transfer at a counter in Kunming from a Shanghai account.
    v1::Transaction tx = make(v1::TRANSACTION_TYPE_TRANSFER_OUT,
                              v1::CHANNEL_COUNTER, Amount(6000000, 25000000));
    tx.set_region_code("530102");
    counterparty(&tx, fresh_account());
    Schedule(at, std::move(tx), label(1, true));
  } else if (name == "police_listed_payee") {
    v1::Transaction tx = make(v1::TRANSACTION_TYPE_TRANSFER_OUT,
                              v1::CHANNEL_MOBILE, Amount(500000, 5000000));
    counterparty(&tx, absl::StrFormat("TEST-FRAUD-ACCT-%04d", between(1, 3)));
    Schedule(at, std::move(tx), label(1, true));
  } else if (name == "cash_courier") {
    // An elderly customer, told by a caller impersonating the police to
    // hand their savings to a "courier" (上门取款), withdraws them at the
    // counter with the cover story the caller taught: at once, or in two
    // visits the same Beijing day that only together reach the 50,000 CNY
    // from which the pack holds an elderly customer's cash.
    base.mutable_customer()->set_birth_date("1951-09-02");
    if (between(0, 1) == 0) {
      v1::Transaction tx = make(v1::TRANSACTION_TYPE_CASH_WITHDRAWAL,
                                v1::CHANNEL_COUNTER, Amount(6000000, 30000000));
      tx.set_memo("装修款");
      Schedule(at, std::move(tx), label(1, true));
    } else {
      at = within_beijing_day(at, 3 * kHour);
      const int64_t first = between(2600000, 4500000);
      v1::Transaction tx = make(v1::TRANSACTION_TYPE_CASH_WITHDRAWAL,
                                v1::CHANNEL_COUNTER, first);
      tx.set_memo("装修款");
      Schedule(at, std::move(tx), label(1, false));
      at += between(60, 180) * kMinute;
      tx = make(v1::TRANSACTION_TYPE_CASH_WITHDRAWAL, v1::CHANNEL_COUNTER,
                between(5000000 - first, 4500000));
      tx.set_memo("装修款");
      Schedule(at, std::move(tx), label(2, true));
    }
  } else {
    // velocity_burst: a run of small transfers to one payee, seconds apart.
    const std::string payee = fresh_account();
    const int steps = static_cast<int>(between(6, 10));
    for (int i = 1; i <= steps; ++i) {
      v1::Transaction tx = make(v1::TRANSACTION_TYPE_TRANSFER_OUT,
                                v1::CHANNEL_MOBILE, Amount(20000, 300000));
      counterparty(&tx, payee);
      Schedule(at, std::move(tx), label(i, i >= 4));
      at += between(15, 40) * kSecond;
    }
  }
}

void TransactionGenerator::Ordinary(v1::Transaction* tx) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  tx->Clear();
  const int64_t c = DrawCustomer();
  const int64_t seq = sequence_++;
  tx->set_transaction_id(absl::StrFormat("%s%012d", options_.id_prefix, seq));
  SetTime(now_us_, tx->mutable_occurred_at());
  tx->set_currency("CNY");
  Customer(c, tx);
  const uint64_t h = Mix(static_cast<uint64_t>(c));
  int64_t& last = last_of_customer_[static_cast<size_t>(c)];

  const double kind = unit(rng_);
  if (kind < 0.005 && last != 0) {
    // 冲正 of this customer's previous transaction.
    tx->set_type(v1::TRANSACTION_TYPE_REVERSAL);
    tx->set_reverses_transaction_id(
        absl::StrFormat("%s%012d", options_.id_prefix, last - 1));
    tx->set_channel(v1::CHANNEL_COUNTER);
    tx->set_direction(v1::DIRECTION_OUT);
    tx->set_amount_minor(Amount(1000, 2000000));
    tx->set_memo("柜员差错冲正");
  } else if (kind < 0.30) {
    // Card and QR payments at shops and online.
    tx->set_type(v1::TRANSACTION_TYPE_PAYMENT);
    const double ch = unit(rng_);
    tx->set_channel(ch < 0.5    ? v1::CHANNEL_POS
                    : ch < 0.85 ? v1::CHANNEL_MOBILE
                                : v1::CHANNEL_ONLINE);
    tx->set_direction(v1::DIRECTION_OUT);
    tx->set_amount_minor(Amount(500, 500000));
    tx->set_memo(Pick(ShopMemos()));
    const int64_t merchant = static_cast<int64_t>(Mix(h + seq % 7) % 20000);
    tx->mutable_counterparty()->set_account_id(
        absl::StrFormat("MCH%08d", merchant));
    tx->mutable_counterparty()->set_name("某商户");
    if (tx->channel() == v1::CHANNEL_POS) {
      tx->set_terminal_id(absl::StrFormat("POS%08d", merchant));
    }
  } else if (kind < 0.57) {
    // Transfers out: mostly to a handful of habitual payees.
    tx->set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
    const double ch = unit(rng_);
    tx->set_channel(ch < 0.6    ? v1::CHANNEL_MOBILE
                    : ch < 0.85 ? v1::CHANNEL_ONLINE
                                : v1::CHANNEL_COUNTER);
    tx->set_direction(v1::DIRECTION_OUT);
    const double size = unit(rng_);
    tx->set_amount_minor(size < 0.97 ? Amount(5000, 2000000)
                                     : Amount(2000000, 80000000));
    v1::Counterparty* cp = tx->mutable_counterparty();
    if (unit(rng_) < 0.85) {
      cp->set_account_id(absl::StrFormat(
          "6217%012d", Mix(h + std::uniform_int_distribution<int>(0, 4)(rng_)) %
                           1000000000000ULL));
    } else {
      cp->set_account_id(absl::StrFormat(
          "6228%012d",
          std::uniform_int_distribution<int64_t>(0, 999999999999LL)(rng_)));
    }
    cp->set_name(Pick(Names()));
    cp->set_bank_code("102100099996");
    cp->set_region_code(kProvinces[(h >> 4) % kProvinceCount].region);
    const double risk = unit(rng_);
    if (risk < 0.002) {
      tx->set_memo(Pick(ScamMemos()));
    } else {
      tx->set_memo(Pick(TransferMemos()));
    }
    if (risk > 0.999) tx->mutable_session()->set_on_call(true);
    if (risk > 0.9995) tx->mutable_session()->set_remote_control_app(true);
    if (risk > 0.9998) cp->set_account_id("TEST-FRAUD-ACCT-0001");
    if (unit(rng_) < 0.03) {
      tx->set_cross_border(true);
      tx->set_currency("USD");
      tx->set_amount_minor(Amount(10000, 5000000));
      cp->set_bank_code("CTBAAU2S");
      cp->clear_region_code();
    }
  } else if (kind < 0.77) {
    tx->set_type(v1::TRANSACTION_TYPE_TRANSFER_IN);
    tx->set_channel(unit(rng_) < 0.7 ? v1::CHANNEL_MOBILE : v1::CHANNEL_ONLINE);
    tx->set_direction(v1::DIRECTION_IN);
    tx->set_amount_minor(Amount(5000, 3000000));
    tx->set_memo(Pick(TransferMemos()));
    tx->mutable_counterparty()->set_account_id(absl::StrFormat(
        "6217%012d", Mix(h ^ std::uniform_int_distribution<int>(0, 9)(rng_)) %
                         1000000000000ULL));
    tx->mutable_counterparty()->set_name(Pick(Names()));
  } else if (kind < 0.87) {
    tx->set_type(v1::TRANSACTION_TYPE_CASH_WITHDRAWAL);
    tx->set_cash(true);
    const bool atm = unit(rng_) < 0.7;
    tx->set_channel(atm ? v1::CHANNEL_ATM : v1::CHANNEL_COUNTER);
    tx->set_direction(v1::DIRECTION_OUT);
    tx->set_amount_minor(atm ? Amount(10000, 2000000)
                             : Amount(100000, 8000000));
    if (atm) tx->set_terminal_id(absl::StrFormat("ATM%06d", h % 5000));
  } else if (kind < 0.96) {
    tx->set_type(v1::TRANSACTION_TYPE_CASH_DEPOSIT);
    tx->set_cash(true);
    tx->set_channel(unit(rng_) < 0.6 ? v1::CHANNEL_COUNTER : v1::CHANNEL_VTM);
    tx->set_direction(v1::DIRECTION_IN);
    // Some deposit just below the 50,000 threshold.
    tx->set_amount_minor(unit(rng_) < 0.05 ? Amount(4000000, 4999999)
                                           : Amount(50000, 6000000));
    tx->set_memo(unit(rng_) < 0.3 ? "营业款" : "");
  } else {
    tx->set_type(v1::TRANSACTION_TYPE_FX_EXCHANGE);
    tx->set_channel(v1::CHANNEL_MOBILE);
    tx->set_direction(v1::DIRECTION_OUT);
    tx->set_currency(unit(rng_) < 0.7 ? "USD" : "HKD");
    tx->set_amount_minor(Amount(10000, 500000));
    tx->set_memo("购汇 旅游");
  }
  if (tx->channel() == v1::CHANNEL_COUNTER ||
      tx->channel() == v1::CHANNEL_VTM) {
    tx->set_branch_id(absl::StrFormat("BR%04d", h % 800));
    if (tx->channel() == v1::CHANNEL_COUNTER) {
      tx->set_teller_id(absl::StrFormat("T%05d", h % 9000));
    }
  }
  if (tx->channel() == v1::CHANNEL_MOBILE ||
      tx->channel() == v1::CHANNEL_ONLINE) {
    tx->set_device_id(absl::StrFormat("dev-%016x", Mix(h)));
    if (unit(rng_) < 0.3) {
      const Province& p = kProvinces[h % kProvinceCount];
      tx->mutable_geo()->set_lat(p.lat + (unit(rng_) - 0.5) * 0.2);
      tx->mutable_geo()->set_lon(p.lon + (unit(rng_) - 0.5) * 0.2);
    }
  }
  if (tx->type() != v1::TRANSACTION_TYPE_REVERSAL) last = seq + 1;
}

}  // namespace txscreen::bench
