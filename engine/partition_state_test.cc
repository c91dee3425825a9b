// Tests of PartitionState (partition_state.h): hot state in memory, loaded on
// a miss and written behind by Flush() with the input position.
#include "engine/partition_state.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/flaky_store_testing.h"
#include "engine/record_layout_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

// A payee paid once, at `at_us`.
PaidPayee Paid(int64_t at_us) { return PaidPayee{at_us, at_us}; }

MATCHER_P(LastPaid, at_us, "") { return arg.last_us == at_us; }

namespace v1 = ::txscreen::v1;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
constexpr uint64_t kFp = 0xF00D;

// A history's entry for a transaction that occurred at `at_us`.
auto SeenAt(int64_t at_us) { return Field(&SeenTransaction::at_us, at_us); }

class PartitionStateTest : public ::testing::Test {
 protected:
  PartitionStateTest() : state_(&store_, 3) {}

  // The state a restarted process sees.
  std::unique_ptr<PartitionState> Fresh(int32_t partition = 3,
                                        PartitionStateOptions options = {}) {
    return std::make_unique<PartitionState>(&store_, partition, options);
  }

  // A customer's history as state before format 3 keeps it: under a key of
  // its own in the history family (partition 3).
  void PutHistoryOfFormat2(absl::string_view customer,
                           const CustomerHistoryProto& history) {
    ASSERT_TRUE(
        store_
            .Commit({StateWrite::Put(StateFamily::kHistory,
                                     absl::StrCat(PartitionPrefix(3), customer),
                                     history.SerializeAsString())})
            .ok());
  }

  // A customer's value in the windows family (partition 3), as stored.
  void PutCustomerValue(absl::string_view customer,
                        const EntityWindowsProto& value) {
    ASSERT_TRUE(store_
                    .Commit({StateWrite::Put(
                        StateFamily::kWindows,
                        absl::StrCat(PartitionPrefix(3), "1", customer),
                        value.SerializeAsString())})
                    .ok());
  }

  // How many keys the store holds in `family` under `prefix`.
  int KeysIn(StateFamily family, absl::string_view prefix = "") {
    int keys = 0;
    EXPECT_TRUE(store_
                    .Scan(family, prefix,
                          [&](auto, auto) {
                            ++keys;
                            return true;
                          })
                    .ok());
    return keys;
  }

  // Adds `value` to the window kFp of an entity, at bucket 100.
  static void AddTo(PartitionState* state, v1::Entity kind,
                    const std::string& id, int64_t value) {
    absl::StatusOr<EntityWindows*> e = state->Windows(kind, id);
    ASSERT_TRUE(e.ok()) << e.status();
    (*e)->FindOrAdd(kFp)->Add(100, value, 0);
    (*e)->dirty = true;
  }

  // Remembers transaction `id_hash` at `at_us` in a customer's history.
  static void See(PartitionState* state, const std::string& customer,
                  uint64_t id_hash, int64_t at_us) {
    absl::StatusOr<CustomerHistory*> h = state->History(customer);
    ASSERT_TRUE(h.ok()) << h.status();
    state->See(*h, id_hash, at_us);
  }

  // Sum in the window kFp of an entity, or -1 when the entity has no state.
  static int64_t SumOf(PartitionState* state, v1::Entity kind,
                       const std::string& id) {
    absl::StatusOr<EntityWindows*> e = state->FindWindows(kind, id);
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok() || *e == nullptr) return -1;
    WindowState* w = (*e)->Find(kFp);
    return w == nullptr ? 0 : w->Value(v1::AGGREGATE_SUM, 0, 1000);
  }

  static TransactionRecordProto Record(const std::string& id, int64_t at_us,
                                       const std::string& customer = "C1") {
    TransactionRecordProto r;
    r.set_transaction_id(id);
    r.set_customer_id(customer);
    r.set_occurred_at_us(at_us);
    r.set_decision("decision of " + id);
    return r;
  }

  // The record as the state finds it ("" when none).
  static std::string Find(PartitionState* state, const std::string& id) {
    absl::StatusOr<const TransactionRecordProto*> r =
        state->FindRecord("C1", id);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || *r == nullptr) return "";
    return (*r)->decision();
  }

  void Flush(PartitionState* state, const std::string& position) {
    absl::Status s = state->Flush(position);
    ASSERT_TRUE(s.ok()) << s;
  }

  // Overwrites every value of `family` with bytes that are no protobuf.
  void Corrupt(StateFamily family) {
    std::vector<std::string> keys;
    ASSERT_TRUE(store_
                    .Scan(family, "",
                          [&](absl::string_view k, absl::string_view) {
                            keys.emplace_back(k);
                            return true;
                          })
                    .ok());
    ASSERT_FALSE(keys.empty());
    std::vector<StateWrite> writes;
    for (const std::string& k : keys) {
      writes.push_back(StateWrite::Put(family, k, "\xff\xff\xff\xff"));
    }
    ASSERT_TRUE(store_.Commit(writes).ok());
  }

  const int64_t t0_ = 1795140000LL * kSecond;  // 2026-11-20T02:00:00Z
  FlakyStore store_;
  PartitionState state_;
};

// --- Windows
// -------------------------------------------------------------------

TEST_F(PartitionStateTest, FindWindowsDoesNotCreate) {
  absl::StatusOr<EntityWindows*> none =
      state_.FindWindows(v1::ENTITY_ACCOUNT, "A1");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  absl::StatusOr<EntityWindows*> made =
      state_.Windows(v1::ENTITY_ACCOUNT, "A1");
  ASSERT_TRUE(made.ok());
  ASSERT_NE(*made, nullptr);
  EXPECT_TRUE((*made)->windows.empty());
  absl::StatusOr<EntityWindows*> found =
      state_.FindWindows(v1::ENTITY_ACCOUNT, "A1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, *made);
  absl::StatusOr<EntityWindows*> again =
      state_.Windows(v1::ENTITY_ACCOUNT, "A1");
  EXPECT_EQ(*again, *made);
}

TEST_F(PartitionStateTest, EntitiesOfDifferentKindsWithTheSameIdAreApart) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "X", 1);
  AddTo(&state_, v1::ENTITY_ACCOUNT, "X", 20);
  AddTo(&state_, v1::ENTITY_COUNTERPARTY_ACCOUNT, "X", 300);
  AddTo(&state_, v1::ENTITY_DEVICE, "X", 4000);
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_CUSTOMER, "X"), 1);
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_ACCOUNT, "X"), 20);
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_COUNTERPARTY_ACCOUNT, "X"), 300);
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_DEVICE, "X"), 4000);
  Flush(&state_, "1");
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "X"), 1);
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_ACCOUNT, "X"), 20);
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_COUNTERPARTY_ACCOUNT, "X"), 300);
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_DEVICE, "X"), 4000);
}

TEST_F(PartitionStateTest, FlushedWindowsReloadInANewState) {
  absl::StatusOr<EntityWindows*> e = state_.Windows(v1::ENTITY_CUSTOMER, "C1");
  ASSERT_TRUE(e.ok());
  WindowState* a = (*e)->FindOrAdd(1);
  a->Add(10, 100, 0);
  a->Add(11, 50, 0);
  // (Adding a window may move the others: `a` is not used after this.)
  WindowState* b = (*e)->FindOrAdd(2);
  b->Add(10, 0, 777);
  b->Add(10, 0, 888);
  EXPECT_EQ((*e)->FindOrAdd(1), (*e)->Find(1));
  EXPECT_EQ((*e)->windows.size(), 2u);
  (*e)->dirty = true;
  Flush(&state_, "pos-1");
  EXPECT_FALSE((*e)->dirty);

  auto fresh = Fresh();
  absl::StatusOr<EntityWindows*> loaded =
      fresh->FindWindows(v1::ENTITY_CUSTOMER, "C1");
  ASSERT_TRUE(loaded.ok());
  ASSERT_NE(*loaded, nullptr);
  EXPECT_FALSE((*loaded)->dirty);
  ASSERT_NE((*loaded)->Find(1), nullptr);
  ASSERT_NE((*loaded)->Find(2), nullptr);
  EXPECT_EQ((*loaded)->Find(3), nullptr);
  EXPECT_EQ((*loaded)->Find(1)->Value(v1::AGGREGATE_SUM, 10, 11), 150);
  EXPECT_EQ((*loaded)->Find(1)->Value(v1::AGGREGATE_COUNT, 11, 11), 1);
  EXPECT_EQ((*loaded)->Find(2)->Value(v1::AGGREGATE_DISTINCT, 0, 100), 2);
  // A retraction after the reload works on the loaded buckets.
  EXPECT_TRUE((*loaded)->Find(1)->Retract(10, 100, 0));
}

TEST_F(PartitionStateTest, OnlyDirtyEntitiesAreWritten) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  Flush(&state_, "1");
  // Changed without being marked dirty: the flush does not see it.
  absl::StatusOr<EntityWindows*> e =
      state_.FindWindows(v1::ENTITY_CUSTOMER, "C1");
  (*e)->Find(kFp)->Add(100, 1000, 0);
  Flush(&state_, "2");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_CUSTOMER, "C1"), 5);
  // Pointers are valid until a flush: fetch again, then mark it.
  e = state_.FindWindows(v1::ENTITY_CUSTOMER, "C1");
  (*e)->dirty = true;
  Flush(&state_, "3");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_CUSTOMER, "C1"), 1005);
}

TEST_F(PartitionStateTest, EntityWithOnlyEmptyWindowsIsErased) {
  AddTo(&state_, v1::ENTITY_DEVICE, "D1", 5);
  Flush(&state_, "1");
  ASSERT_EQ(SumOf(Fresh().get(), v1::ENTITY_DEVICE, "D1"), 5);
  absl::StatusOr<EntityWindows*> e =
      state_.FindWindows(v1::ENTITY_DEVICE, "D1");
  ASSERT_TRUE((*e)->Find(kFp)->Retract(100, 5, 0));
  (*e)->dirty = true;
  Flush(&state_, "2");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_DEVICE, "D1"), -1);
  EXPECT_EQ(KeysIn(StateFamily::kWindows), 0);
}

TEST_F(PartitionStateTest, EntityCreatedAfterAMissIsFlushed) {
  // A miss is remembered; creating the entity afterwards must still work.
  ASSERT_EQ(SumOf(&state_, v1::ENTITY_ACCOUNT, "A9"), -1);
  AddTo(&state_, v1::ENTITY_ACCOUNT, "A9", 9);
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_ACCOUNT, "A9"), 9);
  Flush(&state_, "1");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_ACCOUNT, "A9"), 9);
}

TEST_F(PartitionStateTest, EvictedEntitiesReloadFromTheStore) {
  PartitionStateOptions options;
  options.max_cached_entities = 10;
  auto state = Fresh(3, options);
  for (int i = 0; i < 50; ++i) {
    AddTo(state.get(), v1::ENTITY_ACCOUNT, absl::StrCat("A", i), i);
    absl::StatusOr<CustomerHistory*> h = state->History(absl::StrCat("C", i));
    ASSERT_TRUE(h.ok());
    (*h)->last_region_code = absl::StrCat(i);
    (*h)->dirty = true;
  }
  Flush(state.get(), "1");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(SumOf(state.get(), v1::ENTITY_ACCOUNT, absl::StrCat("A", i)), i);
    absl::StatusOr<CustomerHistory*> h = state->History(absl::StrCat("C", i));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ((*h)->last_region_code, absl::StrCat(i));
  }
  // Changes after the reload are flushed as usual.
  AddTo(state.get(), v1::ENTITY_ACCOUNT, "A7", 1000);
  Flush(state.get(), "2");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_ACCOUNT, "A7"), 1007);
}

