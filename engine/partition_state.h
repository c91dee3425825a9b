// File: partition_state.h
//
// The hot state of one input partition, in memory: entity windows, customer
// histories and the records of recently screened transactions. Misses load
// from the StateStore; changes are written behind by Flush(), in one atomic
// batch together with the input position, so that after a crash the state
// and the position agree and every transaction affects state exactly once.
// The screener ends each transaction with EndTransaction(), which encodes
// what it changed while that is still in cache; the flush then mostly moves
// finished values into its batch.
//
// Thread safety: none. One partition is processed by one thread.
#ifndef TXSCREEN_ENGINE_PARTITION_STATE_H_
#define TXSCREEN_ENGINE_PARTITION_STATE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/state.pb.h"
#include "engine/state_store.h"
#include "engine/window.h"
#include "txscreen/v1/decision.pb.h"

namespace txscreen::engine {

// rules::StableHash of text, never 0: for persisted keys (hashed ids).
uint64_t StableTextHash(absl::string_view text);

// An entry's key in the store, its bytes inside the entry when they fit
// (a look-up compares them: no cache miss on a string elsewhere). 24 bytes
// hold the 4-byte partition prefix, the kind and a 19-digit account number.
class EntryKey {
 public:
  absl::string_view view() const { return {bytes_.data(), bytes_.size()}; }
  std::string str() const { return std::string(view()); }
  void assign(absl::string_view key) { bytes_.assign(key.begin(), key.end()); }

 private:
  absl::InlinedVector<char, 24> bytes_;
};

// A transaction a customer's history remembers: its event time, and where
// its record is.
struct SeenTransaction {
  int64_t at_us = 0;
  // The record's chunk sequence number << 16 | its index in the chunk
  // (TransactionRecordChunkProto); 0: under a key of its own (written before
  // chunks), or none.
  uint64_t record = 0;

  // `record` of an entry that says a reversal of this transaction came
  // before it (at `at_us`, the reversal's event time): when it arrives,
  // it is screened but counts nowhere. FindRecord finds no record for it.
  static constexpr uint64_t kReversedBeforeArrival = ~uint64_t{0};

  bool reversed_before_arrival() const {
    return record == kReversedBeforeArrival;
  }
  friend bool operator==(const SeenTransaction&,
                         const SeenTransaction&) = default;
};

// A payee a customer paid: when first (within the payee memory; kUnknown
// for state written before this was kept) and last.
struct PaidPayee {
  static constexpr int64_t kUnknown = std::numeric_limits<int64_t>::min();
  int64_t first_us = kUnknown;
  int64_t last_us = 0;

  friend bool operator==(const PaidPayee&, const PaidPayee&) = default;
};

// A customer's history: CustomerHistoryProto's fields as plain members (the
// message kept its region code in a string of its own on the heap, one more
// cache miss per transaction, and spanned twice the cache lines); the
// repeated fields live in the two tables. In the order a transaction reads
// them: the retention bounds, the dedupe table, the last transaction, the
// payees. The customer's EntityWindows owns it, and its value holds it.
struct CustomerHistory {
  // The last transaction that moved money (fields 1-6, with those below).
  bool has_previous = false;
  bool has_geo = false;
  bool dirty = false;
  int64_t last_at_us = 0;
  // The earliest event time at which an entry of `seen` (of `payees`) can
  // be past its retention: PartitionState::Expire walks a table only from
  // then on. Kept by Expire, See and Pay (not persisted; the lowest value,
  // "walk at the next Expire", after a load). An entry written into a table
  // directly is only expired once Expire walks that table for another.
  int64_t seen_expire_from_us = std::numeric_limits<int64_t>::min();
  int64_t payees_expire_from_us = std::numeric_limits<int64_t>::min();
  // The latest event time in `seen` (kept by See, PutRecord and the load;
  // not persisted). Expire forgets entries older than the retention before
  // the transaction it runs for, which `seen` then holds: so whether a
  // transaction older than this minus the retention was seen can no longer
  // be told (PartitionState::DedupeHorizon).
  int64_t seen_latest_us = std::numeric_limits<int64_t>::min();
  // id hash -> event time and record, for duplicates and reversals.
  absl::flat_hash_map<uint64_t, SeenTransaction> seen;
  double last_lat = 0;
  double last_lon = 0;
  std::string last_region_code;
  // counterparty account hash -> first and last payment time.
  absl::flat_hash_map<uint64_t, PaidPayee> payees;
};

// All windows of one entity, by feature fingerprint.
struct EntityWindows {
  std::vector<std::pair<uint64_t, WindowState>> windows;
  bool dirty = false;
  // Bookkeeping of PartitionState: handed out since the last flush, and its
  // place in the list of those; the store has nothing for this entity (a
  // marker, never handed out, so that such entities cost no store read per
  // transaction); the entity's key in the store.
  bool touched = false;
  bool absent = false;
  // The history below was read from the history family (state before
  // format 3): that key is erased with this entity's next write.
  bool legacy_history = false;
  uint32_t touched_index = 0;
  // The partition's event clock when the value was last encoded
  // (EntityWindowsProto.written_clock_us; not for customers).
  int64_t written_clock_us = 0;
  EntryKey key;
  // A customer's history (customers only; null until History() asks for
  // it), stored in the same value: one write per customer, not two.
  std::unique_ptr<CustomerHistory> history;

