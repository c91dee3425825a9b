// File: stable_hash.h
//
// A 64-bit hash (FNV-1a) that stays the same across processes, builds and
// machines, for keys of persisted state (window fingerprints, hashed ids).
// Not for hash tables (use absl::Hash) and not cryptographic.
#ifndef TXSCREEN_RULES_STABLE_HASH_H_
#define TXSCREEN_RULES_STABLE_HASH_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace txscreen::rules {

// The FNV-1a 64-bit offset basis.
inline constexpr uint64_t kStableHashSeed = 14695981039346656037ULL;

// `seed` continues an earlier hash.
inline uint64_t StableHash(absl::string_view text,
                           uint64_t seed = kStableHashSeed) {
  uint64_t h = seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_STABLE_HASH_H_