TEST_F(PartitionStateTest, HandedOffChangesStayInMemoryUntilCommitted) {
  // The streaming service's committer: BuildFlush and HandOff, screening
  // goes on, the store gets the writes later, then Committed.
  PartitionStateOptions options;
  options.max_cached_entities = 10;
  auto state = Fresh(3, options);
  for (int i = 0; i < 50; ++i) {
    AddTo(state.get(), v1::ENTITY_ACCOUNT, absl::StrCat("A", i), i);
  }
  ASSERT_TRUE(state->PutRecord(Record("T1", t0_)).ok());
  std::vector<StateWrite> writes = state->BuildFlush("1");
  state->HandOff();
  // Not in the store yet: nothing evicted, the record still found.
  EXPECT_EQ(state->pending_records(), 0u);
  EXPECT_EQ(Find(state.get(), "T1"), "decision of T1");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(SumOf(state.get(), v1::ENTITY_ACCOUNT, absl::StrCat("A", i)), i);
  }
  // Changes meanwhile belong to the next flush.
  AddTo(state.get(), v1::ENTITY_ACCOUNT, "A7", 1000);
  ASSERT_TRUE(state->PutRecord(Record("T2", t0_)).ok());
  ASSERT_TRUE(store_.Commit(writes).ok());
  state->Committed();
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_ACCOUNT, "A7"), 7);
  // Eviction after the commit keeps what changed since the hand-off.
  EXPECT_EQ(SumOf(state.get(), v1::ENTITY_ACCOUNT, "A7"), 1007);
  EXPECT_EQ(Find(state.get(), "T1"), "decision of T1");  // from the store
  EXPECT_EQ(Find(state.get(), "T2"), "decision of T2");
  Flush(state.get(), "2");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_ACCOUNT, "A7"), 1007);
  EXPECT_EQ(Find(Fresh().get(), "T2"), "decision of T2");
  EXPECT_EQ(*Fresh()->CommittedPosition(), "2");
}

// --- Values encoded at the end of a transaction (EndTransaction) ------------

TEST_F(PartitionStateTest, ValuesEncodedAtTheEndOfATransactionAreWritten) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  See(&state_, "C1", 42, t0_);
  state_.EndTransaction();
  Flush(&state_, "1");
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 5);
  EXPECT_THAT((*fresh->History("C1"))->seen,
              UnorderedElementsAre(Pair(42u, SeenAt(t0_))));
}

TEST_F(PartitionStateTest, ChangesAfterTheEncodingAreWrittenToo) {
  // Encoded at the end of the first transaction, then changed again by the
  // next two: the flush writes the latest state, not the encoded one.
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  See(&state_, "C1", 1, t0_);
  state_.EndTransaction();
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 10);
  See(&state_, "C1", 2, t0_);
  state_.EndTransaction();
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 100);
  state_.EndTransaction();
  Flush(&state_, "1");
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 115);
  EXPECT_THAT(
      (*fresh->History("C1"))->seen,
      UnorderedElementsAre(Pair(1u, SeenAt(t0_)), Pair(2u, SeenAt(t0_))));
}

TEST_F(PartitionStateTest, AnEntryCleanAtTheEndOfATransactionCanChangeLater) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  Flush(&state_, "1");
  // Read only, then changed by a later transaction.
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_CUSTOMER, "C1"), 5);
  EXPECT_NE(*state_.History("C1"), nullptr);
  state_.EndTransaction();
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 7);
  See(&state_, "C1", 9, t0_);
  state_.EndTransaction();
  Flush(&state_, "2");
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 12);
  EXPECT_THAT((*fresh->History("C1"))->seen,
              UnorderedElementsAre(Pair(9u, SeenAt(t0_))));
}

TEST_F(PartitionStateTest, AChangeWithoutAHandOutAfterEndTransactionIsNotSeen) {
  // The contract: after EndTransaction a change counts only through a
  // pointer handed out again (as OnlyDirtyEntitiesAreWritten for `dirty`).
  absl::StatusOr<EntityWindows*> e = state_.Windows(v1::ENTITY_CUSTOMER, "C1");
  (*e)->FindOrAdd(kFp)->Add(100, 5, 0);
  (*e)->dirty = true;
  state_.EndTransaction();
  (*e)->FindOrAdd(kFp)->Add(100, 1000, 0);
  Flush(&state_, "1");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_CUSTOMER, "C1"), 5);
}

TEST_F(PartitionStateTest, AnEntityEmptiedBeforeTheEndOfATransactionIsErased) {
  AddTo(&state_, v1::ENTITY_DEVICE, "D1", 5);
  Flush(&state_, "1");
  absl::StatusOr<EntityWindows*> e =
      state_.FindWindows(v1::ENTITY_DEVICE, "D1");
  ASSERT_TRUE((*e)->Find(kFp)->Retract(100, 5, 0));
  (*e)->dirty = true;
  state_.EndTransaction();
  Flush(&state_, "2");
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_DEVICE, "D1"), -1);
}

TEST_F(PartitionStateTest, EncodedValuesSurviveAFailedFlushAndARepeatedBuild) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  See(&state_, "C1", 42, t0_);
  state_.EndTransaction();
  store_.fail_commits = 1;
  ASSERT_FALSE(state_.Flush("1").ok());
  // BuildFlush twice (the first never made safe): the same writes.
  std::vector<StateWrite> first = state_.BuildFlush("1");
  std::vector<StateWrite> again = state_.BuildFlush("1");
  ASSERT_EQ(again.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(again[i].family, first[i].family) << i;
    EXPECT_EQ(again[i].key, first[i].key) << i;
    EXPECT_EQ(again[i].value, first[i].value) << i;
  }
  ASSERT_TRUE(store_.Commit(again).ok());
  state_.FlushDone();
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 5);
  EXPECT_THAT((*fresh->History("C1"))->seen,
              UnorderedElementsAre(Pair(42u, SeenAt(t0_))));
}

// The writes (or a store's contents) in a canonical form: in key order,
// an entity's windows sorted (their order is that of their first addition
// since the entity was loaded, and an entity reloaded after an eviction
// has lost its empty ones), a history's dedupe and payee arrays (in the
// order of a hash table) sorted.
std::vector<std::tuple<int, std::string, std::string, bool>> Canonical(
    const std::vector<StateWrite>& writes) {
  std::vector<std::tuple<int, std::string, std::string, bool>> out;
  for (const StateWrite& w : writes) {
    std::string value = w.value;
    if (w.family == StateFamily::kWindows && !w.erase) {
      EntityWindowsProto entity;
      EXPECT_TRUE(entity.ParseFromString(value));
      std::vector<std::string> windows;
      for (const WindowProto& window : entity.window()) {
        windows.push_back(window.SerializeAsString());
      }
      std::sort(windows.begin(), windows.end());
      value = absl::StrJoin(windows, "|");
    }
    if (w.family == StateFamily::kHistory && !w.erase) {
      CustomerHistoryProto h;
      EXPECT_TRUE(h.ParseFromString(value));
      auto sorted = [](auto* keys, auto* times) {
        std::vector<std::pair<uint64_t, int64_t>> pairs;
        for (int i = 0; i < keys->size(); ++i) {
          pairs.emplace_back(keys->Get(i), times->Get(i));
        }
        std::sort(pairs.begin(), pairs.end());
        keys->Clear();
        times->Clear();
        for (const auto& [k, t] : pairs) {
          keys->Add(k);
          times->Add(t);
        }
      };
      sorted(h.mutable_seen_id_hash(), h.mutable_seen_occurred_at_us());
      sorted(h.mutable_payee_key(), h.mutable_payee_last_paid_us());
      value = h.SerializeAsString();
    }
    out.emplace_back(static_cast<int>(w.family), w.key, value, w.erase);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::tuple<int, std::string, std::string, bool>> StoredState(
    StateStore* store) {
  std::vector<StateWrite> all;
  for (StateFamily family : {StateFamily::kWindows, StateFamily::kHistory}) {
    EXPECT_TRUE(store
                    ->Scan(family, "",
                           [&](absl::string_view k, absl::string_view v) {
                             all.push_back(StateWrite::Put(
                                 family, std::string(k), std::string(v)));
                             return true;
                           })
                    .ok());
  }
  return Canonical(all);
}

TEST_F(PartitionStateTest, EndTransactionChangesNothingStored) {
  // The same random changes to two states: one told where transactions end
  // and flushed the way the streaming service does (BuildFlush, HandOff,
  // the commit later, Committed), with flushes that fail and builds never
  // made safe in between; the other flushed plainly at the same points.
  // Few entities are kept in memory, so entries come and go (and with them
  // the markers of entities the store has nothing for). At every read and
  // at the end, both hold the same state.
  const v1::Entity kinds[] = {v1::ENTITY_CUSTOMER, v1::ENTITY_ACCOUNT,
                              v1::ENTITY_DEVICE};
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    FlakyStore ended_store, plain_store;
    PartitionStateOptions options;
    options.max_cached_entities = 1 + seed % 6;
    PartitionState ended(&ended_store, 3, options);
    PartitionState plain(&plain_store, 3, options);
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) {
      return std::uniform_int_distribution<int>(0, n - 1)(rng);
    };
    std::vector<StateWrite> in_flight;
    bool handed_off = false;
    for (int step = 0; step < 2000; ++step) {
      const int op = pick(14);
      const std::string id = absl::StrCat("E", pick(8));
      const v1::Entity kind = kinds[pick(3)];
      const int64_t bucket = 100 + pick(3);
      const int64_t value = 1 + pick(5);
      SCOPED_TRACE(absl::StrCat("seed ", seed, ", step ", step, ", op ", op));
      if (op < 4) {  // add to a window
        for (PartitionState* s : {&ended, &plain}) {
          EntityWindows* e = *s->Windows(kind, id);
          e->FindOrAdd(kFp + static_cast<uint64_t>(op))->Add(bucket, value, 0);
          e->dirty = true;
        }
      } else if (op == 4) {  // take back (maybe emptying the entity)
        for (PartitionState* s : {&ended, &plain}) {
          EntityWindows* e = *s->FindWindows(kind, id);
          if (e == nullptr) continue;
          for (auto& [fp, w] : e->windows) {
            if (w.Retract(bucket, value, 0)) e->dirty = true;
          }
        }
      } else if (op == 5) {  // read: the same in both
        int64_t sums[2] = {0, 0};
        std::vector<std::pair<uint64_t, int64_t>> seen[2];
        int i = 0;
        for (PartitionState* s : {&ended, &plain}) {
          EntityWindows* e = *s->FindWindows(kind, id);
          if (e != nullptr) {
            for (auto& [fp, w] : e->windows) {
              sums[i] += w.Value(v1::AGGREGATE_SUM, 0, 1000);
            }
          }
          CustomerHistory* h = *s->History(id);
          for (const auto& [k, v] : h->seen) seen[i].emplace_back(k, v.at_us);
          std::sort(seen[i].begin(), seen[i].end());
          ++i;
        }
        ASSERT_EQ(sums[0], sums[1]);
        ASSERT_EQ(seen[0], seen[1]);
      } else if (op < 8) {  // history
        const uint64_t seen = static_cast<uint64_t>(pick(50)) + 1;
        for (PartitionState* s : {&ended, &plain}) {
          CustomerHistory* h = *s->History(id);
          h->seen[seen] = {t0_ + value};
          h->dirty = true;
        }
      } else if (op < 10) {
        ended.EndTransaction();
      } else if (op == 10 && !handed_off) {
        // Builds never made safe: the same writes each time.
        ASSERT_EQ(Canonical(ended.BuildFlush("p")),
                  Canonical(ended.BuildFlush("p")));
      } else if (op == 11) {  // the committer's cycle, one step at a time
        if (handed_off) {
          ASSERT_TRUE(ended_store.Commit(in_flight).ok());
          ended.Committed();
        } else {
          in_flight = ended.BuildFlush(absl::StrCat(step));
          ended.HandOff();
        }
        handed_off = !handed_off;
        ASSERT_TRUE(plain.Flush(absl::StrCat(step)).ok());
      } else if (op == 12 && !handed_off) {  // a failed commit
        ended_store.fail_commits = plain_store.fail_commits = 1;
        ASSERT_FALSE(ended.Flush("failed").ok());
        ASSERT_FALSE(plain.Flush("failed").ok());
      } else if (op == 13 && !handed_off) {
        ASSERT_TRUE(ended.Flush(absl::StrCat(step)).ok());
        ASSERT_TRUE(plain.Flush(absl::StrCat(step)).ok());
      }
    }
    if (handed_off) {
      ASSERT_TRUE(ended_store.Commit(in_flight).ok());
      ended.Committed();
    }
    ended.EndTransaction();
    ASSERT_TRUE(ended.Flush("end").ok());
    ASSERT_TRUE(plain.Flush("end").ok());
    const auto stored = StoredState(&ended_store);
    EXPECT_FALSE(stored.empty());
    ASSERT_EQ(stored, StoredState(&plain_store)) << "seed " << seed;
  }
}