  // Changed since the last flush: the windows or the history.
  bool changed() const {
    return dirty || (history != nullptr && history->dirty);
  }
  WindowState* Find(uint64_t fingerprint);
  WindowState* FindOrAdd(uint64_t fingerprint);
  // The index in `windows` of the window with `fingerprint`, added empty
  // when missing. Indexes stay valid: windows are only ever appended.
  uint32_t IndexOrAdd(uint64_t fingerprint);
};

// The stored values: EntityWindowsProto (windows that hold nothing left out,
// a customer's history in field 2; "" when nothing is left) and
// CustomerHistoryProto (with the dedupe and payee maps), encoded straight
// from memory.
std::string EncodeEntityWindows(const EntityWindows& entity);
// The same, with `scratch` for the work (kept between calls).
std::string EncodeEntityWindows(const EntityWindows& entity,
                                std::string* scratch);
std::string EncodeCustomerHistory(const CustomerHistory& history);

// What a screened transaction added to one window, so that a reversal can
// take back exactly that.
struct WindowContribution {
  uint64_t fingerprint = 0;
  txscreen::v1::Entity entity = txscreen::v1::ENTITY_UNSPECIFIED;
  int64_t bucket = 0;
  int64_t value = 0;
  uint64_t key = 0;
};

// The record of a transaction just screened, encoded by PutRecord as a
// TransactionRecordProto straight from these fields. The views must stay
// valid for the call only.
struct ScreenedRecord {
  absl::string_view transaction_id;
  absl::string_view customer_id;
  int64_t occurred_at_us = 0;
  absl::string_view account_id;
  absl::string_view counterparty_account_id;
  absl::string_view device_id;
  absl::Span<const WindowContribution> contributions;
  // Taken back already (its reversal came first).
  bool reversed = false;
};

// Whether a key of the dedupe family is a chunk's (TransactionRecordChunkProto)
// rather than one record's, stored before chunks.
bool IsRecordChunkKey(absl::string_view key);
// The number of records in a chunk, walking their headers; -1 when the
// bytes are damaged.
int64_t RecordsInChunk(absl::string_view chunk);
// Whether a value of the windows family holds a customer's history (state
// format 3): 1 it does, 0 it does not (another entity's, or windows only),
// -1 a customer's value that does not parse.
int CustomerHistoryInValue(absl::string_view key, absl::string_view value);

// The bytes of `record` as a TransactionRecordProto with `decision` in its
// decision field: what PutRecord stores (exposed for its test).
void EncodeRecord(const ScreenedRecord& record,
                  const txscreen::v1::Decision& decision, std::string* out);

struct PartitionStateOptions {
  // Transactions remembered for duplicate detection and reversal, by event
  // time. Default: 7 days.
  int64_t dedupe_retention_us = 7LL * 86400 * 1000000;
  // Payees remembered for "first payment to this counterparty". Default: 400
  // days; at most `max_payees` per customer (oldest forgotten first).
  int64_t payee_retention_us = 400LL * 86400 * 1000000;
  size_t max_payees = 1000;
  // Entities kept in memory (a customer's history goes with its entity);
  // beyond this, clean ones are evicted after a flush and reloaded from the
  // store on their next transaction. Default: 2,000,000.
  size_t max_cached_entities = 2000000;
  // The lowest number the next record chunk may have (when higher than the
  // store's counter). A state opened again after a commit that may have
  // reached the changelog but not the store (serve's rewind) passes the
  // next_chunk() of the state it replaces, so that no chunk number is given
  // twice.
  uint64_t min_next_chunk = 0;
};

// The newest format of the state's values this build reads and the one it
// writes (kStateFormatKey in state_store.h).
inline constexpr int kStateFormat = 3;

class PartitionState {
 public:
  // `store` must outlive this object.
  PartitionState(StateStore* store, int32_t partition,
                 PartitionStateOptions options = {});

