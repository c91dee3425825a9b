// Tests of the audit log (audit.h): appending and flushing hash-chained
// records, VerifyAudit on intact chains and on every kind of tampering (each
// found problem names the record), reopening a chain, and ScanAudit's time
// filter.
#include "engine/audit.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/roster.h"
#include "engine/state_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "txscreen/v1/override.pb.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kT0 = 1795000000LL * 1000000;  // November 2026, in µs
constexpr int64_t kSecond = 1000000;

v1::AuditEntry Entry(
    const std::string& tx_id, int64_t at_us,
    v1::AuditEntry::Kind kind = v1::AuditEntry::KIND_DECISION) {
  v1::AuditEntry e;
  e.set_kind(kind);
  e.set_transaction_id(tx_id);
  SetTimestampMicros(at_us, e.mutable_at());
  return e;
}

std::string HeadKey(int32_t partition) {
  return absl::StrCat(PartitionPrefix(partition), "H");
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = NewMemoryStateStore(); }

  // Appends `n` entries to `partition` ("P<p>-<i>", one second apart from
  // kT0 + i s) and flushes them to the store.
  void Write(int32_t partition, int n, int first = 1) {
    AuditLog log(store_.get(), partition);
    ASSERT_TRUE(log.Load().ok());
    for (int i = first; i < first + n; ++i) {
      log.Append(
          Entry(absl::StrCat("P", partition, "-", i), kT0 + i * kSecond));
    }
    ASSERT_TRUE(store_->Commit(log.BuildFlush()).ok());
    log.FlushDone();
  }

  v1::AuditRecord Record(int32_t partition, uint64_t seq) {
    std::string value;
    bool found = false;
    EXPECT_TRUE(store_
                    ->Get(StateFamily::kAudit, AuditRecordKey(partition, seq),
                          &value, &found)
                    .ok());
    EXPECT_TRUE(found) << "no record " << seq;
    v1::AuditRecord r;
    EXPECT_TRUE(r.ParseFromString(value));
    return r;
  }

  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(
        store_->Commit({StateWrite::Put(StateFamily::kAudit, key, value)})
            .ok());
  }
  void PutRecord(int32_t partition, uint64_t seq, const v1::AuditRecord& r) {
    Put(AuditRecordKey(partition, seq), r.SerializeAsString());
  }
  void Erase(const std::string& key) {
    ASSERT_TRUE(
        store_->Commit({StateWrite::Erase(StateFamily::kAudit, key)}).ok());
  }

  std::vector<AuditChainReport> Verify() {
    absl::StatusOr<std::vector<AuditChainReport>> reports =
        VerifyAudit(store_.get());
    EXPECT_TRUE(reports.ok()) << reports.status();
    return reports.ok() ? *reports : std::vector<AuditChainReport>();
  }

  // The problem found in partition 0's chain (the only one).
  std::string Problem() {
    std::vector<AuditChainReport> reports = Verify();
    if (reports.size() != 1) {
      ADD_FAILURE() << reports.size() << " chains";
      return "";
    }
    EXPECT_EQ(reports[0].partition, 0);
    return reports[0].problem;
  }

  std::unique_ptr<StateStore> store_;
};

TEST_F(AuditTest, AppendBuildsAHashChain) {
  AuditLog log(store_.get(), 0);
  ASSERT_TRUE(log.Load().ok());
  EXPECT_EQ(log.last_seq(), 0u);
  EXPECT_EQ(log.last_hash(), std::string(32, '\0'));
  EXPECT_THAT(log.BuildFlush(), IsEmpty());

  log.Append(Entry("TX1", kT0));
  log.Append(Entry("TX2", kT0 + kSecond));
  EXPECT_EQ(log.last_seq(), 2u);
  std::vector<StateWrite> writes = log.BuildFlush();
  ASSERT_EQ(writes.size(), 3u);  // two records and the head
  EXPECT_EQ(writes[0].family, StateFamily::kAudit);
  EXPECT_EQ(writes[0].key, AuditRecordKey(0, 1));
  EXPECT_EQ(writes[1].key, AuditRecordKey(0, 2));
  EXPECT_EQ(writes[2].key, HeadKey(0));
  // Nothing is written before the commit.
  EXPECT_THAT(Verify(), IsEmpty());
  ASSERT_TRUE(store_->Commit(writes).ok());
  log.FlushDone();
  EXPECT_THAT(log.BuildFlush(), IsEmpty());

  v1::AuditRecord r1 = Record(0, 1), r2 = Record(0, 2);
  EXPECT_EQ(r1.seq(), 1u);
  EXPECT_EQ(r1.prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(r1.hash(), Sha256(absl::StrCat(r1.prev_hash(), r1.body())));
  EXPECT_EQ(r2.seq(), 2u);
  EXPECT_EQ(r2.prev_hash(), r1.hash());
  EXPECT_EQ(r2.hash(), Sha256(absl::StrCat(r2.prev_hash(), r2.body())));
  EXPECT_EQ(log.last_hash(), r2.hash());

  // The body is the entry, with the partition set by the log.
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(r2.body()));
  EXPECT_EQ(e.transaction_id(), "TX2");
  EXPECT_EQ(e.partition(), 0);
  EXPECT_EQ(TimestampMicros(e.at()), kT0 + kSecond);

  v1::AuditRecord head;
  std::string value;
  bool found = false;
  ASSERT_TRUE(
      store_->Get(StateFamily::kAudit, HeadKey(0), &value, &found).ok());
  ASSERT_TRUE(found);
  ASSERT_TRUE(head.ParseFromString(value));
  EXPECT_EQ(head.seq(), 2u);
  EXPECT_EQ(head.hash(), r2.hash());
}