TEST_F(PartitionStateTest, LongIdsOfEveryKindSurviveEvictionAndReload) {
  // Ids too long for the key bytes kept inside an entry, of every entity
  // kind and as customers, under a partition whose prefix bytes are all
  // different; most entries are evicted after each flush.
  PartitionStateOptions options;
  options.max_cached_entities = 3;
  const int32_t partition = 0x01020304;
  auto state = Fresh(partition, options);
  const std::string long_id(100, 'x');
  for (int round = 0; round < 20; ++round) {
    for (int kind = 1; kind <= 4; ++kind) {
      for (int i = 0; i < 6; ++i) {
        const std::string id = long_id + std::to_string(i);
        EntityWindows* e = *state->Windows(static_cast<v1::Entity>(kind), id);
        e->FindOrAdd(kFp)->Add(100, kind * 10 + i, 0);
        e->dirty = true;
        CustomerHistory* h = *state->History(id);
        h->seen[static_cast<uint64_t>(round) + 1] = {t0_};
        h->dirty = true;
        state->EndTransaction();
      }
    }
    Flush(state.get(), absl::StrCat(round));
  }
  auto fresh = Fresh(partition);
  for (int kind = 1; kind <= 4; ++kind) {
    for (int i = 0; i < 6; ++i) {
      const std::string id = long_id + std::to_string(i);
      EXPECT_EQ(SumOf(fresh.get(), static_cast<v1::Entity>(kind), id),
                20 * (kind * 10 + i));
      EXPECT_EQ((*fresh->History(id))->seen.size(), 20u);
    }
  }
  // The same id without its last character is another entity.
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_ACCOUNT, long_id), -1);
}

// --- History -----------------------------------------------------------------

TEST_F(PartitionStateTest, FlushedHistoryReloadsInANewState) {
  absl::StatusOr<CustomerHistory*> h = state_.History("C1");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE((*h)->has_previous);
  EXPECT_TRUE((*h)->seen.empty());
  (*h)->has_previous = true;
  (*h)->last_at_us = t0_;
  (*h)->last_region_code = "310101";
  (*h)->has_geo = true;
  (*h)->last_lat = 31.23;
  (*h)->last_lon = 121.47;
  (*h)->seen[11] = {t0_ - kHour};
  (*h)->seen[22] = {t0_};
  (*h)->payees[33] = PaidPayee{t0_ - 9 * kDay, t0_ - kDay};
  // State written before the first payment was kept.
  (*h)->payees[44] = PaidPayee{PaidPayee::kUnknown, t0_ - 2 * kDay};
  (*h)->dirty = true;
  EXPECT_EQ(*state_.History("C1"), *h);
  Flush(&state_, "p");
  EXPECT_FALSE((*h)->dirty);

  auto fresh = Fresh();
  absl::StatusOr<CustomerHistory*> loaded = fresh->History("C1");
  ASSERT_TRUE(loaded.ok());
  const CustomerHistory& p = **loaded;
  EXPECT_TRUE(p.has_previous);
  EXPECT_EQ(p.last_at_us, t0_);
  EXPECT_EQ(p.last_region_code, "310101");
  EXPECT_TRUE(p.has_geo);
  EXPECT_DOUBLE_EQ(p.last_lat, 31.23);
  EXPECT_DOUBLE_EQ(p.last_lon, 121.47);
  EXPECT_THAT((*loaded)->seen,
              UnorderedElementsAre(Pair(11u, SeenAt(t0_ - kHour)),
                                   Pair(22u, SeenAt(t0_))));
  EXPECT_THAT((*loaded)->payees,
              UnorderedElementsAre(
                  Pair(33u, PaidPayee{t0_ - 9 * kDay, t0_ - kDay}),
                  Pair(44u, PaidPayee{PaidPayee::kUnknown, t0_ - 2 * kDay})));
  EXPECT_FALSE((*loaded)->dirty);

  // Another customer is new.
  absl::StatusOr<CustomerHistory*> other = fresh->History("C2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->has_previous);
}

TEST_F(PartitionStateTest, PayKeepsTheFirstAndTheLastPayment) {
  absl::StatusOr<CustomerHistory*> h = state_.History("C1");
  ASSERT_TRUE(h.ok());
  state_.Pay(*h, 1, t0_);
  state_.Pay(*h, 1, t0_ + kHour);
  state_.Pay(*h, 1, t0_ - kHour);  // late: the first
  state_.Pay(*h, 1, t0_ + kHour / 2);
  EXPECT_EQ((*h)->payees[1], (PaidPayee{t0_ - kHour, t0_ + kHour}));
  (*h)->payees[2] = PaidPayee{PaidPayee::kUnknown, t0_};
  state_.Pay(*h, 2, t0_ - kDay);  // not known to be the first
  EXPECT_EQ((*h)->payees[2], (PaidPayee{PaidPayee::kUnknown, t0_}));
}

TEST_F(PartitionStateTest, CleanHistoryIsNotWritten) {
  ASSERT_TRUE(state_.History("C1").ok());
  Flush(&state_, "p");
  EXPECT_EQ(KeysIn(StateFamily::kHistory), 0);
}

// --- Expire
// --------------------------------------------------------------------

TEST_F(PartitionStateTest, ExpireForgetsSeenAndPayeesOlderThanTheRetention) {
  PartitionStateOptions options;
  options.dedupe_retention_us = 7 * kDay;
  options.payee_retention_us = 30 * kDay;
  auto state = Fresh(3, options);
  CustomerHistory* h = *state->History("C1");
  const int64_t now = t0_;
  h->seen[1] = {now - 7 * kDay - 1};  // just too old
  h->seen[2] = {now - 7 * kDay};      // exactly the retention: kept
  h->seen[3] = {now};
  h->payees[4] = Paid(now - 30 * kDay - 1);
  h->payees[5] = Paid(now - 30 * kDay);
  h->payees[6] = Paid(now - kDay);
  state->Expire(h, now);
  EXPECT_THAT(h->seen,
              UnorderedElementsAre(Pair(2u, SeenTransaction{now - 7 * kDay}),
                                   Pair(3u, SeenTransaction{now})));
  EXPECT_THAT(h->payees,
              UnorderedElementsAre(Pair(5u, LastPaid(now - 30 * kDay)),
                                   Pair(6u, LastPaid(now - kDay))));
  EXPECT_TRUE(h->dirty);

  // Expired entries stay forgotten after a flush and reload.
  Flush(state.get(), "p");
  std::unique_ptr<PartitionState> reopened = Fresh(3, options);
  CustomerHistory* loaded = *reopened->History("C1");
  EXPECT_EQ(loaded->seen.size(), 2u);
  EXPECT_EQ(loaded->payees.size(), 2u);
}

TEST_F(PartitionStateTest, ExpireWithNothingToForgetLeavesHistoryClean) {
  CustomerHistory* h = *state_.History("C1");
  h->seen[1] = {t0_};
  h->payees[2] = Paid(t0_);
  state_.Expire(h, t0_ + kDay);
  EXPECT_FALSE(h->dirty);
  EXPECT_EQ(h->seen.size(), 1u);
  EXPECT_EQ(h->payees.size(), 1u);
}

TEST_F(PartitionStateTest, ExpireKeepsTheMostRecentPayeesUpToTheLimit) {
  PartitionStateOptions options;
  options.max_payees = 3;
  auto state = Fresh(3, options);
  CustomerHistory* h = *state->History("C1");
  for (uint64_t k = 1; k <= 6; ++k) {
    h->payees[k] = Paid(t0_ - static_cast<int64_t>(10 - k) * kHour);
  }
  state->Expire(h, t0_);
  EXPECT_THAT(h->payees,
              UnorderedElementsAre(Pair(4u, LastPaid(t0_ - 6 * kHour)),
                                   Pair(5u, LastPaid(t0_ - 5 * kHour)),
                                   Pair(6u, LastPaid(t0_ - 4 * kHour))));
  EXPECT_TRUE(h->dirty);
}

TEST_F(PartitionStateTest, ExpireWalksATableOnlyOnceAnEntryCanBeThatOld) {
  PartitionStateOptions options;
  options.dedupe_retention_us = 7 * kDay;
  options.payee_retention_us = 30 * kDay;
  auto state = Fresh(3, options);
  CustomerHistory* h = *state->History("C1");
  state->See(h, 1, t0_);
  state->Pay(h, 10, t0_);
  state->Pay(h, 11, t0_ + kDay);
  state->Pay(h, 10, t0_ + 2 * kDay);  // later payment to the same payee
  state->Expire(h, t0_);
  // The earliest entry of each table sets when it is next walked.
  EXPECT_EQ(h->seen_expire_from_us, t0_ + 7 * kDay + 1);
  EXPECT_EQ(h->payees_expire_from_us, t0_ + kDay + 30 * kDay + 1);
  // Late arrivals, older than the rest, bring the walk forward: both are
  // past their retention an hour on.
  state->See(h, 2, t0_ - 8 * kDay);
  state->Pay(h, 12, t0_ - 40 * kDay);
  EXPECT_EQ(h->seen_expire_from_us, t0_ - kDay + 1);
  h->dirty = false;
  state->Expire(h, t0_ + kHour);
  EXPECT_THAT(h->seen, UnorderedElementsAre(Pair(1u, SeenAt(t0_))));
  EXPECT_THAT(h->payees,
              UnorderedElementsAre(Pair(10u, LastPaid(t0_ + 2 * kDay)),
                                   Pair(11u, LastPaid(t0_ + kDay))));
  EXPECT_TRUE(h->dirty);
  // At the retention exactly an entry stays; a microsecond later it goes.
  h->dirty = false;
  state->Expire(h, t0_ + 7 * kDay);
  EXPECT_EQ(h->seen.size(), 1u);
  EXPECT_FALSE(h->dirty);
  state->Expire(h, t0_ + 7 * kDay + 1);
  EXPECT_TRUE(h->seen.empty());
  EXPECT_TRUE(h->dirty);
  EXPECT_EQ(h->seen_expire_from_us, std::numeric_limits<int64_t>::max());
  state->Expire(h, t0_ + kDay + 30 * kDay + 1);
  EXPECT_THAT(h->payees,
              UnorderedElementsAre(Pair(10u, LastPaid(t0_ + 2 * kDay))));
}

TEST_F(PartitionStateTest, PayeesBeyondTheLimitGoBeforeAnyIsPastItsRetention) {
  PartitionStateOptions options;
  options.max_payees = 2;
  auto state = Fresh(3, options);
  CustomerHistory* h = *state->History("C1");
  state->Expire(h, t0_);
  for (uint64_t k = 1; k <= 3; ++k) {
    state->Pay(h, k, t0_ + static_cast<int64_t>(k) * kHour);
  }
  state->Expire(h, t0_ + 4 * kHour);
  EXPECT_THAT(h->payees,
              UnorderedElementsAre(Pair(2u, LastPaid(t0_ + 2 * kHour)),
                                   Pair(3u, LastPaid(t0_ + 3 * kHour))));
  EXPECT_EQ(h->payees_expire_from_us,
            t0_ + 2 * kHour + options.payee_retention_us + 1);
  // With no payee allowed at all, every one goes.
  options.max_payees = 0;
  auto none = Fresh(4, options);
  CustomerHistory* g = *none->History("C1");
  none->Pay(g, 1, t0_);
  none->Pay(g, 2, t0_);
  none->Expire(g, t0_);
  EXPECT_TRUE(g->payees.empty());
}

// --- Transaction records
// ----------------------------------------------------------

TEST_F(PartitionStateTest, RecordsAreFoundBeforeAndAfterAFlush) {
  EXPECT_EQ(Find(&state_, "T1"), "");
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  EXPECT_EQ(state_.pending_records(), 1u);
  EXPECT_EQ(Find(&state_, "T1"), "decision of T1");
  EXPECT_EQ(Find(&state_, "T2"), "");

  Flush(&state_, "1");
  EXPECT_EQ(state_.pending_records(), 0u);
  EXPECT_EQ(Find(&state_, "T1"), "decision of T1");
  auto fresh = Fresh();
  EXPECT_EQ(Find(fresh.get(), "T1"), "decision of T1");
  // Records are per partition.
  EXPECT_EQ(Find(Fresh(4).get(), "T1"), "");
}

TEST_F(PartitionStateTest, PutRecordWithADecisionStoresTheSerializedDecision) {
  const WindowContribution contributions[] = {
      {.fingerprint = 7,
       .entity = txscreen::v1::ENTITY_CUSTOMER,
       .bucket = 20000,
       .value = 500000,
       .key = 0}};
  txscreen::v1::Decision decision;
  decision.set_transaction_id("T1");
  decision.set_verdict(txscreen::v1::VERDICT_INTERCEPT);
  decision.add_hits()->set_reason(std::string(300, 'x'));  // 2-byte length
  state_.PutRecord(*state_.History("C1"),
                   ScreenedRecord{.transaction_id = "T1",
                                  .customer_id = "C1",
                                  .occurred_at_us = t0_,
                                  .account_id = "A1",
                                  .counterparty_account_id = "",
                                  .device_id = "",
                                  .contributions = contributions},
                   decision);
  TransactionRecordProto expected = Record("T1", t0_);
  expected.set_account_id("A1");
  expected.add_contribution_fingerprint(7);
  expected.add_contribution_entity(1);
  expected.add_contribution_bucket(20000);
  expected.add_contribution_value(500000);
  expected.add_contribution_key(0);
  expected.set_decision(decision.SerializeAsString());
  for (bool flushed : {false, true}) {
    if (flushed) Flush(&state_, "1");
    absl::StatusOr<const TransactionRecordProto*> found =
        state_.FindRecord("C1", "T1");
    ASSERT_TRUE(found.ok() && *found != nullptr);
    EXPECT_EQ((*found)->SerializeAsString(), expected.SerializeAsString());
  }
}

TEST(EncodeRecordTest, SameBytesAsTheProtoWithTheDecisionLast) {
  std::mt19937_64 random(42);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  };
  auto text = [&](int max) {
    return std::string(static_cast<size_t>(pick(0, max)), 'a' + pick(0, 25));
  };
  for (int round = 0; round < 500; ++round) {
    std::vector<WindowContribution> c(static_cast<size_t>(pick(0, 6)));
    const int64_t big = std::numeric_limits<int64_t>::max();
    for (WindowContribution& w : c) {
      w.fingerprint = random();
      w.entity = static_cast<txscreen::v1::Entity>(pick(0, 4));
      w.bucket = pick(-3, 1) == 1 ? pick(-big, big) : pick(-2, 30000000);
      w.value = pick(0, 1) ? pick(-big, big) : pick(-1, 1000);
      w.key = pick(0, 1) ? random() : 0;
    }
    std::string id = text(40), customer = text(20), account = text(30),
                payee = text(30), device = text(200);
    const int64_t at = pick(0, 3) == 0 ? 0 : pick(-big, big);
    txscreen::v1::Decision decision;
    decision.set_transaction_id(text(10));
    decision.set_verdict(static_cast<txscreen::v1::Verdict>(pick(0, 7)));
    if (pick(0, 1)) decision.add_hits()->set_reason(text(400));
    std::string encoded;
    EncodeRecord(ScreenedRecord{id, customer, at, account, payee, device, c},
                 decision, &encoded);

    TransactionRecordProto proto;
    proto.set_transaction_id(id);
    proto.set_customer_id(customer);
    proto.set_occurred_at_us(at);
    proto.set_account_id(account);
    proto.set_counterparty_account_id(payee);
    proto.set_device_id(device);
    for (const WindowContribution& w : c) {
      proto.add_contribution_fingerprint(w.fingerprint);
      proto.add_contribution_entity(w.entity);
      proto.add_contribution_bucket(w.bucket);
      proto.add_contribution_value(w.value);
      proto.add_contribution_key(w.key);
    }
    std::string want = proto.SerializeAsString();
    const std::string decision_bytes = decision.SerializeAsString();
    want.push_back(static_cast<char>(
        (TransactionRecordProto::kDecisionFieldNumber << 3) | 2));
    for (size_t n = decision_bytes.size();; n >>= 7) {  // varint length
      want.push_back(static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
      if (n < 0x80) break;
    }
    want.append(decision_bytes);
    ASSERT_EQ(encoded, want) << "round " << round;

    TransactionRecordProto parsed;
    ASSERT_TRUE(parsed.ParseFromString(encoded));
    proto.set_decision(decision_bytes);
    EXPECT_EQ(parsed.SerializeAsString(), proto.SerializeAsString());
  }
}

TEST_F(PartitionStateTest, PutRecordReplacesALoadedRecord) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  auto fresh = Fresh();
  absl::StatusOr<const TransactionRecordProto*> r =
      fresh->FindRecord("C1", "T1");
  ASSERT_TRUE(r.ok());
  ASSERT_NE(*r, nullptr);
  TransactionRecordProto reversed = **r;
  reversed.set_reversed(true);
  ASSERT_TRUE(fresh->PutRecord(reversed).ok());
  absl::StatusOr<const TransactionRecordProto*> now =
      fresh->FindRecord("C1", "T1");
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE((*now)->reversed());
  Flush(fresh.get(), "2");
  std::unique_ptr<PartitionState> reopened = Fresh();
  absl::StatusOr<const TransactionRecordProto*> reloaded =
      reopened->FindRecord("C1", "T1");
  ASSERT_TRUE(reloaded.ok());
  ASSERT_NE(*reloaded, nullptr);
  EXPECT_TRUE((*reloaded)->reversed());
}

