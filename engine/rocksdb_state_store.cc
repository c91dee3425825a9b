// The RocksDB adapter: the only file that sees RocksDB types.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/state_store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"

namespace txscreen::engine {
namespace {

constexpr const char* kFamilyNames[kStateFamilyCount] = {
    "windows", "history", "dedupe", "offsets", "holds", "audit"};

absl::Status ToStatus(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("state store: ", what, ": ", s.ToString()));
}

class RocksStateStore : public StateStore {
 public:
  ~RocksStateStore() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }

  absl::Status Open(const std::string& dir, bool read_only,
                    const StateStoreOptions& store_options) {
    std::error_code ec;
    if (read_only) {
      if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT",
                                   ec)) {
        return absl::NotFoundError(
            absl::StrCat("state store: no state in ", dir));
      }
    } else {
      std::filesystem::create_directories(dir, ec);
    }
    if (ec) {
      return absl::InternalError(
          absl::StrCat("state store: cannot create ", dir, ": ", ec.message()));
    }
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.IncreaseParallelism(2);
    rocksdb::ColumnFamilyOptions cf;
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    if (store_options.memory_bytes > 0) {
      // One budget for all of RocksDB's memory: the block cache holds data,
      // index and filter blocks, and the memtables of every family are
      // charged to it (flushed when they pass half of it).
      const size_t budget = store_options.memory_bytes;
      // Index and filter blocks are in the cache too, so they are
      // partitioned: a whole filter of a large file (about a megabyte per
      // million keys) thrown out and read back, checksummed, per lookup made
      // cold lookups cost ~0.9 ms (BM_ColdStatePath/1000000).
      std::shared_ptr<rocksdb::Cache> cache =
          rocksdb::NewLRUCache(budget, -1, false, /*high_pri_pool_ratio=*/0.2);
      table.block_cache = cache;
      table.cache_index_and_filter_blocks = true;
      table.cache_index_and_filter_blocks_with_high_priority = true;
      table.pin_l0_filter_and_index_blocks_in_cache = true;
      table.pin_top_level_index_and_filter = true;
      table.index_type =
          rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
      table.partition_filters = true;
      table.metadata_block_size = 4096;
      options.write_buffer_manager =
          std::make_shared<rocksdb::WriteBufferManager>(budget / 2, cache);
      cf.write_buffer_size = std::max<size_t>(4 << 20, budget / 8);
      cf.max_write_buffer_number = 2;
    }
    // A Bloom filter over each memtable's whole keys: a lookup of a key that
    // is only in the files (a cold customer's state) skips the search of
    // the skip list (6.9 % of serve's CPU at 8,000 tx/s before).
    cf.memtable_whole_key_filtering = true;
    cf.memtable_prefix_bloom_size_ratio = 0.05;
    // No compression where values are rewritten within minutes (every
    // change rewrites a customer's whole value): snappy at each flush and
    // compaction of L0 and L1 took ~8 % of serve's CPU at 16,000/s;
    // without it RocksDB's threads went from ~4.3 to ~2.2 µs per
    // transaction, for ~25 % more disk while the state is small
    // (bench/README.md). The levels below, where state settles, use LZ4.
    cf.compression_per_level = {rocksdb::kNoCompression,
                                rocksdb::kNoCompression,
                                rocksdb::kLZ4Compression};
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf);
    for (const char* name : kFamilyNames) families.emplace_back(name, cf);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s =
        read_only ? rocksdb::DB::OpenForReadOnly(options, dir, families,
                                                 &handles, &db)
                  : rocksdb::DB::Open(options, dir, families, &handles, &db);
    if (!s.ok()) return ToStatus(s, absl::StrCat("open ", dir));
    db_.reset(db);
    handles_ = handles;
    return absl::OkStatus();
  }

  absl::Status Get(StateFamily family, absl::string_view key,
                   std::string* value, bool* found) override {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(family),
                                 rocksdb::Slice(key.data(), key.size()), value);
    *found = s.ok();
    if (s.IsNotFound()) return absl::OkStatus();
    return ToStatus(s, "get");
  }

  absl::Status Commit(const std::vector<StateWrite>& writes) override {
    // The batch goes into each family's memtable, a skip list, in batch
    // order; a write next to the one before it is found from where that one
    // went instead of from the top. So the writes are put in (family, key)
    // order: stable, so writes of one key keep their order, and only between
    // range deletions, which take what was written before them and nothing
    // after. The write-behind's entities come in hash order; sorted, a
    // flush of 10,000 transactions takes ~20 % less (BM_StateFlush,
    // bench/README.md).
    // (Local: holds and audit commit from other threads than the engine's.)
    std::vector<const StateWrite*> order;
    order.reserve(writes.size());
    for (const StateWrite& w : writes) order.push_back(&w);
    auto by_family_and_key = [](const StateWrite* a, const StateWrite* b) {
      if (a->family != b->family) return a->family < b->family;
      return a->key < b->key;
    };
    auto segment = order.begin();
    for (auto it = order.begin();; ++it) {
      if (it == order.end() || (*it)->erase_range) {
        std::stable_sort(segment, it, by_family_and_key);
        if (it == order.end()) break;
        segment = it + 1;
      }
    }
    rocksdb::WriteBatch batch;
    for (const StateWrite* p : order) {
      const StateWrite& w = *p;
      rocksdb::Status s =
          w.erase_range
              ? batch.DeleteRange(Handle(w.family), w.key, w.end_key())
          : w.erase ? batch.Delete(Handle(w.family), w.key)
                    : batch.Put(Handle(w.family), w.key, w.value);
      if (!s.ok()) return ToStatus(s, "batch");
    }
    return ToStatus(db_->Write(rocksdb::WriteOptions(), &batch), "write");
  }

  absl::Status DropPartition(int32_t partition) override {
    std::string begin = PartitionPrefix(partition);
    // The next prefix, computed unsigned so the last partition has one too.
    std::string end = PartitionPrefix(
        static_cast<int32_t>(static_cast<uint32_t>(partition) + 1));
    if (static_cast<uint32_t>(partition) == 0xFFFFFFFFu)
      end = std::string(5, '\xff');
    rocksdb::WriteBatch batch;
    for (int f = 0; f < kStateFamilyCount; ++f) {
      rocksdb::Status s = batch.DeleteRange(handles_[f + 1], begin, end);
      if (!s.ok()) return ToStatus(s, "drop partition");
    }
    return ToStatus(db_->Write(rocksdb::WriteOptions(), &batch),
                    "drop partition");
  }

  absl::Status ScanFrom(StateFamily family, absl::string_view prefix,
                        absl::string_view start,
                        const Visitor& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), Handle(family)));
    const absl::string_view from = std::max(start, prefix);
    for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid();
         it->Next()) {
      absl::string_view key(it->key().data(), it->key().size());
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!visit(key,
                 absl::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    return ToStatus(it->status(), "scan");
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(StateFamily f) {
    return handles_[static_cast<int>(f) + 1];
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksStateStore(
    const std::string& dir, const StateStoreOptions& options) {
  auto store = std::make_unique<RocksStateStore>();
  if (absl::Status s = store->Open(dir, false, options); !s.ok()) return s;
  return std::unique_ptr<StateStore>(std::move(store));
}

absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksStateStoreReadOnly(
    const std::string& dir) {
  auto store = std::make_unique<RocksStateStore>();
  StateStoreOptions options;
  options.memory_bytes = 64 << 20;  // a tool's look: small
  if (absl::Status s = store->Open(dir, true, options); !s.ok()) return s;
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace txscreen::engine