TEST_F(AuditTest, BuildFlushWithoutFlushDoneRepeatsTheWrites) {
  AuditLog log(store_.get(), 0);
  log.Append(Entry("TX1", kT0));
  std::vector<StateWrite> first = log.BuildFlush();
  std::vector<StateWrite> second = log.BuildFlush();
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(first[0].value, second[0].value);
  // A failed flush is retried with everything appended since.
  log.Append(Entry("TX2", kT0 + kSecond));
  EXPECT_EQ(log.BuildFlush().size(), 3u);
}

TEST_F(AuditTest, VerifyReportsIntactChainsOfTwoPartitions) {
  Write(0, 3);
  Write(7, 2);
  Write(0, 2, 4);  // a second flush continues partition 0
  AuditLog p0(store_.get(), 0), p7(store_.get(), 7);
  ASSERT_TRUE(p0.Load().ok());
  ASSERT_TRUE(p7.Load().ok());

  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].partition, 0);
  EXPECT_EQ(reports[0].records, 5u);
  EXPECT_EQ(reports[0].head_seq, 5u);
  EXPECT_EQ(reports[0].head_hash_hex, absl::BytesToHexString(p0.last_hash()));
  EXPECT_EQ(reports[0].problem, "");
  EXPECT_EQ(reports[1].partition, 7);
  EXPECT_EQ(reports[1].records, 2u);
  EXPECT_EQ(reports[1].head_seq, 2u);
  EXPECT_EQ(reports[1].head_hash_hex, absl::BytesToHexString(p7.last_hash()));
  EXPECT_EQ(reports[1].problem, "");
  EXPECT_EQ(reports[0].head_hash_hex.size(), 64u);
  EXPECT_NE(reports[0].head_hash_hex, reports[1].head_hash_hex);
}

TEST_F(AuditTest, EmptyStoreHasNoChains) { EXPECT_THAT(Verify(), IsEmpty()); }

TEST_F(AuditTest, ModifiedBodyIsDetected) {
  Write(0, 4);
  v1::AuditRecord r = Record(0, 2);
  std::string body = r.body();
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(body));
  e.set_transaction_id("FORGED");
  r.set_body(e.SerializeAsString());
  PutRecord(0, 2, r);
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].problem,
            "record 2 was modified: its hash does not match its content");
  EXPECT_EQ(reports[0].records, 1u);  // the intact part
  EXPECT_EQ(reports[0].head_seq, 4u);
}

TEST_F(AuditTest, FlippedBodyByteIsDetected) {
  Write(0, 3);
  v1::AuditRecord r = Record(0, 3);
  std::string body = r.body();
  body[body.size() - 1] ^= 0x01;
  r.set_body(body);
  PutRecord(0, 3, r);
  EXPECT_EQ(Problem(),
            "record 3 was modified: its hash does not match its content");
}

TEST_F(AuditTest, ModifiedBodyWithARecomputedHashBreaksTheNextLink) {
  Write(0, 4);
  v1::AuditRecord r = Record(0, 2);
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(r.body()));
  e.set_transaction_id("FORGED");
  r.set_body(e.SerializeAsString());
  r.set_hash(Sha256(absl::StrCat(r.prev_hash(), r.body())));
  PutRecord(0, 2, r);
  EXPECT_EQ(Problem(),
            "record 3 does not follow record 2: its prev_hash differs (a "
            "record was reordered, replaced or removed)");
}

TEST_F(AuditTest, UnreadableRecordIsDetected) {
  Write(0, 3);
  Put(AuditRecordKey(0, 2), "\xff\xff\xff");
  EXPECT_EQ(Problem(), "record 2 cannot be read (damaged or modified)");
}

TEST_F(AuditTest, DeletedRecordInTheMiddleIsDetected) {
  Write(0, 4);
  Erase(AuditRecordKey(0, 2));
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].problem,
            "record 2 is missing (deleted): the next one is 3");
  EXPECT_EQ(reports[0].records, 1u);
}

