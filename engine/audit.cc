#include "engine/audit.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/roster.h"
#include "engine/state.pb.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

const std::string& GenesisHash() {
  static const auto* zero = new std::string(32, '\0');
  return *zero;
}

void AppendBigEndian(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian(absl::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

int32_t ReadPartition(absl::string_view key) {
  return static_cast<int32_t>(ReadBigEndian(key.substr(0, 4)));
}

std::string HeadKey(int32_t partition) {
  return absl::StrCat(PartitionPrefix(partition), "H");
}

}  // namespace

std::string AuditRecordKey(int32_t partition, uint64_t seq) {
  std::string key = absl::StrCat(PartitionPrefix(partition), "R");
  AppendBigEndian(seq, &key);
  return key;
}

AuditLog::AuditLog(StateStore* store, int32_t partition)
    : store_(store),
      partition_(partition),
      prefix_(PartitionPrefix(partition)),
      hash_(GenesisHash()) {}

absl::Status AuditLog::Load() {
  std::string value;
  bool found = false;
  if (absl::Status s =
          store_->Get(StateFamily::kAudit, HeadKey(partition_), &value, &found);
      !s.ok()) {
    return s;
  }
  seq_ = 0;
  hash_ = GenesisHash();
  pending_.clear();
  if (!found) return absl::OkStatus();
  v1::AuditRecord head;
  if (!head.ParseFromString(value) || head.hash().size() != 32) {
    return absl::DataLossError(absl::StrCat(
        "audit log of partition ", partition_, ": the head is damaged"));
  }
  seq_ = head.seq();
  hash_ = head.hash();
  return absl::OkStatus();
}

void AuditLog::Append(v1::AuditEntry entry) {
  entry.set_partition(partition_);
  v1::AuditRecord record;
  record.set_seq(++seq_);
  record.set_prev_hash(hash_);
  entry.SerializeToString(record.mutable_body());
  hash_ = Sha256(absl::StrCat(record.prev_hash(), record.body()));
  record.set_hash(hash_);
  pending_.push_back(StateWrite::Put(StateFamily::kAudit,
                                     AuditRecordKey(partition_, seq_),
                                     record.SerializeAsString()));
}

std::vector<StateWrite> AuditLog::BuildFlush() {
  std::vector<StateWrite> writes = pending_;
  if (!writes.empty()) {
    v1::AuditRecord head;
    head.set_seq(seq_);
    head.set_hash(hash_);
    writes.push_back(StateWrite::Put(StateFamily::kAudit, HeadKey(partition_),
                                     head.SerializeAsString()));
  }
  return writes;
}

void AuditLog::FlushDone() { pending_.clear(); }

void AuditLog::Rollback(const Mark& mark) {
  if (mark.pending > pending_.size()) return;  // flushed since: too late
  pending_.resize(mark.pending);
  seq_ = mark.seq;
  hash_ = mark.hash;
}

absl::StatusOr<std::vector<AuditChainReport>> VerifyAudit(StateStore* store) {
  std::map<int32_t, AuditChainReport> reports;
  std::map<int32_t, std::string> last_hash;
  std::map<int32_t, uint64_t> last_seq;
  std::map<int32_t, v1::AuditRecord> heads;
  absl::Status scanned = store->Scan(
      StateFamily::kAudit, "", [&](absl::string_view key, absl::string_view v) {
        if (key.size() < 5) return true;
        const int32_t p = ReadPartition(key);
        AuditChainReport& r = reports[p];
        r.partition = p;
        if (key[4] == 'H') {
          if (!heads[p].ParseFromString(std::string(v))) {
            if (r.problem.empty()) r.problem = "the chain head is damaged";
          }
          return true;
        }
        if (key[4] != 'R' || key.size() != 13) {
          if (r.problem.empty()) {
            r.problem =
                absl::StrCat("unexpected key ", absl::BytesToHexString(key));
          }
          return true;
        }
        if (!r.problem.empty()) return true;  // the first problem only
        const uint64_t key_seq = ReadBigEndian(key.substr(5));
        auto [it, fresh] = last_hash.try_emplace(p, GenesisHash());
        const uint64_t expected = last_seq[p] + 1;
        v1::AuditRecord record;
        if (!record.ParseFromString(std::string(v))) {
          r.problem = absl::StrCat("record ", key_seq,
                                   " cannot be read (damaged or modified)");
          return true;
        }
        if (key_seq != expected) {
          r.problem =
              absl::StrCat("record ", expected,
                           " is missing (deleted): the next one is ", key_seq);
          return true;
        }
        if (record.seq() != key_seq) {
          r.problem = absl::StrCat("record ", key_seq, " says it is record ",
                                   record.seq(), " (moved or reordered)");
          return true;
        }
        if (record.prev_hash() != it->second) {
          r.problem = absl::StrCat(
              "record ", key_seq, " does not follow record ", key_seq - 1,
              ": its prev_hash differs (a record was reordered, replaced or "
              "removed)");
          return true;
        }
        if (Sha256(absl::StrCat(record.prev_hash(), record.body())) !=
            record.hash()) {
          r.problem = absl::StrCat("record ", key_seq,
                                   " was modified: its hash does not match "
                                   "its content");
          return true;
        }
        v1::AuditEntry entry;
        if (!entry.ParseFromString(record.body())) {
          r.problem = absl::StrCat("record ", key_seq,
                                   " has a body that cannot be read");
          return true;
        }
        it->second = record.hash();
        last_seq[p] = key_seq;
        r.records = key_seq;
        return true;
      });
  if (!scanned.ok()) return scanned;
  // Every hold's decision is audited: a partition with holds and no chain
  // at all had its whole chain deleted, which the chains left cannot show.
  std::map<int32_t, int64_t> holds;
  scanned = store->Scan(StateFamily::kHolds, "",
                        [&](absl::string_view key, absl::string_view) {
                          if (key.size() >= 4) ++holds[ReadPartition(key)];
                          return true;
                        });
  if (!scanned.ok()) return scanned;
  for (const auto& [p, n] : holds) {
    if (reports.count(p) != 0) continue;
    AuditChainReport& r = reports[p];
    r.partition = p;
    r.problem =
        absl::StrCat("no audit chain, but ", n, " hold", n == 1 ? "" : "s",
                     " whose decisions it should record: the chain "
                     "was deleted");
  }
  std::vector<AuditChainReport> out;
  for (auto& [p, r] : reports) {
    auto head = heads.find(p);
    if (head != heads.end()) {
      r.head_seq = head->second.seq();
      r.head_hash_hex = absl::BytesToHexString(head->second.hash());
    }
    if (r.problem.empty()) {
      if (head == heads.end()) {
        r.problem = "the chain head is missing";
      } else if (head->second.seq() != r.records ||
                 head->second.hash() != last_hash[p]) {
        r.problem =
            head->second.seq() > r.records
                ? (head->second.seq() == r.records + 1
                       ? absl::StrCat("record ", r.records + 1,
                                      " is missing (the end of the log was "
                                      "cut off)")
                       : absl::StrCat("records ", r.records + 1, " to ",
                                      head->second.seq(),
                                      " are missing (the end of the log was "
                                      "cut off)"))
            : head->second.seq() < r.records
                ? absl::StrCat("the head says record ", head->second.seq(),
                               " is the last, but the chain goes on to ",
                               r.records, " (head replaced)")
                : absl::StrCat("the head's hash differs from record ",
                               r.records,
                               "'s (the last record or the head was "
                               "replaced)");
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::Status ScanAudit(StateStore* store, int64_t from_us, int64_t to_us,
                       const std::function<void(const v1::AuditRecord&,
                                                const v1::AuditEntry&)>& visit,
                       int64_t* unreadable) {
  v1::AuditRecord record;
  v1::AuditEntry entry;
  if (unreadable != nullptr) *unreadable = 0;
  return store->Scan(StateFamily::kAudit, "",
                     [&](absl::string_view key, absl::string_view v) {
                       if (key.size() != 13 || key[4] != 'R') return true;
                       if (!record.ParseFromString(std::string(v)) ||
                           !entry.ParseFromString(record.body())) {
                         // `audit verify` names it.
                         if (unreadable != nullptr) ++*unreadable;
                         return true;
                       }
                       const int64_t at = TimestampMicros(entry.at());
                       if (at >= from_us && at < to_us) visit(record, entry);
                       return true;
                     });
}

}  // namespace txscreen::engine
