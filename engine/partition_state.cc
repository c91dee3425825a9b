#include "engine/partition_state.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/decision_wire.h"
#include "engine/wire_format.h"
#include "rules/stable_hash.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;
// A record chunk takes records until it holds about this many bytes: big
// enough that a chunk is one write for dozens of transactions, small enough
// that reading one back for a duplicate is cheap and that a changelog
// message stays far below Kafka's size limit.
constexpr size_t kChunkBytes = 32 << 10;
// SeenTransaction::record: the chunk's sequence number above these bits.
constexpr int kRecordIndexBits = 16;
constexpr uint32_t kMaxChunkRecords = (1u << kRecordIndexBits) - 1;
// How many entities ahead the flush requests each stage of an entity's
// memory (see BuildWrites).
constexpr size_t kPrefetchDistance = 4;

// Requests every cache line of an entity's windows.
void PrefetchWindows(const EntityWindows& e) {
  const char* windows = reinterpret_cast<const char*>(e.windows.data());
  const size_t bytes = e.windows.size() * sizeof(e.windows[0]);
  for (size_t at = 0; at < bytes; at += 64) __builtin_prefetch(windows + at);
  if (e.history != nullptr) {
    const char* h = reinterpret_cast<const char*>(e.history.get());
    for (size_t at = 0; at < sizeof(CustomerHistory); at += 64) {
      __builtin_prefetch(h + at);
    }
  }
}

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// The first event time at which an entry from `at_us` is past a retention
// (Expire forgets entries older than now - retention).
int64_t ExpiresAt(int64_t at_us, int64_t retention_us) {
  if (at_us == kNever) return kNever;
  int64_t out;
  if (__builtin_add_overflow(at_us, retention_us, &out) || out == kNever) {
    return kNever;
  }
  return out + 1;
}

int64_t TimeOf(const SeenTransaction& seen) { return seen.at_us; }
int64_t TimeOf(const PaidPayee& payee) { return payee.last_us; }

// CustomerHistoryProto.payee_first_paid_before_last of `payee`.
uint64_t FirstPaidBeforeLast(const PaidPayee& payee) {
  if (payee.first_us == PaidPayee::kUnknown || payee.first_us > payee.last_us) {
    return 0;
  }
  return static_cast<uint64_t>(payee.last_us - payee.first_us) + 1;
}

// Erases the entries of `table` older than `cutoff`; the oldest time of
// those left (kNever when none).
template <typename Table>
int64_t ForgetBefore(int64_t cutoff, Table* table) {
  int64_t oldest = kNever;
  absl::erase_if(*table, [&](const auto& e) {
    const int64_t at = TimeOf(e.second);
    if (at < cutoff) return true;
    oldest = std::min(oldest, at);
    return false;
  });
  return oldest;
}

int64_t DayOf(int64_t t_us) {
  return t_us >= 0 ? t_us / kMicrosPerDay
                   : (t_us - kMicrosPerDay + 1) / kMicrosPerDay;
}

void AppendBigEndian32(int64_t v, std::string* out) {
  uint32_t u = static_cast<uint32_t>(std::clamp<int64_t>(v, 0, 0xFFFFFFFFLL));
  out->push_back(static_cast<char>(u >> 24));
  out->push_back(static_cast<char>(u >> 16));
  out->push_back(static_cast<char>(u >> 8));
  out->push_back(static_cast<char>(u));
}

void AppendBigEndian64(uint64_t u, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(u >> shift));
  }
}

// The bytes of record `index` of a TransactionRecordChunkProto, walking the
// records before it; false when the chunk has no such record or is damaged.
bool RecordInChunk(absl::string_view chunk, uint32_t index,
                   absl::string_view* record) {
  const auto* p = reinterpret_cast<const uint8_t*>(chunk.data());
  const auto* const end = p + chunk.size();
  for (uint32_t i = 0;; ++i) {
    // Field 1, length-delimited: tag 0x0A, then the length as a varint.
    if (p == end || *p++ != 0x0A) return false;
    uint64_t size = 0;
    for (int shift = 0;; shift += 7) {
      if (p == end || shift > 28) return false;
      const uint8_t b = *p++;
      size |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) break;
    }
    if (size > static_cast<uint64_t>(end - p)) return false;
    if (i == index) {
      *record = absl::string_view(reinterpret_cast<const char*>(p), size);
      return true;
    }
    p += size;
  }
}

using wire::CodedOutputStream;
using wire::FieldSize;
using wire::LengthSize;
using wire::WriteTag;

uint64_t RawBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

// The sizes of a CustomerHistoryProto's parts, from one walk of each table.
struct HistorySizes {
  size_t payee_times = 0;
  size_t payee_firsts = 0;  // 0 when every first is unknown
  size_t seen_times = 0;
  size_t seen_records = 0;  // 0 when no entry has a record
  size_t total = 0;
};

HistorySizes MeasureHistory(const CustomerHistory& history) {
  HistorySizes n;
  bool any_first = false;
  for (const auto& [k, paid] : history.payees) {
    n.payee_times += wire::VarintSize(paid.last_us);
    const uint64_t first = FirstPaidBeforeLast(paid);
    n.payee_firsts += wire::VarintSize(first);
    any_first |= first != 0;
  }
  if (!any_first) n.payee_firsts = 0;
  bool any_record = false;
  for (const auto& [hash, seen] : history.seen) {
    n.seen_times += wire::VarintSize(seen.at_us);
    n.seen_records += wire::VarintSize(seen.record);
    any_record |= seen.record != 0;
  }
  if (!any_record) n.seen_records = 0;
  n.total =
      (history.has_previous ? 2 : 0) +
      (history.last_at_us != 0 ? 1 + wire::VarintSize(history.last_at_us) : 0) +
      FieldSize(history.last_region_code.size()) + (history.has_geo ? 2 : 0) +
      (RawBits(history.last_lat) != 0 ? 9 : 0) +
      (RawBits(history.last_lon) != 0 ? 9 : 0) +
      FieldSize(8 * history.payees.size()) + FieldSize(n.payee_times) +
      FieldSize(8 * history.seen.size()) + FieldSize(n.seen_times) +
      FieldSize(n.seen_records) + FieldSize(n.payee_firsts);
  return n;
}