TEST_F(AuditTest, DeletedFirstRecordIsDetected) {
  Write(0, 3);
  Erase(AuditRecordKey(0, 1));
  EXPECT_EQ(Problem(), "record 1 is missing (deleted): the next one is 2");
}

TEST_F(AuditTest, DeletedAndRenumberedRecordsAreDetected) {
  // Record 2 deleted and the later ones moved down a key each.
  Write(0, 4);
  PutRecord(0, 2, Record(0, 3));
  PutRecord(0, 3, Record(0, 4));
  Erase(AuditRecordKey(0, 4));
  EXPECT_EQ(Problem(), "record 2 says it is record 3 (moved or reordered)");
}

TEST_F(AuditTest, SwappedRecordsAreDetected) {
  Write(0, 4);
  v1::AuditRecord r2 = Record(0, 2), r3 = Record(0, 3);
  PutRecord(0, 2, r3);
  PutRecord(0, 3, r2);
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].problem,
            "record 2 says it is record 3 (moved or reordered)");
  EXPECT_EQ(reports[0].records, 1u);
}

TEST_F(AuditTest, SwappedRecordsWithRenumberedSeqBreakTheLinks) {
  // The swap also rewrites each record's seq: the prev_hash links give it
  // away.
  Write(0, 4);
  v1::AuditRecord r2 = Record(0, 2), r3 = Record(0, 3);
  r2.set_seq(3);
  r3.set_seq(2);
  PutRecord(0, 2, r3);
  PutRecord(0, 3, r2);
  EXPECT_EQ(Problem(),
            "record 2 does not follow record 1: its prev_hash differs (a "
            "record was reordered, replaced or removed)");
}

TEST_F(AuditTest, CutOffTailIsDetected) {
  Write(0, 4);
  Erase(AuditRecordKey(0, 4));
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].problem,
            "record 4 is missing (the end of the log was cut off)");
  EXPECT_EQ(reports[0].records, 3u);
  EXPECT_EQ(reports[0].head_seq, 4u);
  Erase(AuditRecordKey(0, 3));
  EXPECT_EQ(Problem(),
            "records 3 to 4 are missing (the end of the log was cut off)");
}

TEST_F(AuditTest, EveryRecordDeletedButTheHeadIsDetected) {
  Write(0, 2);
  Erase(AuditRecordKey(0, 1));
  Erase(AuditRecordKey(0, 2));
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].records, 0u);
  EXPECT_EQ(reports[0].problem,
            "records 1 to 2 are missing (the end of the log was cut off)");
}

// A whole chain deleted, head and records, leaves no chain to check; the
// holds of its partition (each audited) show it. A partition with a chain
// and holds, and one with neither, are fine.
TEST_F(AuditTest, AWholeChainDeletedIsDetectedByItsHolds) {
  Write(0, 2);
  Write(1, 2);
  for (int32_t p : {0, 1}) {
    ASSERT_TRUE(
        store_
            ->Commit({StateWrite::Put(StateFamily::kHolds,
                                      PartitionPrefix(p) + "TX-1", "hold")})
            .ok());
  }
  Erase(AuditRecordKey(1, 1));
  Erase(AuditRecordKey(1, 2));
  Erase(HeadKey(1));
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].problem, "");
  EXPECT_EQ(reports[1].partition, 1);
  EXPECT_EQ(reports[1].problem,
            "no audit chain, but 1 hold whose decisions it should record: the "
            "chain was deleted");
}

TEST_F(AuditTest, MissingHeadIsDetected) {
  Write(0, 3);
  Erase(HeadKey(0));
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].problem, "the chain head is missing");
  EXPECT_EQ(reports[0].records, 3u);
  EXPECT_EQ(reports[0].head_seq, 0u);
  EXPECT_EQ(reports[0].head_hash_hex, "");
}

TEST_F(AuditTest, OlderHeadIsDetected) {
  // The head put back to an earlier state: records follow that it does
  // not know.
  Write(0, 2);
  std::string old_head;
  bool found = false;
  ASSERT_TRUE(
      store_->Get(StateFamily::kAudit, HeadKey(0), &old_head, &found).ok());
  Write(0, 1, 3);
  Put(HeadKey(0), old_head);
  EXPECT_EQ(Problem(),
            "the head says record 2 is the last, but the chain goes on to 3 "
            "(head replaced)");
}

TEST_F(AuditTest, ReplacedLastRecordIsDetectedByTheHead) {
  // The last record rewritten with a consistent hash: only the head knows.
  Write(0, 3);
  v1::AuditRecord r = Record(0, 3);
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(r.body()));
  e.set_transaction_id("FORGED");
  r.set_body(e.SerializeAsString());
  r.set_hash(Sha256(absl::StrCat(r.prev_hash(), r.body())));
  PutRecord(0, 3, r);
  EXPECT_EQ(Problem(),
            "the head's hash differs from record 3's (the last record or the "
            "head was replaced)");
}

