// File: roster.h
//
// The staff roster: who may answer holds, at which branch, in which role.
// A CSV file with the header `staff_id,name,branch_id,role` and an optional
// fifth column `token_sha256`: the hex SHA-256 of the staff member's console
// token (the roster never holds a token itself). Roles: teller, supervisor,
// compliance, operator.
//
// Thread safety: a loaded Roster is immutable.
#ifndef TXSCREEN_ENGINE_ROSTER_H_
#define TXSCREEN_ENGINE_ROSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace txscreen::engine {

enum class StaffRole { kTeller, kSupervisor, kCompliance, kOperator };

absl::string_view RoleName(StaffRole role);

struct Staff {
  std::string id;
  std::string name;
  std::string branch_id;
  StaffRole role = StaffRole::kTeller;
  std::string token_sha256;  // lower-case hex, or empty: no console login
};

class Roster {
 public:
  // Parses roster CSV text; `path` names the file in errors, which are
  // "path:line:col: problem", one per line, all of them.
  static absl::StatusOr<std::shared_ptr<const Roster>> Parse(
      absl::string_view text, absl::string_view path);
  static absl::StatusOr<std::shared_ptr<const Roster>> Load(
      const std::string& path);
  // An empty roster: every override is refused (no staff).
  static std::shared_ptr<const Roster> Empty();

  const Staff* Find(absl::string_view staff_id) const;
  // The staff member whose token this is, or nullptr.
  const Staff* FindByToken(absl::string_view token) const;
  size_t size() const { return staff_.size(); }
  const std::vector<Staff>& staff() const { return staff_; }

 private:
  std::vector<Staff> staff_;
  absl::flat_hash_map<std::string, size_t> by_id_;
  absl::flat_hash_map<std::string, size_t> by_token_hash_;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);
// Raw 32-byte SHA-256 of `data`.
std::string Sha256(absl::string_view data);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_ROSTER_H_
