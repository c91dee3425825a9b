// File: http_util.h
//
// What the admin server and the teller console share about HTTP: the JSON
// error body every error response carries, and the bearer token of an
// Authorization header.
//
// Thread safety: stateless.
#ifndef TXSCREEN_SERVE_HTTP_UTIL_H_
#define TXSCREEN_SERVE_HTTP_UTIL_H_

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "serve/json_util.h"

namespace txscreen::serve {

// {"error":"<message>"}
inline std::string JsonErrorBody(absl::string_view message) {
  return absl::StrCat("{\"error\":\"", JsonEscape(message), "\"}");
}

// The token of "Bearer <token>" (the scheme is case-insensitive, RFC 7235;
// surrounding whitespace ignored), or nullopt for another scheme or none.
inline std::optional<std::string> BearerToken(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  const absl::string_view scheme = header.substr(0, header.find(' '));
  if (!absl::EqualsIgnoreCase(scheme, "Bearer")) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(header.substr(scheme.size())));
}

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_HTTP_UTIL_H_
