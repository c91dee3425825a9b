// Fuzz target: CSV mapping files and the CSV rows they map (backtest and
// rules diff on another bank's export). The input is a mapping file, a line
// "----", then CSV text. Checked:
//   - no crash, no sanitizer report, whatever the mapping and the CSV;
//   - a mapping is either loaded or refused with errors, each one line
//     naming the file ("m.textproto:LINE:COL: ..." or "m.textproto: ...");
//   - a row is a transaction, skipped or bad, and skipped and bad rows
//     always come with a reason on one line (it is printed as FILE:LINE:
//     reason, one per line).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "compliance/csv_mapping.h"
#include "engine/csv.h"
#include "fuzz/fuzz_support.h"

namespace {

using txscreen::fuzz::Fail;
using Mapping = txscreen::compliance::CsvMapping;

constexpr size_t kMaxRows = 1000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find("\n----\n");
  const std::string mapping_text = input.substr(0, split);
  const std::string csv =
      split == std::string::npos ? "" : input.substr(split + 6);
  std::vector<std::string> errors;
  std::unique_ptr<Mapping> mapping =
      Mapping::Parse("m.textproto", mapping_text, &errors);
  if ((mapping == nullptr) == errors.empty()) {
    Fail("Parse returned a mapping together with errors, or neither");
  }
  for (const std::string& e : errors) {
    if (!absl::StartsWith(e, "m.textproto") ||
        e.find('\n') != std::string::npos) {
      Fail("an error does not name the file on one line: '" + e + "'");
    }
  }
  if (mapping == nullptr) return 0;
  txscreen::engine::CsvReader reader(csv, mapping->separator());
  txscreen::engine::CsvRow row, header;
  if (mapping->has_header() && !reader.Next(&header)) return 0;
  errors.clear();
  if (!mapping->BindHeader(header, &errors)) {
    if (errors.empty()) Fail("BindHeader failed without an error");
    for (const std::string& e : errors) {
      if (e.find('\n') != std::string::npos)
        Fail("a header error spans lines: '" + e + "'");
    }
    return 0;
  }
  txscreen::v1::Transaction tx;
  std::string why;
  for (size_t n = 0; n < kMaxRows && reader.Next(&row); ++n) {
    why.clear();
    switch (mapping->Map(row, &tx, &why)) {
      case Mapping::RowResult::kTransaction:
        break;
      case Mapping::RowResult::kSkipped:
      case Mapping::RowResult::kBad:
        if (why.empty()) Fail("a skipped or bad row without a reason");
        if (why.find('\n') != std::string::npos) {
          Fail("a row's reason spans lines: '" + why + "'");
        }
        break;
    }
  }
  return 0;
}