TEST_F(PartitionStateTest, OldRecordsGoByRangeDeletionAfterTheRetention) {
  PartitionStateOptions options;
  options.dedupe_retention_us = 7 * kDay;
  auto state = Fresh(3, options);
  const int64_t day100 = 100 * kDay + 12 * kHour;
  ASSERT_TRUE(state->PutRecord(Record("OLD", day100)).ok());
  ASSERT_TRUE(state->PutRecord(Record("OLDER", day100 - kDay)).ok());
  Flush(state.get(), "1");
  // Another partition's old record is never touched.
  auto other = Fresh(4, options);
  ASSERT_TRUE(other->PutRecord(Record("OTHER", day100 - kDay)).ok());
  Flush(other.get(), "x");

  // Exactly the retention later, and a day more: still there (records are
  // kept at least the retention).
  ASSERT_TRUE(state->PutRecord(Record("D107", day100 + 7 * kDay)).ok());
  Flush(state.get(), "2");
  EXPECT_EQ(Find(Fresh(3, options).get(), "OLD"), "decision of OLD");
  ASSERT_TRUE(state->PutRecord(Record("D108", day100 + 8 * kDay)).ok());
  Flush(state.get(), "3");
  EXPECT_EQ(Find(Fresh(3, options).get(), "OLD"), "decision of OLD");
  EXPECT_EQ(Find(Fresh(3, options).get(), "OLDER"), "");

  // Retention plus two days: gone, by one range deletion.
  ASSERT_TRUE(state->PutRecord(Record("D109", day100 + 9 * kDay)).ok());
  Flush(state.get(), "4");
  auto fresh = Fresh(3, options);
  EXPECT_EQ(Find(fresh.get(), "OLD"), "");
  EXPECT_EQ(Find(fresh.get(), "D107"), "decision of D107");
  EXPECT_EQ(Find(fresh.get(), "D109"), "decision of D109");
  EXPECT_EQ(Find(Fresh(4, options).get(), "OTHER"), "decision of OTHER");
  EXPECT_EQ(KeysIn(StateFamily::kDedupe, PartitionPrefix(3)),
            3);  // D107, D108, D109
}

TEST_F(PartitionStateTest, RangeDeletionAlsoRunsAfterARestart) {
  PartitionStateOptions options;
  options.dedupe_retention_us = 7 * kDay;
  const int64_t day100 = 100 * kDay;
  auto state = Fresh(3, options);
  ASSERT_TRUE(state->PutRecord(Record("OLD", day100)).ok());
  Flush(state.get(), "1");
  state.reset();
  auto restarted = Fresh(3, options);
  ASSERT_TRUE(restarted->PutRecord(Record("NEW", day100 + 30 * kDay)).ok());
  Flush(restarted.get(), "2");
  EXPECT_EQ(Find(Fresh(3, options).get(), "OLD"), "");
  EXPECT_EQ(Find(Fresh(3, options).get(), "NEW"), "decision of NEW");
}

// --- Input position
// -----------------------------------------------------------

TEST_F(PartitionStateTest, CommittedPositionFollowsFlushes) {
  absl::StatusOr<std::string> none = state_.CommittedPosition();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
  Flush(&state_, "topic:3:41");
  EXPECT_EQ(*state_.CommittedPosition(), "topic:3:41");
  EXPECT_EQ(*Fresh()->CommittedPosition(), "topic:3:41");
  Flush(&state_, "topic:3:42");
  EXPECT_EQ(*Fresh()->CommittedPosition(), "topic:3:42");
  // Each partition has its own.
  EXPECT_EQ(*Fresh(4)->CommittedPosition(), "");
}

TEST_F(PartitionStateTest, StateAndPositionAreCommittedInOneBatch) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 1);
  (*state_.History("C1"))->dirty = true;
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  const int before = store_.commits;
  Flush(&state_, "7");
  EXPECT_EQ(store_.commits, before + 1);
}

