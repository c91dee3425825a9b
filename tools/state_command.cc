// txscreen state inspect: what the engine knows about a customer.
#include <filesystem>
#include <iostream>
#include <optional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "compliance/state_inspect.h"
#include "engine/partition_state.h"
#include "engine/state_store.h"
#include "rules/rule_pack_loader.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace {

constexpr char kUsage[] =
    "usage: txscreen state stats [--state-dir DIR]\n"
    "  Keys and bytes per state family, transaction records, customers with\n"
    "  history and bytes per customer (read only).\n"
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

constexpr const char* kFamilies[] = {"windows", "history", "dedupe",
                                     "offsets", "holds",   "audit"};

int Stats(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << kUsage;
    return 0;
  }
  CommandLine cl({"state-dir"}, {});
  if (absl::Status parsed = cl.Parse(args);
      !parsed.ok() || !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen state stats: " << parsed.message() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  const std::string dir = cl.Get("state-dir", "txscreen-data");
  auto store = engine::OpenRocksStateStoreReadOnly(dir);
  if (!store.ok()) {
    std::cerr << "txscreen state stats: " << store.status().message() << "\n";
    return 1;
  }
  int64_t total = 0, customers = 0, damaged_values = 0;
  // Transaction records: in chunks, or one per key (stored before chunks).
  int64_t chunks = 0, chunked = 0, single = 0, damaged = 0;
  std::cout << absl::StrFormat("%-8s %12s %14s %10s\n", "family", "keys",
                               "bytes", "bytes/key");
  for (int f = 0; f < engine::kStateFamilyCount; ++f) {
    int64_t keys = 0, bytes = 0;
    absl::Status s = (*store)->Scan(
        static_cast<engine::StateFamily>(f), "",
        [&](absl::string_view k, absl::string_view v) {
          ++keys;
          bytes += static_cast<int64_t>(k.size() + v.size());
          const auto family = static_cast<engine::StateFamily>(f);
          if (family == engine::StateFamily::kHistory) {
            ++customers;  // a history of state before format 3
            return true;
          }
          if (family == engine::StateFamily::kWindows) {
            const int history = engine::CustomerHistoryInValue(k, v);
            customers += history > 0;
            damaged_values += history < 0;
            return true;
          }
          if (family != engine::StateFamily::kDedupe) return true;
          if (!engine::IsRecordChunkKey(k)) {
            ++single;
          } else if (int64_t n = engine::RecordsInChunk(v); n >= 0) {
            ++chunks;
            chunked += n;
          } else {
            ++damaged;
          }
          return true;
        });
    if (!s.ok()) {
      std::cerr << "txscreen state stats: " << s.message() << "\n";
      return 1;
    }
    total += bytes;
    std::cout << absl::StrFormat(
        "%-8s %12d %14d %10.0f\n", kFamilies[f], keys, bytes,
        keys ? static_cast<double>(bytes) / keys : 0.0);
  }
  std::cout << absl::StrFormat(
      "dedupe: %d transaction records, %d in %d chunks, %d under keys of "
      "their own (stored before chunks)%s\n",
      chunked + single, chunked, chunks, single,
      damaged > 0 ? absl::StrFormat("; %d damaged chunks", damaged) : "");
  std::error_code ec;
  int64_t on_disk = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) on_disk += static_cast<int64_t>(e.file_size(ec));
  }
  std::cout << absl::StrFormat(
      "total %d bytes of keys and values, %d on disk; %d customers with "
      "history: "
      "%.0f bytes per customer (%.0f on disk)%s\n",
      total, on_disk, customers,
      customers ? static_cast<double>(total) / customers : 0.0,
      customers ? static_cast<double>(on_disk) / customers : 0.0,
      damaged_values > 0
          ? absl::StrFormat("; %d damaged customer values", damaged_values)
          : "");
  return 0;
}

}  // namespace

int StateCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "stats") {
    return Stats(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args.empty() || args[0] != "inspect") {
    std::cerr << "txscreen state: "
              << (args.empty() ? std::string("a subcommand is needed")
                               : "unknown subcommand '" + args[0] + "'")
              << "; use 'state inspect' or 'state stats'\n"
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
      (!absl::ParseTime(absl::RFC3339_full, cl.Get("at"), &at, &err) ||
       at < absl::UnixEpoch() ||
       at >=
           absl::FromCivil(absl::CivilDay(10000, 1, 1), absl::UTCTimeZone()))) {
    // "infinite-future" parses, and a year 300000 overflowed the window
    // arithmetic.
    parsed = absl::InvalidArgumentError(
        "--at needs an RFC 3339 time from 1970 to 9999, got '" + cl.Get("at") +
        "'");
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
