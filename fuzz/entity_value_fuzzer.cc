// Fuzz target: a customer's value in the windows family as read back from
// the state store (engine/state.proto, EntityWindowsProto: its windows and,
// since state format 3, its history in field 2), damaged in any way a disk
// or a bug could damage it. The input is the value's bytes. Loading the
// customer's history and windows gives them or DataLoss, never another
// error or a crash; what loads is written back by a flush as a value
// protobuf parses, and loading that again gives the same history (its
// tables in any order) and the same windows, byte for byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/casts.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/partition_state.h"
#include "engine/state.pb.h"
#include "engine/state_store.h"
#include "fuzz/fuzz_support.h"
#include "txscreen/v1/rules.pb.h"

namespace {

namespace engine = txscreen::engine;
namespace v1 = txscreen::v1;

struct Loaded {
  bool ok = false;
  std::string history;  // Canonical()
  std::string windows;  // encoded, history left out
};

// A history as text, its tables in key order: the order in which they
// encode is the hash tables' and may differ between two loads.
std::string Canonical(const engine::CustomerHistory& h) {
  std::string out = absl::StrCat(h.has_previous, " ", h.has_geo, " ",
                                 h.last_at_us, " ", h.last_region_code, " ",
                                 absl::bit_cast<uint64_t>(h.last_lat), " ",
                                 absl::bit_cast<uint64_t>(h.last_lon), "\n");
  std::vector<std::pair<uint64_t, engine::PaidPayee>> payees(h.payees.begin(),
                                                             h.payees.end());
  std::sort(payees.begin(), payees.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [k, paid] : payees) {
    absl::StrAppend(&out, k, "@", paid.first_us, "-", paid.last_us, " ");
  }
  std::vector<std::pair<uint64_t, engine::SeenTransaction>> seen(h.seen.begin(),
                                                                 h.seen.end());
  std::sort(seen.begin(), seen.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [k, s] : seen) {
    absl::StrAppend(&out, "\n", k, "@", s.at_us, "#", s.record);
  }
  return out;
}

Loaded Load(engine::PartitionState* state) {
  Loaded out;
  absl::StatusOr<engine::CustomerHistory*> history = state->History("C1");
  absl::StatusOr<engine::EntityWindows*> windows =
      state->FindWindows(v1::ENTITY_CUSTOMER, "C1");
  for (const absl::Status& s : {history.status(), windows.status()}) {
    if (!s.ok() && s.code() != absl::StatusCode::kDataLoss) {
      txscreen::fuzz::Fail("a damaged value gave an error other than DataLoss");
    }
  }
  if (history.ok() != windows.ok()) {
    txscreen::fuzz::Fail("the history and the windows of one value disagree");
  }
  if (!history.ok()) return out;
  out.ok = true;
  out.history = Canonical(**history);
  if (*windows != nullptr) {
    engine::EntityWindows copy;
    copy.windows = (*windows)->windows;
    out.windows = engine::EncodeEntityWindows(copy);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // partition 0 | '0' + ENTITY_CUSTOMER | id, as partition_state.h keys it.
  const std::string key =
      engine::PartitionPrefix(0) +
      static_cast<char>('0' + static_cast<int>(v1::ENTITY_CUSTOMER)) + "C1";
  std::unique_ptr<engine::StateStore> store = engine::NewMemoryStateStore();
  if (!store
           ->Commit({engine::StateWrite::Put(
               engine::StateFamily::kWindows, key,
               std::string(reinterpret_cast<const char*>(data), size))})
           .ok()) {
    txscreen::fuzz::Fail("the memory store refused a write");
  }
  Loaded first;
  {
    engine::PartitionState state(store.get(), 0);
    first = Load(&state);
    if (!first.ok) return 0;
    // Changed: written back whole by the flush.
    (*state.History("C1"))->dirty = true;
    state.EndTransaction();
    if (!state.Flush("1").ok()) {
      txscreen::fuzz::Fail("a loaded value could not be written back");
    }
  }
  // What was written is protobuf's EntityWindowsProto (or nothing, erased).
  std::string written;
  bool found = false;
  if (!store->Get(engine::StateFamily::kWindows, key, &written, &found).ok()) {
    txscreen::fuzz::Fail("the memory store failed a read");
  }
  engine::EntityWindowsProto parsed;
  if (found && !parsed.ParseFromString(written)) {
    txscreen::fuzz::Fail("a value written back is not an EntityWindowsProto");
  }
  engine::PartitionState again(store.get(), 0);
  const Loaded second = Load(&again);
  if (!second.ok) {
    txscreen::fuzz::Fail("a value written back does not load");
  }
  if (second.history != first.history) {
    txscreen::fuzz::Fail("the history changed through a write and a load");
  }
  if (second.windows != first.windows) {
    txscreen::fuzz::Fail("the windows changed through a write and a load");
  }
  return 0;
}
