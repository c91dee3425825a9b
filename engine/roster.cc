#include "engine/roster.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/csv.h"

namespace txscreen::engine {

absl::string_view RoleName(StaffRole role) {
  switch (role) {
    case StaffRole::kTeller:
      return "teller";
    case StaffRole::kSupervisor:
      return "supervisor";
    case StaffRole::kCompliance:
      return "compliance";
    case StaffRole::kOperator:
      return "operator";
  }
  return "?";
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Sha256Hex(absl::string_view data) {
  return absl::BytesToHexString(Sha256(data));
}

namespace {

bool ParseRole(absl::string_view text, StaffRole* role) {
  for (StaffRole r : {StaffRole::kTeller, StaffRole::kSupervisor,
                      StaffRole::kCompliance, StaffRole::kOperator}) {
    if (text == RoleName(r)) {
      *role = r;
      return true;
    }
  }
  return false;
}

bool IsIdentifier(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Roster>> Roster::Parse(
    absl::string_view text, absl::string_view path) {
  auto roster = std::make_shared<Roster>();
  std::vector<std::string> errors;
  auto error = [&](int line, int col, absl::string_view why) {
    errors.push_back(absl::StrCat(path, ":", line, ":", col, ": ", why));
  };
  CsvReader reader(text);
  CsvRow row;
  absl::flat_hash_map<std::string, int> line_of;  // staff id -> its line
  if (!reader.Next(&row)) {
    if (!reader.error().empty()) {
      error(reader.error_line(), reader.error_column(), reader.error());
    } else {
      error(1, 1,
            "empty roster: the first line must be the header "
            "staff_id,name,branch_id,role[,token_sha256]");
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  static constexpr absl::string_view kHeader[] = {
      "staff_id", "name", "branch_id", "role", "token_sha256"};
  const size_t columns = row.fields.size();
  if (columns < 4 || columns > 5) {
    error(row.line, 1,
          absl::StrCat("header has ", columns,
                       " columns; expected staff_id,name,branch_id,role and "
                       "optionally token_sha256"));
  } else {
    for (size_t i = 0; i < columns; ++i) {
      if (absl::StripAsciiWhitespace(row.fields[i].value) != kHeader[i]) {
        error(
            row.fields[i].line, row.fields[i].column,
            absl::StrCat("header column ", i + 1, " is '", row.fields[i].value,
                         "', expected '", kHeader[i], "'"));
      }
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  while (reader.Next(&row)) {
    if (row.fields.size() == 1 &&
        absl::StripAsciiWhitespace(row.fields[0].value).empty()) {
      continue;  // blank line
    }
    if (row.fields.size() != columns) {
      error(row.line, 1,
            absl::StrCat("row has ", row.fields.size(),
                         " fields; the header has ", columns));
      continue;
    }
    Staff s;
    const auto field = [&](int i) {
      return std::string(absl::StripAsciiWhitespace(row.fields[i].value));
    };
    s.id = field(0);
    s.name = field(1);
    s.branch_id = field(2);
    const std::string role = absl::AsciiStrToLower(field(3));
    bool ok = true;
    if (!IsIdentifier(s.id)) {
      error(row.fields[0].line, row.fields[0].column,
            absl::StrCat("staff_id '", s.id,
                         "' must be 1-64 letters, digits, '-', '_' or '.'"));
      ok = false;
    } else if (roster->by_id_.contains(s.id)) {
      error(row.fields[0].line, row.fields[0].column,
            absl::StrCat("staff_id '", s.id, "' appears twice (first on line ",
                         line_of[s.id], ")"));
      ok = false;
    }
    if (s.name.empty()) {
      error(row.fields[1].line, row.fields[1].column, "name is empty");
      ok = false;
    }
    if (!IsIdentifier(s.branch_id)) {
      error(row.fields[2].line, row.fields[2].column,
            absl::StrCat("branch_id '", s.branch_id,
                         "' must be 1-64 letters, digits, '-', '_' or '.'"));
      ok = false;
    }
    if (!ParseRole(role, &s.role)) {
      error(row.fields[3].line, row.fields[3].column,
            absl::StrCat("role '", field(3),
                         "' is not one of teller, supervisor, compliance, "
                         "operator"));
      ok = false;
    }
    if (columns == 5) {
      s.token_sha256 = absl::AsciiStrToLower(field(4));
      if (!s.token_sha256.empty() && !IsHex64(s.token_sha256)) {
        error(row.fields[4].line, row.fields[4].column,
              "token_sha256 must be 64 hex digits (the SHA-256 of the token, "
              "e.g. from `printf %s TOKEN | sha256sum`)");
        ok = false;
      } else if (!s.token_sha256.empty() &&
                 roster->by_token_hash_.contains(s.token_sha256)) {
        error(row.fields[4].line, row.fields[4].column,
              absl::StrCat(
                  "token_sha256 is the same as that of staff '",
                  roster->staff_[roster->by_token_hash_.at(s.token_sha256)].id,
                  "': every person needs their own token"));
        ok = false;
      }
    }
    if (!ok) continue;
    line_of[s.id] = row.line;
    roster->by_id_[s.id] = roster->staff_.size();
    if (!s.token_sha256.empty()) {
      roster->by_token_hash_[s.token_sha256] = roster->staff_.size();
    }
    roster->staff_.push_back(std::move(s));
  }
  if (!reader.error().empty()) {
    error(reader.error_line(), reader.error_column(), reader.error());
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  return std::shared_ptr<const Roster>(std::move(roster));
}

absl::StatusOr<std::shared_ptr<const Roster>> Roster::Load(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open the staff roster"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::shared_ptr<const Roster> Roster::Empty() {
  static const auto* empty =
      new std::shared_ptr<const Roster>(std::make_shared<Roster>());
  return *empty;
}

const Staff* Roster::Find(absl::string_view staff_id) const {
  auto it = by_id_.find(staff_id);
  return it == by_id_.end() ? nullptr : &staff_[it->second];
}

const Staff* Roster::FindByToken(absl::string_view token) const {
  if (token.empty()) return nullptr;
  auto it = by_token_hash_.find(Sha256Hex(token));
  return it == by_token_hash_.end() ? nullptr : &staff_[it->second];
}

}  // namespace txscreen::engine
