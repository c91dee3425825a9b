#include "serve/serve_config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "serve/kafka_util.h"

namespace txscreen::serve {

namespace v1 = ::txscreen::v1;

namespace {

struct Value {
  std::string value;
  std::string where;  // "--flag" or "FILE:LINE"
};

const std::vector<std::string>& PlainKeys() {
  static const std::vector<std::string> keys = {"brokers",
                                                "group",
                                                "instance-id",
                                                "rules",
                                                "shadow-rules",
                                                "shadow-state-dir",
                                                "topic.shadow-decisions",
                                                "state-dir",
                                                "input-format",
                                                "output-format",
                                                "partitions",
                                                "create-topics",
                                                "topic.transactions",
                                                "topic.decisions",
                                                "topic.alerts",
                                                "topic.reports",
                                                "topic.dead-letter",
                                                "topic.state-changelog",
                                                "topic.dedupe-changelog",
                                                "topic.overrides",
                                                "topic.override-results",
                                                "topic.dispositions",
                                                "topic.holds",
                                                "roster",
                                                "hold-timeout",
                                                "commit-interval-ms",
                                                "kafka-timeout-ms",
                                                "state-memory-mb",
                                                "state-cache-entities",
                                                "state-sweep-keys",
                                                "budget",
                                                "http",
                                                "admin-token-file",
                                                "config"};
  return keys;
}

const std::map<std::string, v1::Channel>& Channels() {
  static const std::map<std::string, v1::Channel> channels = {
      {"counter", v1::CHANNEL_COUNTER}, {"atm", v1::CHANNEL_ATM},
      {"mobile", v1::CHANNEL_MOBILE},   {"online", v1::CHANNEL_ONLINE},
      {"vtm", v1::CHANNEL_VTM},         {"pos", v1::CHANNEL_POS},
      {"phone", v1::CHANNEL_PHONE}};
  return channels;
}

bool KnownKey(const std::string& key) {
  for (const std::string& k : PlainKeys()) {
    if (k == key) return true;
  }
  if (absl::StartsWith(key, "kafka.") && key.size() > 6) return true;
  for (absl::string_view prefix : {"budget.", "fail-safe."}) {
    if (absl::StartsWith(key, prefix) &&
        Channels().count(key.substr(prefix.size())) != 0) {
      return true;
    }
  }
  return false;
}

absl::Status ReadConfigFile(const std::string& path,
                            std::map<std::string, Value>* values) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, " is a directory"));
  }
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read config file ", path, ": ", std::strerror(errno)));
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    // '#' starts a comment at the start of a line or after white space;
    // inside a value (a password "pa#ss") it is part of the value.
    absl::string_view text = line;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '#' &&
          (i == 0 ||
           absl::ascii_isspace(static_cast<unsigned char>(text[i - 1])))) {
        text = text.substr(0, i);
        break;
      }
    }
    text = absl::StripAsciiWhitespace(text);
    if (text.empty()) continue;
    const std::string where = absl::StrCat(path, ":", n);
    size_t eq = text.find('=');
    if (eq == absl::string_view::npos) {
      // The line is not shown: it may hold a secret.
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected key = value"));
    }
    std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    if (!KnownKey(key) || key == "config") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown key '", key, "'"));
    }
    (*values)[key] = Value{value, where};
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseMicros(const Value& v) {
  absl::Duration d;
  // At least a millisecond (0 would mean "not set"), at most a day.
  if (!absl::ParseDuration(v.value, &d) || d < absl::Milliseconds(1) ||
      d > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        absl::StrCat(v.where,
                     ": expected a duration from 1ms to 24h such as 10s "
                     "or 500ms, got '",
                     v.value, "'"));
  }
  return absl::ToInt64Microseconds(d);
}

absl::StatusOr<v1::Verdict> ParseVerdict(const Value& v) {
  static const std::map<std::string, v1::Verdict> verdicts = {
      {"allow", v1::VERDICT_ALLOW},         {"review", v1::VERDICT_REVIEW},
      {"warn", v1::VERDICT_WARN},           {"delay", v1::VERDICT_DELAY},
      {"intercept", v1::VERDICT_INTERCEPT}, {"block", v1::VERDICT_BLOCK}};
  auto it = verdicts.find(absl::AsciiStrToLower(v.value));
  if (it == verdicts.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        v.where,
        ": expected allow, review, warn, delay, intercept or block, got '",
        v.value, "'"));
  }
  return it->second;
}

