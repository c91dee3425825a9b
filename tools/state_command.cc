// txscreen state inspect: what the engine knows about a customer.
#include <iostream>
#include <optional>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "compliance/state_inspect.h"
#include "engine/state_store.h"
#include "rules/rule_pack_loader.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace {

constexpr char kUsage[] =
    "usage: txscreen state inspect --customer ID [--state-dir DIR] [--rules "
    "PACK]\n"
    "           [--at TIME] [--json]\n"
    "  Windows (values for a transaction at --at, default the customer's "
    "latest\n"
    "  transaction), last activity, known payees, remembered transactions and\n"
    "  pending holds, from the state directory (default txscreen-data; read\n"
    "  only, so beside a running serve) and the rule pack the engine runs\n"
    "  (default rules/packs/cn). TIME is RFC 3339 "
    "(2026-11-20T09:30:00+08:00).\n";

}  // namespace

int StateCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "inspect") {
    std::cerr << "txscreen state: "
              << (args.empty() ? std::string("a subcommand is needed")
                               : "unknown subcommand '" + args[0] + "'")
              << "; use 'state inspect'\n"
              << kUsage;
    return 2;
  }
  CommandLine cl({"customer", "state-dir", "rules", "at"}, {"json", "help"});
  absl::Status parsed =
      cl.Parse(std::vector<std::string>(args.begin() + 1, args.end()));
  if (cl.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  absl::Time at = absl::UnixEpoch();
  std::string err;
  if (parsed.ok() && cl.Has("at") &&
      !absl::ParseTime(absl::RFC3339_full, cl.Get("at"), &at, &err)) {
    parsed = absl::InvalidArgumentError("--at needs an RFC 3339 time, got '" +
                                        cl.Get("at") + "'");
  }
  if (!parsed.ok() || !cl.Has("customer") || cl.Get("customer").empty() ||
      !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen state inspect: " << parsed.message() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  rules::LoadResult pack = rules::LoadRulePack(absl::StrSplit(
      cl.Get("rules", "rules/packs/cn"), ',', absl::SkipEmpty()));
  for (const std::string& e : pack.errors) std::cerr << e << "\n";
  if (!pack.errors.empty()) return 1;
  auto store =
      engine::OpenRocksStateStoreReadOnly(cl.Get("state-dir", "txscreen-data"));
  if (!store.ok()) {
    std::cerr << "txscreen state inspect: " << store.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<compliance::CustomerState> state = compliance::InspectCustomer(
      store->get(), *pack.rule_set, cl.Get("customer"),
      cl.Has("at") ? std::optional<int64_t>(absl::ToUnixMicros(at))
                   : std::nullopt);
  if (!state.ok()) {
    std::cerr << "txscreen state inspect: " << state.status().message() << "\n";
    return 1;
  }
  std::cout << (cl.Has("json") ? compliance::CustomerStateJson(*state) + "\n"
                               : compliance::CustomerStateText(
                                     *state, pack.rule_set->time_zone()));
  // Unknown customers are an answer, not an error; scripts see it in JSON.
  return 0;
}

}  // namespace txscreen::tools
