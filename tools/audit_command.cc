// txscreen audit verify|export: the audit log in a state directory
// (engine/audit.h). Read-only: works beside a running `serve`.
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/audit.h"
#include "engine/masking.h"
#include "engine/transaction_codec.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace {

constexpr char kUsage[] =
    "usage: txscreen audit verify --state-dir DIR\n"
    "       txscreen audit export --state-dir DIR [--from TIME] [--to TIME]\n"
    "                             [--time-zone Asia/Shanghai] [--unmasked]\n"
    "                             [--output FILE|-]\n"
    "TIME: RFC 3339 (2026-11-22T00:00:00+08:00) or a date (2026-11-22: its\n"
    "midnight in --time-zone, the bank's day). Export writes one JSON record\n"
    "per line, entries with from <= at < to, account and card numbers\n"
    "masked unless --unmasked (for whoever may see them in clear). Exit 0;\n"
    "1 when some records could not be read (audit verify names them); 2 on\n"
    "usage or store errors.\n";

bool ParseTime(const std::string& text, const absl::TimeZone& zone,
               int64_t* us) {
  absl::Time t;
  std::string error;
  absl::CivilDay day;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    *us = absl::ToUnixMicros(t);
    return true;
  }
  if (text.size() == 10 && absl::ParseCivilTime(text, &day)) {
    *us = absl::ToUnixMicros(absl::FromCivil(day, zone));
    return true;
  }
  return false;
}

int Verify(const CommandLine& cl) {
  absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
      engine::OpenRocksStateStoreReadOnly(cl.Get("state-dir"));
  if (!store.ok()) {
    std::cerr << "txscreen audit verify: " << store.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::vector<engine::AuditChainReport>> reports =
      engine::VerifyAudit(store->get());
  if (!reports.ok()) {
    std::cerr << "txscreen audit verify: " << reports.status().message()
              << "\n";
    return 2;
  }
  int broken = 0;
  uint64_t records = 0;
  for (const engine::AuditChainReport& r : *reports) {
    records += r.records;
    if (!r.problem.empty()) {
      ++broken;
      std::cout << "partition " << r.partition << ": BROKEN: " << r.problem
                << "\n";
    } else {
      std::cout << "partition " << r.partition << ": ok, " << r.records
                << " records, head " << r.head_seq << " " << r.head_hash_hex
                << "\n";
    }
  }
  if (broken > 0) {
    std::cout << "audit log BROKEN in " << broken << " of " << reports->size()
              << " partitions\n";
    return 1;
  }
  std::cout << "audit log intact: " << records << " records in "
            << reports->size() << " partitions\n";
  return 0;
}

int Export(const CommandLine& cl) {
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t to = std::numeric_limits<int64_t>::max();
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(cl.Get("time-zone", "Asia/Shanghai"), &zone)) {
    std::cerr << "txscreen audit export: unknown time zone '"
              << cl.Get("time-zone") << "'\n";
    return 2;
  }
  for (const auto& [flag, target] :
       {std::pair<const char*, int64_t*>{"from", &from}, {"to", &to}}) {
    if (cl.Has(flag) && !ParseTime(cl.Get(flag), zone, target)) {
      std::cerr << "txscreen audit export: --" << flag << ": expected "
                << "RFC 3339 time or YYYY-MM-DD, got '" << cl.Get(flag)
                << "'\n";
      return 2;
    }
  }
  if (from >= to) {
    std::cerr << "txscreen audit export: --from " << cl.Get("from")
              << " is not before --to " << cl.Get("to") << "\n";
    return 2;
  }
  const bool unmasked = cl.Has("unmasked");
  absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
      engine::OpenRocksStateStoreReadOnly(cl.Get("state-dir"));
  if (!store.ok()) {
    std::cerr << "txscreen audit export: " << store.status().message() << "\n";
    return 2;
  }
  std::ofstream file;
  std::string error;
  std::ostream* out = OpenOutput(cl.Get("output", "-"), &file, &error);
  if (out == nullptr) {
    std::cerr << "txscreen audit export: " << error << "\n";
    return 2;
  }
  int64_t n = 0, unreadable = 0;
  std::string entry_json;
  txscreen::v1::AuditEntry shown;
  absl::Status s = engine::ScanAudit(
      store->get(), from, to,
      [&](const txscreen::v1::AuditRecord& record,
          const txscreen::v1::AuditEntry& entry) {
        // The hashes are of the stored bytes, which stay as they are.
        const txscreen::v1::AuditEntry* e = &entry;
        if (!unmasked) {
          shown = entry;
          engine::MaskMessageStrings(&shown);
          e = &shown;
        }
        if (!engine::EncodeJson(*e, &entry_json).ok()) {
          ++unreadable;
          return;
        }
        *out << "{\"partition\":" << entry.partition()
             << ",\"seq\":" << record.seq() << ",\"prev_hash\":\""
             << absl::BytesToHexString(record.prev_hash()) << "\",\"hash\":\""
             << absl::BytesToHexString(record.hash())
             << "\",\"entry\":" << entry_json << "}\n";
        ++n;
      },
      &unreadable);
  if (!s.ok()) {
    std::cerr << "txscreen audit export: " << s.message() << "\n";
    return 1;
  }
  out->flush();
  if (!*out) {
    std::cerr << "txscreen audit export: write failed\n";
    return 1;
  }
  std::cerr << "txscreen audit export: " << n << " records"
            << (unmasked ? ", account numbers in clear" : "") << "\n";
  if (unreadable > 0) {
    std::cerr << "txscreen audit export: " << unreadable
              << " records could not be read and are not in the export; "
                 "'txscreen audit verify' names them\n";
    return 1;
  }
  return 0;
}

}  // namespace

int AuditCommand(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << kUsage;
    return 0;
  }
  if (args.empty() || (args[0] != "verify" && args[0] != "export")) {
    std::cerr << kUsage;
    return 2;
  }
  CommandLine cl({"state-dir", "from", "to", "output", "time-zone"},
                 {"unmasked"});
  if (absl::Status s =
          cl.Parse(std::vector<std::string>(args.begin() + 1, args.end()));
      !s.ok()) {
    std::cerr << "txscreen audit: " << s.message() << "\n" << kUsage;
    return 2;
  }
  if (!cl.Has("state-dir")) {
    std::cerr << "txscreen audit: --state-dir is required\n" << kUsage;
    return 2;
  }
  if (!cl.positional().empty()) {
    std::cerr << "txscreen audit: unexpected argument '" << cl.positional()[0]
              << "'\n"
              << kUsage;
    return 2;
  }
  if (args[0] == "verify") {
    if (cl.Has("from") || cl.Has("to") || cl.Has("output") ||
        cl.Has("time-zone") || cl.Has("unmasked")) {
      std::cerr << "txscreen audit verify: only --state-dir\n" << kUsage;
      return 2;
    }
    return Verify(cl);
  }
  return Export(cl);
}

}  // namespace txscreen::tools