// `v` as a whole number in [low, high]; else "expected NOUN from LOW to
// HIGH, got 'VALUE'" (`low_note` follows LOW, e.g. " (off)").
absl::StatusOr<int64_t> InRange(const Value& v, int64_t low, int64_t high,
                                absl::string_view noun = "a number",
                                absl::string_view low_note = "") {
  int64_t n = 0;
  if (!absl::SimpleAtoi(v.value, &n) || n < low || n > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(v.where, ": expected ", noun, " from ", low, low_note,
                     " to ", high, ", got '", v.value, "'"));
  }
  return n;
}

absl::StatusOr<WireFormat> ParseFormat(const Value& v) {
  if (v.value == "proto") return WireFormat::kProto;
  if (v.value == "json") return WireFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat(v.where, ": expected proto or json, got '", v.value, "'"));
}

}  // namespace

const char* ServeUsage() {
  return "usage: txscreen serve [--brokers HOST:PORT,...] [--group G] "
         "[--rules PACK[,PACK...]] [--state-dir DIR]\n"
         "         [--shadow-rules PACK[,PACK...]] [--shadow-state-dir DIR]\n"
         "         [--input-format proto|json] [--output-format proto|json] "
         "[--http HOST:PORT|off] [--config FILE]\n"
         "         [--partitions N] [--budget 10s] [--budget.CHANNEL D] "
         "[--fail-safe.CHANNEL VERDICT] [--kafka.SETTING VALUE] ...\n"
         "         [--roster STAFF.csv] [--hold-timeout 30m]\n"
         "Without --brokers: an embedded Kafka cluster on 127.0.0.1 "
         "(printed at start). See README.md, \"Running the streaming "
         "service\".\n";
}

