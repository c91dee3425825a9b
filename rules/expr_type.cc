#include "rules/expr_type.h"

#include "absl/strings/str_cat.h"

namespace txscreen::rules {

std::string TypeName(const Type& type) {
  switch (type.base) {
    case BaseType::kBool:
      return "bool";
    case BaseType::kInt:
      return "int";
    case BaseType::kMoney:
      return "money";
    case BaseType::kDecimal:
      return "decimal";
    case BaseType::kDuration:
      return "duration";
    case BaseType::kTime:
      return "time";
    case BaseType::kEnum:
      return type.enum_type != nullptr
                 ? absl::StrCat("enum ", type.enum_type->name())
                 : "enum";
    case BaseType::kString:
      return "text";
    case BaseType::kList:
      return "list";
  }
  return "?";
}

}  // namespace txscreen::rules