// CustomerHistoryProto, with the dedupe and payee maps as its packed arrays
// (fields 7-11), into exactly `sizes.total` bytes at `o`; proto3 leaves out
// fields at their defaults. Each table is walked once: its arrays' places
// are known from the sizes, and one walk fills them side by side.
uint8_t* WriteHistory(const CustomerHistory& history, const HistorySizes& sizes,
                      uint8_t* o) {
  if (history.has_previous) {
    o = WriteTag(1, wire::kVarint, o);
    *o++ = 1;
  }
  if (history.last_at_us != 0) {
    o = WriteTag(2, wire::kVarint, o);
    o = wire::WriteVarint(history.last_at_us, o);
  }
  const std::string& region = history.last_region_code;
  if (!region.empty()) {
    o = wire::WriteFieldHeader(3, region.size(), o);
    o = CodedOutputStream::WriteRawToArray(region.data(),
                                           static_cast<int>(region.size()), o);
  }
  if (history.has_geo) {
    o = WriteTag(4, wire::kVarint, o);
    *o++ = 1;
  }
  if (RawBits(history.last_lat) != 0) {
    o = WriteTag(5, wire::kFixed64, o);
    o = CodedOutputStream::WriteLittleEndian64ToArray(RawBits(history.last_lat),
                                                      o);
  }
  if (RawBits(history.last_lon) != 0) {
    o = WriteTag(6, wire::kFixed64, o);
    o = CodedOutputStream::WriteLittleEndian64ToArray(RawBits(history.last_lon),
                                                      o);
  }
  // A packed array's header, and where its payload goes.
  auto array = [&o](int field, size_t payload) {
    o = wire::WriteFieldHeader(field, payload, o);
    uint8_t* const at = o;
    o += payload;
    return at;
  };
  if (!history.payees.empty()) {
    uint8_t* keys = array(7, 8 * history.payees.size());
    uint8_t* times = array(8, sizes.payee_times);
    for (const auto& [k, paid] : history.payees) {
      keys = CodedOutputStream::WriteLittleEndian64ToArray(k, keys);
      times = wire::WriteVarint(paid.last_us, times);
    }
  }
  if (!history.seen.empty()) {
    uint8_t* keys = array(9, 8 * history.seen.size());
    uint8_t* times = array(10, sizes.seen_times);
    uint8_t* records =
        sizes.seen_records > 0 ? array(11, sizes.seen_records) : nullptr;
    for (const auto& [k, seen] : history.seen) {
      keys = CodedOutputStream::WriteLittleEndian64ToArray(k, keys);
      times = wire::WriteVarint(seen.at_us, times);
      if (records != nullptr) records = wire::WriteVarint(seen.record, records);
    }
  }
  // In the order of fields 7 and 8 (the table has not changed since).
  if (sizes.payee_firsts > 0) {
    uint8_t* firsts = array(12, sizes.payee_firsts);
    for (const auto& [k, paid] : history.payees) {
      firsts = wire::WriteVarint(FirstPaidBeforeLast(paid), firsts);
    }
  }
  return o;
}

}  // namespace

std::string EncodeEntityWindows(const EntityWindows& entity,
                                std::string* scratch) {
  // EntityWindowsProto: field 1, one WindowProto per non-empty window;
  // written in one pass into room for the largest encoding, then copied out
  // at its size (the stored value keeps no slack).
  size_t bound = 0;
  for (const auto& [fp, w] : entity.windows) {
    if (!w.empty()) bound += 6 + w.MaxEncodedSize();
  }
  // A customer's history, field 2: present (even empty) once loaded, so
  // that a load never looks for it in the history family again; left out
  // when the windows hold nothing either (the value is erased).
  HistorySizes history;
  if (entity.history != nullptr) {
    history = MeasureHistory(*entity.history);
    bound += 1 + LengthSize(history.total) + history.total;
  }
  bound += 1 + 10;  // written_clock_us
  if (scratch->size() < bound) scratch->resize(bound);
  uint8_t* const begin = reinterpret_cast<uint8_t*>(scratch->data());
  uint8_t* p = begin;
  // (Not a structured binding: clang before 16 cannot capture one.)
  for (const auto& window : entity.windows) {
    if (window.second.empty()) continue;
    p = wire::WriteDelimited(1, p, [&window](uint8_t* q) {
      return window.second.Encode(window.first, q);
    });
  }
  if (entity.history != nullptr && (p != begin || history.total > 0)) {
    p = wire::WriteFieldHeader(2, history.total, p);
    p = WriteHistory(*entity.history, history, p);
  }
  // Only beside windows (a value without them is erased), and not for a
  // customer, whom the sweep leaves anyway.
  if (entity.history == nullptr && p != begin && entity.written_clock_us > 0) {
    p = wire::WriteTag(3, wire::kVarint, p);
    p = wire::WriteVarint(entity.written_clock_us, p);
  }
  return std::string(scratch->data(), static_cast<size_t>(p - begin));
}

std::string EncodeEntityWindows(const EntityWindows& entity) {
  std::string scratch;
  return EncodeEntityWindows(entity, &scratch);
}

