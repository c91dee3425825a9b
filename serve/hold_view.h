// File: hold_view.h
//
// What the teller consoles of one instance show: every hold of every
// partition, whichever instance owns it, read from the holds topic (from
// its beginning; compacted), and the results of overrides read from the
// override-results topic. Overrides submitted through the console's HTTP
// API are produced to the overrides topic, keyed by the hold's customer, so
// they take the same path as any other (the processing thread that owns the
// partition validates them); Submit waits for the result.
//
// Thread safety: all public methods are thread-safe. One background thread
// consumes.
#ifndef TXSCREEN_SERVE_HOLD_VIEW_H_
#define TXSCREEN_SERVE_HOLD_VIEW_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "serve/kafka_util.h"
#include "serve/service.h"
#include "txscreen/v1/override.pb.h"

namespace txscreen::serve {

struct HoldViewOptions {
  std::string bootstrap;
  KafkaSettings kafka;  // the operator's kafka.* settings
  ServeTopics topics;
  // Of the service: overrides are produced in `input_format`; holds and
  // results are read in `output_format`.
  WireFormat input_format = WireFormat::kProto;
  WireFormat output_format = WireFormat::kProto;
  std::string client_id = "txscreen-console";
  // Resolved holds stay visible (with their outcome) this long.
  absl::Duration keep_resolved = absl::Hours(1);
};

class HoldView {
 public:
  static absl::StatusOr<std::unique_ptr<HoldView>> Start(
      HoldViewOptions options);
  ~HoldView();

  // Holds of `branch_id` ("" = every branch), newest first: pending ones,
  // and, with `recent`, those resolved within keep_resolved.
  std::vector<txscreen::v1::Hold> Holds(absl::string_view branch_id,
                                        bool recent) const;
  std::optional<txscreen::v1::Hold> Find(
      absl::string_view transaction_id) const;

  // Increases whenever a hold changes.
  uint64_t version() const;
  // Returns once version() differs from `seen`, or after `timeout`.
  uint64_t WaitForChange(uint64_t seen, absl::Duration timeout) const;

  // Produces `o` (keyed by o.customer_id()) to `partition` of the
  // overrides topic (the hold's) and waits up to `timeout` for its result.
  // Only a result that arrives after `o` was sent answers it. DeadlineExceeded
  // when none came in time (the override may still be processed: resubmit
  // with the same override_id to learn).
  absl::StatusOr<txscreen::v1::OverrideResult> Submit(
      const txscreen::v1::Override& o, int32_t partition,
      absl::Duration timeout);

  // The holds topic has been read up to its end once.
  bool caught_up() const { return caught_up_.load(); }

 private:
  explicit HoldView(HoldViewOptions options);
  absl::Status Connect();
  void Consume();
  void Apply(const RdKafka::Message& msg);
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  HoldViewOptions options_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> caught_up_{false};

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, txscreen::v1::Hold> holds_
      ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  // The latest result of each override id, and how many have come for it:
  // Submit waits for one that came after its own message, so an id sent
  // again (a retry, or a refused override corrected under the same id) is
  // answered with what the engine said to it, not with an older answer.
  struct Results {
    uint64_t count = 0;
    txscreen::v1::OverrideResult latest;
  };
  absl::flat_hash_map<std::string, Results> results_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> result_order_ ABSL_GUARDED_BY(mu_);
  absl::Time last_prune_ ABSL_GUARDED_BY(mu_);
};

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_HOLD_VIEW_H_
