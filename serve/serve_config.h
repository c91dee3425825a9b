// File: serve_config.h
//
// Configuration of `txscreen serve`: command-line flags and an optional
// config file with the same keys, one `key = value` per line (`#` starts a
// comment). Flags win over the file. Any `kafka.<setting>` is passed to
// librdkafka as <setting> for every client (SASL/TLS included); secrets are
// never shown. Errors name the flag or FILE:LINE and the value.
//
// Keys: brokers, group, instance-id, rules (comma-separated), state-dir,
// input-format and output-format (proto|json), partitions, create-topics
// (true|false), topic.transactions, topic.decisions, topic.alerts,
// topic.reports, topic.dead-letter, topic.state-changelog,
// topic.dedupe-changelog, topic.overrides, topic.override-results,
// topic.dispositions, topic.holds, roster (staff CSV), hold-timeout (e.g. 30m),
// commit-interval-ms, kafka-timeout-ms, budget (e.g. 10s, 500ms),
// budget.<channel>,
// fail-safe.<channel> (allow|review|warn|delay|intercept|block), http
// (HOST:PORT, or "off"), admin-token-file, kafka.<setting>.
// Channels: counter, atm, mobile, online, vtm, pos, phone.
//
// Thread safety: stateless functions.
#ifndef TXSCREEN_SERVE_SERVE_CONFIG_H_
#define TXSCREEN_SERVE_SERVE_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/service.h"

namespace txscreen::serve {

struct ServeCommandOptions {
  ServeOptions serve;
  // Admin HTTP; empty = off.
  std::string http_host = "127.0.0.1";
  int http_port = 8080;
  bool http = true;
  // Required by mutating admin endpoints; empty = those are refused.
  std::string admin_token;
  // "key = value" lines describing the effective configuration, secrets
  // masked: what `serve` logs at start.
  std::vector<std::string> shown;
};

// `args` are the flags after `serve`. `env_token` is $TXSCREEN_ADMIN_TOKEN
// (used when no admin-token-file is configured).
absl::StatusOr<ServeCommandOptions> ParseServeConfig(
    const std::vector<std::string>& args, const std::string& env_token);

// The usage text of `txscreen serve`.
const char* ServeUsage();

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_SERVE_CONFIG_H_