TEST_F(PartitionStateTest, DropPartitionForgetsOnlyThatPartition) {
  auto other = Fresh(4);
  for (PartitionState* s : {&state_, other.get()}) {
    AddTo(s, v1::ENTITY_CUSTOMER, "C1", 10);
    (*s->History("C1"))->has_previous = true;
    (*s->History("C1"))->dirty = true;
    ASSERT_TRUE(s->PutRecord(Record("T1", t0_)).ok());
    Flush(s, "9");
  }
  ASSERT_TRUE(store_.DropPartition(3).ok());
  auto gone = Fresh(3);
  EXPECT_EQ(SumOf(gone.get(), v1::ENTITY_CUSTOMER, "C1"), -1);
  EXPECT_FALSE((*gone->History("C1"))->has_previous);
  EXPECT_EQ(Find(gone.get(), "T1"), "");
  EXPECT_EQ(*gone->CommittedPosition(), "");
  auto kept = Fresh(4);
  EXPECT_EQ(SumOf(kept.get(), v1::ENTITY_CUSTOMER, "C1"), 10);
  EXPECT_TRUE((*kept->History("C1"))->has_previous);
  EXPECT_EQ(Find(kept.get(), "T1"), "decision of T1");
  EXPECT_EQ(*kept->CommittedPosition(), "9");
}

// --- Store failures and damaged state
// ----------------------------------------------

TEST_F(PartitionStateTest, StoreReadErrorsArePassedOn) {
  store_.fail_gets = 4;
  EXPECT_EQ(state_.FindWindows(v1::ENTITY_CUSTOMER, "C1").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(state_.History("C1").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(state_.FindRecord("C1", "T1").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(state_.CommittedPosition().status().code(),
            absl::StatusCode::kUnavailable);
  // Once the store answers again, nothing was cached from the failures.
  EXPECT_EQ(SumOf(&state_, v1::ENTITY_CUSTOMER, "C1"), -1);
}

TEST_F(PartitionStateTest, BuildFlushChangesNothingUntilFlushDone) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  auto families = [](const std::vector<StateWrite>& writes) {
    std::vector<std::string> out;
    for (const StateWrite& w : writes) {
      out.push_back(absl::StrCat(static_cast<int>(w.family),
                                 w.erase_range ? "-range" : ""));
    }
    return out;
  };
  const std::string kWindows = absl::StrCat(int(StateFamily::kWindows));
  const std::string kDedupe = absl::StrCat(int(StateFamily::kDedupe));
  const std::string kOffsets = absl::StrCat(int(StateFamily::kOffsets));
  std::vector<StateWrite> first = state_.BuildFlush("1");
  // the customer's value (windows, and the history that remembers the
  // record), the record's chunk, the chunk counter, the event clock and
  // the state format, expiry of old records, position
  EXPECT_THAT(families(first),
              ElementsAre(kWindows, kDedupe, kOffsets, kOffsets, kOffsets,
                          kDedupe + "-range", kOffsets));
  EXPECT_EQ(first.back().value, "1");
  // Not done: the same changes again, at the later position.
  std::vector<StateWrite> again = state_.BuildFlush("2");
  EXPECT_EQ(families(again), families(first));
  EXPECT_EQ(again.back().value, "2");
  // The caller makes them safe, then says so.
  ASSERT_TRUE(store_.Commit(again).ok());
  state_.FlushDone();
  EXPECT_EQ(state_.pending_records(), 0u);
  EXPECT_THAT(families(state_.BuildFlush("3")), ElementsAre(kOffsets));
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 5);
  EXPECT_EQ(Find(fresh.get(), "T1"), "decision of T1");
}

TEST_F(PartitionStateTest, FailedFlushKeepsPendingRecordsAndPosition) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  ASSERT_TRUE(state_.PutRecord(Record("T2", t0_)).ok());
  store_.fail_commits = 1;
  absl::Status s = state_.Flush("2");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_EQ(state_.pending_records(), 1u);
  // Still found whole (the flush moved it into its writes and back).
  EXPECT_EQ(Find(&state_, "T2"), "decision of T2");
  EXPECT_EQ(*Fresh()->CommittedPosition(), "1");
  EXPECT_EQ(Find(Fresh().get(), "T2"), "");
  // The retry writes it.
  Flush(&state_, "2");
  EXPECT_EQ(Find(Fresh().get(), "T2"), "decision of T2");
  EXPECT_EQ(*Fresh()->CommittedPosition(), "2");
}

// BUG: Flush() clears the dirty flags of windows and histories before the
// store's Commit succeeds. When the commit fails and the flush is retried
// (or the next flush commits a later position), the changed windows and
// histories are not written again, while the records and the position are:
// after a restart those transactions are "duplicates" whose window
// contributions are lost - not exactly once.
TEST_F(PartitionStateTest, FailedFlushKeepsChangedWindowsAndHistoryDirty) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  CustomerHistory* h = *state_.History("C1");
  h->seen[42] = {t0_};
  h->dirty = true;
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  store_.fail_commits = 1;
  ASSERT_FALSE(state_.Flush("1").ok());
  Flush(&state_, "1");
  auto fresh = Fresh();
  EXPECT_EQ(Find(fresh.get(), "T1"), "decision of T1");
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 5);
  EXPECT_THAT((*fresh->History("C1"))->seen,
              UnorderedElementsAre(Pair(42u, SeenAt(t0_)),
                                   Pair(StableTextHash("T1"), SeenAt(t0_))));
}

TEST_F(PartitionStateTest, DamagedWindowsAreDataLoss) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  Flush(&state_, "1");
  Corrupt(StateFamily::kWindows);
  absl::StatusOr<EntityWindows*> e =
      Fresh()->FindWindows(v1::ENTITY_CUSTOMER, "C1");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(e.status().message(), "state: windows of entity 'C1' do not parse");
  EXPECT_EQ(Fresh()->Windows(v1::ENTITY_CUSTOMER, "C1").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(PartitionStateTest, DamagedHistoryIsDataLoss) {
  // In the history family (state before format 3).
  ASSERT_TRUE(store_
                  .Commit({StateWrite::Put(
                      StateFamily::kHistory,
                      absl::StrCat(PartitionPrefix(3), "C1"), "\xff\xff")})
                  .ok());
  absl::StatusOr<CustomerHistory*> h = Fresh()->History("C1");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(h.status().message(),
            "state: history of customer 'C1' does not parse");
  // In the customer's value.
  EntityWindowsProto value;
  value.mutable_history()->add_seen_id_hash(1);  // and no time for it
  PutCustomerValue("C2", value);
  h = Fresh()->History("C2");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(h.status().message(),
            "state: history of customer 'C2' is damaged (arrays of different "
            "lengths)");
}

// --- A customer's history in its windows value (state format 3) -----------

TEST_F(PartitionStateTest, ACustomersHistoryIsStoredInItsWindowsValue) {
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);
  See(&state_, "C1", 42, t0_);
  // A customer with a history and no windows has a value too.
  See(&state_, "C2", 43, t0_);
  Flush(&state_, "1");
  EXPECT_EQ(KeysIn(StateFamily::kHistory), 0);
  std::string value;
  bool found = false;
  ASSERT_TRUE(store_
                  .Get(StateFamily::kWindows,
                       absl::StrCat(PartitionPrefix(3), "1C1"), &value, &found)
                  .ok());
  ASSERT_TRUE(found);
  EntityWindowsProto proto;
  ASSERT_TRUE(proto.ParseFromString(value));
  EXPECT_EQ(proto.window_size(), 1);
  EXPECT_EQ(proto.history().seen_id_hash_size(), 1);
  auto fresh = Fresh();
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 5);
  EXPECT_THAT((*fresh->History("C1"))->seen,
              UnorderedElementsAre(Pair(42u, SeenAt(t0_))));
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C2"), -1);  // no windows
  EXPECT_THAT((*fresh->History("C2"))->seen,
              UnorderedElementsAre(Pair(43u, SeenAt(t0_))));
  // Windows added later keep the history.
  AddTo(fresh.get(), v1::ENTITY_CUSTOMER, "C2", 7);
  Flush(fresh.get(), "2");
  auto again = Fresh();
  EXPECT_EQ(SumOf(again.get(), v1::ENTITY_CUSTOMER, "C2"), 7);
  EXPECT_THAT((*again->History("C2"))->seen,
              UnorderedElementsAre(Pair(43u, SeenAt(t0_))));
}

TEST_F(PartitionStateTest, AHistoryInTheHistoryFamilyMovesIntoTheValue) {
  // State before format 3: the history under a key of its own.
  CustomerHistoryProto old;
  old.set_has_previous(true);
  old.set_last_at_us(t0_);
  old.set_last_region_code("310101");
  old.add_payee_key(33);
  old.add_payee_last_paid_us(t0_ - kDay);
  const std::string legacy = absl::StrCat(PartitionPrefix(3), "C1");
  PutHistoryOfFormat2("C1", old);
  AddTo(&state_, v1::ENTITY_CUSTOMER, "C1", 5);  // its windows, before
  Flush(&state_, "1");
  auto state = Fresh();
  CustomerHistory* h = *state->History("C1");
  EXPECT_TRUE(h->has_previous);
  EXPECT_EQ(h->last_region_code, "310101");
  // Unchanged, nothing moves; changed, it goes into the customer's value
  // and its old key goes in the same write.
  std::vector<StateWrite> writes = state->BuildFlush("2");
  EXPECT_EQ(writes.size(), 1u);  // the position
  state->See(h, 42, t0_);
  Flush(state.get(), "2");
  std::string value;
  bool found = true;
  ASSERT_TRUE(store_.Get(StateFamily::kHistory, legacy, &value, &found).ok());
  EXPECT_FALSE(found);
  auto fresh = Fresh();
  CustomerHistory* moved = *fresh->History("C1");
  EXPECT_TRUE(moved->has_previous);
  EXPECT_EQ(moved->last_region_code, "310101");
  EXPECT_THAT(moved->payees,
              UnorderedElementsAre(Pair(33u, LastPaid(t0_ - kDay))));
  EXPECT_THAT(moved->seen, UnorderedElementsAre(Pair(42u, SeenAt(t0_))));
  EXPECT_EQ(SumOf(fresh.get(), v1::ENTITY_CUSTOMER, "C1"), 5);
}