std::string EncodeCustomerHistory(const CustomerHistory& history) {
  const HistorySizes sizes = MeasureHistory(history);
  std::string out(sizes.total, '\0');
  WriteHistory(history, sizes, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

namespace {

// EncodeRecord's work: `room(size)` says where to write the record's `size`
// bytes.
template <typename Room>
void EncodeRecordInto(const ScreenedRecord& r, const v1::Decision& decision,
                      Room room) {
  // TransactionRecordProto's fields in number order, as its serializer
  // writes them, and the decision (field 4) last: parsers take fields in
  // any order. Proto3 leaves out empty strings, zeros and empty arrays.
  const absl::Span<const WindowContribution> c = r.contributions;
  size_t entities = 0, buckets = 0, values = 0;
  for (const WindowContribution& w : c) {
    entities += wire::VarintSize(static_cast<int32_t>(w.entity));
    buckets += wire::VarintSize(w.bucket);
    values += wire::VarintSize(w.value);
  }
  size_t decision_size = PlainDecisionSize(decision);
  const bool plain = decision_size > 0;
  if (!plain) decision_size = decision.ByteSizeLong();
  const size_t total =
      FieldSize(r.transaction_id.size()) + FieldSize(r.customer_id.size()) +
      (r.occurred_at_us != 0 ? 1 + wire::VarintSize(r.occurred_at_us) : 0) +
      (r.reversed ? 2 : 0) + FieldSize(r.account_id.size()) +
      FieldSize(r.counterparty_account_id.size()) +
      FieldSize(r.device_id.size()) + FieldSize(8 * c.size()) +
      FieldSize(entities) + FieldSize(buckets) + FieldSize(values) +
      FieldSize(8 * c.size()) + 1 + LengthSize(decision_size) + decision_size;
  uint8_t* o = room(total);
  auto text = [&o](int field, absl::string_view s) {
    if (s.empty()) return;
    o = wire::WriteFieldHeader(field, s.size(), o);
    std::memcpy(o, s.data(), s.size());
    o += s.size();
  };
  text(1, r.transaction_id);
  text(2, r.customer_id);
  if (r.occurred_at_us != 0) {
    o = WriteTag(3, wire::kVarint, o);
    o = wire::WriteVarint(r.occurred_at_us, o);
  }
  if (r.reversed) {
    o = WriteTag(6, wire::kVarint, o);
    *o++ = 1;
  }
  text(7, r.account_id);
  text(8, r.counterparty_account_id);
  text(9, r.device_id);
  if (!c.empty()) {
    o = wire::WriteFieldHeader(10, 8 * c.size(), o);
    for (const WindowContribution& w : c) {
      o = CodedOutputStream::WriteLittleEndian64ToArray(w.fingerprint, o);
    }
    o = wire::WriteFieldHeader(11, entities, o);
    for (const WindowContribution& w : c) {
      o = wire::WriteVarint(static_cast<int32_t>(w.entity), o);
    }
    if (buckets > 0) {
      o = wire::WriteFieldHeader(12, buckets, o);
      for (const WindowContribution& w : c) o = wire::WriteVarint(w.bucket, o);
    }
    o = wire::WriteFieldHeader(13, values, o);
    for (const WindowContribution& w : c) o = wire::WriteVarint(w.value, o);
    o = wire::WriteFieldHeader(14, 8 * c.size(), o);
    for (const WindowContribution& w : c) {
      o = CodedOutputStream::WriteLittleEndian64ToArray(w.key, o);
    }
  }
  o = wire::WriteFieldHeader(TransactionRecordProto::kDecisionFieldNumber,
                             decision_size, o);
  if (plain) {
    WritePlainDecision(decision, o);
  } else {
    decision.SerializeWithCachedSizesToArray(o);
  }
}

}  // namespace

void EncodeRecord(const ScreenedRecord& record, const v1::Decision& decision,
                  std::string* out) {
  EncodeRecordInto(record, decision, [out](size_t size) {
    out->resize(size);
    return reinterpret_cast<uint8_t*>(out->data());
  });
}

bool IsRecordChunkKey(absl::string_view key) {
  // partition (4) | day (4) | NUL | chunk number (8); a key before chunks
  // has the customer id (never empty, no control characters) after the day.
  return key.size() == 17 && key[8] == '\0';
}

int64_t RecordsInChunk(absl::string_view chunk) {
  int64_t n = 0;
  absl::string_view record;
  while (!chunk.empty()) {
    if (!RecordInChunk(chunk, 0, &record)) return -1;
    chunk.remove_prefix(
        static_cast<size_t>(record.data() + record.size() - chunk.data()));
    ++n;
  }
  return n;
}

int CustomerHistoryInValue(absl::string_view key, absl::string_view value) {
  // partition (4) | '0' + the entity kind | id
  if (key.size() <= 5 ||
      key[4] != static_cast<char>('0' + v1::ENTITY_CUSTOMER)) {
    return 0;
  }
  EntityWindowsProto proto;
  if (!proto.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return -1;
  }
  return proto.has_history() ? 1 : 0;
}

uint64_t StableTextHash(absl::string_view text) {
  // 0 means "no value" in window contributions.
  uint64_t h = rules::StableHash(text);
  return h == 0 ? 1 : h;
}

WindowState* EntityWindows::Find(uint64_t fingerprint) {
  for (auto& [fp, w] : windows) {
    if (fp == fingerprint) return &w;
  }
  return nullptr;
}

WindowState* EntityWindows::FindOrAdd(uint64_t fingerprint) {
  return &windows[IndexOrAdd(fingerprint)].second;
}

uint32_t EntityWindows::IndexOrAdd(uint64_t fingerprint) {
  for (uint32_t i = 0; i < windows.size(); ++i) {
    if (windows[i].first == fingerprint) return i;
  }
  // Built in place: moving a fresh WindowState in trips GCC 12's
  // -Wmaybe-uninitialized inside absl::InlinedVector.
  windows.emplace_back(std::piecewise_construct,
                       std::forward_as_tuple(fingerprint), std::tuple<>());
  return static_cast<uint32_t>(windows.size() - 1);
}

PartitionState::PartitionState(StateStore* store, int32_t partition,
                               PartitionStateOptions options)
    : store_(store),
      partition_(partition),
      options_(options),
      prefix_(PartitionPrefix(partition)) {}

std::string& PartitionState::Key(v1::Entity kind, absl::string_view id) {
  key_.assign(prefix_);
  key_.push_back(static_cast<char>('0' + kind));
  key_.append(id.data(), id.size());
  return key_;
}

std::string PartitionState::RecordKey(absl::string_view customer_id,
                                      absl::string_view transaction_id,
                                      int64_t occurred_at_us) const {
  // Ids never contain control characters (validation), so NUL separates.
  std::string key;
  key.reserve(prefix_.size() + 4 + customer_id.size() + 1 +
              transaction_id.size());
  key.append(prefix_);
  AppendBigEndian32(DayOf(occurred_at_us), &key);
  key.append(customer_id.data(), customer_id.size());
  key.push_back('\0');
  key.append(transaction_id.data(), transaction_id.size());
  return key;
}

std::string PartitionState::ChunkKey(int64_t day, uint64_t sequence) const {
  // A NUL where a record key before chunks has the customer id (never
  // empty, never with control characters): the two layouts never meet, and
  // both go by the same range deletion of old days.
  std::string key;
  key.reserve(prefix_.size() + 4 + 1 + 8);
  key.append(prefix_);
  AppendBigEndian32(day, &key);
  key.push_back('\0');
  AppendBigEndian64(sequence, &key);
  return key;
}

absl::Status PartitionState::GetOffset(absl::string_view name,
                                       std::string* value, bool* found) {
  return store_->Get(StateFamily::kOffsets, absl::StrCat(prefix_, name), value,
                     found);
}

absl::Status PartitionState::LoadChunkCounter() {
  bool found = false;
  std::string value;
  if (absl::Status s = GetOffset(kStateFormatKey, &value, &found); !s.ok()) {
    return s;
  }
  int format = 1;
  if (found && (!absl::SimpleAtoi(value, &format) || format < 2)) {
    return absl::DataLossError(
        absl::StrCat("state: the state format is damaged: '", value, "'"));
  }
  if (format > kStateFormat) {
    // Written by a newer build: its values would be misread (a rollback
    // onto state of a newer build, or builds mixed in one group).
    return absl::FailedPreconditionError(absl::StrCat(
        "state of partition ", partition_, " is in format ", format,
        ", written by a newer txscreen; this build reads formats up to ",
        kStateFormat, ": run the newer build"));
  }
  if (absl::Status s = GetOffset(kRecordChunkCounterKey, &value, &found);
      !s.ok()) {
    return s;
  }
  uint64_t next = 1;
  if (found && (!absl::SimpleAtoi(value, &next) || next == 0 ||
                next >= (uint64_t{1} << (64 - kRecordIndexBits)))) {
    return absl::DataLossError(absl::StrCat(
        "state: the record chunk counter is damaged: '", value, "'"));
  }
  next_chunk_ = std::max(next, options_.min_next_chunk);
  if (absl::Status s = GetOffset(kEventClockKey, &value, &found); !s.ok()) {
    return s;
  }
  int64_t clock = 0;
  if (found && !absl::SimpleAtoi(value, &clock)) {
    return absl::DataLossError(
        absl::StrCat("state: the event clock is damaged: '", value, "'"));
  }
  max_event_us_ = std::max(max_event_us_, clock);
  return absl::OkStatus();
}

int64_t PartitionState::RecordsKeptFromDay() const {
  if (max_event_us_ <= 0) return std::numeric_limits<int64_t>::min();
  return DayOf(max_event_us_ - options_.dedupe_retention_us) - 1;
}

PartitionState::Name PartitionState::WindowsKeyName(absl::string_view key) {
  // Every key starts with the 4-byte partition prefix; a windows key then
  // has the kind.
  key.remove_prefix(std::min<size_t>(4, key.size()));
  const char kind = key.empty() ? '\0' : key[0];
  key.remove_prefix(key.empty() ? 0 : 1);
  return Name{kind, key};
}

template <typename T>
PartitionState::Name PartitionState::ByName<T>::Of(const T& entry) {
  if constexpr (std::is_same_v<T, EntityWindows>) {
    return WindowsKeyName(entry.key.view());
  }
  absl::string_view key = entry.key.view();
  key.remove_prefix(4);
  return Name{0, key};
}

template <typename T>
size_t PartitionState::ByName<T>::operator()(const Name& n) const {
  return absl::HashOf(n.kind, n.id);
}

// The table's (its members, defined here, are used by the header's).
template struct PartitionState::ByName<EntityWindows>;

namespace {

// A history's fields from its message (a customer's value, or the history
// family before state format 3).
absl::Status LoadHistory(const CustomerHistoryProto& p,
                         absl::string_view customer_id,
                         CustomerHistory* history) {
  if (p.seen_id_hash_size() != p.seen_occurred_at_us_size() ||
      (p.seen_record_size() != 0 &&
       p.seen_record_size() != p.seen_id_hash_size()) ||
      p.payee_key_size() != p.payee_last_paid_us_size() ||
      (p.payee_first_paid_before_last_size() != 0 &&
       p.payee_first_paid_before_last_size() != p.payee_key_size())) {
    return absl::DataLossError(
        absl::StrCat("state: history of customer '", customer_id,
                     "' is damaged (arrays of different lengths)"));
  }
  history->has_previous = p.has_previous();
  history->last_at_us = p.last_at_us();
  history->last_region_code = p.last_region_code();
  history->has_geo = p.has_geo();
  history->last_lat = p.last_lat();
  history->last_lon = p.last_lon();
  history->seen.reserve(p.seen_id_hash_size());
  const bool records = p.seen_record_size() != 0;
  for (int i = 0; i < p.seen_id_hash_size(); ++i) {
    history->seen[p.seen_id_hash(i)] = SeenTransaction{
        p.seen_occurred_at_us(i), records ? p.seen_record(i) : 0};
    history->seen_latest_us =
        std::max(history->seen_latest_us, p.seen_occurred_at_us(i));
  }
  history->payees.reserve(p.payee_key_size());
  const bool firsts = p.payee_first_paid_before_last_size() != 0;
  for (int i = 0; i < p.payee_key_size(); ++i) {
    PaidPayee& paid = history->payees[p.payee_key(i)];
    paid.last_us = p.payee_last_paid_us(i);
    const uint64_t before = firsts ? p.payee_first_paid_before_last(i) : 0;
    int64_t first = PaidPayee::kUnknown;
    if (before == 0 ||
        before - 1 >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_sub_overflow(paid.last_us, static_cast<int64_t>(before - 1),
                               &first)) {
      first = PaidPayee::kUnknown;
    }
    paid.first_us = first;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EntityWindows*> PartitionState::Load(v1::Entity kind,
                                                    absl::string_view id) {
  const Name name{static_cast<char>('0' + kind), id};
  if (auto it = windows_.find(name); it != windows_.end()) return it->get();
  std::string& key = Key(kind, id);
  bool found = false;
  if (absl::Status s = store_->Get(StateFamily::kWindows, key, &value_, &found);
      !s.ok()) {
    return s;
  }
  auto entity = std::make_unique<EntityWindows>();
  entity->key.assign(key);
  if (found) {
    EntityWindowsProto proto;
    if (!proto.ParseFromString(value_)) {
      return absl::DataLossError(
          absl::StrCat("state: windows of entity '", id, "' do not parse"));
    }
    entity->windows.reserve(proto.window_size());
    for (const WindowProto& w : proto.window()) {
      entity->windows.emplace_back(std::piecewise_construct,
                                   std::forward_as_tuple(w.fingerprint()),
                                   std::tuple<>());
      if (!entity->windows.back().second.FromProto(w)) {
        return absl::DataLossError(
            absl::StrCat("state: a window of entity '", id,
                         "' is damaged (bucket arrays of different lengths)"));
      }
    }
    entity->written_clock_us = proto.written_clock_us();
    if (kind == v1::ENTITY_CUSTOMER && proto.has_history()) {
      entity->history = std::make_unique<CustomerHistory>();
      if (absl::Status s =
              LoadHistory(proto.history(), id, entity->history.get());
          !s.ok()) {
        return s;
      }
    }
  }
  // No windows (nothing stored, or only a customer's history): a marker,
  // so that such entities cost no store read per transaction.
  entity->absent = entity->windows.empty();
  EntityWindows* e = entity.get();
  windows_.insert(std::move(entity));
  return e;
}

absl::StatusOr<EntityWindows*> PartitionState::FindWindows(
    v1::Entity kind, absl::string_view id) {
  absl::StatusOr<EntityWindows*> e = Load(kind, id);
  if (!e.ok()) return e;
  return (*e)->absent ? nullptr : Touch(*e);
}

template <typename T>
void PartitionState::Touch(T* entry, TouchedList<T>* list) {
  if (!entry->touched) {
    entry->touched = true;
    entry->touched_index = static_cast<uint32_t>(list->entries.size());
    list->open.push_back(entry->touched_index);
    list->entries.emplace_back();
    list->entries.back().entry = entry;
    return;
  }
  Touched<T>& t = list->entries[entry->touched_index];
  switch (t.pending) {
    case Pending::kClean:
      t.pending = Pending::kOpen;
      list->open.push_back(entry->touched_index);
      break;
    case Pending::kEncoded:
      // Encoding again at the end of every transaction would cost the
      // customers with many transactions per flush one encoding each.
      t.pending = Pending::kStale;
      t.key.clear();
      t.value.clear();
      break;
    case Pending::kOpen:
    case Pending::kStale:
      break;
  }
}

template <typename T, typename Encode>
void PartitionState::EncodeOpen(TouchedList<T>* list, Encode encode) {
  for (uint32_t i : list->open) {
    Touched<T>& t = list->entries[i];
    if (t.pending != Pending::kOpen) continue;
    if (!t.entry->changed()) {
      t.pending = Pending::kClean;
      continue;
    }
    t.value = encode(*t.entry);
    t.key = t.entry->key.str();
    t.pending = Pending::kEncoded;
  }
  list->open.clear();
}

void PartitionState::EndTransaction() {
  // Screening read only some of an entity's windows; the encoding reads
  // them all: every entity's are requested first, so that their misses
  // overlap.
  for (uint32_t i : touched_windows_.open) {
    PrefetchWindows(*touched_windows_.entries[i].entry);
  }
  EncodeOpen(&touched_windows_, [this](EntityWindows& e) {
    e.written_clock_us = max_event_us_;
    return EncodeEntityWindows(e, &encode_scratch_);
  });
}

absl::StatusOr<EntityWindows*> PartitionState::Windows(v1::Entity kind,
                                                       absl::string_view id) {
  absl::StatusOr<EntityWindows*> e = Load(kind, id);
  if (!e.ok()) return e;
  // The marker of an entity without windows becomes the entity.
  (*e)->absent = false;
  return Touch(*e);
}

absl::StatusOr<CustomerHistory*> PartitionState::History(
    absl::string_view customer_id) {
  // Records are put only for a customer whose history was asked for first.
  if (next_chunk_ == 0) {
    if (absl::Status s = LoadChunkCounter(); !s.ok()) return s;
  }
  absl::StatusOr<EntityWindows*> loaded =
      Load(v1::ENTITY_CUSTOMER, customer_id);
  if (!loaded.ok()) return loaded.status();
  EntityWindows* entity = *loaded;
  if (entity->history == nullptr) {
    // Not in the customer's value: state before format 3 has it in the
    // history family, under a key of its own.
    auto history = std::make_unique<CustomerHistory>();
    key_.assign(prefix_);
    key_.append(customer_id.data(), customer_id.size());
    bool found = false;
    if (absl::Status s =
            store_->Get(StateFamily::kHistory, key_, &value_, &found);
        !s.ok()) {
      return s;
    }
    if (found) {
      CustomerHistoryProto p;
      if (!p.ParseFromString(value_)) {
        return absl::DataLossError(absl::StrCat(
            "state: history of customer '", customer_id, "' does not parse"));
      }
      if (absl::Status s = LoadHistory(p, customer_id, history.get());
          !s.ok()) {
        return s;
      }
      entity->legacy_history = true;
    }
    entity->history = std::move(history);
  }
  Touch(entity);
  return entity->history.get();
}

absl::StatusOr<const TransactionRecordProto*> PartitionState::FindRecord(
    absl::string_view customer_id, absl::string_view transaction_id,
    const SeenTransaction& seen) {
  if (seen.reversed_before_arrival()) return nullptr;
  // Past the retention by the partition's clock: gone, whether its day has
  // been deleted yet or not (that depends on when the last flush fell).
  if (DayOf(seen.at_us) < RecordsKeptFromDay()) return nullptr;
  absl::string_view bytes;
  if (seen.record == 0) {
    // Stored before chunks, under a key of its own.
    bool found = false;
    if (absl::Status s =
            store_->Get(StateFamily::kDedupe,
                        RecordKey(customer_id, transaction_id, seen.at_us),
                        &value_, &found);
        !s.ok()) {
      return s;
    }
    if (!found) return nullptr;
    bytes = value_;
  } else {
    const uint64_t sequence = seen.record >> kRecordIndexBits;
    const auto index = static_cast<uint32_t>(seen.record & kMaxChunkRecords);
    absl::string_view chunk;
    if (const RecordChunk* pending = PendingChunk(sequence)) {
      chunk = pending->bytes;
    } else {
      bool found = false;
      if (absl::Status s = store_->Get(StateFamily::kDedupe,
                                       ChunkKey(DayOf(seen.at_us), sequence),
                                       &value_, &found);
          !s.ok()) {
        return s;
      }
      // Gone with its day (past the retention).
      if (!found) return nullptr;
      chunk = value_;
    }
    if (!RecordInChunk(chunk, index, &bytes)) {
      return absl::DataLossError(absl::StrCat(
          "state: record chunk ", sequence, " is damaged (no record ", index,
          "; transaction '", transaction_id, "')"));
    }
  }
  if (!found_record_.ParseFromArray(bytes.data(),
                                    static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(
        "state: record of transaction '", transaction_id, "' does not parse"));
  }
  // Another customer's record is not this one (an old record's key said
  // whose it was).
  if (found_record_.customer_id() != customer_id) return nullptr;
  return &found_record_;
}

absl::StatusOr<const TransactionRecordProto*> PartitionState::FindRecord(
    absl::string_view customer_id, absl::string_view transaction_id) {
  absl::StatusOr<CustomerHistory*> history = History(customer_id);
  if (!history.ok()) return history.status();
  auto seen = (*history)->seen.find(StableTextHash(transaction_id));
  if (seen == (*history)->seen.end()) return nullptr;
  return FindRecord(customer_id, transaction_id, seen->second);
}

const PartitionState::RecordChunk* PartitionState::PendingChunk(
    uint64_t sequence) const {
  for (const std::vector<RecordChunk>* chunks :
       {&chunks_, &handed_off_chunks_}) {
    auto it = std::lower_bound(
        chunks->begin(), chunks->end(), sequence,
        [](const RecordChunk& c, uint64_t s) { return c.sequence < s; });
    if (it != chunks->end() && it->sequence == sequence) return &*it;
  }
  return nullptr;
}

uint8_t* PartitionState::AppendRecord(int64_t day, size_t size,
                                      uint64_t* where) {
  RecordChunk* chunk = nullptr;
  auto open = std::find_if(open_chunks_.begin(), open_chunks_.end(),
                           [day](const auto& e) { return e.first == day; });
  if (open != open_chunks_.end()) {
    chunk = &chunks_[open->second];
    if (chunk->records >= kMaxChunkRecords ||
        chunk->bytes.size() + 1 + LengthSize(size) + size > kChunkBytes) {
      chunk = nullptr;  // full: a new one
    }
  }
  if (chunk == nullptr) {
    if (open == open_chunks_.end()) {
      open = open_chunks_.insert(open_chunks_.end(), {day, 0});
    }
    open->second = static_cast<uint32_t>(chunks_.size());
    chunk = &chunks_.emplace_back();
    chunk->day = day;
    chunk->sequence = next_chunk_++;
    chunk->bytes.reserve(kChunkBytes + 1024);
  }
  *where = chunk->sequence << kRecordIndexBits | chunk->records;
  ++chunk->records;
  ++pending_records_;
  // Field 1 of TransactionRecordChunkProto.
  const size_t at = chunk->bytes.size();
  chunk->bytes.resize(at + 1 + LengthSize(size) + size);
  uint8_t* o = reinterpret_cast<uint8_t*>(chunk->bytes.data() + at);
  return wire::WriteFieldHeader(1, size, o);
}

void PartitionState::Remember(CustomerHistory* history, uint64_t id_hash,
                              int64_t at_us, uint64_t record) {
  history->seen[id_hash] = SeenTransaction{at_us, record};
  history->seen_expire_from_us =
      std::min(history->seen_expire_from_us,
               ExpiresAt(at_us, options_.dedupe_retention_us));
  history->seen_latest_us = std::max(history->seen_latest_us, at_us);
  history->dirty = true;
}

void PartitionState::SeeReversedBeforeArrival(CustomerHistory* history,
                                              uint64_t id_hash, int64_t at_us) {
  Remember(history, id_hash, at_us, SeenTransaction::kReversedBeforeArrival);
}

int64_t PartitionState::DedupeHorizon(const CustomerHistory& history) const {
  constexpr int64_t kAlways = std::numeric_limits<int64_t>::min();
  int64_t horizon = kAlways;
  if (__builtin_sub_overflow(history.seen_latest_us,
                             options_.dedupe_retention_us, &horizon)) {
    return kAlways;
  }
  return horizon;
}

absl::Status PartitionState::PutRecord(const TransactionRecordProto& record) {
  absl::StatusOr<CustomerHistory*> history = History(record.customer_id());
  if (!history.ok()) return history.status();
  max_event_us_ = std::max(max_event_us_, record.occurred_at_us());
  const size_t size = record.ByteSizeLong();
  uint64_t where = 0;
  record.SerializeWithCachedSizesToArray(
      AppendRecord(DayOf(record.occurred_at_us()), size, &where));
  Remember(*history, StableTextHash(record.transaction_id()),
           record.occurred_at_us(), where);
  return absl::OkStatus();
}

void PartitionState::PutRecord(CustomerHistory* history,
                               const ScreenedRecord& record,
                               const v1::Decision& decision) {
  max_event_us_ = std::max(max_event_us_, record.occurred_at_us);
  uint64_t where = 0;
  EncodeRecordInto(record, decision, [&](size_t size) {
    return AppendRecord(DayOf(record.occurred_at_us), size, &where);
  });
  Remember(history, StableTextHash(record.transaction_id),
           record.occurred_at_us, where);
}

void PartitionState::Expire(CustomerHistory* history, int64_t now_us) {
  bool changed = false;
  if (now_us >= history->seen_expire_from_us) {
    const size_t before = history->seen.size();
    const int64_t oldest =
        ForgetBefore(now_us - options_.dedupe_retention_us, &history->seen);
    history->seen_expire_from_us =
        ExpiresAt(oldest, options_.dedupe_retention_us);
    changed |= history->seen.size() != before;
  }
  if (now_us >= history->payees_expire_from_us ||
      history->payees.size() > options_.max_payees) {
    const size_t before = history->payees.size();
    int64_t oldest =
        ForgetBefore(now_us - options_.payee_retention_us, &history->payees);
    if (history->payees.size() > options_.max_payees) {
      // Forget exactly the payees paid longest ago.
      std::vector<std::pair<int64_t, uint64_t>> by_time;
      by_time.reserve(history->payees.size());
      for (const auto& [k, paid] : history->payees) {
        by_time.emplace_back(paid.last_us, k);
      }
      const size_t drop = history->payees.size() - options_.max_payees;
      std::nth_element(by_time.begin(),
                       by_time.begin() + static_cast<long>(drop),
                       by_time.end());
      for (size_t i = 0; i < drop; ++i) {
        history->payees.erase(by_time[i].second);
      }
      // The earliest of those kept (none when the limit is 0).
      oldest = drop < by_time.size() ? by_time[drop].first : kNever;
    }
    history->payees_expire_from_us =
        ExpiresAt(oldest, options_.payee_retention_us);
    changed |= history->payees.size() != before;
  }
  if (changed) history->dirty = true;
}

void PartitionState::See(CustomerHistory* history, uint64_t id_hash,
                         int64_t at_us) {
  // Without a record: a location kept would name a chunk of another day.
  Remember(history, id_hash, at_us, 0);
}

void PartitionState::Pay(CustomerHistory* history, uint64_t payee,
                         int64_t at_us) {
  auto [it, added] =
      history->payees.try_emplace(payee, PaidPayee{at_us, at_us});
  if (added) {
    history->payees_expire_from_us =
        std::min(history->payees_expire_from_us,
                 ExpiresAt(at_us, options_.payee_retention_us));
  } else {
    // Later is all a payment can make an entry's last: no earlier expiry.
    // A late one may be its first.
    it->second.last_us = std::max(it->second.last_us, at_us);
    if (it->second.first_us != PaidPayee::kUnknown) {
      it->second.first_us = std::min(it->second.first_us, at_us);
    }
  }
  history->dirty = true;
}

template <typename T>
void PartitionState::TakeEncoded(StateFamily family, TouchedList<T>* list,
                                 std::vector<StateWrite>* writes,
                                 std::vector<T*>* left) {
  left->clear();
  for (Touched<T>& t : list->entries) {
    switch (t.pending) {
      case Pending::kEncoded:
        // Moved out, so stale: should these writes not become safe (a
        // failed commit, a BuildFlush again), the next flush encodes the
        // entry again; it stays dirty until the hand-off.
        t.pending = Pending::kStale;
        // An entity whose windows all emptied is erased, as at the flush.
        writes->push_back(family == StateFamily::kWindows && t.value.empty()
                              ? StateWrite::Erase(family, std::move(t.key))
                              : StateWrite::Put(family, std::move(t.key),
                                                std::move(t.value)));
        break;
      case Pending::kClean:
        break;
      case Pending::kOpen:
      case Pending::kStale:
        left->push_back(t.entry);
        break;
    }
  }
}

std::vector<StateWrite> PartitionState::BuildFlush(
    absl::string_view input_position) {
  return BuildWrites(input_position, /*move_records=*/false);
}

std::vector<StateWrite> PartitionState::BuildWrites(
    absl::string_view input_position, bool move_records) {
  std::vector<StateWrite> writes;
  writes.reserve(chunks_.size() + touched_windows_.entries.size() + 4);
  TakeEncoded(StateFamily::kWindows, &touched_windows_, &writes,
              &left_windows_);
  // The entries left to encode are scattered over the heap and mostly out
  // of cache by now, each behind dependent loads (the entity, its windows,
  // a long key's bytes): their memory is requested in stages, a few
  // entities ahead, so that the loads of several entities overlap.
  const size_t n_windows = left_windows_.size();
  for (size_t i = 0; i < n_windows; ++i) {
    if (i + 3 * kPrefetchDistance < n_windows) {
      __builtin_prefetch(left_windows_[i + 3 * kPrefetchDistance]);
    }
    if (i + 2 * kPrefetchDistance < n_windows) {
      PrefetchWindows(*left_windows_[i + 2 * kPrefetchDistance]);
    }
    if (i + kPrefetchDistance < n_windows) {
      __builtin_prefetch(
          left_windows_[i + kPrefetchDistance]->key.view().data());
    }
    EntityWindows* entity = left_windows_[i];
    if (!entity->changed()) continue;
    entity->written_clock_us = max_event_us_;
    std::string value = EncodeEntityWindows(*entity, &encode_scratch_);
    writes.push_back(
        value.empty()
            ? StateWrite::Erase(StateFamily::kWindows, entity->key.str())
            : StateWrite::Put(StateFamily::kWindows, entity->key.str(),
                              std::move(value)));
  }
  // Idle entities the sweep found, unless loaded since (then in memory:
  // maybe changed, and written above).
  for (std::string& key : sweep_erases_) {
    if (windows_.find(WindowsKeyName(key)) != windows_.end()) continue;
    writes.push_back(StateWrite::Erase(StateFamily::kWindows, std::move(key)));
    ++swept_entities_;
  }
  sweep_erases_.clear();
  // A customer's history read from the history family (state before format
  // 3) is in its value now: that key goes, in the batch that writes the
  // value.
  for (const Touched<EntityWindows>& t : touched_windows_.entries) {
    const EntityWindows& e = *t.entry;
    if (!e.legacy_history || !Written(t)) continue;
    // partition | '1' | id -> partition | id
    const absl::string_view key = e.key.view();
    writes.push_back(StateWrite::Erase(
        StateFamily::kHistory,
        absl::StrCat(key.substr(0, prefix_.size()),
                     key.substr(std::min(key.size(), prefix_.size() + 1)))));
  }
  for (RecordChunk& chunk : chunks_) {
    writes.push_back(StateWrite::Put(
        StateFamily::kDedupe, ChunkKey(chunk.day, chunk.sequence),
        move_records ? std::move(chunk.bytes) : std::string(chunk.bytes)));
  }
  if (!chunks_.empty()) {
    writes.push_back(StateWrite::Put(
        StateFamily::kOffsets, absl::StrCat(prefix_, kRecordChunkCounterKey),
        absl::StrCat(next_chunk_)));
    writes.push_back(StateWrite::Put(StateFamily::kOffsets,
                                     absl::StrCat(prefix_, kEventClockKey),
                                     absl::StrCat(max_event_us_)));
  }
  // The format goes with every batch that writes values in it (record
  // chunks, or windows values, which carry customers' histories since
  // format 3: a batch of hold settlements writes only those), so that no
  // older build takes such values for state it knows.
  if (!writes.empty()) {
    writes.push_back(StateWrite::Put(StateFamily::kOffsets,
                                     absl::StrCat(prefix_, kStateFormatKey),
                                     absl::StrCat(kStateFormat)));
  }
  // Records older than the retention go by range deletion.
  const int64_t keep_from_day = RecordsKeptFromDay();
  const bool expire = max_event_us_ > 0 && keep_from_day > expired_before_day_;
  expiring_before_day_ = expire ? keep_from_day : 0;
  if (expire) {
    std::string end = prefix_;
    AppendBigEndian32(keep_from_day, &end);
    writes.push_back(
        StateWrite::EraseRange(StateFamily::kDedupe, prefix_, std::move(end)));
  }
  writes.push_back(StateWrite::Put(StateFamily::kOffsets,
                                   absl::StrCat(prefix_, kInputPositionKey),
                                   std::string(input_position)));
  return writes;
}

absl::Status PartitionState::Flush(absl::string_view input_position) {
  // Nothing is marked clean before the batch is safe: a failed commit leaves
  // every change pending for the next flush. Nothing can look a record up
  // before this returns, so the record chunks move into the writes instead
  // of being copied (in order), and move back if the commit fails.
  std::vector<StateWrite> writes = BuildWrites(input_position, true);
  if (absl::Status s = store_->CommitTaking(&writes); !s.ok()) {
    auto chunk = chunks_.begin();
    for (StateWrite& w : writes) {
      if (w.family == StateFamily::kDedupe && !w.erase && !w.erase_range) {
        (chunk++)->bytes = std::move(w.value);
      }
    }
    return s;
  }
  FlushDone();
  return absl::OkStatus();
}

void PartitionState::FlushDone() {
  HandOff();
  Committed();
}

void PartitionState::HandOff() {
  for (Touched<EntityWindows>& t : touched_windows_.entries) {
    EntityWindows* e = t.entry;
    if (Written(t)) e->legacy_history = false;  // erased with this write
    e->dirty = false;
    if (e->history != nullptr) e->history->dirty = false;
    e->touched = false;
  }
  touched_windows_.entries.clear();
  touched_windows_.open.clear();
  handed_off_expiring_ = expiring_before_day_;
  expiring_before_day_ = 0;
  handed_off_chunks_.clear();
  handed_off_chunks_.swap(chunks_);
  open_chunks_.clear();
  pending_records_ = 0;
}

void PartitionState::Committed() {
  if (handed_off_expiring_ > 0) expired_before_day_ = handed_off_expiring_;
  handed_off_expiring_ = 0;
  handed_off_chunks_.clear();
  EvictClean();
}

void PartitionState::EvictClean() {
  // Entries handed out since the last flush (maybe changed since a
  // hand-off) stay. Iteration order of the hash tables is effectively random,
  // so this evicts a random sample.
  auto shrink = [](auto& map, size_t limit) {
    if (map.size() <= limit) return;
    size_t target = limit - limit / 10;
    for (auto it = map.begin(); it != map.end() && map.size() > target;) {
      if ((*it)->touched) {
        ++it;
      } else {
        map.erase(it++);
      }
    }
  };
  shrink(windows_, options_.max_cached_entities);
}

absl::Status PartitionState::ScanRecords(
    absl::string_view customer_id, int64_t from_us, int64_t to_us,
    const std::function<void(const TransactionRecordProto&)>& visit) {
  absl::StatusOr<CustomerHistory*> history = History(customer_id);
  if (!history.ok()) return history.status();
  const int64_t from_day = DayOf(from_us), to_day = DayOf(to_us);
  auto in_range = [&](int64_t at_us) {
    return DayOf(at_us) >= from_day && DayOf(at_us) <= to_day;
  };
  // The history says where each record is (copied: looking records up
  // does not change it, but the table is not ours to hold across calls).
  std::vector<std::pair<uint64_t, SeenTransaction>> seen;
  for (const auto& [id_hash, where] : (*history)->seen) {
    if (where.record != 0 && !where.reversed_before_arrival() &&
        in_range(where.at_us)) {
      seen.emplace_back(id_hash, where);
    }
  }
  std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
    return a.second.at_us != b.second.at_us ? a.second.at_us < b.second.at_us
                                            : a.second.record < b.second.record;
  });
  for (const auto& [id_hash, where] : seen) {
    absl::StatusOr<const TransactionRecordProto*> record =
        FindRecord(customer_id, "", where);
    if (!record.ok()) return record.status();
    if (*record != nullptr && (*record)->customer_id() == customer_id) {
      visit(**record);
    }
  }
  // Records stored before chunks: under keys of their own, by day and
  // customer. One rewritten since (a reversal) is in a chunk now.
  TransactionRecordProto record;
  for (int64_t day = from_day; day <= to_day; ++day) {
    std::string prefix = prefix_;
    AppendBigEndian32(day, &prefix);
    prefix.append(customer_id.data(), customer_id.size());
    prefix.push_back('\0');
    absl::Status s = store_->Scan(
        StateFamily::kDedupe, prefix,
        [&](absl::string_view, absl::string_view value) {
          if (!record.ParseFromArray(value.data(),
                                     static_cast<int>(value.size()))) {
            return true;
          }
          auto it =
              (*history)->seen.find(StableTextHash(record.transaction_id()));
          if (it == (*history)->seen.end() || it->second.record == 0) {
            visit(record);
          }
          return true;
        });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PartitionState::SweepIdle(
    const std::function<int64_t(uint64_t, int64_t)>& keep_from,
    size_t max_keys) {
  // Without a clock (nothing screened since the start, or ever), nothing is
  // known to be old.
  if (max_keys == 0 || max_event_us_ <= 0) return 0;
  const int64_t at_us = max_event_us_ - options_.dedupe_retention_us;
  size_t visited = 0;
  int64_t marked = 0;
  std::string resume_at;
  // Keys sort by kind after the prefix: the customers' come first, and are
  // passed over with one seek.
  if (sweep_from_.empty()) {
    sweep_from_ = prefix_;
    sweep_from_.push_back(static_cast<char>('0' + v1::ENTITY_CUSTOMER + 1));
  }
  absl::Status s = store_->ScanFrom(
      StateFamily::kWindows, prefix_, sweep_from_,
      [&](absl::string_view key, absl::string_view value) {
        if (visited == max_keys) {
          resume_at.assign(key.data(), key.size());
          return false;
        }
        ++visited;
        const Name name = WindowsKeyName(key);
        if (name.kind == '\0' ||
            name.kind == static_cast<char>('0' + v1::ENTITY_CUSTOMER)) {
          return true;
        }
        // Handed out since the last flush: in use. Otherwise an entry in
        // memory is clean, as stored: the stored value decides, and an idle
        // entry goes from memory too.
        auto cached = windows_.find(name);
        if (cached != windows_.end() && (*cached)->touched) return true;
        // A value that does not parse is left for Load to report. One
        // written within the retention of the clock stays: its customer's
        // transactions may lag the partition's, and still need it.
        if (!sweep_value_.ParseFromArray(value.data(),
                                         static_cast<int>(value.size())) ||
            sweep_value_.has_history() ||
            sweep_value_.written_clock_us() > at_us) {
          return true;
        }
        for (const WindowProto& w : sweep_value_.window()) {
          const int64_t keep = keep_from(w.fingerprint(), at_us);
          for (int64_t b : w.bucket_index()) {
            if (b >= keep) return true;
          }
          for (int64_t b : w.distinct_bucket()) {
            if (b >= keep) return true;
          }
        }
        if (cached != windows_.end()) windows_.erase(cached);
        sweep_erases_.emplace_back(key);
        ++marked;
        return true;
      });
  if (!s.ok()) return s;
  if (resume_at.empty()) ++sweep_passes_;
  sweep_from_ = std::move(resume_at);
  return marked;
}

absl::StatusOr<std::string> PartitionState::CommittedPosition() {
  bool found = false;
  std::string value;
  if (absl::Status s = GetOffset(kInputPositionKey, &value, &found); !s.ok()) {
    return s;
  }
  return found ? value : "";
}

}  // namespace txscreen::engine
