#include "rules/stable_hash.h"

#include "gtest/gtest.h"

namespace txscreen::rules {
namespace {

// Persisted state is keyed by these values: they must never change.
TEST(StableHashTest, IsFnv1a64) {
  EXPECT_EQ(StableHash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(StableHash("foobar"), 0x85944171f73967e8ULL);
}

TEST(StableHashTest, SeedContinuesAHash) {
  EXPECT_EQ(StableHash("bar", StableHash("foo")), StableHash("foobar"));
}

}  // namespace
}  // namespace txscreen::rules
