#include "serve/log.h"

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace txscreen::serve {

namespace {
std::atomic<std::FILE*> log_file{nullptr};
}  // namespace

void SetLogFile(std::FILE* file) { log_file.store(file); }

void Log(LogLevel level, absl::string_view message) {
  static absl::Mutex mu(absl::kConstInit);
  const char* name = level == LogLevel::kInfo      ? "INFO"
                     : level == LogLevel::kWarning ? "WARN"
                                                   : "ERROR";
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", name, " ", message, "\n");
  absl::MutexLock lock(&mu);
  std::FILE* out = log_file.load();
  if (out == nullptr) out = stderr;
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

std::string MaskAccount(absl::string_view account) {
  const size_t n = account.size();
  size_t shown = std::min<size_t>(4, n / 4);
  std::string out(account.substr(0, shown));
  out.append(n - 2 * shown, '*');
  absl::string_view last = account.substr(n - shown);
  out.append(last.data(), last.size());
  return out;
}

}  // namespace txscreen::serve
