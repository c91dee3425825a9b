// Fuzz target: the rule expression language. The input is one expression,
// parsed with rules::ParseExpression and compiled with
// rules::CompileExpression in the scope of the shipped pack (its params,
// lists, windows and FX table), as a rule's `when` would be. Checked:
//   - no crash, no sanitizer report (including signed overflow in money
//     arithmetic), whatever the text;
//   - parser and compiler agree: what does not parse does not compile;
//   - error offsets lie inside the expression (they become FILE:LINE:COL);
//   - a compiled expression evaluates against a realistic transaction with
//     history and window values.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_support.h"
#include "google/protobuf/text_format.h"
#include "rules/expr_compiler.h"
#include "rules/expr_parser.h"
#include "txscreen/v1/rules.pb.h"

namespace {

namespace v1 = ::txscreen::v1;
namespace rules = ::txscreen::rules;
using txscreen::fuzz::Fail;

struct Fixture {
  rules::ExprScope scope;
  v1::Transaction tx;
  rules::EvalContext ctx;
  std::vector<int64_t> windows;
};

// The scope a rule of the shipped pack sees. The loader keeps its scope to
// itself, so it is rebuilt here from the loaded set and pack.textproto (the
// param values, compiled as the loader compiles them).
Fixture* MakeFixture() {
  auto* f = new Fixture;
  const rules::RuleSet& set = *txscreen::fuzz::ShippedRuleSet();
  f->scope.fx = &set.fx();
  for (const rules::WindowDef& w : set.windows()) {
    f->scope.windows[w.name] = rules::WindowRef{w.index, w.type};
  }
  for (size_t i = 0; i < set.score_names().size(); ++i) {
    f->scope.scores[set.score_names()[i]] = static_cast<int>(i);
  }
  const std::string path = txscreen::fuzz::ShippedPackDir() + "/pack.textproto";
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  v1::RuleFile file;
  if (text.empty() ||
      !google::protobuf::TextFormat::ParseFromString(text, &file)) {
    Fail("cannot read " + path);
  }
  for (const v1::ListDecl& l : file.list()) {
    const rules::NamedList* list = set.list(l.name());
    if (list == nullptr)
      Fail("list " + l.name() + " is not in the loaded pack");
    f->scope.lists[l.name()] = list;
  }
  rules::ExprScope literal_scope;
  literal_scope.fx = f->scope.fx;
  rules::EvalContext none;
  for (const v1::Parameter& p : file.param()) {
    rules::ExprError error;
    rules::ExprPtr e =
        rules::CompileExpression(p.value(), literal_scope, &error);
    if (e == nullptr) Fail("param " + p.name() + ": " + error.message);
    rules::ParamValue value;
    value.type = e->type();
    if (e->type().is_string()) {
      value.string_value = std::string(e->EvalString(none));
    } else {
      value.int_value = e->EvalInt(none);
    }
    f->scope.params[p.name()] = value;
  }

  f->tx = txscreen::fuzz::SampleTransaction();
  if (absl::Status s = set.PrepareTransactionFacts(f->tx, &f->ctx); !s.ok()) {
    Fail(absl::StrCat("sample transaction: ", s.message()));
  }
  rules::HistoryFacts& h = f->ctx.history;
  h.has_previous = true;
  h.since_previous_us = 90LL * 60 * 1000000;
  h.previous_region_code = "440305";
  h.distance_known = true;
  h.distance_km = 1200;
  h.speed_kmh = 800;
  h.first_payment_to_counterparty = true;
  // Non-zero, differing window values: sums, counts, a just-below part.
  for (size_t i = 0; i < set.windows().size(); ++i) {
    f->windows.push_back(static_cast<int64_t>(i % 7) * 1234567 + 1);
  }
  f->ctx.windows = f->windows.data();
  return f;
}

void CheckOffset(const rules::ExprError& error, size_t size, const char* who) {
  if (error.offset < 0 || static_cast<size_t>(error.offset) > size) {
    Fail(absl::StrCat(who, " error offset ", error.offset,
                      " outside the expression of ", size,
                      " bytes: ", error.message));
  }
  if (error.message.empty())
    Fail(absl::StrCat(who, " error without a message"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = MakeFixture();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  rules::ExprError parse_error;
  std::unique_ptr<rules::AstNode> ast =
      rules::ParseExpression(text, &parse_error);
  if (ast == nullptr) CheckOffset(parse_error, size, "parse");

  // Rules see everything; window filters see neither history, windows nor
  // scores. Both scopes are tried.
  for (bool rule_scope : {true, false}) {
    rules::ExprScope& scope = fixture->scope;
    scope.allow_history = scope.allow_windows = scope.allow_scores = rule_scope;
    rules::ExprError error;
    rules::ExprUses uses;
    rules::ExprPtr e = rules::CompileExpression(text, scope, &error, &uses);
    if (e == nullptr) {
      CheckOffset(error, size, "compile");
      continue;
    }
    if (ast == nullptr) Fail("compiled an expression that does not parse");
    fixture->ctx.ResetCaches();
    if (e->type().is_string()) {
      e->EvalString(fixture->ctx);
    } else if (e->type().is_scalar()) {
      e->EvalInt(fixture->ctx);
    }
  }
  return 0;
}
