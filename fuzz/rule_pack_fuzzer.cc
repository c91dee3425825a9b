// Fuzz target: rule files. The input is the body of a pack's only
// `pack.textproto`, written into a scratch pack directory that holds a copy
// of the shipped pack's lists/ (so inputs may declare the shipped lists),
// then loaded with rules::LoadRulePack. Checked:
//   - no crash, no sanitizer report, whatever the text;
//   - all or nothing: a rule set exactly when there are no errors;
//   - every error is one non-empty line (rules check prints one per line);
//   - a pack that loads can decide a transaction (every compiled rule and
//     window expression is evaluated against the sample transaction).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "fuzz/fuzz_support.h"
#include "rules/rule_pack_loader.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = ::txscreen::v1;
using txscreen::fuzz::Fail;

const std::string& ScratchPack() {
  static const std::string* dir = [] {
    fs::path root = fs::temp_directory_path() /
                    ("txscreen-rule-pack-fuzzer-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::create_directories(root / "lists", ec);
    if (ec) Fail("cannot create " + root.string() + ": " + ec.message());
    fs::copy(fs::path(txscreen::fuzz::ShippedPackDir()) / "lists",
             root / "lists", fs::copy_options::overwrite_existing, ec);
    if (ec) Fail("cannot copy the shipped lists: " + ec.message());
    static std::string* path = new std::string(root.string());
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(*path, ignored);
    });
    return path;
  }();
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = ScratchPack();
  const std::string file = dir + "/pack.textproto";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(size));
    if (!out) Fail("cannot write " + file);
  }
  txscreen::rules::LoadResult loaded = txscreen::rules::LoadRulePack({dir});
  if ((loaded.rule_set != nullptr) == !loaded.errors.empty()) {
    Fail("LoadRulePack returned a rule set together with errors, or neither");
  }
  for (const std::string& e : loaded.errors) {
    if (e.empty() || e.find('\n') != std::string::npos) {
      Fail("an error message is empty or spans lines: '" + e + "'");
    }
  }
  if (loaded.rule_set == nullptr) return 0;

  const txscreen::rules::RuleSet& set = *loaded.rule_set;
  txscreen::rules::EvalContext ctx;
  v1::Transaction tx = txscreen::fuzz::SampleTransaction();
  if (!set.PrepareTransactionFacts(tx, &ctx).ok()) return 0;  // base not CNY
  // Window filters and values see the transaction only.
  for (const txscreen::rules::WindowDef& w : set.windows()) {
    if (w.filter != nullptr) w.filter->EvalBool(ctx);
    if (w.of != nullptr) {
      if (w.of->type().is_string()) {
        w.of->EvalString(ctx);
      } else {
        w.of->EvalInt(ctx);
      }
    }
  }
  // Every window holds the current transaction's amount: non-zero values
  // reach divisions and comparisons that zero would skip.
  std::vector<int64_t> windows(set.windows().size(), ctx.amount_base);
  ctx.windows = windows.data();
  ctx.history.has_previous = true;
  ctx.history.since_previous_us = 3600LL * 1000000;
  ctx.history.first_payment_to_counterparty = true;
  v1::Decision decision;
  set.Evaluate(&ctx, &decision);
  return 0;
}