  // Loaded or created. The pointer is valid until Flush(); set `dirty` on
  // it to have the change written by the next Flush() (once EndTransaction
  // has been called, only through a pointer handed out since: see there).
  absl::StatusOr<EntityWindows*> Windows(txscreen::v1::Entity kind,
                                         absl::string_view id);
  // The entity if it has state (memory or store), else nullptr.
  absl::StatusOr<EntityWindows*> FindWindows(txscreen::v1::Entity kind,
                                             absl::string_view id);
  absl::StatusOr<CustomerHistory*> History(absl::string_view customer_id);

  // The record of a customer's earlier transaction, which its history
  // remembers as `seen`, or nullptr. The pointer is valid until the next
  // FindRecord. The caller checks the id (`seen` is found by its hash).
  // Records go into chunks, one per event day and ~32 KiB
  // (TransactionRecordChunkProto: one store write and one changelog message
  // for ~85 transactions instead of one each), and old chunks are removed
  // by range deletion by day (never by a TTL).
  absl::StatusOr<const TransactionRecordProto*> FindRecord(
      absl::string_view customer_id, absl::string_view transaction_id,
      const SeenTransaction& seen);
  // The same, looked up in the customer's history.
  absl::StatusOr<const TransactionRecordProto*> FindRecord(
      absl::string_view customer_id, absl::string_view transaction_id);
  // Stores `record` (a new one, or one changed: a reversal marks its
  // original) and has its customer's history remember it.
  absl::Status PutRecord(const TransactionRecordProto& record);
  // The record of a transaction just screened, with `decision` in its
  // `decision` field, encoded in place (EncodeRecord); `history` is its
  // customer's, which remembers it (as See does, with where the record is).
  // `history` must come from History(): the first History() loads the
  // counter that numbers the chunks.
  void PutRecord(CustomerHistory* history, const ScreenedRecord& record,
                 const txscreen::v1::Decision& decision);
  // Visits the records of a customer's transactions that occurred on the
  // UTC days of [from_us, to_us] (for inspection tools), in the order they
  // occurred; records of the layout before chunks after those.
  absl::Status ScanRecords(
      absl::string_view customer_id, int64_t from_us, int64_t to_us,
      const std::function<void(const TransactionRecordProto&)>& visit);

  // Forgets a customer's dedupe and payee entries older than the retention
  // before `now_us` (event time), and payees beyond `max_payees`. Walks a
  // table only when one of its entries can be that old, so a customer with
  // hundreds of payees does not pay for all of them at each transaction.
  void Expire(CustomerHistory* history, int64_t now_us);
  // Remembers in a history the transaction `id_hash` at `at_us` (without
  // a record: PutRecord remembers those), and a payment to `payee` at
  // `at_us` (the latest payment kept): the way to add to its tables, which
  // keeps Expire's bounds. Both mark it dirty.
  void See(CustomerHistory* history, uint64_t id_hash, int64_t at_us);
  // Remembers that a reversal at `at_us` came for `id_hash` before the
  // transaction itself (SeenTransaction::kReversedBeforeArrival).
  void SeeReversedBeforeArrival(CustomerHistory* history, uint64_t id_hash,
                                int64_t at_us);
  // The earliest event time of a transaction whose absence from `seen`
  // still means it was not screened: the customer's entries before it may
  // have been forgotten (Expire). One clock for duplicates: the customer's
  // own transactions, never the partition's or a flush's.
  int64_t DedupeHorizon(const CustomerHistory& history) const;
  void Pay(CustomerHistory* history, uint64_t payee, int64_t at_us);

  // The sweep of idle entities: an account, device or counterparty account
  // whose stored windows hold no bucket the rules still need is erased by
  // the next flush (from the store, and from the changelog with it), so
  // that entities never seen again do not stay forever. Customers stay:
  // their histories (dormancy, known payees) outlive their windows.
  // Visits up to `max_keys` stored entities, on from where the last call
  // stopped (starting over after the last), and leaves those handed out
  // since the last flush (in use); an idle one in memory is evicted with
  // its erasure. `keep_from(fingerprint, at_us)` is the
  // first bucket that the window with `fingerprint` keeps for a
  // transaction at `at_us`, or int64 max when no current window has that
  // fingerprint; `at_us` is the partition's event clock minus the dedupe
  // retention. An entity written while the clock was later than `at_us`
  // stays whatever its buckets (written_clock_us): input is in time order
  // per customer only, and a customer's transactions may lag the clock
  // that far and still need it. Call right before a flush, and not between
  // BuildFlush and Committed. Returns how many entities it marked.
  absl::StatusOr<int64_t> SweepIdle(
      const std::function<int64_t(uint64_t fingerprint, int64_t at_us)>&
          keep_from,
      size_t max_keys);
  // Entities erased as idle by the flushes built (a failed commit's
  // included), and full passes of the sweep. The sweep's place is not
  // kept: a new PartitionState (a restart, a rebalance) starts a pass anew.
  int64_t swept_entities() const { return swept_entities_; }
  int64_t sweep_passes() const { return sweep_passes_; }

