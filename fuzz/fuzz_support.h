// File: fuzz_support.h
//
// What the fuzz targets share: the shipped rule pack, loaded once, and a
// realistic transaction to evaluate expressions against. The targets are
// built twice: as libFuzzer binaries (fuzz/CMakeLists.txt, clang) and as
// corpus replays with fuzz_replay_main.cc (tests/CMakeLists.txt, any
// compiler), so every committed input is re-run by ctest.
//
// A broken harness invariant (the shipped pack does not load) aborts: it is
// a bug of the harness or of the pack, not an input to explore.
//
// Thread safety: none; libFuzzer runs one input at a time.
#ifndef TXSCREEN_FUZZ_FUZZ_SUPPORT_H_
#define TXSCREEN_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "rules/rule_set.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::fuzz {

// The shipped pack directory: $TXSCREEN_PACK_DIR, else rules/packs/cn of the
// source tree this binary was built from.
std::string ShippedPackDir();

// The shipped pack, loaded on first use. Aborts when it does not load.
const std::shared_ptr<const rules::RuleSet>& ShippedRuleSet();

// A valid counter transfer (2026-11-20, Asia/Shanghai) that exercises most
// transaction fields: memo, counterparty, customer, session, geo.
txscreen::v1::Transaction SampleTransaction();

// "Now" for the screeners of the fuzz targets: 2026-11-22T00:00:00Z, so that
// the sample dates are in the past and the validator's future check is
// exercised by inputs, not by the wall clock (replays are deterministic).
inline constexpr int64_t kFuzzNowMicros = 1795305600LL * 1000000;

// The records of an input made of records, each a base-128 varint length
// and that many bytes; when a length does not fit (or does not parse), the
// rest of the input is the last record. At most `max` records.
std::vector<absl::string_view> SplitRecords(const uint8_t* data, size_t size,
                                            size_t max);

// Aborts with `what` on stderr (a harness invariant or a property of the
// code under test that an input broke).
[[noreturn]] void Fail(const std::string& what);

}  // namespace txscreen::fuzz

#endif  // TXSCREEN_FUZZ_FUZZ_SUPPORT_H_
