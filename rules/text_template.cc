#include "rules/text_template.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "rules/money.h"

namespace txscreen::rules {

bool TextTemplate::Compile(absl::string_view text, const ExprScope& scope,
                           ExprError* error, ExprUses* uses) {
  parts_.clear();
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      i += 2;
      continue;
    }
    if (c == '}') {
      error->offset = static_cast<int>(i);
      error->message = "'}' without '{' (write '}}' for a brace)";
      return false;
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    // The hole ends at the first '}' outside quoted text.
    size_t close = absl::string_view::npos;
    char quote = 0;
    for (size_t j = i + 1; j < text.size(); ++j) {
      char d = text[j];
      if (quote != 0) {
        if (d == '\\') {
          ++j;
        } else if (d == quote) {
          quote = 0;
        }
      } else if (d == '\'' || d == '"') {
        quote = d;
      } else if (d == '}') {
        close = j;
        break;
      }
    }
    if (close == absl::string_view::npos) {
      error->offset = static_cast<int>(i);
      error->message = "'{' without '}' (write '{{' for a brace)";
      return false;
    }
    absl::string_view hole_text = text.substr(i + 1, close - i - 1);
    ExprError hole_error;
    ExprPtr hole = CompileExpression(hole_text, scope, &hole_error, uses);
    if (hole == nullptr) {
      error->offset = static_cast<int>(i + 1) + hole_error.offset;
      error->message = std::move(hole_error.message);
      return false;
    }
    if (hole->type().base == BaseType::kList) {
      error->offset = static_cast<int>(i + 1);
      error->message = "a list cannot be shown in text";
      return false;
    }
    if (!literal.empty()) parts_.push_back({std::move(literal), nullptr});
    literal.clear();
    parts_.push_back({"", std::move(hole)});
    i = close + 1;
  }
  if (!literal.empty()) parts_.push_back({std::move(literal), nullptr});
  return true;
}

void TextTemplate::Render(const EvalContext& ctx, const RenderOptions& options,
                          std::string* out) const {
  for (const Part& part : parts_) {
    if (part.hole == nullptr) {
      out->append(part.literal);
    } else {
      AppendValue(*part.hole, ctx, options, out);
    }
  }
}

std::string FormatDuration(int64_t micros) {
  if (micros == 0) return "0s";
  std::string out;
  if (micros < 0) {
    out.push_back('-');
    micros = micros == INT64_MIN ? INT64_MAX : -micros;
  }
  int64_t seconds = micros / kMicrosPerSecond;
  if (seconds == 0) return absl::StrCat(out, micros / 1000, "ms");
  const int64_t day = 86400, hour = 3600, minute = 60;
  if (seconds >= day) absl::StrAppend(&out, seconds / day, "d");
  seconds %= day;
  if (seconds >= hour) absl::StrAppend(&out, seconds / hour, "h");
  seconds %= hour;
  if (seconds >= minute) absl::StrAppend(&out, seconds / minute, "m");
  seconds %= minute;
  if (seconds > 0) absl::StrAppend(&out, seconds, "s");
  return out;
}

void AppendValue(const Expr& e, const EvalContext& ctx,
                 const RenderOptions& options, std::string* out) {
  const Type& t = e.type();
  if (t.is_string()) {
    absl::string_view text = e.EvalString(ctx);
    out->append(text.data(), text.size());
    return;
  }
  int64_t v = e.EvalInt(ctx);
  switch (t.base) {
    case BaseType::kBool:
      if (options.chinese) {
        out->append(v != 0 ? "是" : "否");
      } else {
        out->append(v != 0 ? "yes" : "no");
      }
      return;
    case BaseType::kInt:
      absl::StrAppend(out, v);
      return;
    case BaseType::kMoney:
      out->append(
          FormatMoney(v, options.base_currency, options.base_minor_digits));
      return;
    case BaseType::kDecimal: {
      std::string s = FormatMinor(v, 6);
      // Trim trailing zeros of the fraction: 0.800000 -> 0.8, 2.000000 -> 2.
      size_t dot = s.find('.');
      if (dot != std::string::npos) {
        size_t end = s.find_last_not_of('0');
        s.erase(end == dot ? dot : end + 1);
      }
      out->append(s);
      return;
    }
    case BaseType::kDuration:
      out->append(FormatDuration(v));
      return;
    case BaseType::kTime:
      out->append(absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMicros(v),
                                   options.time_zone));
      return;
    case BaseType::kEnum: {
      const auto* value =
          t.enum_type != nullptr ? t.enum_type->FindValueByNumber(v) : nullptr;
      if (value == nullptr) {
        absl::StrAppend(out, v);
        return;
      }
      absl::string_view name = value->name();
      size_t cut = 0;
      // Drop the enum's prefix: CHANNEL_COUNTER -> COUNTER.
      const auto* first = t.enum_type->value(0);
      absl::string_view unspecified = first->name();
      size_t prefix = unspecified.rfind("UNSPECIFIED");
      if (prefix != absl::string_view::npos &&
          name.substr(0, prefix) == unspecified.substr(0, prefix)) {
        cut = prefix;
      }
      out->append(name.data() + cut, name.size() - cut);
      return;
    }
    case BaseType::kString:
    case BaseType::kList:
      return;
  }
}

}  // namespace txscreen::rules