TEST_F(PartitionStateTest, ABatchOfHistoriesAloneRecordsTheStateFormat) {
  // State of format 2: a history under its own key. A batch that writes no
  // record chunk (a hold's settlement pays, and records nothing) still
  // writes the customer's value with its history, so it must say format 3:
  // an older build would otherwise take the state for one it knows, find
  // no history, and screen a resent transaction again.
  CustomerHistoryProto old;
  old.set_has_previous(true);
  old.set_last_at_us(t0_);
  old.add_seen_id_hash(42);
  old.add_seen_occurred_at_us(t0_);
  const std::string format_key =
      absl::StrCat(PartitionPrefix(3), kStateFormatKey);
  PutHistoryOfFormat2("C1", old);
  ASSERT_TRUE(
      store_.Commit({StateWrite::Put(StateFamily::kOffsets, format_key, "2")})
          .ok());
  auto state = Fresh();
  CustomerHistory* h = *state->History("C1");
  state->Pay(h, 77, t0_ + kSecond);
  state->EndTransaction();
  Flush(state.get(), "1");
  std::string value;
  bool found = false;
  ASSERT_TRUE(
      store_.Get(StateFamily::kOffsets, format_key, &value, &found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(value, absl::StrCat(kStateFormat));
  // A batch with nothing but the input position leaves it alone.
  EXPECT_EQ(Fresh()->BuildFlush("2").size(), 1u);
}

TEST_F(PartitionStateTest, AnOldHistoryKeyGoesOnlyWithTheValueReplacingIt) {
  CustomerHistoryProto old;
  old.set_has_previous(true);
  old.add_seen_id_hash(1);
  old.add_seen_occurred_at_us(t0_);
  PutHistoryOfFormat2("A", old);
  auto state = Fresh();
  CustomerHistory* h = *state->History("A");
  state->EndTransaction();  // unchanged: no write of its value this flush
  // Against the contract (a history changes between a History() and its
  // transaction's end), but the old key must not go without a new value.
  state->See(h, 2, t0_);
  Flush(state.get(), "1");
  EXPECT_THAT((*Fresh()->History("A"))->seen,
              UnorderedElementsAre(Pair(1u, SeenAt(t0_))));
}

TEST_F(PartitionStateTest, ACustomersHistoryAndWindowsAreEvictedTogether) {
  PartitionStateOptions options;
  options.max_cached_entities = 10;
  auto state = Fresh(3, options);
  for (int i = 0; i < 50; ++i) {
    const std::string id = absl::StrCat("C", i);
    AddTo(state.get(), v1::ENTITY_CUSTOMER, id, i);
    See(state.get(), id, static_cast<uint64_t>(i) + 1, t0_);
    state->EndTransaction();
  }
  Flush(state.get(), "1");  // evicts beyond 10
  for (int i = 0; i < 50; ++i) {
    const std::string id = absl::StrCat("C", i);
    EXPECT_EQ(SumOf(state.get(), v1::ENTITY_CUSTOMER, id), i);
    EXPECT_THAT(
        (*state->History(id))->seen,
        UnorderedElementsAre(Pair(static_cast<uint64_t>(i) + 1, SeenAt(t0_))));
  }
}

TEST_F(PartitionStateTest, WindowArraysOfDifferentLengthsAreDataLoss) {
  EntityWindowsProto proto;
  WindowProto* w = proto.add_window();
  w->set_fingerprint(1);
  w->add_bucket_index(100);
  w->add_bucket_sum(5);  // count and max missing
  PutCustomerValue("C1", proto);
  absl::StatusOr<EntityWindows*> e =
      Fresh()->FindWindows(v1::ENTITY_CUSTOMER, "C1");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(e.status().message(),
            "state: a window of entity 'C1' is damaged (bucket arrays of "
            "different lengths)");
}

TEST_F(PartitionStateTest, HistoryArraysOfDifferentLengthsAreDataLoss) {
  CustomerHistoryProto proto;
  proto.add_payee_key(1);
  proto.add_payee_key(2);
  proto.add_payee_last_paid_us(t0_);
  PutHistoryOfFormat2("C1", proto);
  absl::StatusOr<CustomerHistory*> h = Fresh()->History("C1");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(h.status().message(),
            "state: history of customer 'C1' is damaged (arrays of different "
            "lengths)");
}

TEST_F(PartitionStateTest, DamagedRecordIsDataLoss) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  Corrupt(StateFamily::kDedupe);
  absl::StatusOr<const TransactionRecordProto*> r =
      Fresh()->FindRecord("C1", "T1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(),
            "state: record chunk 1 is damaged (no record 0; transaction "
            "'T1')");
}

TEST_F(PartitionStateTest, DamagedRecordInAChunkIsDataLoss) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  // A chunk whose one record is a length-delimited field of bytes that are
  // no TransactionRecordProto.
  std::vector<StateWrite> writes;
  ASSERT_TRUE(store_
                  .Scan(StateFamily::kDedupe, "",
                        [&](absl::string_view k, absl::string_view) {
                          writes.push_back(StateWrite::Put(
                              StateFamily::kDedupe, std::string(k),
                              std::string("\x0a\x02\xff\xff", 4)));
                          return true;
                        })
                  .ok());
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_TRUE(store_.Commit(writes).ok());
  absl::StatusOr<const TransactionRecordProto*> r =
      Fresh()->FindRecord("C1", "T1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(),
            "state: record of transaction 'T1' does not parse");
}

TEST_F(PartitionStateTest, RecordsOfTwoCustomersWithTheSameIdAreApart) {
  TransactionRecordProto a = Record("T1", t0_, "C1");
  a.set_decision("decision of C1");
  TransactionRecordProto b = Record("T1", t0_, "C2");
  b.set_decision("decision of C2");
  ASSERT_TRUE(state_.PutRecord(a).ok());
  ASSERT_TRUE(state_.PutRecord(b).ok());
  Flush(&state_, "1");
  auto fresh = Fresh();
  absl::StatusOr<const TransactionRecordProto*> r =
      fresh->FindRecord("C1", "T1");
  ASSERT_TRUE(r.ok());
  ASSERT_NE(*r, nullptr);
  EXPECT_EQ((*r)->decision(), "decision of C1");
  r = fresh->FindRecord("C2", "T1");
  ASSERT_TRUE(r.ok());
  ASSERT_NE(*r, nullptr);
  EXPECT_EQ((*r)->decision(), "decision of C2");
}

// The dedupe family's chunks in the store: key -> number of records.
std::map<std::string, int> Chunks(StateStore* store) {
  std::map<std::string, int> out;
  EXPECT_TRUE(store
                  ->Scan(StateFamily::kDedupe, "",
                         [&](absl::string_view k, absl::string_view v) {
                           TransactionRecordChunkProto chunk;
                           EXPECT_TRUE(chunk.ParseFromArray(
                               v.data(), static_cast<int>(v.size())));
                           out[std::string(k)] = chunk.record_size();
                           return true;
                         })
                  .ok());
  return out;
}

// partition | day | NUL | sequence, as partition_state.h documents it.
std::string ChunkKeyOf(int32_t partition, int64_t day, uint64_t sequence) {
  std::string key = PartitionPrefix(partition);
  for (int shift = 24; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(day >> shift));
  }
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(sequence >> shift));
  }
  return key;
}

TEST_F(PartitionStateTest, RecordsGoIntoChunksOfOneDayAndAbout32KiB) {
  // 200 records of ~1 KiB on one day and 3 on the next, interleaved.
  const int64_t day = t0_ / kDay;
  for (int i = 0; i < 200; ++i) {
    TransactionRecordProto r = Record(absl::StrCat("T", i), t0_ + i);
    r.set_decision(std::string(1000, 'a' + i % 26));
    ASSERT_TRUE(state_.PutRecord(r).ok());
    if (i % 70 == 0) {
      ASSERT_TRUE(
          state_.PutRecord(Record(absl::StrCat("N", i), t0_ + kDay)).ok());
    }
  }
  EXPECT_EQ(state_.pending_records(), 203u);
  EXPECT_EQ(Find(&state_, "T0").size(), 1000u);
  EXPECT_EQ(Find(&state_, "N140"), "decision of N140");
  Flush(&state_, "1");
  const std::map<std::string, int> chunks = Chunks(&store_);
  // 200 KB in chunks of at most 32 KiB: 7 of them; the next day's three
  // records in one more, numbered after the chunk open when they came.
  ASSERT_EQ(chunks.size(), 8u);
  int records = 0;
  for (const auto& [key, n] : chunks) records += n;
  EXPECT_EQ(records, 203);
  EXPECT_EQ(chunks.at(ChunkKeyOf(3, day, 1)), 32);  // 32 x ~1,010 bytes
  EXPECT_EQ(chunks.at(ChunkKeyOf(3, day + 1, 2)), 3);
  store_
      .Scan(StateFamily::kDedupe, "",
            [&](absl::string_view, absl::string_view v) {
              EXPECT_LE(v.size(), 32u << 10);
              return true;
            })
      .IgnoreError();
  auto fresh = Fresh();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(Find(fresh.get(), absl::StrCat("T", i)),
              std::string(1000, 'a' + i % 26))
        << i;
  }
  EXPECT_EQ(Find(fresh.get(), "N0"), "decision of N0");
  EXPECT_EQ(Find(fresh.get(), "N70"), "decision of N70");
  EXPECT_EQ(Find(fresh.get(), "N140"), "decision of N140");
}

TEST_F(PartitionStateTest, ARecordLargerThanAChunkHasAChunkOfItsOwn) {
  TransactionRecordProto big = Record("BIG", t0_);
  big.set_decision(std::string(100 << 10, 'x'));
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  ASSERT_TRUE(state_.PutRecord(big).ok());
  ASSERT_TRUE(state_.PutRecord(Record("T2", t0_)).ok());
  Flush(&state_, "1");
  const int64_t day = t0_ / kDay;
  EXPECT_EQ(Chunks(&store_),
            (std::map<std::string, int>{{ChunkKeyOf(3, day, 1), 1},
                                        {ChunkKeyOf(3, day, 2), 1},
                                        {ChunkKeyOf(3, day, 3), 1}}));
  auto fresh = Fresh();
  EXPECT_EQ(Find(fresh.get(), "BIG").size(), 100u << 10);
  EXPECT_EQ(Find(fresh.get(), "T2"), "decision of T2");
}

TEST_F(PartitionStateTest, ChunkNumbersGoOnAfterARestart) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  // A restarted process numbers its chunks on from the stored counter: the
  // first chunk is not written over.
  auto restarted = Fresh();
  ASSERT_TRUE(restarted->PutRecord(Record("T2", t0_)).ok());
  Flush(restarted.get(), "2");
  const int64_t day = t0_ / kDay;
  EXPECT_EQ(Chunks(&store_),
            (std::map<std::string, int>{{ChunkKeyOf(3, day, 1), 1},
                                        {ChunkKeyOf(3, day, 2), 1}}));
  auto fresh = Fresh();
  EXPECT_EQ(Find(fresh.get(), "T1"), "decision of T1");
  EXPECT_EQ(Find(fresh.get(), "T2"), "decision of T2");
  std::string counter;
  bool found = false;
  ASSERT_TRUE(store_
                  .Get(StateFamily::kOffsets,
                       absl::StrCat(PartitionPrefix(3), kRecordChunkCounterKey),
                       &counter, &found)
                  .ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(counter, "3");
}

TEST_F(PartitionStateTest, NoChunkNumberIsGivenTwiceAfterADroppedHandOff) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  auto dropped = Fresh();
  ASSERT_TRUE(dropped->PutRecord(Record("T2", t0_)).ok());
  const std::vector<StateWrite> lost = dropped->BuildFlush("2");
  dropped->HandOff();
  // The commit failed, yet may have reached the changelog; the store never
  // got it. The state opened again (serve's rewind) numbers on from the
  // dropped one, not from the store.
  PartitionStateOptions options;
  options.min_next_chunk = dropped->next_chunk();
  auto again = Fresh(3, options);
  ASSERT_TRUE(again->PutRecord(Record("T3", t0_)).ok());
  const std::vector<StateWrite> next = again->BuildFlush("2");
  auto chunk_keys = [](const std::vector<StateWrite>& writes) {
    std::vector<std::string> keys;
    for (const StateWrite& w : writes) {
      if (w.family == StateFamily::kDedupe && !w.erase_range) {
        keys.push_back(w.key);
      }
    }
    return keys;
  };
  const int64_t day = t0_ / kDay;
  EXPECT_THAT(chunk_keys(lost), ElementsAre(ChunkKeyOf(3, day, 2)));
  EXPECT_THAT(chunk_keys(next), ElementsAre(ChunkKeyOf(3, day, 3)));
  // A restore that replays both keeps every record whole.
  ASSERT_TRUE(store_.Commit(lost).ok());
  ASSERT_TRUE(store_.Commit(next).ok());
  auto restored = Fresh();
  EXPECT_EQ(Find(restored.get(), "T1"), "decision of T1");
  EXPECT_EQ(Find(restored.get(), "T3"), "decision of T3");
  EXPECT_EQ(Chunks(&store_).at(ChunkKeyOf(3, day, 2)), 1);
  EXPECT_EQ(restored->next_chunk(), 4u);
}

