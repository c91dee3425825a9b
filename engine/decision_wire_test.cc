#include "engine/decision_wire.h"

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;

std::string Plain(const v1::Decision& d) {
  std::string out(PlainDecisionSize(d), '\0');
  uint8_t* end = WritePlainDecision(d, reinterpret_cast<uint8_t*>(out.data()));
  EXPECT_EQ(end, reinterpret_cast<uint8_t*>(out.data()) + out.size());
  return out;
}

TEST(DecisionWireTest, PlainDecisionsAreTheSameBytesAsProtobufs) {
  std::mt19937_64 random(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  };
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int32_t big32 = std::numeric_limits<int32_t>::max();
  auto seconds = [&] {
    switch (pick(0, 3)) {
      case 0:
        return int64_t{0};
      case 1:
        return pick(-big, big);
      default:
        return pick(1700000000, 1900000000);
    }
  };
  auto nanos = [&] {
    return static_cast<int32_t>(pick(0, 2) == 0 ? 0 : pick(-big32, big32));
  };
  for (int round = 0; round < 2000; ++round) {
    v1::Decision d;
    if (pick(0, 4)) d.set_transaction_id(std::string(pick(1, 200), 't'));
    if (pick(0, 4)) d.set_verdict(static_cast<v1::Verdict>(pick(-3, 9)));
    if (pick(0, 4)) d.set_ruleset_version(std::string(pick(1, 30), 'v'));
    if (pick(0, 4)) {
      d.mutable_decided_at()->set_seconds(seconds());
      d.mutable_decided_at()->set_nanos(nanos());
    }
    if (pick(0, 4)) {
      d.mutable_deadline()->set_seconds(seconds());
      d.mutable_deadline()->set_nanos(nanos());
    }
    d.set_late(pick(0, 1));
    if (pick(0, 4)) d.set_customer_id(std::string(pick(1, 20), 'c'));
    if (pick(0, 4)) d.set_channel(static_cast<v1::Channel>(pick(-2, 9)));
    if (pick(0, 4)) {
      d.mutable_engine_latency()->set_seconds(seconds());
      d.mutable_engine_latency()->set_nanos(nanos());
    }
    d.set_duplicate(pick(0, 1));
    const std::string want = d.SerializeAsString();
    if (want.empty()) {
      EXPECT_EQ(PlainDecisionSize(d), 0u);
      continue;
    }
    ASSERT_EQ(PlainDecisionSize(d), want.size()) << d.DebugString();
    ASSERT_EQ(Plain(d), want) << d.DebugString();
  }
}

TEST(DecisionWireTest, EmptyTimesArePresent) {
  v1::Decision d;
  d.set_transaction_id("T1");
  d.mutable_deadline();  // present, all zero
  EXPECT_EQ(Plain(d), d.SerializeAsString());
}

TEST(DecisionWireTest, DecisionsWithMoreAreLeftToProtobuf) {
  v1::Decision d;
  d.set_transaction_id("T1");
  d.set_verdict(v1::VERDICT_REVIEW);
  ASSERT_GT(PlainDecisionSize(d), 0u);
  for (int what = 0; what < 7; ++what) {
    v1::Decision more = d;
    switch (what) {
      case 0:
        more.add_hits()->set_rule_id("R");
        break;
      case 1:
        more.add_reports("LARGE_VALUE_CASH");
        break;
      case 2:
        more.mutable_prompt();
        break;
      case 3:
        more.add_input_errors("amount_minor: must be > 0");
        break;
      case 4:
        (*more.mutable_scores())["fraud"] = 1;
        break;
      case 5:
        more.add_notes("n");
        break;
      case 6:
        more.GetReflection()->MutableUnknownFields(&more)->AddVarint(99, 1);
        break;
    }
    EXPECT_EQ(PlainDecisionSize(more), 0u) << what;
  }
}

// A field added to Decision must be taught to the plain encoder (or make
// decisions that have it not plain); this fails until then.
TEST(DecisionWireTest, KnowsEveryFieldOfDecision) {
  const std::set<int> known = {1, 2,  3,  4,  5,  6,  7,  8,
                               9, 10, 11, 12, 13, 14, 15, 16};
  std::set<int> fields;
  const auto* descriptor = v1::Decision::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    fields.insert(descriptor->field(i)->number());
  }
  EXPECT_EQ(fields, known);
}

}  // namespace
}  // namespace txscreen::engine
