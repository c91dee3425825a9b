// Decoding transactions from the wire: binary protobuf (Kafka) and the
// protobuf JSON mapping (files, --input-format=json). A pool of generated
// transactions is encoded once; the benchmark decodes them round robin.
#include <string>
#include <vector>

#include "bench/transaction_generator.h"
#include "benchmark/benchmark.h"
#include "engine/transaction_codec.h"
#include "google/protobuf/util/json_util.h"

namespace txscreen::bench {
namespace {

constexpr size_t kPool = 4096;

std::vector<std::string> Pool(bool json) {
  TransactionGenerator gen;
  std::vector<std::string> out;
  txscreen::v1::Transaction tx;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  while (out.size() < kPool) {
    gen.Next(&tx);
    std::string bytes;
    if (json) {
      if (!google::protobuf::util::MessageToJsonString(tx, &bytes, options)
               .ok())
        abort();
    } else {
      tx.SerializeToString(&bytes);
    }
    out.push_back(std::move(bytes));
  }
  return out;
}

void Decode(benchmark::State& state, bool json) {
  const std::vector<std::string> pool = Pool(json);
  txscreen::v1::Transaction tx;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& in = pool[i];
    absl::Status s = json ? engine::DecodeTransactionJson(in, &tx)
                          : engine::DecodeTransactionProto(in, &tx);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(tx);
    bytes += static_cast<int64_t>(in.size());
    if (++i == pool.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void BM_DecodeJson(benchmark::State& state) { Decode(state, true); }
void BM_DecodeProto(benchmark::State& state) { Decode(state, false); }

// As `serve` and BM_WholePath decode: engine::TransactionDecoder, one
// message on an arena that keeps the sub-messages of the transaction
// before.
void BM_DecodeProtoReusing(benchmark::State& state) {
  const std::vector<std::string> pool = Pool(false);
  engine::TransactionDecoder decoder;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& in = pool[i];
    if (absl::Status s = decoder.DecodeProto(in); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(&*decoder);
    bytes += static_cast<int64_t>(in.size());
    if (++i == pool.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

BENCHMARK(BM_DecodeJson);
BENCHMARK(BM_DecodeProto);
BENCHMARK(BM_DecodeProtoReusing);

}  // namespace
}  // namespace txscreen::bench
