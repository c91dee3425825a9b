// File: enum_names.h
//
// Short names of txscreen.v1 enum values for reports and summaries:
// VERDICT_ALLOW -> "ALLOW", CHANNEL_COUNTER -> "COUNTER". The prefix is the
// name of the enum's value 0 up to "UNSPECIFIED".
//
// Thread safety: stateless.
#ifndef TXSCREEN_ENGINE_ENUM_NAMES_H_
#define TXSCREEN_ENGINE_ENUM_NAMES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/generated_enum_reflection.h"

namespace txscreen::engine {

// The value's name without its type's prefix; "?" for a number the enum
// does not have (a newer producer's value).
inline std::string ShortEnumName(const google::protobuf::EnumDescriptor* e,
                                 int number) {
  const google::protobuf::EnumValueDescriptor* v = e->FindValueByNumber(number);
  if (v == nullptr) return "?";
  absl::string_view prefix = e->value(0)->name();
  if (!absl::ConsumeSuffix(&prefix, "UNSPECIFIED")) prefix = "";
  absl::string_view name = v->name();
  absl::ConsumePrefix(&name, prefix);
  return std::string(name);
}

template <typename Enum>
std::string ShortEnumName(Enum value) {
  return ShortEnumName(google::protobuf::GetEnumDescriptor<Enum>(),
                       static_cast<int>(value));
}

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_ENUM_NAMES_H_
