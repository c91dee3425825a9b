#include "tools/command_line.h"

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace txscreen::tools {

absl::Status CommandLine::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!absl::StartsWith(a, "--") || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_flags_.count(name)) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value"));
      }
      values_[name] = "true";
      continue;
    }
    if (!value_flags_.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    values_[name] = value;
  }
  return absl::OkStatus();
}

std::string CommandLine::Get(const std::string& flag,
                             const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

std::ostream* OpenOutput(const std::string& name, std::ofstream* file,
                         std::string* error) {
  if (name == "-") return &std::cout;
  file->open(name, std::ios::binary | std::ios::trunc);
  if (!*file) {
    *error = absl::StrCat("cannot write ", name, ": ", std::strerror(errno));
    return nullptr;
  }
  return file;
}

}  // namespace txscreen::tools