  // Says that the transaction under way has made all its changes: the
  // entities and the history it changed for the first time since the last
  // flush are encoded for that flush now, while their memory is still in
  // cache (at the flush it mostly is not); those changed again later are
  // encoded by the flush. Optional (the flush encodes whatever is left),
  // but once called, a change to an entry is only seen if the entry is
  // handed out again first: set `dirty` on a pointer from this
  // transaction, never on one kept from an earlier one.
  void EndTransaction();

  // Writes every change since the last flush, with `input_position` in the
  // offsets family, atomically: BuildFlush, the store's Commit, FlushDone.
  absl::Status Flush(absl::string_view input_position);
  // The two halves of Flush, for a caller that also replicates the writes
  // (the streaming service's changelog): BuildFlush returns the writes of
  // every change since the last flush; once the caller has made them safe,
  // FlushDone marks the state clean. Nothing may change in between. If the
  // writes never become safe, drop this PartitionState and open a new one
  // over the store: it holds the last flush.
  std::vector<StateWrite> BuildFlush(absl::string_view input_position);
  void FlushDone();
  // FlushDone in two steps, for a caller that makes the writes safe on
  // another thread while screening goes on: HandOff right after BuildFlush
  // (changes from then on belong to the next flush; the handed-off records
  // stay findable, and nothing is evicted, so no read goes to the store for
  // what it does not have yet), then Committed once the writes are safe.
  // At most one hand-off outstanding: BuildFlush only after Committed.
  void HandOff();
  void Committed();
  // The input position of the last flush ("" when none).
  absl::StatusOr<std::string> CommittedPosition();

  size_t pending_records() const { return pending_records_; }
  // The number the next record chunk gets (0 before the first History()).
  uint64_t next_chunk() const { return next_chunk_; }
  int32_t partition() const { return partition_; }
  const PartitionStateOptions& options() const { return options_; }

 private:
  std::string& Key(txscreen::v1::Entity kind, absl::string_view id);
  // BuildFlush; with `move_records` the pending records move into the
  // writes (Flush, which restores them when the commit fails).
  std::vector<StateWrite> BuildWrites(absl::string_view input_position,
                                      bool move_records);
  // The entries in memory, each holding its own store key, found by the
  // key without the partition prefix: a look-up reads the table and the
  // entry, with no key node (and key bytes elsewhere) in between.
  struct Name {
    char kind;  // '0' + the entity kind
    absl::string_view id;
  };
  // The name of a key of the windows family.
  static Name WindowsKeyName(absl::string_view key);
  template <typename T>
  struct ByName {
    using is_transparent = void;
    static Name Of(const T& entry);
    size_t operator()(const Name& n) const;
    size_t operator()(const std::unique_ptr<T>& e) const {
      return (*this)(Of(*e));
    }
    bool operator()(const std::unique_ptr<T>& a,
                    const std::unique_ptr<T>& b) const {
      return a->key.view() == b->key.view();
    }
    bool operator()(const std::unique_ptr<T>& a, const Name& b) const {
      const Name n = Of(*a);
      return n.kind == b.kind && n.id == b.id;
    }
    bool operator()(const Name& a, const std::unique_ptr<T>& b) const {
      return (*this)(b, a);
    }
  };
  using WindowsTable =
      absl::flat_hash_set<std::unique_ptr<EntityWindows>, ByName<EntityWindows>,
                          ByName<EntityWindows>>;

