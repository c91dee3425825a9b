// File: log.h
//
// The service's log: one line per event on stderr, with a UTC timestamp and
// a level. Never given secrets; account numbers go through MaskAccount.
//
// Thread safety: Log may be called from any thread.
#ifndef TXSCREEN_SERVE_LOG_H_
#define TXSCREEN_SERVE_LOG_H_

#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"

namespace txscreen::serve {

enum class LogLevel { kInfo, kWarning, kError };

void Log(LogLevel level, absl::string_view message);
// Where Log() writes; stderr by default. `txscreen demo` sends the log to a
// file so that its terminal summary stays readable. `file` must stay open.
void SetLogFile(std::FILE* file);

// "6222020200001234" -> "6222********1234": at most the first 4 and last 4
// characters shown, never more than half of the id.
std::string MaskAccount(absl::string_view account);

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_LOG_H_
