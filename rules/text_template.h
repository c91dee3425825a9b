// File: text_template.h
//
// Reason and prompt text with `{expression}` holes, e.g.
//   "cash today {window.cash_day} >= {param.cash_threshold}"
// Holes are compiled like any expression when the pack loads and rendered
// with the transaction's values: money as "52,000.00 CNY", durations as
// "2h30m", times as local "2026-11-20 09:30", enums by their short name.
// `{{` and `}}` stand for literal braces.
//
// Thread safety: immutable after Compile; Render from any thread with its own
// context and output string.
#ifndef TXSCREEN_RULES_TEXT_TEMPLATE_H_
#define TXSCREEN_RULES_TEXT_TEMPLATE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rules/expr_compiler.h"

namespace txscreen::rules {

// How rendered values look; shared by all templates of a pack.
struct RenderOptions {
  std::string base_currency = "CNY";
  int base_minor_digits = 2;
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // Chinese prompt lines show true/false as 是/否 rather than yes/no.
  bool chinese = false;
};

class TextTemplate {
 public:
  TextTemplate() = default;
  TextTemplate(TextTemplate&&) = default;
  TextTemplate& operator=(TextTemplate&&) = default;

  // On error returns false and fills *error (offset into `text`).
  bool Compile(absl::string_view text, const ExprScope& scope, ExprError* error,
               ExprUses* uses = nullptr);

  // Appends the rendered text to *out.
  void Render(const EvalContext& ctx, const RenderOptions& options,
              std::string* out) const;

  bool empty() const { return parts_.empty(); }

 private:
  struct Part {
    std::string literal;
    ExprPtr hole;  // null for a literal part
  };
  std::vector<Part> parts_;
};

// One value as templates show it.
void AppendValue(const Expr& e, const EvalContext& ctx,
                 const RenderOptions& options, std::string* out);

// "2h30m", "3d", "45s", "0s".
std::string FormatDuration(int64_t micros);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_TEXT_TEMPLATE_H_