  // Where the value of an entry handed out since the last flush stands.
  enum class Pending : uint8_t {
    kOpen,     // handed out in the transaction under way (or outside one)
    kClean,    // unchanged when its transaction ended
    kEncoded,  // changed: `key` and `value` are its write (EndTransaction)
    kStale,    // handed out again after it was encoded: the flush encodes it
  };
  template <typename T>
  struct Touched {
    T* entry;
    Pending pending = Pending::kOpen;
    std::string key;
    std::string value;
  };
  // The flush being built writes this entry's value: encoded at the end of
  // its transaction, or changed and encoded by the flush. (An entry clean
  // when its transaction ended has no write, whatever was done to it since.)
  template <typename T>
  static bool Written(const Touched<T>& t) {
    return t.pending != Pending::kClean && t.entry->changed();
  }
  template <typename T>
  struct TouchedList {
    std::vector<Touched<T>> entries;
    // Indexes into `entries` of those in state kOpen.
    std::vector<uint32_t> open;
  };
  // Notes that the entry was handed out since the last flush.
  EntityWindows* Touch(EntityWindows* entity) {
    Touch(entity, &touched_windows_);
    return entity;
  }
  template <typename T>
  static void Touch(T* entry, TouchedList<T>* list);
  // EndTransaction's work on one list: the open entries that are dirty
  // encoded by `encode`, the others marked clean.
  template <typename T, typename Encode>
  static void EncodeOpen(TouchedList<T>* list, Encode encode);
  // Appends the writes EndTransaction encoded to *writes, and to *left the
  // entries that may have changed since (or were never ended): the caller
  // encodes those that are dirty.
  template <typename T>
  static void TakeEncoded(StateFamily family, TouchedList<T>* list,
                          std::vector<StateWrite>* writes,
                          std::vector<T*>* left);
  void EvictClean();
  // The entity in memory, loaded or marked absent (not handed out).
  absl::StatusOr<EntityWindows*> Load(txscreen::v1::Entity kind,
                                      absl::string_view id);
  // The key of a record stored before chunks.
  std::string RecordKey(absl::string_view customer_id,
                        absl::string_view transaction_id,
                        int64_t occurred_at_us) const;
  std::string ChunkKey(int64_t day, uint64_t sequence) const;
  // The first event day (UTC) whose records are within the retention by
  // the partition's clock; the lowest int64 before any record.
  int64_t RecordsKeptFromDay() const;
  // The offsets family's `name` of this partition.
  absl::Status GetOffset(absl::string_view name, std::string* value,
                         bool* found);
  // Loads the chunk counter (done with the first history), after checking
  // that the state's format is one this build reads.
  absl::Status LoadChunkCounter();
  // Room for a record of `size` bytes at the end of a chunk of `day`'s
  // records: where to write it, and its SeenTransaction::record.
  uint8_t* AppendRecord(int64_t day, size_t size, uint64_t* where);
  void Remember(CustomerHistory* history, uint64_t id_hash, int64_t at_us,
                uint64_t record);
  // Records written since the last flush, in chunks (sequence order); and
  // those of the flush handed off and not yet committed.
  struct RecordChunk {
    int64_t day = 0;
    uint64_t sequence = 0;
    uint32_t records = 0;
    std::string bytes;  // TransactionRecordChunkProto
  };
  // The chunk with `sequence` among those not yet committed, or nullptr.
  const RecordChunk* PendingChunk(uint64_t sequence) const;

  StateStore* store_;
  int32_t partition_;
  PartitionStateOptions options_;
  std::string prefix_;
  std::string key_;    // scratch
  std::string value_;  // scratch
  std::string encode_scratch_;
  WindowsTable windows_;
  // Handed out since the last flush: only these can be dirty.
  TouchedList<EntityWindows> touched_windows_;
  // Scratch of BuildWrites.
  std::vector<EntityWindows*> left_windows_;
  std::vector<RecordChunk> chunks_;
  std::vector<RecordChunk> handed_off_chunks_;
  // The chunk of chunks_ (index) each event day's records go to: usually
  // one day.
  absl::InlinedVector<std::pair<int64_t, uint32_t>, 2> open_chunks_;
  size_t pending_records_ = 0;
  // The next chunk's sequence number; 0 until loaded.
  uint64_t next_chunk_ = 0;
  // The record FindRecord returned last.
  TransactionRecordProto found_record_;
  // Latest event time of a record (kEventClockKey, loaded with the chunk
  // counter); records older than it minus the retention are gone, and
  // range-deleted at flush.
  int64_t max_event_us_ = 0;
  int64_t expired_before_day_ = 0;
  // Set by BuildFlush when its writes range-delete records before this day;
  // moved to handed_off_expiring_ by HandOff.
  int64_t expiring_before_day_ = 0;
  int64_t handed_off_expiring_ = 0;
  // The sweep (SweepIdle): where its next call starts ("": at the first
  // key after the customers'), the keys it marked for the next flush, its
  // scratch, its totals.
  std::string sweep_from_;
  std::vector<std::string> sweep_erases_;
  EntityWindowsProto sweep_value_;
  int64_t swept_entities_ = 0;
  int64_t sweep_passes_ = 0;
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_PARTITION_STATE_H_
