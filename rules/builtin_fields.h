// File: builtin_fields.h
//
// The names rule expressions can read about a transaction, its customer and
// the customer's history: `tx.*`, `customer.*`, `history.*`. Window features
// (`window.*`), parameters (`param.*`) and scores (`score.*`) come from the
// pack itself (expr_compiler.h).
#ifndef TXSCREEN_RULES_BUILTIN_FIELDS_H_
#define TXSCREEN_RULES_BUILTIN_FIELDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "rules/eval_context.h"
#include "rules/expr_type.h"

namespace txscreen::rules {

enum class FieldGroup { kTransaction, kCustomer, kHistory };

struct FieldDef {
  const char* path;
  Type type;
  FieldGroup group;
  // Exactly one of the getters is set, by type.
  int64_t (*get_int)(const EvalContext&) = nullptr;
  absl::string_view (*get_string)(const EvalContext&) = nullptr;
  // Whether the transaction carries the field; nullptr: always present.
  bool (*present)(const EvalContext&) = nullptr;
  // String fields: slot in EvalContext::normalized, or -1.
  int normalized_slot = -1;
  const char* doc = "";
};

// Every built-in field, in documentation order. Never empty.
const std::vector<FieldDef>& BuiltinFields();

// The field named `path`, or nullptr.
const FieldDef* FindBuiltinField(absl::string_view path);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_BUILTIN_FIELDS_H_