TEST_F(PartitionStateTest, FailedFlushAcrossDaysAndARewriteKeepsEveryRecord) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("N1", t0_ + kDay)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("T2", t0_ + kHour)).ok());
  TransactionRecordProto reversed = **state_.FindRecord("C1", "T1");
  reversed.set_reversed(true);
  ASSERT_TRUE(state_.PutRecord(reversed).ok());
  store_.fail_commits = 1;
  ASSERT_FALSE(state_.Flush("1").ok());
  // Every chunk moved back from the failed writes into its place.
  auto check = [&](PartitionState* state) {
    absl::StatusOr<const TransactionRecordProto*> t1 =
        state->FindRecord("C1", "T1");
    ASSERT_TRUE(t1.ok() && *t1 != nullptr);
    EXPECT_TRUE((*t1)->reversed());
    EXPECT_EQ(Find(state, "N1"), "decision of N1");
    EXPECT_EQ(Find(state, "T2"), "decision of T2");
  };
  check(&state_);
  // Appended to a chunk that came back, then written.
  ASSERT_TRUE(state_.PutRecord(Record("N2", t0_ + kDay + kHour)).ok());
  Flush(&state_, "1");
  check(Fresh().get());
  EXPECT_EQ(Find(Fresh().get(), "N2"), "decision of N2");
  EXPECT_EQ(Chunks(&store_).size(), 2u);  // one per day
}

TEST_F(PartitionStateTest, ARewriteWhileAHandOffIsOutstandingIsKept) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  const std::vector<StateWrite> writes = state_.BuildFlush("1");
  state_.HandOff();
  // The original is in the handed-off chunk; the reversal marks it.
  TransactionRecordProto reversed = **state_.FindRecord("C1", "T1");
  reversed.set_reversed(true);
  ASSERT_TRUE(state_.PutRecord(reversed).ok());
  auto is_reversed = [](PartitionState* state) {
    absl::StatusOr<const TransactionRecordProto*> r =
        state->FindRecord("C1", "T1");
    return r.ok() && *r != nullptr && (*r)->reversed();
  };
  EXPECT_TRUE(is_reversed(&state_));
  ASSERT_TRUE(store_.Commit(writes).ok());
  state_.Committed();
  EXPECT_TRUE(is_reversed(&state_));
  EXPECT_FALSE(is_reversed(Fresh().get()));  // the store has the first flush
  Flush(&state_, "2");
  EXPECT_TRUE(is_reversed(Fresh().get()));
}