TEST_F(AuditTest, DamagedHeadIsDetected) {
  Write(0, 2);
  Put(HeadKey(0), "\xff\xff\xff");
  EXPECT_EQ(Problem(), "the chain head is damaged");
  AuditLog log(store_.get(), 0);
  absl::Status s = log.Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "audit log of partition 0: the head is damaged");
}

TEST_F(AuditTest, TamperingInOnePartitionLeavesTheOtherIntact) {
  Write(0, 3);
  Write(1, 3);
  Erase(AuditRecordKey(1, 2));
  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].problem, "");
  EXPECT_EQ(reports[0].records, 3u);
  EXPECT_EQ(reports[1].partition, 1);
  EXPECT_EQ(reports[1].problem,
            "record 2 is missing (deleted): the next one is 3");
}

TEST_F(AuditTest, LoadContinuesTheChainAfterReopening) {
  Write(0, 2);
  AuditLog before(store_.get(), 0);
  ASSERT_TRUE(before.Load().ok());
  const std::string hash = before.last_hash();

  AuditLog log(store_.get(), 0);
  ASSERT_TRUE(log.Load().ok());
  EXPECT_EQ(log.last_seq(), 2u);
  EXPECT_EQ(log.last_hash(), hash);
  EXPECT_EQ(log.last_hash(), Record(0, 2).hash());
  log.Append(Entry("TX3", kT0 + 3 * kSecond));
  std::vector<StateWrite> writes = log.BuildFlush();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].key, AuditRecordKey(0, 3));
  ASSERT_TRUE(store_->Commit(writes).ok());
  log.FlushDone();
  EXPECT_EQ(Record(0, 3).prev_hash(), hash);

  std::vector<AuditChainReport> reports = Verify();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].problem, "");
  EXPECT_EQ(reports[0].records, 3u);
  EXPECT_EQ(reports[0].head_seq, 3u);
}

TEST_F(AuditTest, LoadDropsWhatWasNotFlushed) {
  Write(0, 1);
  AuditLog log(store_.get(), 0);
  ASSERT_TRUE(log.Load().ok());
  log.Append(Entry("lost", kT0));
  EXPECT_EQ(log.last_seq(), 2u);
  ASSERT_TRUE(log.Load().ok());
  EXPECT_EQ(log.last_seq(), 1u);
  EXPECT_THAT(log.BuildFlush(), IsEmpty());
}

TEST_F(AuditTest, ScanAuditFiltersByEntryTime) {
  Write(0, 4);  // kT0 + 1..4 s
  Write(1, 2);  // kT0 + 1..2 s
  std::vector<std::string> seen;
  std::vector<uint64_t> seqs;
  auto collect = [&](const v1::AuditRecord& r, const v1::AuditEntry& e) {
    seen.push_back(e.transaction_id());
    seqs.push_back(r.seq());
  };
  ASSERT_TRUE(
      ScanAudit(store_.get(), kT0 + 2 * kSecond, kT0 + 4 * kSecond, collect)
          .ok());
  // [from, to): 2 and 3 of partition 0, 2 of partition 1.
  EXPECT_THAT(seen, ElementsAre("P0-2", "P0-3", "P1-2"));
  EXPECT_THAT(seqs, ElementsAre(2u, 3u, 2u));

  seen.clear();
  seqs.clear();
  ASSERT_TRUE(ScanAudit(store_.get(), 0, INT64_MAX, collect).ok());
  EXPECT_THAT(seen,
              ElementsAre("P0-1", "P0-2", "P0-3", "P0-4", "P1-1", "P1-2"));

  seen.clear();
  ASSERT_TRUE(
      ScanAudit(store_.get(), kT0 + 5 * kSecond, INT64_MAX, collect).ok());
  EXPECT_THAT(seen, IsEmpty());
  ASSERT_TRUE(
      ScanAudit(store_.get(), kT0 + 3 * kSecond, kT0 + 3 * kSecond, collect)
          .ok());
  EXPECT_THAT(seen, IsEmpty());
}

TEST_F(AuditTest, ScanAuditSkipsUnreadableRecords) {
  Write(0, 3);
  Put(AuditRecordKey(0, 2), "\xff\xff\xff");
  std::vector<std::string> seen;
  ASSERT_TRUE(ScanAudit(store_.get(), 0, INT64_MAX,
                        [&](const v1::AuditRecord&, const v1::AuditEntry& e) {
                          seen.push_back(e.transaction_id());
                        })
                  .ok());
  EXPECT_THAT(seen, ElementsAre("P0-1", "P0-3"));
}

}  // namespace
}  // namespace txscreen::engine