absl::StatusOr<ServeCommandOptions> ParseServeConfig(
    const std::vector<std::string>& args, const std::string& env_token) {
  std::map<std::string, Value> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!absl::StartsWith(a, "--") || a.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", a, "'"));
    }
    std::string key = a.substr(2), value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (i + 1 < args.size() && !(absl::StartsWith(args[i + 1], "--") &&
                                        args[i + 1].size() > 2)) {
      // "--brokers --group g" is a forgotten value, not brokers "--group".
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", key, " needs a value"));
    }
    if (!KnownKey(key)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", key));
    }
    flags[key] = Value{value, absl::StrCat("--", key)};
  }
  std::map<std::string, Value> values;
  if (auto it = flags.find("config"); it != flags.end()) {
    if (absl::Status s = ReadConfigFile(it->second.value, &values); !s.ok()) {
      return s;
    }
    flags.erase(it);
  }
  for (auto& [k, v] : flags) values[k] = v;

  ServeCommandOptions out;
  ServeOptions& o = out.serve;
  o.rules = {"rules/packs/cn"};
  o.fail_safe = DefaultFailSafe();
  for (const auto& [key, v] : values) {
    if (v.value.empty() &&
        (key == "brokers" || key == "group" || key == "state-dir" ||
         key == "rules" || absl::StartsWith(key, "topic."))) {
      // "brokers =" would start the embedded cluster instead of the
      // bank's, "topic.decisions =" write nowhere: never what was meant.
      return absl::InvalidArgumentError(
          absl::StrCat(v.where, ": ", key, " needs a value"));
    }
    if (key == "brokers") {
      o.brokers = v.value;
    } else if (key == "group") {
      o.group = v.value;
    } else if (key == "instance-id") {
      o.instance_id = v.value;
    } else if (key == "rules") {
      o.rules = absl::StrSplit(v.value, ',', absl::SkipEmpty());
    } else if (key == "shadow-rules") {
      o.shadow_rules = absl::StrSplit(v.value, ',', absl::SkipEmpty());
    } else if (key == "shadow-state-dir") {
      o.shadow_state_dir = v.value;
    } else if (key == "topic.shadow-decisions") {
      o.topics.shadow_decisions = v.value;
    } else if (key == "state-dir") {
      o.state_dir = v.value;
    } else if (key == "input-format") {
      absl::StatusOr<WireFormat> f = ParseFormat(v);
      if (!f.ok()) return f.status();
      o.input_format = *f;
    } else if (key == "output-format") {
      absl::StatusOr<WireFormat> f = ParseFormat(v);
      if (!f.ok()) return f.status();
      o.output_format = *f;
    } else if (key == "partitions" || key == "commit-interval-ms") {
      absl::StatusOr<int64_t> n = InRange(v, 1, 100000);
      if (!n.ok()) return n.status();
      if (key == "partitions" && *n > 1000) {
        return absl::InvalidArgumentError(absl::StrCat(
            v.where, ": at most 1000 partitions, got '", v.value, "'"));
      }
      (key == "partitions" ? o.partitions : o.commit_interval_ms) =
          static_cast<int>(*n);
    } else if (key == "kafka-timeout-ms") {
      absl::StatusOr<int64_t> n = InRange(v, 1000, 600000, "milliseconds");
      if (!n.ok()) return n.status();
      o.kafka_timeout_ms = static_cast<int>(*n);
    } else if (key == "state-memory-mb") {
      absl::StatusOr<int64_t> n = InRange(v, 16, 1 << 20);
      if (!n.ok()) return n.status();
      o.store.memory_bytes = static_cast<size_t>(*n) << 20;
    } else if (key == "state-cache-entities") {
      absl::StatusOr<int64_t> n = InRange(v, 1000, 1000000000);
      if (!n.ok()) return n.status();
      o.state_cache_entities = *n;
    } else if (key == "state-sweep-keys") {
      absl::StatusOr<int64_t> n =
          InRange(v, 0, 1000000, "a number", " (no sweep)");
      if (!n.ok()) return n.status();
      o.state_sweep_keys = *n;
    } else if (key == "create-topics") {
      if (v.value != "true" && v.value != "false") {
        return absl::InvalidArgumentError(absl::StrCat(
            v.where, ": expected true or false, got '", v.value, "'"));
      }
      o.create_topics = v.value == "true";
    } else if (key == "topic.transactions") {
      o.topics.transactions = v.value;
    } else if (key == "topic.decisions") {
      o.topics.decisions = v.value;
    } else if (key == "topic.alerts") {
      o.topics.alerts = v.value;
    } else if (key == "topic.reports") {
      o.topics.reports = v.value;
    } else if (key == "topic.dead-letter") {
      o.topics.dead_letter = v.value;
    } else if (key == "topic.state-changelog") {
      o.topics.changelog.state = v.value;
    } else if (key == "topic.dedupe-changelog") {
      o.topics.changelog.dedupe = v.value;
    } else if (key == "topic.overrides") {
      o.topics.overrides = v.value;
    } else if (key == "topic.override-results") {
      o.topics.override_results = v.value;
    } else if (key == "topic.dispositions") {
      o.topics.dispositions = v.value;
    } else if (key == "topic.holds") {
      o.topics.holds = v.value;
    } else if (key == "roster") {
      o.roster_path = v.value;
    } else if (key == "hold-timeout") {
      absl::StatusOr<int64_t> us = ParseMicros(v);
      if (!us.ok()) return us.status();
      o.holds.timeout_us = *us;
    } else if (key == "budget") {
      absl::StatusOr<int64_t> us = ParseMicros(v);
      if (!us.ok()) return us.status();
      o.screener.default_budget_us = *us;
    } else if (absl::StartsWith(key, "budget.")) {
      absl::StatusOr<int64_t> us = ParseMicros(v);
      if (!us.ok()) return us.status();
      o.screener.channel_budget_us[Channels().at(key.substr(7))] = *us;
    } else if (absl::StartsWith(key, "fail-safe.")) {
      absl::StatusOr<v1::Verdict> verdict = ParseVerdict(v);
      if (!verdict.ok()) return verdict.status();
      o.fail_safe[Channels().at(key.substr(10))] = *verdict;
    } else if (key == "http") {
      if (v.value == "off") {
        out.http = false;
      } else {
        size_t colon = v.value.rfind(':');
        int port = -1;
        if (colon == std::string::npos ||
            !absl::SimpleAtoi(v.value.substr(colon + 1), &port) || port < 0 ||
            port > 65535 || colon == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              v.where, ": expected HOST:PORT or off, got '", v.value, "'"));
        }
        out.http_host = v.value.substr(0, colon);
        out.http_port = port;
      }
    } else if (key == "admin-token-file") {
      std::ifstream in(v.value);
      if (!in) {
        return absl::InvalidArgumentError(absl::StrCat(
            v.where, ": cannot read ", v.value, ": ", std::strerror(errno)));
      }
      std::getline(in, out.admin_token);
      out.admin_token =
          std::string(absl::StripAsciiWhitespace(out.admin_token));
      if (out.admin_token.size() < 16) {
        return absl::InvalidArgumentError(
            absl::StrCat(v.where, ": the admin token in ", v.value,
                         " is shorter than 16 characters"));
      }
    } else if (absl::StartsWith(key, "kafka.")) {
      // librdkafka checks the setting now, so that its error names where
      // it was given (the service would say only which setting).
      const std::string setting = key.substr(6);
      // What exactly-once and the service's wiring depend on: set by the
      // service for each client, never by the operator.
      static constexpr absl::string_view kOwned[] = {
          "bootstrap.servers",
          "metadata.broker.list",
          "group.id",
          "transactional.id",
          "isolation.level",
          "enable.auto.commit",
          "enable.auto.offset.store",
          "auto.offset.reset",
          "enable.partition.eof",
          "partition.assignment.strategy"};
      for (absl::string_view owned : kOwned) {
        if (setting == owned) {
          return absl::InvalidArgumentError(absl::StrCat(
              v.where, ": kafka.", setting,
              " is set by txscreen itself (exactly-once and the consumer "
              "group depend on it)",
              setting == "bootstrap.servers" ||
                      setting == "metadata.broker.list"
                  ? "; use brokers"
              : setting == "group.id" ? "; use group"
                                      : ""));
        }
      }
      if (absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
              MakeKafkaConf({{setting, v.value}});
          !conf.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(v.where, ": ", conf.status().message()));
      }
      o.kafka[setting] = v.value;
    }
    out.shown.push_back(absl::StrCat(key, " = ", ShownSetting(key, v.value)));
  }
  if (out.admin_token.empty()) {
    if (!env_token.empty() && env_token.size() < 16) {
      // As for admin-token-file: a short token is guessed.
      return absl::InvalidArgumentError(
          "the admin token in $TXSCREEN_ADMIN_TOKEN is shorter than 16 "
          "characters");
    }
    out.admin_token = env_token;
  }
  if (o.rules.empty()) {
    return absl::InvalidArgumentError("rules: no rule pack given");
  }
  // Two roles on one topic would feed the engine its own output (decisions
  // read back as transactions) or mix what consumers tell apart.
  const ServeTopics& t = o.topics;
  const std::pair<const char*, const std::string*> topics[] = {
      {"topic.transactions", &t.transactions},
      {"topic.decisions", &t.decisions},
      {"topic.alerts", &t.alerts},
      {"topic.reports", &t.reports},
      {"topic.shadow-decisions", &t.shadow_decisions},
      {"topic.dead-letter", &t.dead_letter},
      {"topic.overrides", &t.overrides},
      {"topic.override-results", &t.override_results},
      {"topic.dispositions", &t.dispositions},
      {"topic.holds", &t.holds},
      {"topic.state-changelog", &t.changelog.state},
      {"topic.dedupe-changelog", &t.changelog.dedupe}};
  for (size_t i = 0; i < std::size(topics); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (*topics[i].second == *topics[j].second) {
        return absl::InvalidArgumentError(absl::StrCat(
            topics[j].first, " and ", topics[i].first, " are the same topic, '",
            *topics[i].second, "': each needs its own"));
      }
    }
  }
  // The local state and the configured rules are checked when the service
  // starts, with their own errors.
  return out;
}

}  // namespace txscreen::serve