TEST_F(PartitionStateTest, DamagedChunksAreDataLossNeverACrash) {
  ASSERT_TRUE(state_.PutRecord(Record("T0", t0_)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  const std::string key = ChunkKeyOf(3, t0_ / kDay, 1);
  std::string good;
  bool found = false;
  ASSERT_TRUE(store_.Get(StateFamily::kDedupe, key, &good, &found).ok());
  ASSERT_TRUE(found);
  std::unique_ptr<PartitionState> fresh;  // holds what FindRecord returns
  auto find_t1 = [&](const std::string& chunk) {
    EXPECT_TRUE(
        store_.Commit({StateWrite::Put(StateFamily::kDedupe, key, chunk)})
            .ok());
    fresh = Fresh();
    return fresh->FindRecord("C1", "T1");
  };
  const std::string damaged[] = {
      "",                               // no records
      std::string("\x0a\x00", 2),       // record 1 missing
      "\x0a\xff\xff\xff\xff\xff\x01",   // a length of 6 bytes
      "\x0a\x7f",                       // a length past the end
      "\x12\x00\x12\x00",               // another field
      good.substr(0, good.size() - 1),  // cut short
  };
  for (const std::string& chunk : damaged) {
    absl::StatusOr<const TransactionRecordProto*> r = find_t1(chunk);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss)
        << absl::CHexEscape(chunk);
  }
  // Every byte of a good chunk changed in turn: found, not found (another
  // record where T1 was: a different id or customer), or DataLoss.
  for (size_t i = 0; i < good.size(); ++i) {
    for (const char flip : {'\x01', '\x80', '\xff'}) {
      std::string chunk = good;
      chunk[i] = static_cast<char>(chunk[i] ^ flip);
      absl::StatusOr<const TransactionRecordProto*> r = find_t1(chunk);
      EXPECT_TRUE(r.ok() || r.status().code() == absl::StatusCode::kDataLoss)
          << i << ": " << r.status();
    }
  }
  EXPECT_EQ(find_t1(good).value()->decision(), "decision of T1");
}

TEST_F(PartitionStateTest, DamagedChunkCounterIsDataLoss) {
  for (const char* bad : {"", "x", "0", "-1", "281474976710656"}) {
    ASSERT_TRUE(
        store_
            .Commit({StateWrite::Put(
                StateFamily::kOffsets,
                absl::StrCat(PartitionPrefix(3), kRecordChunkCounterKey), bad)})
            .ok());
    absl::StatusOr<CustomerHistory*> h = Fresh()->History("C1");
    EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_EQ(h.status().message(),
              absl::StrCat("state: the record chunk counter is damaged: '", bad,
                           "'"));
  }
}

TEST_F(PartitionStateTest, StateOfANewerFormatIsRefused) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  Flush(&state_, "1");
  const std::string key = absl::StrCat(PartitionPrefix(3), kStateFormatKey);
  std::string format;
  bool found = false;
  ASSERT_TRUE(store_.Get(StateFamily::kOffsets, key, &format, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(format, absl::StrCat(kStateFormat));
  // A newer build's state (a rollback, or builds mixed in one group): its
  // values would be misread, so nothing is read at all.
  ASSERT_TRUE(store_
                  .Commit({StateWrite::Put(StateFamily::kOffsets, key,
                                           absl::StrCat(kStateFormat + 1))})
                  .ok());
  absl::StatusOr<CustomerHistory*> h = Fresh()->History("C1");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(h.status().message(),
            absl::StrCat("state of partition 3 is in format ", kStateFormat + 1,
                         ", written by a newer txscreen; this build reads "
                         "formats up to ",
                         kStateFormat, ": run the newer build"));
  for (const char* bad : {"", "two", "1", "0"}) {
    ASSERT_TRUE(
        store_.Commit({StateWrite::Put(StateFamily::kOffsets, key, bad)}).ok());
    h = Fresh()->History("C1");
    EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_EQ(h.status().message(),
              absl::StrCat("state: the state format is damaged: '", bad, "'"));
  }
  // The first format has no key at all (RewriteInLayoutBeforeChunks).
  ASSERT_TRUE(
      store_.Commit({StateWrite::Erase(StateFamily::kOffsets, key)}).ok());
  EXPECT_EQ(Find(Fresh().get(), "T1"), "decision of T1");
}

TEST_F(PartitionStateTest, RecordsStoredBeforeChunksAreFoundAndScanned) {
  ASSERT_TRUE(state_.PutRecord(Record("T1", t0_)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("T2", t0_ + kHour)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("X1", t0_, "C2")).ok());
  Flush(&state_, "1");
  ASSERT_TRUE(RewriteInLayoutBeforeChunks(&store_, 3).ok());
  ASSERT_EQ(KeysIn(StateFamily::kDedupe), 3);
  auto old = Fresh();
  EXPECT_EQ(Find(old.get(), "T1"), "decision of T1");
  EXPECT_EQ(Find(old.get(), "T2"), "decision of T2");
  EXPECT_EQ((*(*old->History("C1"))->seen.find(StableTextHash("T1"))).second,
            (SeenTransaction{t0_, 0}));

  // A reversal marks T1: the marked record goes into a chunk, and the
  // history says so; T2 stays where it was.
  TransactionRecordProto reversed = **old->FindRecord("C1", "T1");
  reversed.set_reversed(true);
  ASSERT_TRUE(old->PutRecord(reversed).ok());
  ASSERT_TRUE(old->PutRecord(Record("T3", t0_ + 2 * kHour)).ok());
  Flush(old.get(), "2");
  auto fresh = Fresh();
  absl::StatusOr<const TransactionRecordProto*> t1 =
      fresh->FindRecord("C1", "T1");
  ASSERT_TRUE(t1.ok() && *t1 != nullptr);
  EXPECT_TRUE((*t1)->reversed());
  EXPECT_EQ(Find(fresh.get(), "T2"), "decision of T2");
  EXPECT_EQ(Find(fresh.get(), "T3"), "decision of T3");

  // Inspection sees each record once, the latest of T1, chunks first.
  std::vector<std::string> seen;
  ASSERT_TRUE(fresh
                  ->ScanRecords("C1", t0_ - kDay, t0_ + kDay,
                                [&](const TransactionRecordProto& r) {
                                  seen.push_back(absl::StrCat(
                                      r.transaction_id(),
                                      r.reversed() ? " reversed" : ""));
                                })
                  .ok());
  EXPECT_THAT(seen, ElementsAre("T1 reversed", "T3", "T2"));
  seen.clear();
  ASSERT_TRUE(fresh
                  ->ScanRecords("C2", t0_, t0_,
                                [&](const TransactionRecordProto& r) {
                                  seen.push_back(r.transaction_id());
                                })
                  .ok());
  EXPECT_THAT(seen, ElementsAre("X1"));
}

TEST_F(PartitionStateTest, ScanRecordsVisitsACustomersRecordsInTimeOrder) {
  ASSERT_TRUE(state_.PutRecord(Record("LATE", t0_ + 3 * kHour)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("EARLY", t0_)).ok());
  ASSERT_TRUE(state_.PutRecord(Record("OTHER", t0_ + kHour, "C2")).ok());
  ASSERT_TRUE(state_.PutRecord(Record("NEXT-DAY", t0_ + kDay)).ok());
  Flush(&state_, "1");
  // Written since the flush: seen too.
  ASSERT_TRUE(state_.PutRecord(Record("PENDING", t0_ + kHour)).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(state_
                  .ScanRecords("C1", t0_, t0_,
                               [&](const TransactionRecordProto& r) {
                                 seen.push_back(r.transaction_id());
                               })
                  .ok());
  EXPECT_THAT(seen, ElementsAre("EARLY", "PENDING", "LATE"));
}

TEST(StateEncodingTest, ACustomersValueSaysWhetherItHoldsAHistory) {
  const std::string customer = absl::StrCat(PartitionPrefix(3), "1C1");
  const std::string account = absl::StrCat(PartitionPrefix(3), "2A1");
  EntityWindowsProto with;
  with.mutable_history()->set_has_previous(true);
  EntityWindowsProto without;
  without.add_window()->set_fingerprint(7);
  EXPECT_EQ(CustomerHistoryInValue(customer, with.SerializeAsString()), 1);
  EntityWindowsProto empty_history;
  empty_history.mutable_history();
  EXPECT_EQ(CustomerHistoryInValue(customer, empty_history.SerializeAsString()),
            1);
  EXPECT_EQ(CustomerHistoryInValue(customer, without.SerializeAsString()), 0);
  EXPECT_EQ(CustomerHistoryInValue(account, with.SerializeAsString()), 0);
  EXPECT_EQ(CustomerHistoryInValue(customer, "\x12\x05"), -1);  // cut short
}

TEST(StateEncodingTest, EntityWindowsAreTheBytesOfTheSerializedProto) {
  EntityWindows entity;
  EXPECT_EQ(EncodeEntityWindows(entity), "");
  entity.FindOrAdd(11)->Add(20000, 5000, 0);
  entity.FindOrAdd(12);  // empty: left out
  WindowState* distinct = entity.FindOrAdd(0xFFFFFFFFFFFFFFFFULL);
  distinct->Add(-3, 1, 42);
  distinct->Add(-2, -7, 43);
  // A window over 128 bytes: its length takes two bytes, as do some of its
  // packed arrays'.
  WindowState* wide = entity.FindOrAdd(13);
  for (int b = 0; b < 60; ++b) wide->Add(29000000 + b, 1000000LL * b, 0);
  EntityWindowsProto proto;
  for (uint64_t fp : {11ULL, 0xFFFFFFFFFFFFFFFFULL, 13ULL}) {
    WindowProto* w = proto.add_window();
    w->set_fingerprint(fp);
    entity.Find(fp)->ToProto(w);
  }
  EXPECT_EQ(EncodeEntityWindows(entity), proto.SerializeAsString());

  // A customer's history, field 2: present even when empty while the
  // windows hold something; written in place, lengths of several bytes.
  entity.history = std::make_unique<CustomerHistory>();
  proto.mutable_history();
  EXPECT_EQ(EncodeEntityWindows(entity), proto.SerializeAsString());
  CustomerHistory& h = *entity.history;
  h.has_previous = true;
  h.last_at_us = 1700000000000000;
  h.last_region_code = "310115";
  for (uint64_t k = 1; k <= 200; ++k) {
    h.payees[k * 0x9E3779B97F4A7C15ULL] = PaidPayee{
        k % 2 == 0
            ? (static_cast<int64_t>(k) << 40) - static_cast<int64_t>(k) * 777
            : PaidPayee::kUnknown,
        static_cast<int64_t>(k) << 40};
    h.seen[k] = {static_cast<int64_t>(k) * 1000, k % 3 == 0 ? k << 16 : 0};
  }
  ASSERT_TRUE(proto.mutable_history()->ParseFromString(
      EncodeCustomerHistory(h)));  // (its bytes: the test below)
  EXPECT_EQ(EncodeEntityWindows(entity), proto.SerializeAsString());
  EntityWindowsProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(EncodeEntityWindows(entity)));
  EXPECT_EQ(parsed.history().payee_key_size(), 200);
  EXPECT_EQ(parsed.history().seen_record_size(), 200);

  EntityWindows only_empty;
  only_empty.FindOrAdd(1);
  EXPECT_EQ(EncodeEntityWindows(only_empty), "");
  only_empty.history = std::make_unique<CustomerHistory>();
  EXPECT_EQ(EncodeEntityWindows(only_empty), "");  // nothing left: erased
}

TEST(StateEncodingTest, CustomerHistoryIsTheBytesOfTheSerializedProto) {
  CustomerHistory history;
  EXPECT_EQ(EncodeCustomerHistory(history), "");
  auto expected = [&history] {
    CustomerHistoryProto proto;
    proto.set_has_previous(history.has_previous);
    proto.set_last_at_us(history.last_at_us);
    proto.set_last_region_code(history.last_region_code);
    proto.set_has_geo(history.has_geo);
    proto.set_last_lat(history.last_lat);
    proto.set_last_lon(history.last_lon);
    bool firsts = false;
    for (const auto& [k, paid] : history.payees) {
      proto.add_payee_key(k);
      proto.add_payee_last_paid_us(paid.last_us);
      firsts |= paid.first_us != PaidPayee::kUnknown;
    }
    bool records = false;
    for (const auto& [hash, seen] : history.seen) {
      proto.add_seen_id_hash(hash);
      proto.add_seen_occurred_at_us(seen.at_us);
      records |= seen.record != 0;
    }
    // Where the records are: only when some are in chunks.
    for (const auto& [hash, seen] : history.seen) {
      if (records) proto.add_seen_record(seen.record);
    }
    // 1 + first to last, 0 unknown: only when some first is known.
    for (const auto& [k, paid] : history.payees) {
      if (!firsts) break;
      proto.add_payee_first_paid_before_last(
          paid.first_us == PaidPayee::kUnknown
              ? 0
              : static_cast<uint64_t>(paid.last_us - paid.first_us) + 1);
    }
    return proto.SerializeAsString();
  };
  history.seen[1000] = {1700000000000000};
  EXPECT_EQ(EncodeCustomerHistory(history), expected());
  history.has_previous = true;
  history.last_at_us = -5;
  history.last_region_code = "310115";
  history.has_geo = true;
  history.last_lat = -0.0;  // not the default: its bits are not 0
  history.last_lon = 121.4737;
  for (uint64_t k = 1; k <= 300; ++k) {
    history.payees[k * 0x9E3779B97F4A7C15ULL] = PaidPayee{
        k % 2 == 0
            ? (static_cast<int64_t>(k) << 40) - static_cast<int64_t>(k) * 777
            : PaidPayee::kUnknown,
        static_cast<int64_t>(k) << 40};
    history.seen[k] = {static_cast<int64_t>(k)};
  }
  EXPECT_EQ(EncodeCustomerHistory(history), expected());
  history.seen[7].record = uint64_t{123456789} << 16 | 65535;
  EXPECT_EQ(EncodeCustomerHistory(history), expected());
  CustomerHistoryProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(EncodeCustomerHistory(history)));
  EXPECT_EQ(parsed.payee_key_size(), 300);
  EXPECT_EQ(parsed.seen_id_hash_size(), 301);
  EXPECT_EQ(parsed.seen_record_size(), 301);
  EXPECT_EQ(parsed.last_region_code(), "310115");
}

// The sweep of idle entities: stored entities whose every bucket is below
// what their windows keep go with the next flush; customers, entities in
// memory and entities loaded before that flush stay.
TEST_F(PartitionStateTest, TheSweepErasesIdleEntitiesAtTheNextFlush) {
  constexpr uint64_t kGoneFp = 0xDEAD;
  auto window = [](uint64_t fp, int64_t bucket) {
    WindowState w;
    w.Add(bucket, 5, 0);
    WindowProto p;
    w.ToProto(&p);
    p.set_fingerprint(fp);
    return p;
  };
  auto value = [&](uint64_t fp, int64_t bucket) {
    EntityWindowsProto e;
    *e.add_window() = window(fp, bucket);
    return e.SerializeAsString();
  };
  const std::string p3 = PartitionPrefix(3);
  EntityWindowsProto customer;
  *customer.add_window() = window(kFp, 100);
  customer.mutable_history()->set_last_at_us(kDay);
  const int64_t clock = 20 * kDay;
  ASSERT_TRUE(store_
                  .Commit({
                      StateWrite::Put(StateFamily::kWindows, p3 + "1C9",
                                      customer.SerializeAsString()),
                      StateWrite::Put(StateFamily::kWindows, p3 + "2A1",
                                      value(kFp, 100)),  // idle
                      StateWrite::Put(StateFamily::kWindows, p3 + "2A2",
                                      value(kGoneFp, 300)),  // a window gone
                      StateWrite::Put(StateFamily::kWindows, p3 + "2A3",
                                      value(kFp, 120)),  // idle, loaded later
                      StateWrite::Put(StateFamily::kWindows, p3 + "4D1",
                                      value(kFp, 200)),  // kept
                      StateWrite::Put(StateFamily::kWindows, p3 + "4D2",
                                      value(kFp, 100)),  // idle, in memory
                      StateWrite::Put(StateFamily::kOffsets,
                                      absl::StrCat(p3, kEventClockKey),
                                      absl::StrCat(clock)),
                  })
                  .ok());
  std::unique_ptr<PartitionState> state = Fresh();
  std::vector<int64_t> asked_at;
  auto keep_from = [&](uint64_t fp, int64_t at_us) -> int64_t {
    asked_at.push_back(at_us);
    return fp == kFp ? 150 : std::numeric_limits<int64_t>::max();
  };
  // Without the clock (loaded with the first history) nothing is old.
  absl::StatusOr<int64_t> marked = state->SweepIdle(keep_from, 100);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(*marked, 0);
  ASSERT_TRUE(state->History("C0").ok());
  EXPECT_EQ(SumOf(state.get(), v1::ENTITY_DEVICE, "D2"), 5);
  // Customers are passed over; three keys a call: 2A1, 2A2, 2A3; then
  // 4D1 (kept) and 4D2 (in use: handed out since the last flush).
  marked = state->SweepIdle(keep_from, 3);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(*marked, 3);
  EXPECT_EQ(state->sweep_passes(), 0);
  marked = state->SweepIdle(keep_from, 3);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(*marked, 0);
  EXPECT_EQ(state->sweep_passes(), 1);
  EXPECT_THAT(asked_at, ::testing::Each(clock - 7 * kDay));
  // Loaded after the sweep marked it: not erased (it may change).
  EXPECT_EQ(SumOf(state.get(), v1::ENTITY_ACCOUNT, "A3"), 5);
  Flush(state.get(), "9");
  EXPECT_EQ(state->swept_entities(), 2);
  std::unique_ptr<PartitionState> after = Fresh();
  EXPECT_EQ(SumOf(after.get(), v1::ENTITY_ACCOUNT, "A1"), -1);
  EXPECT_EQ(SumOf(after.get(), v1::ENTITY_ACCOUNT, "A2"), -1);
  EXPECT_EQ(SumOf(after.get(), v1::ENTITY_ACCOUNT, "A3"), 5);
  EXPECT_EQ(SumOf(after.get(), v1::ENTITY_DEVICE, "D1"), 5);
  EXPECT_EQ(SumOf(after.get(), v1::ENTITY_DEVICE, "D2"), 5);
  EXPECT_EQ(SumOf(after.get(), v1::ENTITY_CUSTOMER, "C9"), 5);
  // The next pass starts over. D2, in memory but no longer in use since
  // the flush, goes from memory and store; A3 (loaded after it was marked)
  // too.
  marked = state->SweepIdle(keep_from, 100);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(*marked, 2);
  Flush(state.get(), "10");
  EXPECT_EQ(state->swept_entities(), 4);
  EXPECT_EQ(SumOf(state.get(), v1::ENTITY_DEVICE, "D2"), -1);
  EXPECT_EQ(SumOf(state.get(), v1::ENTITY_ACCOUNT, "A3"), -1);
  EXPECT_EQ(SumOf(Fresh().get(), v1::ENTITY_DEVICE, "D1"), 5);
  // A flush took the marks: the next one has none.
  Flush(state.get(), "11");
  EXPECT_EQ(state->swept_entities(), 4);
}

// max_keys 0 turns the sweep off.
TEST_F(PartitionStateTest, TheSweepDoesNotEraseWithoutBeingAsked) {
  AddTo(&state_, v1::ENTITY_ACCOUNT, "A1", 7);
  See(&state_, "C1", 1, 30 * kDay);
  Flush(&state_, "1");
  // max_keys 0: no sweep.
  absl::StatusOr<int64_t> marked = state_.SweepIdle(
      [](uint64_t, int64_t) { return std::numeric_limits<int64_t>::max(); }, 0);
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(*marked, 0);
  Flush(&state_, "2");
  EXPECT_EQ(KeysIn(StateFamily::kWindows, PartitionPrefix(3) + "2"), 1);
}

}  // namespace
}  // namespace txscreen::engine
