// File: expr_type.h
//
// The static types of the rule expression language. Every value at run time
// is either an int64 (bool, int, money, decimal, duration, time, enum), or a
// string view; the type says how to read it:
//   kBool      0 or 1
//   kInt       a count or plain integer
//   kMoney     minor units of the pack's base currency (fen for CNY)
//   kDecimal   fixed point, value * 10^6 (0.8 is 800000)
//   kDuration  microseconds
//   kTime      microseconds since the Unix epoch
//   kEnum      the proto enum number; `enum_type` names the enum
//   kString    UTF-8 text
//   kList      a named list (only as the right side of `in`/contains_any)
#ifndef TXSCREEN_RULES_EXPR_TYPE_H_
#define TXSCREEN_RULES_EXPR_TYPE_H_

#include <cstdint>
#include <string>

#include "google/protobuf/descriptor.h"

namespace txscreen::rules {

enum class BaseType : uint8_t {
  kBool,
  kInt,
  kMoney,
  kDecimal,
  kDuration,
  kTime,
  kEnum,
  kString,
  kList,
};

struct Type {
  BaseType base = BaseType::kBool;
  // For kEnum: the proto enum (e.g. txscreen.v1.Channel). Not owned.
  const google::protobuf::EnumDescriptor* enum_type = nullptr;

  bool operator==(const Type& other) const {
    return base == other.base && enum_type == other.enum_type;
  }
  bool is_string() const { return base == BaseType::kString; }
  // True for every type whose values are an int64 at run time.
  bool is_scalar() const {
    return base != BaseType::kString && base != BaseType::kList;
  }
};

inline Type BoolType() { return {BaseType::kBool, nullptr}; }
inline Type IntType() { return {BaseType::kInt, nullptr}; }
inline Type MoneyType() { return {BaseType::kMoney, nullptr}; }
inline Type DecimalType() { return {BaseType::kDecimal, nullptr}; }
inline Type DurationType() { return {BaseType::kDuration, nullptr}; }
inline Type TimeType() { return {BaseType::kTime, nullptr}; }
inline Type StringType() { return {BaseType::kString, nullptr}; }
inline Type ListType() { return {BaseType::kList, nullptr}; }
inline Type EnumType(const google::protobuf::EnumDescriptor* e) {
  return {BaseType::kEnum, e};
}

// "money", "int", "enum Channel", ... for error messages.
std::string TypeName(const Type& type);

// 10^6: the scale of kDecimal values.
inline constexpr int64_t kDecimalScale = 1000000;
inline constexpr int64_t kMicrosPerSecond = 1000000;

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_EXPR_TYPE_H_
