// File: command_line.h
//
// A small parser for subcommand flags: `--name value`, `--name=value` and
// boolean `--name`. Each subcommand declares the flags it knows; anything
// else is an error naming the flag.
#ifndef TXSCREEN_TOOLS_COMMAND_LINE_H_
#define TXSCREEN_TOOLS_COMMAND_LINE_H_

#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace txscreen::tools {

class CommandLine {
 public:
  // `value_flags` take a value; `bool_flags` do not.
  CommandLine(std::set<std::string> value_flags,
              std::set<std::string> bool_flags)
      : value_flags_(std::move(value_flags)),
        bool_flags_(std::move(bool_flags)) {}

  absl::Status Parse(const std::vector<std::string>& args);

  bool Has(const std::string& flag) const { return values_.count(flag) != 0; }
  std::string Get(const std::string& flag,
                  const std::string& fallback = "") const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> value_flags_, bool_flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Standard output for "-", else `name` truncated and opened into `*file`;
// nullptr when it cannot be, with "cannot write NAME: REASON" in `*error`.
// Whether `args` ask for help (--help or -h anywhere): the command then
// prints its usage on standard output and exits 0.
inline bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

std::ostream* OpenOutput(const std::string& name, std::ofstream* file,
                         std::string* error);

}  // namespace txscreen::tools

#endif  // TXSCREEN_TOOLS_COMMAND_LINE_H_
