// Integration tests of the intercept and override loop (engine/holds.h) in
// the streaming service, in-process against the real Apache Kafka broker
// (TXSCREEN_KAFKA_BROKERS, set by tools/test), with an injected clock:
// overrides through the overrides topic, refusals and results, retraction
// on cancel, duplicate overrides, holds surviving a restart and a move to
// another instance, escalation at expiry, and the audit chain afterwards;
// on the embedded cluster, recovery from a fatal transactional error (and
// from the coordinator's fencing of a timed-out transaction, but not from
// a newer instance's), from outages mid-commit and mid-assignment, from
// fatal errors of the decisions and shadow producers, and the commit
// cycle's timing with a slow broker.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/audit.h"
#include "engine/clock.h"
#include "engine/roster.h"
#include "engine/state_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "librdkafka/rdkafkacpp.h"
#include "serve/admin_server.h"
#include "serve/console.h"
#include "serve/hold_view.h"
#include "serve/log.h"
#include "serve/service.h"
#include "serve/service_metrics.h"
#include "tests/kafka_test_util.h"
#include "txscreen/v1/override.pb.h"
#include "txscreen/v1/report.pb.h"

namespace txscreen {
namespace {

namespace v1 = ::txscreen::v1;
using ::txscreen::testing::Brokers;
using ::txscreen::testing::NowMs;
using ::txscreen::testing::TempDir;
using ::txscreen::testing::TopicReader;

constexpr char kSourceDir[] = TXSCREEN_SOURCE_DIR;

// Per-test topics and group.
serve::ServeTopics Topics(const std::string& tag) {
  const std::string p = absl::StrCat("hit", getpid(), ".", tag, ".");
  serve::ServeTopics t;
  t.transactions = p + "transactions";
  t.decisions = p + "decisions";
  t.alerts = p + "alerts";
  t.dead_letter = p + "dead-letter";
  t.reports = p + "reports";
  t.overrides = p + "overrides";
  t.override_results = p + "override-results";
  t.dispositions = p + "dispositions";
  t.holds = p + "holds";
  t.changelog.state = p + "state-changelog";
  t.changelog.dedupe = p + "dedupe-changelog";
  return t;
}

// One engine instance on its own thread.
class Instance {
 public:
  // `before_run` sees the service before it runs (to set an observer).
  explicit Instance(
      serve::ServeOptions options,
      const std::function<void(serve::Service*)>& before_run = nullptr) {
    absl::StatusOr<std::unique_ptr<serve::Service>> s =
        serve::Service::Create(options);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return;
    service_ = std::move(*s);
    if (before_run) before_run(service_.get());
    thread_ = std::thread([this] {
      run_ = service_->Run();
      ended_.store(true);
    });
  }
  ~Instance() { Stop(); }
  bool WaitAssigned(int64_t partitions, int timeout_ms) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (NowMs() < deadline) {
      std::string why;
      if (service_ != nullptr && service_->Ready(&why) &&
          service_->assigned_partitions() == partitions) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() {
    if (service_ == nullptr) return;
    if (thread_.joinable()) {  // not ended by itself (WaitEnded)
      service_->Stop();
      thread_.join();
      EXPECT_TRUE(run_.ok()) << run_;
    }
    service_.reset();
  }
  // Waits for Run() to return by itself (a fatal error); what it returned,
  // or nullopt after `timeout_ms`. The service stays for inspection.
  std::optional<absl::Status> WaitEnded(int timeout_ms) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (!ended_.load() && NowMs() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!ended_.load()) return std::nullopt;
    thread_.join();
    return run_;
  }
  serve::Service* service() { return service_.get(); }

 private:
  std::unique_ptr<serve::Service> service_;
  std::thread thread_;
  absl::Status run_;
  std::atomic<bool> ended_{false};
};

// A TopicReader of `topic` on the test broker.
class Reader : public TopicReader {
 public:
  explicit Reader(const std::string& topic) : TopicReader(Brokers(), topic) {}
};

class HoldIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::unique_ptr<RdKafka::Conf> conf(
        RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", Brokers(), error);
    conf->set("enable.idempotence", "true", error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    clock_.Set(absl::ToUnixMicros(absl::Now()));
  }

  serve::ServeOptions Options(const std::string& tag,
                              const std::string& state) {
    serve::ServeOptions o;
    o.brokers = Brokers();
    o.group = absl::StrCat("hit", getpid(), ".", tag);
    o.instance_id = state;
    o.rules = {absl::StrCat(kSourceDir, "/tests/testdata/hold_pack")};
    o.state_dir = dir_.path() + "/" + state;
    o.topics = Topics(tag);
    o.partitions = 2;
    o.roster_path = absl::StrCat(kSourceDir, "/tests/testdata/roster.csv");
    o.clock = &clock_;
    o.holds.timeout_us = 30LL * 60 * 1000000;
    return o;
  }

  // A counter transfer of `yuan` CNY by `customer` at branch NJ-0102,
  // produced to partition 0.
  v1::Transaction Send(const serve::ServeTopics& t, const std::string& id,
                       const std::string& customer, int64_t yuan,
                       const std::string& payee = "payee") {
    v1::Transaction tx;
    tx.set_transaction_id(id);
    engine::SetTimestampMicros(clock_.NowMicros(), tx.mutable_occurred_at());
    tx.set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
    tx.set_channel(v1::CHANNEL_COUNTER);
    tx.set_customer_id(customer);
    tx.set_account_id("6222000011112222");
    tx.set_amount_minor(yuan * 100);
    tx.set_currency("CNY");
    tx.set_direction(v1::DIRECTION_OUT);
    tx.set_branch_id("NJ-0102");
    tx.set_teller_id("T-0217");
    tx.mutable_counterparty()->set_account_id("6217000033334444");
    tx.mutable_counterparty()->set_name(payee);
    Produce(t.transactions, customer, tx.SerializeAsString());
    return tx;
  }

  void Answer(const serve::ServeTopics& t, const v1::Override& o) {
    Produce(t.overrides, o.customer_id(), o.SerializeAsString());
  }

  void Produce(const std::string& topic, const std::string& key,
               const std::string& value) {
    ASSERT_EQ(producer_->produce(topic, 0, RdKafka::Producer::RK_MSG_COPY,
                                 const_cast<char*>(value.data()), value.size(),
                                 key.data(), key.size(), 0, nullptr),
              RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer_->flush(10000), RdKafka::ERR_NO_ERROR);
  }

  static v1::Override Cancel(const std::string& override_id,
                             const std::string& tx,
                             const std::string& customer) {
    v1::Override o;
    o.set_override_id(override_id);
    o.set_transaction_id(tx);
    o.set_customer_id(customer);
    o.set_teller_id("T-0217");
    o.set_outcome(v1::OUTCOME_CANCEL);
    o.set_reason("customer dissuaded");
    return o;
  }

  // The result of `override_id` (waits for it).
  static v1::OverrideResult ResultOf(Reader* results,
                                     const std::string& override_id,
                                     size_t nth = 1) {
    auto got = results->Until(
        nth, [&](const Reader::Message& m) { return m.key == override_id; });
    v1::OverrideResult r;
    if (got.size() >= nth) {
      EXPECT_TRUE(r.ParseFromString(got[nth - 1].value));
    }
    EXPECT_GE(got.size(), nth) << "no result for " << override_id;
    return r;
  }

  // The TRACE reason of transaction `id` ("count N sum M").
  static std::string TraceOf(Reader* decisions, const std::string& id) {
    std::string reason;
    decisions->Until(1, [&](const Reader::Message& m) {
      v1::Decision d;
      if (!d.ParseFromString(m.value) || d.transaction_id() != id) return false;
      for (const v1::RuleHit& h : d.hits()) {
        if (h.rule_id() == "TRACE") reason = h.reason();
      }
      return true;
    });
    return reason;
  }

  TempDir dir_;
  engine::ManualClock clock_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

TEST_F(HoldIntegrationTest, OverridesThroughKafkaRefuseCancelAndRelease) {
  REQUIRE_KAFKA();
  serve::ServeOptions options = Options("loop", "a");
  const serve::ServeTopics& t = options.topics;
  Instance a(options);
  ASSERT_TRUE(a.WaitAssigned(2, 60000));
  Reader holds(t.holds), results(t.override_results),
      dispositions(t.dispositions), decisions(t.decisions);

  Send(t, "T1", "C1", 20000);
  auto opened =
      holds.Until(1, [](const Reader::Message& m) { return m.key == "T1"; });
  ASSERT_EQ(opened.size(), 1u);
  v1::Hold hold;
  ASSERT_TRUE(hold.ParseFromString(opened[0].value));
  EXPECT_EQ(hold.status(), v1::HOLD_STATUS_PENDING);
  EXPECT_EQ(hold.branch_id(), "NJ-0102");
  EXPECT_EQ(hold.counterparty_account_masked(), "6217****4444");
  ASSERT_GE(hold.prompt().why_size(), 1);
  // Account numbers are masked in the prompt the console shows.
  EXPECT_EQ(hold.prompt().why(0).en(),
            "Large transfer of 20,000.00 CNY to 6217****4444");

  // A release without a supervisor: refused, nothing changes.
  v1::Override release = Cancel("ov-release-1", "T1", "C1");
  release.set_outcome(v1::OUTCOME_RELEASE);
  Answer(t, release);
  v1::OverrideResult refused = ResultOf(&results, "ov-release-1");
  EXPECT_FALSE(refused.accepted());
  EXPECT_EQ(refused.refusal_code(), "AUTHORIZER_MISSING");
  EXPECT_EQ(refused.refusal_reason(),
            "a release needs a supervisor's authorisation (authorizer_id)");

  // A teller of another branch: refused.
  v1::Override stranger = Cancel("ov-stranger", "T1", "C1");
  stranger.set_teller_id("T-0301");
  Answer(t, stranger);
  EXPECT_EQ(ResultOf(&results, "ov-stranger").refusal_code(),
            "TELLER_WRONG_BRANCH");

  // Cancel: accepted, one disposition; the same message again is a
  // duplicate and changes nothing.
  Answer(t, Cancel("ov-cancel-1", "T1", "C1"));
  EXPECT_TRUE(ResultOf(&results, "ov-cancel-1").accepted());
  Answer(t, Cancel("ov-cancel-1", "T1", "C1"));
  v1::OverrideResult again = ResultOf(&results, "ov-cancel-1", 2);
  EXPECT_TRUE(again.accepted());
  EXPECT_TRUE(again.duplicate());
  auto cancelled = dispositions.Until(1, [](const Reader::Message& m) {
    v1::Disposition d;
    return d.ParseFromString(m.value) && d.transaction_id() == "T1";
  });
  ASSERT_EQ(cancelled.size(), 1u);
  v1::Disposition d;
  ASSERT_TRUE(d.ParseFromString(cancelled[0].value));
  EXPECT_EQ(d.outcome(), v1::OUTCOME_CANCEL);
  EXPECT_EQ(d.teller_id(), "T-0217");
  EXPECT_EQ(d.amount_minor(), 2000000);
  EXPECT_EQ(d.occurred_at().SerializeAsString(),
            hold.occurred_at().SerializeAsString());
  // ... and its large-value report record, had it one, is withdrawn.
  Reader reports(t.reports);
  auto withdrawn = reports.Until(1, [](const Reader::Message& m) {
    v1::ReportRecord r;
    return r.ParseFromString(m.value) && r.has_retraction();
  });
  ASSERT_EQ(withdrawn.size(), 1u);
  v1::ReportRecord retraction;
  ASSERT_TRUE(retraction.ParseFromString(withdrawn[0].value));
  EXPECT_EQ(withdrawn[0].key, "C1");
  EXPECT_EQ(retraction.retraction().transaction_id(), "T1");
  EXPECT_EQ(retraction.retraction().customer_id(), "C1");
  EXPECT_EQ(retraction.retraction().cause(), "CANCEL");
  EXPECT_EQ(retraction.retraction().occurred_at().SerializeAsString(),
            hold.occurred_at().SerializeAsString());
  // A cancelled transaction never happened: the next one is the first.
  Send(t, "T2", "C1", 100);
  EXPECT_EQ(TraceOf(&decisions, "T2"), "count 1 sum 10000");

  // Release with a supervisor and every answer: it stands.
  Send(t, "T3", "C2", 30000);
  ASSERT_EQ(
      holds.Until(1, [](const Reader::Message& m) { return m.key == "T3"; })
          .size(),
      1u);
  v1::Override ok = Cancel("ov-release-3", "T3", "C2");
  ok.set_outcome(v1::OUTCOME_RELEASE);
  ok.set_authorizer_id("S-0102");
  ok.mutable_answers()->set_purpose("tuition");
  ok.mutable_answers()->set_relationship("son");
  ok.mutable_answers()->set_source_of_funds("salary");
  ok.mutable_answers()->set_on_call(false);
  ok.mutable_answers()->set_remote_control_app(false);
  ok.mutable_answers()->set_risk_acknowledged(true);
  Answer(t, ok);
  EXPECT_TRUE(ResultOf(&results, "ov-release-3").accepted());
  Send(t, "T4", "C2", 100);
  EXPECT_EQ(TraceOf(&decisions, "T4"), "count 2 sum 3010000");

  // A block cannot be released.
  Send(t, "T5", "C3", 50, "DENIED");
  ASSERT_EQ(
      holds.Until(1, [](const Reader::Message& m) { return m.key == "T5"; })
          .size(),
      1u);
  v1::Override blocked = ok;
  blocked.set_override_id("ov-release-5");
  blocked.set_transaction_id("T5");
  blocked.set_customer_id("C3");
  Answer(t, blocked);
  EXPECT_EQ(ResultOf(&results, "ov-release-5").refusal_reason(),
            "transaction T5 was blocked by DENY; a block cannot be released");

  EXPECT_EQ(a.service()->stats().overrides_accepted.load(), 2);
  EXPECT_EQ(a.service()->stats().overrides_refused.load(), 3);
  EXPECT_EQ(a.service()->stats().overrides_duplicate.load(), 1);
  // One retraction: the cancel's (the release stands, the block has no
  // disposition).
  EXPECT_EQ(a.service()->stats().retractions.load(), 1);
  std::vector<serve::TellerOverrideStats> stats = a.service()->OverrideStats();
  ASSERT_FALSE(stats.empty());
  a.Stop();

  // The audit chain, intact: 3 holds, 5 overrides (the duplicate is the
  // same override, not audited again), 2 dispositions.
  absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
      engine::OpenRocksStateStoreReadOnly(options.state_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<engine::AuditChainReport>> chains =
      engine::VerifyAudit(store->get());
  ASSERT_TRUE(chains.ok());
  uint64_t records = 0;
  for (const engine::AuditChainReport& c : *chains) {
    EXPECT_EQ(c.problem, "") << "partition " << c.partition;
    records += c.records;
  }
  EXPECT_EQ(records, 3u + 5u + 2u);
}

TEST_F(HoldIntegrationTest, HoldsSurviveAMoveToAnotherInstanceAndARestart) {
  REQUIRE_KAFKA();
  serve::ServeOptions a_options = Options("move", "a");
  const serve::ServeTopics& t = a_options.topics;
  Reader holds(t.holds), results(t.override_results);
  {
    Instance a(a_options);
    ASSERT_TRUE(a.WaitAssigned(2, 60000));
    Send(t, "M1", "C1", 20000);
    Send(t, "M2", "C1", 20000);
    ASSERT_EQ(
        holds.Until(2, [](const Reader::Message&) { return true; }).size(), 2u);
  }
  // b never saw these holds: they come from the changelog.
  serve::ServeOptions b_options = Options("move", "b");
  {
    Instance b(b_options);
    ASSERT_TRUE(b.WaitAssigned(2, 60000));
    Answer(t, Cancel("ov-m1", "M1", "C1"));
    v1::OverrideResult r = ResultOf(&results, "ov-m1");
    EXPECT_TRUE(r.accepted()) << r.refusal_reason();
  }
  // b again, from its own disk.
  Instance b(b_options);
  ASSERT_TRUE(b.WaitAssigned(2, 60000));
  Answer(t, Cancel("ov-m2", "M2", "C1"));
  v1::OverrideResult r2 = ResultOf(&results, "ov-m2");
  EXPECT_TRUE(r2.accepted()) << r2.refusal_reason();
  Answer(t, Cancel("ov-m1-again", "M1", "C1"));
  EXPECT_EQ(ResultOf(&results, "ov-m1-again").refusal_code(), "HOLD_RESOLVED");
}

TEST_F(HoldIntegrationTest, UnansweredHoldsEscalateAtExpiry) {
  REQUIRE_KAFKA();
  serve::ServeOptions options = Options("expiry", "a");
  const serve::ServeTopics& t = options.topics;
  Instance a(options);
  ASSERT_TRUE(a.WaitAssigned(2, 60000));
  Reader holds(t.holds), results(t.override_results),
      dispositions(t.dispositions), alerts(t.alerts), decisions(t.decisions);
  Send(t, "E1", "C1", 20000);
  ASSERT_EQ(
      holds.Until(1, [](const Reader::Message& m) { return m.key == "E1"; })
          .size(),
      1u);
  // Nothing happens before the expiry...
  clock_.Set(clock_.NowMicros() + 29LL * 60 * 1000000);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(a.service()->stats().holds_escalated.load(), 0);
  // ...and after it, the hold escalates.
  clock_.Set(clock_.NowMicros() + 2LL * 60 * 1000000);
  auto escalated = dispositions.Until(1, [](const Reader::Message& m) {
    v1::Disposition d;
    return d.ParseFromString(m.value) && d.transaction_id() == "E1";
  });
  ASSERT_EQ(escalated.size(), 1u);
  v1::Disposition d;
  ASSERT_TRUE(d.ParseFromString(escalated[0].value));
  EXPECT_EQ(d.outcome(), v1::OUTCOME_ESCALATED_TIMEOUT);
  EXPECT_GE(d.answered_after_ms(), 30LL * 60 * 1000);
  auto alert = alerts.Until(1, [](const Reader::Message& m) {
    auto it = m.headers.find("txscreen.type");
    return it != m.headers.end() && it->second == "disposition";
  });
  EXPECT_EQ(alert.size(), 1u);
  Answer(t, Cancel("ov-late", "E1", "C1"));
  EXPECT_EQ(ResultOf(&results, "ov-late").refusal_code(), "HOLD_EXPIRED");
  // The escalated transaction did not happen.
  Send(t, "E2", "C1", 100);
  EXPECT_EQ(TraceOf(&decisions, "E2"), "count 1 sum 10000");
}

// The console's HTTP API over a real service: authentication, roles, the
// branch a person sees, CSRF, and an override from sign-in to disposition.
TEST_F(HoldIntegrationTest, ConsoleApiAuthenticatesAndEnforcesRoles) {
  REQUIRE_KAFKA();
  serve::ServeOptions options = Options("console", "a");
  const serve::ServeTopics& t = options.topics;
  std::unique_ptr<serve::ServiceMetrics> metrics;
  Instance a(options, [&](serve::Service* s) {
    metrics = std::make_unique<serve::ServiceMetrics>(s);
    s->set_observer(metrics.get());
  });
  ASSERT_TRUE(a.WaitAssigned(2, 60000));
  serve::HoldViewOptions view_options;
  view_options.bootstrap = Brokers();
  view_options.topics = t;
  view_options.client_id = absl::StrCat("hit", getpid(), "-console");
  absl::StatusOr<std::unique_ptr<serve::HoldView>> view =
      serve::HoldView::Start(view_options);
  ASSERT_TRUE(view.ok()) << view.status();
  serve::Console console(a.service(), view->get());
  serve::AdminHandlers handlers;
  handlers.add_routes = [&](httplib::Server& s) { console.Register(s); };
  serve::AdminServerOptions admin_options;
  admin_options.threads = 4;
  absl::StatusOr<std::unique_ptr<serve::AdminServer>> admin =
      serve::AdminServer::Start(admin_options, handlers);
  ASSERT_TRUE(admin.ok()) << admin.status();
  httplib::Client http("127.0.0.1", (*admin)->port());
  http.set_read_timeout(20, 0);
  auto bearer = [](const std::string& token) {
    return httplib::Headers{{"Authorization", "Bearer " + token}};
  };
  const std::string kTeller = "teller-a-token-0001";       // T-0217, NJ-0102
  const std::string kOtherTeller = "teller-b-token-0002";  // T-0301, SH-0001
  const std::string kSupervisor = "super-a-token-0003";    // S-0102, NJ-0102
  const std::string kCompliance = "comp-token-0005";
  const std::string kOperator = "oper-token-0006";

  Send(t, "H1", "C1", 20000);
  const int64_t deadline = NowMs() + 30000;
  while ((*view)->Holds("NJ-0102", false).empty() && NowMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ((*view)->Holds("NJ-0102", false).size(), 1u);

  // Who may see what.
  EXPECT_EQ(http.Get("/api/holds")->status, 401);
  EXPECT_EQ(http.Get("/api/holds", bearer("wrong"))->status, 401);
  auto mine = http.Get("/api/holds", bearer(kTeller));
  ASSERT_EQ(mine->status, 200);
  EXPECT_NE(mine->body.find("\"transaction_id\":\"H1\""), std::string::npos);
  EXPECT_EQ(mine->body.find("6217000033334444"), std::string::npos)
      << "an account number unmasked: " << mine->body;
  auto theirs = http.Get("/api/holds", bearer(kOtherTeller));
  ASSERT_EQ(theirs->status, 200);
  EXPECT_EQ(theirs->body, "{\"holds\":[]}");
  EXPECT_EQ(http.Get("/api/holds?branch=NJ-0102", bearer(kOtherTeller))->status,
            403);
  auto all = http.Get("/api/holds", bearer(kCompliance));
  EXPECT_NE(all->body.find("\"H1\""), std::string::npos);
  EXPECT_EQ(http.Get("/api/stats/overrides", bearer(kTeller))->status, 403);
  EXPECT_EQ(http.Get("/api/stats/overrides", bearer(kSupervisor))->status, 200);

  // Sign-in: a session cookie; mutations by cookie need the CSRF header.
  EXPECT_EQ(http.Post("/api/console/login", "{\"token\":\"" + kTeller + "\"}",
                      "application/json")
                ->status,
            403);
  httplib::Headers console_header = {{"X-Txscreen-Console", "1"}};
  EXPECT_EQ(http.Post("/api/console/login", console_header,
                      "{\"token\":\"nope\"}", "application/json")
                ->status,
            401);
  EXPECT_EQ(http.Post("/api/console/login", console_header, "{\"tokn\":\"x\"}",
                      "application/json")
                ->status,
            400);
  auto login = http.Post("/api/console/login", console_header,
                         "{\"token\":\"" + kTeller + "\"}", "application/json");
  ASSERT_EQ(login->status, 200);
  EXPECT_EQ(login->body,
            "{\"staff_id\":\"T-0217\",\"name\":\"王芳 Wang Fang\","
            "\"branch_id\":\"NJ-0102\",\"role\":\"teller\"}");
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  httplib::Headers by_cookie = {{"Cookie", session}};
  EXPECT_EQ(http.Get("/api/console/me", by_cookie)->status, 200);
  const std::string cancel =
      "{\"transaction_id\":\"H1\",\"outcome\":\"OUTCOME_CANCEL\","
      "\"reason\":\"dissuaded\"}";
  EXPECT_EQ(http.Post("/api/overrides", by_cookie, cancel, "application/json")
                ->status,
            403);

  // Roles: an operator cannot answer; an unknown supervisor token is not
  // sent at all; an unknown hold is 404.
  EXPECT_EQ(
      http.Post("/api/overrides", bearer(kOperator), cancel, "application/json")
          ->status,
      403);
  const std::string release_body =
      "{\"transaction_id\":\"H1\",\"outcome\":\"OUTCOME_RELEASE\","
      "\"answers\":{\"purpose\":\"tuition\",\"relationship\":\"son\","
      "\"source_of_funds\":\"salary\",\"on_call\":false,"
      "\"remote_control_app\":false,\"risk_acknowledged\":true},"
      "\"supervisor_token\":\"";
  auto guessed = http.Post("/api/overrides", bearer(kTeller),
                           release_body + "guess\"}", "application/json");
  EXPECT_EQ(guessed->status, 403);
  // In the console's two languages.
  EXPECT_EQ(guessed->body,
            "{\"error\":\"the supervisor token is not recognised\","
            "\"error_zh\":\"主管令牌无效，请主管本人重新输入\"}");
  EXPECT_EQ(http.Post("/api/overrides", bearer(kTeller),
                      "{\"transaction_id\":\"NOPE\",\"outcome\":"
                      "\"OUTCOME_CANCEL\",\"reason\":\"x\"}",
                      "application/json")
                ->status,
            404);
  // The teller's own token as "supervisor": refused by the engine.
  const std::string with_id = "\",\"override_id\":\"ov-console-1\"}";
  auto self = http.Post("/api/overrides", bearer(kTeller),
                        release_body + kTeller + with_id, "application/json");
  ASSERT_EQ(self->status, 422) << self->body;
  EXPECT_NE(self->body.find("AUTHORIZER_IS_TELLER"), std::string::npos);
  // The supervisor authorises, under the refused override's id: released,
  // and the console says so (not the refusal the id had before).
  httplib::Headers cookie_and_csrf = {{"Cookie", session},
                                      {"X-Txscreen-Console", "1"}};
  auto released =
      http.Post("/api/overrides", cookie_and_csrf,
                release_body + kSupervisor + with_id, "application/json");
  ASSERT_EQ(released->status, 200) << released->body;
  EXPECT_NE(released->body.find("\"accepted\":true"), std::string::npos);
  EXPECT_EQ(released->body.find("\"duplicate\":true"), std::string::npos);
  // Sent again: the same answer, a duplicate.
  auto again =
      http.Post("/api/overrides", cookie_and_csrf,
                release_body + kSupervisor + with_id, "application/json");
  ASSERT_EQ(again->status, 200) << again->body;
  EXPECT_NE(again->body.find("\"duplicate\":true"), std::string::npos)
      << again->body;
  Reader dispositions(t.dispositions);
  auto d = dispositions.Until(1, [](const Reader::Message& m) {
    v1::Disposition d;
    return d.ParseFromString(m.value) && d.transaction_id() == "H1";
  });
  ASSERT_EQ(d.size(), 1u);
  v1::Disposition disposition;
  ASSERT_TRUE(disposition.ParseFromString(d[0].value));
  EXPECT_EQ(disposition.outcome(), v1::OUTCOME_RELEASE);
  EXPECT_EQ(disposition.teller_id(), "T-0217");
  EXPECT_EQ(disposition.authorizer_id(), "S-0102");
  auto stats = http.Get("/api/stats/overrides", bearer(kCompliance));
  EXPECT_NE(stats->body.find("\"teller_id\":\"T-0217\",\"releases\":1"),
            std::string::npos)
      << stats->body;
  // The same in the metrics, with the refusal of the teller's own token.
  const std::string rendered = metrics->Render();
  for (const char* line :
       {"txscreen_overrides_total{branch=\"NJ-0102\",teller=\"T-0217\","
        "outcome=\"OUTCOME_RELEASE\",result=\"accepted\"} 1",
        "txscreen_overrides_total{branch=\"NJ-0102\",teller=\"T-0217\","
        "outcome=\"NONE\",result=\"refused\"} 1",
        "txscreen_holds_opened_total 1",
        "txscreen_hold_answer_seconds_count{branch=\"NJ-0102\"} 1"}) {
    EXPECT_NE(rendered.find(line), std::string::npos) << line << "\n"
                                                      << rendered;
  }
  console.Shutdown();
  (*admin)->Stop();
}

// Small payments of customer C1, ids `prefix` + from .. to - 1, at the
// clock's time, produced to partition 0 of the service's embedded cluster
// and delivered.
void ProducePayments(serve::Service* service, engine::Clock& clock,
                     absl::string_view prefix, int from, int to) {
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", service->bootstrap(), error);
  std::unique_ptr<RdKafka::Producer> producer(
      RdKafka::Producer::create(conf.get(), error));
  ASSERT_NE(producer, nullptr) << error;
  for (int i = from; i < to; ++i) {
    v1::Transaction tx;
    tx.set_transaction_id(absl::StrCat(prefix, i));
    engine::SetTimestampMicros(clock.NowMicros(), tx.mutable_occurred_at());
    tx.set_type(v1::TRANSACTION_TYPE_PAYMENT);
    tx.set_channel(v1::CHANNEL_MOBILE);
    tx.set_customer_id("C1");
    tx.set_account_id("6222000011112222");
    tx.set_amount_minor(100);
    tx.set_currency("CNY");
    tx.set_direction(v1::DIRECTION_OUT);
    const std::string bytes = tx.SerializeAsString();
    ASSERT_EQ(producer->produce("txscreen.transactions", 0,
                                RdKafka::Producer::RK_MSG_COPY,
                                const_cast<char*>(bytes.data()), bytes.size(),
                                "C1", 2, 0, nullptr),
              RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(producer->flush(20000), RdKafka::ERR_NO_ERROR);
}

// Waits up to a minute for `counter` to reach `n`; its value then.
int64_t WaitCount(const std::atomic<int64_t>& counter, int64_t n) {
  const int64_t deadline = NowMs() + 60000;
  while (counter.load() < n && NowMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return counter.load();
}

// Waits until no commit has happened for a second (all that was decided is
// committed, and no commit cycle is under way).
void WaitCommitsQuiet(const serve::Service& service) {
  int64_t seen = service.stats().commits.load();
  int64_t quiet_since = NowMs();
  const int64_t deadline = NowMs() + 60000;
  while (NowMs() - quiet_since < 1000 && NowMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (const int64_t now = service.stats().commits.load(); now != seen) {
      seen = now;
      quiet_since = NowMs();
    }
  }
}

// The hold pack, one partition, on the embedded cluster (no brokers given),
// which can inject broker errors; state in `dir`, time from `clock`.
serve::ServeOptions EmbeddedOptions(const TempDir& dir, engine::Clock* clock) {
  serve::ServeOptions o;
  o.group = "embedded";
  o.instance_id = "a";
  o.rules = {absl::StrCat(kSourceDir, "/tests/testdata/hold_pack")};
  o.state_dir = dir.path() + "/state";
  o.partitions = 1;
  o.clock = clock;
  return o;
}

// One engine instance with one partition on the embedded cluster, which
// can inject broker errors; payments of customer C1 at the test's clock.
class TxnRecoveryIntegrationTest : public ::testing::Test {
 protected:
  // Starts the instance with its options changed by `adjust` (and
  // `before_run`, as for Instance); with `wait_assigned`, waits until its
  // partition is assigned.
  void Start(const std::function<void(serve::ServeOptions&)>& adjust = nullptr,
             const std::function<void(serve::Service*)>& before_run = nullptr,
             bool wait_assigned = true) {
    serve::ServeOptions o = EmbeddedOptions(dir_, &clock_);
    if (adjust) adjust(o);
    instance_ = std::make_unique<Instance>(o, before_run);
    ASSERT_NE(service(), nullptr);
    if (wait_assigned) {
      ASSERT_TRUE(instance_->WaitAssigned(1, 90000));
    }
  }
  // Payments `prefix` + from .. to - 1.
  void Send(absl::string_view prefix, int from, int to) {
    ProducePayments(service(), clock_, prefix, from, to);
  }
  // Payments `prefix` 0-9 decided and committed, no commit under way.
  void SettleFirstTen(absl::string_view prefix) {
    Send(prefix, 0, 10);
    ASSERT_GE(WaitCount(stats().decided, 10), 10);
    WaitCommitsQuiet(*service());
  }
  // After a failure it recovered from with a new transactional producer
  // (and payments `prefix` 0-19 sent), the service commits again: payments
  // 20-29 are committed, all 30 decided (a rewound batch twice), and it is
  // ready.
  void ExpectCommitsAgainWithANewProducer(absl::string_view prefix) {
    const int64_t commits = stats().commits.load();
    Send(prefix, 20, 30);
    ASSERT_GE(WaitCount(stats().commits, commits + 1), commits + 1);
    EXPECT_GE(WaitCount(stats().decided, 30), 30);
    std::string why;
    EXPECT_TRUE(service()->Ready(&why)) << why;
    EXPECT_GE(stats().txn_producer_recreations.load(), 1);
  }
  serve::Service* service() { return instance_->service(); }
  const serve::ServeStats& stats() { return service()->stats(); }

  TempDir dir_{"txscreen-recovery"};
  engine::ManualClock clock_{absl::ToUnixMicros(absl::Now())};
  std::unique_ptr<Instance> instance_;
};

// A fatal error of the transactional producer that is not fencing (seen
// after a broker restart: EndTxn answered INVALID_TXN_STATE) does not stop
// the service: it recreates the producer, rewinds, and decides everything.
TEST_F(TxnRecoveryIntegrationTest, FatalNonFencingErrorRecreatesTheProducer) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto send = [&](int from, int to) { Send("R", from, to); };
  const serve::ServeStats& stats = this->stats();
  auto wait_decided = [&](int64_t n) { return WaitCount(stats.decided, n); };
  auto wait_commits = [&](int64_t n) { return WaitCount(stats.commits, n); };
  auto wait_aborts = [&](int64_t n) { return WaitCount(stats.aborts, n); };
  send(0, 10);
  ASSERT_GE(wait_decided(10), 10);
  ASSERT_GE(wait_commits(1), 1);
  // EndTxn (API key 26) answers INVALID_TXN_STATE (48) from now on, twice.
  // (A commit cycle already under way may still end well: on a loaded
  // machine one can take a second, so the count of commits says nothing
  // until both failures have been seen.)
  service()->embedded_kafka()->FailNextRequests(26, {48, 48});
  send(10, 20);
  ASSERT_EQ(wait_aborts(2), 2);
  // Decided again after each rewind, then committed by a new producer (with
  // the next ten too: the commit after the rewind may already be done).
  const int64_t commits = service()->stats().commits.load();
  send(20, 30);
  EXPECT_GE(wait_commits(commits + 1), commits + 1);
  EXPECT_EQ(service()->stats().aborts.load(), 2);
  EXPECT_EQ(service()->stats().txn_producer_recreations.load(), 2);
  std::string why;
  EXPECT_TRUE(service()->Ready(&why)) << why;
  // 30 transactions, and those of the two failed commits decided again.
  EXPECT_GE(wait_decided(32), 32);
  // The failed commits' records went to the dedupe changelog all the same
  // (in transactions that were aborted, or may not have been): the state
  // opened again after each rewind numbered its record chunks on, so no
  // chunk number was produced twice and a restore cannot mix two chunks
  // under one number.
  TopicReader dedupe(service()->bootstrap(), "txscreen.dedupe-changelog",
                     /*read_uncommitted=*/true);
  size_t seen = 0;
  int64_t quiet_since = NowMs();
  dedupe.ReadUntil(
      [&](const std::vector<TopicReader::Message>& all) {
        if (all.size() != seen) {
          seen = all.size();
          quiet_since = NowMs();
        }
        return seen > 0 && NowMs() - quiet_since > 1500;
      },
      30000);
  std::map<std::string, int> produced;
  for (const TopicReader::Message& m : dedupe.messages()) ++produced[m.key];
  EXPECT_GE(produced.size(), 3u);  // the first commit, two failed, the rest
  for (const auto& [key, times] : produced) {
    EXPECT_EQ(times, 1) << absl::CHexEscape(key);
  }
  instance_->Stop();
}

// A coordinator aborts a transaction left open past transaction.timeout.ms
// (one open when its broker went down, for longer than that) and fences its
// producer: EndTxn answers PRODUCER_FENCED. Nobody took over, so the service
// recreates the producer, rewinds and goes on, as in CI when a real
// broker's restart took over ten seconds. Here the transaction timeout is
// one second and every request takes 600 ms, so a transaction (produce,
// AddOffsetsToTxn, TxnOffsetCommit, EndTxn) is open for longer than that.
// (The next commits may fail too while it is that slow: librdkafka caps
// message.timeout.ms at the transaction timeout.)
TEST_F(TxnRecoveryIntegrationTest,
       FencingOfATransactionOpenPastItsTimeoutRecreatesTheProducer) {
  ASSERT_NO_FATAL_FAILURE(Start([](serve::ServeOptions& o) {
    o.kafka["transaction.timeout.ms"] = "1000";
  }));
  const serve::ServeStats& stats = this->stats();
  // Every commit from here on begins after the round trips slowed down.
  ASSERT_NO_FATAL_FAILURE(SettleFirstTen("T"));
  service()->embedded_kafka()->SetRoundTripTime(600);
  service()->embedded_kafka()->FailNextRequests(26, {90});  // EndTxn
  Send("T", 10, 20);
  ASSERT_GE(WaitCount(stats.aborts, 1), 1);
  service()->embedded_kafka()->SetRoundTripTime(0);
  ExpectCommitsAgainWithANewProducer("T");
  instance_->Stop();
}

// A broker outage in the middle of a commit, longer than the service's Kafka
// timeout (3 s here, 30 s by default): the commit fails, and so does its
// abort, and the commits after it while the broker is away. None of that
// stops the service: once the broker is back it commits again and decides
// everything. Every request takes 1.5 s before the outage, so that one
// begins while a commit is under way.
TEST_F(TxnRecoveryIntegrationTest, OutageLongerThanTheKafkaTimeoutMidCommit) {
  ASSERT_NO_FATAL_FAILURE(
      Start([](serve::ServeOptions& o) { o.kafka_timeout_ms = 3000; }));
  const serve::ServeStats& stats = this->stats();
  serve::EmbeddedKafka* kafka = service()->embedded_kafka();
  ASSERT_NO_FATAL_FAILURE(SettleFirstTen("O"));
  kafka->SetRoundTripTime(1500);
  Send("O", 10, 20);
  ASSERT_GE(WaitCount(stats.decided, 20), 20);
  // The commit of these began within 100 ms; its first step waits ~1.5 s
  // for the decisions' acknowledgements, then the transaction begins and
  // takes ~7.5 s (five round trips).
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  kafka->SetBrokerDown(true);
  ASSERT_GE(WaitCount(stats.aborts, 1), 1);
  std::this_thread::sleep_for(std::chrono::seconds(8));
  kafka->SetRoundTripTime(0);
  kafka->SetBrokerDown(false);
  // Ready again once the group has given it its partitions back (with none
  // it is not ready).
  std::string why;
  for (int i = 0; i < 300 && !service()->Ready(&why); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(service()->Ready(&why)) << why;
  // The abort timed out too, and the next commit recreated the producer
  // (the old one refused to begin a transaction: "Conflicting
  // abort_transaction API call is already in progress", and the service
  // stopped).
  ExpectCommitsAgainWithANewProducer("O");
  instance_->Stop();
}

// The broker fails while partitions are assigned (an outage during the
// restore; here OffsetFetch answers COORDINATOR_LOAD_IN_PROGRESS for ~6 s,
// longer than the Kafka timeout of 3 s): the assignment is tried again
// until it succeeds, where it used to stop the service.
TEST_F(TxnRecoveryIntegrationTest,
       AssignmentFailingForWantOfTheBrokerIsRetried) {
  ASSERT_NO_FATAL_FAILURE(
      Start([](serve::ServeOptions& o) { o.kafka_timeout_ms = 3000; },
            [](serve::Service* service) {
              // OffsetFetch (API key 9), retried by librdkafka every ~100 ms.
              service->embedded_kafka()->FailNextRequests(
                  9, std::vector<int>(60, 14));
            }));
  const serve::ServeStats& stats = this->stats();
  EXPECT_GE(stats.assign_retries.load(), 1);
  Send("A", 0, 10);
  EXPECT_GE(WaitCount(stats.decided, 10), 10);
  EXPECT_GE(WaitCount(stats.commits, 1), 1);
  instance_->Stop();
}

// SIGTERM while an assignment is being tried again (the broker away): the
// service stops cleanly instead of reporting the assignment's failure as
// fatal.
TEST_F(TxnRecoveryIntegrationTest, StopWhileTheAssignmentIsRetriedIsClean) {
  ASSERT_NO_FATAL_FAILURE(
      Start([](serve::ServeOptions& o) { o.kafka_timeout_ms = 3000; },
            [](serve::Service* service) {
              // OffsetFetch failing for ~60 s.
              service->embedded_kafka()->FailNextRequests(
                  9, std::vector<int>(600, 14));
            },
            /*wait_assigned=*/false));
  ASSERT_GE(WaitCount(stats().assign_retries, 1), 1);
  EXPECT_EQ(service()->assigned_partitions(), 0);
  instance_->Stop();  // expects Run() to have returned OK
}

// The decisions producer (idempotent) fails fatally, as librdkafka does
// when it cannot repair a gap in its sequence numbers: every produce and
// flush fails from then on. The commit aborts, the service replaces that
// producer, decides the rewound transactions again and goes on; it used to
// abort every commit from then on.
TEST_F(TxnRecoveryIntegrationTest,
       FatalErrorOfTheDecisionsProducerRecreatesIt) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const serve::ServeStats& stats = this->stats();
  ASSERT_NO_FATAL_FAILURE(SettleFirstTen("P"));
  service()->FailProducerForTest();
  Send("P", 10, 20);
  ASSERT_GE(WaitCount(stats.aborts, 1), 1);
  ASSERT_GE(WaitCount(stats.producer_recreations, 1), 1);
  const int64_t commits = stats.commits.load();
  Send("P", 20, 30);
  ASSERT_GE(WaitCount(stats.commits, commits + 1), commits + 1);
  // 30, and the rewound ones again; their decisions reach the topic.
  EXPECT_GE(WaitCount(stats.decided, 30), 30);
  TopicReader decisions(service()->bootstrap(), "txscreen.decisions");
  std::set<std::string> ids;
  decisions.ReadUntil(
      [&](const std::vector<TopicReader::Message>& all) {
        for (const TopicReader::Message& m : all) {
          v1::Decision d;
          if (d.ParseFromString(m.value)) ids.insert(d.transaction_id());
        }
        return ids.size() >= 30;
      },
      30000);
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(stats.producer_recreations.load(), 1);
  instance_->Stop();
}

// The same for the shadow rule set's producer (idempotent here, as an
// operator's kafka.enable.idempotence makes it): its failures are counted,
// never abort a commit, and it is replaced, so that shadow decisions come
// again.
TEST_F(TxnRecoveryIntegrationTest, FatalErrorOfTheShadowProducerRecreatesIt) {
  ASSERT_NO_FATAL_FAILURE(Start([](serve::ServeOptions& o) {
    o.shadow_rules = o.rules;
    o.kafka["enable.idempotence"] = "true";
  }));
  const serve::ServeStats& stats = this->stats();
  Send("S", 0, 10);
  ASSERT_GE(WaitCount(stats.shadow_decided, 10), 10);
  service()->FailProducerForTest(/*shadow=*/true);
  Send("S", 10, 20);
  ASSERT_GE(WaitCount(stats.shadow_decided, 20), 20);
  EXPECT_GE(stats.shadow_failures.load(), 1);
  EXPECT_EQ(stats.aborts.load(), 0);
  // The decisions after the failed one reach the shadow topic again.
  TopicReader shadow(service()->bootstrap(), "txscreen.shadow-decisions");
  std::set<std::string> ids;
  shadow.ReadUntil(
      [&](const std::vector<TopicReader::Message>& all) {
        for (const TopicReader::Message& m : all) {
          v1::Decision d;
          if (d.ParseFromString(m.value)) ids.insert(d.transaction_id());
        }
        return ids.count("S19") > 0;
      },
      30000);
  EXPECT_EQ(ids.count("S19"), 1u);
  instance_->Stop();
}

// Fenced in a transaction that has not been open for its timeout: a newer
// instance with the same transactional id took over, and this one stops
// rather than fence it back.
TEST_F(TxnRecoveryIntegrationTest, FencingOfAFreshTransactionStopsTheService) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(SettleFirstTen("F"));
  service()->embedded_kafka()->FailNextRequests(26, {90});  // EndTxn
  Send("F", 10, 20);
  const serve::ServeStats& stats = service()->stats();
  std::optional<absl::Status> ended = instance_->WaitEnded(60000);
  ASSERT_TRUE(ended.has_value()) << "still running after the fencing";
  EXPECT_EQ(ended->code(), absl::StatusCode::kAborted) << *ended;
  EXPECT_THAT(ended->message(), ::testing::HasSubstr("fenced")) << *ended;
  EXPECT_EQ(stats.txn_producer_recreations.load(), 0);
}

}  // namespace
}  // namespace txscreen

namespace txscreen {
namespace {

// Slow brokers show in the commit cycle's metrics and in a log line: here
// the embedded broker answers every request 120 ms late, so waiting for the
// decisions' acknowledgements and the Kafka transaction both take longer
// than the 50 ms the service warns from.
using ::testing::HasSubstr;
using ::testing::Not;

TEST(CommitTimingIntegrationTest, SlowCommitStepsAreLoggedAndObserved) {
  TempDir dir("txscreen-slow-commit");
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  serve::SetLogFile(log);
  engine::ManualClock clock(absl::ToUnixMicros(absl::Now()));
  const serve::ServeOptions o = EmbeddedOptions(dir, &clock);
  {
    std::unique_ptr<serve::ServiceMetrics> observed;
    Instance a(o, [&](serve::Service* service) {
      observed = std::make_unique<serve::ServiceMetrics>(service);
      service->set_observer(observed.get());
    });
    ASSERT_NE(a.service(), nullptr);
    ASSERT_TRUE(a.WaitAssigned(1, 60000));
    a.service()->embedded_kafka()->SetRoundTripTime(120);
    const int64_t commits_before = a.service()->stats().commits.load();
    ProducePayments(a.service(), clock, "S", 0, 5);
    const int64_t deadline = NowMs() + 60000;
    while ((a.service()->stats().decided.load() < 5 ||
            a.service()->stats().commits.load() <= commits_before) &&
           NowMs() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GT(a.service()->stats().commits.load(), commits_before);
    const std::string metrics = observed->Render();
    for (const char* name : {"txscreen_commit_ack_wait_seconds_count",
                             "txscreen_commit_hand_off_seconds_count",
                             "txscreen_commit_execute_seconds_count"}) {
      EXPECT_THAT(metrics, HasSubstr(name));
    }
    // The Kafka transaction takes several round trips (AddPartitions,
    // AddOffsets, EndTxn): at least one in all. The wait for the decisions'
    // acknowledgements is only part of one: it starts when the cycle does,
    // which may be well after the decisions were sent (0.084 s was seen),
    // but a slow broker makes it more than nothing.
    auto sum_of = [&](const char* sum) {
      const size_t at = metrics.find(sum);
      EXPECT_NE(at, std::string::npos) << sum;
      return at == std::string::npos
                 ? 0.0
                 : std::atof(metrics.c_str() + at + std::strlen(sum));
    };
    EXPECT_GE(sum_of("txscreen_commit_execute_seconds_sum "), 0.1);
    EXPECT_GT(sum_of("txscreen_commit_ack_wait_seconds_sum "), 0.0);
    a.Stop();
    observed.reset();
  }
  serve::SetLogFile(stderr);
  std::rewind(log);
  std::string text;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, log)) {
    text.append(buffer, n);
  }
  std::fclose(log);
  EXPECT_THAT(text, HasSubstr("WARN slow commit cycle: the Kafka transaction "
                              "and the local store write took "));
  EXPECT_THAT(text, HasSubstr("WARN slow commit cycle: waiting for decision "
                              "acknowledgements took "));
}

// The roster and the rules reload apart: a broken rule file does not keep a
// teller taken off the roster in it, and a broken roster does not keep the
// old rules. A console session ends when a reload changes its token.
TEST(ReloadIntegrationTest, RosterAndRulesReloadApart) {
  TempDir dir("txscreen-reload");
  const std::string pack = dir.path() + "/pack";
  std::filesystem::create_directories(pack);
  std::filesystem::copy_file(
      absl::StrCat(kSourceDir, "/tests/testdata/hold_pack/pack.textproto"),
      pack + "/pack.textproto");
  const std::string roster = dir.path() + "/roster.csv";
  std::filesystem::copy_file(
      absl::StrCat(kSourceDir, "/tests/testdata/roster.csv"), roster);
  auto write = [](const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  };
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto append = [](const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  };
  engine::ManualClock clock(absl::ToUnixMicros(absl::Now()));
  serve::ServeOptions o = EmbeddedOptions(dir, &clock);
  o.rules = {pack};
  o.roster_path = roster;
  Instance a(o);
  ASSERT_NE(a.service(), nullptr);
  serve::Service& service = *a.service();
  ASSERT_NE(service.roster()->Find("T-0217"), nullptr);

  // A console session ends when the roster gives its person a new token.
  serve::HoldViewOptions view_options;
  view_options.bootstrap = service.bootstrap();
  view_options.topics = o.topics;
  absl::StatusOr<std::unique_ptr<serve::HoldView>> view =
      serve::HoldView::Start(view_options);
  ASSERT_TRUE(view.ok()) << view.status();
  serve::Console console(&service, view->get());
  serve::AdminHandlers handlers;
  handlers.add_routes = [&](httplib::Server& server) {
    console.Register(server);
  };
  absl::StatusOr<std::unique_ptr<serve::AdminServer>> admin =
      serve::AdminServer::Start(serve::AdminServerOptions(), handlers);
  ASSERT_TRUE(admin.ok()) << admin.status();
  httplib::Client http("127.0.0.1", (*admin)->port());
  httplib::Headers console_header = {{"X-Txscreen-Console", "1"}};
  {
    // An open event stream ends when its session does (here: sign-out).
    auto first =
        http.Post("/api/console/login", console_header,
                  "{\"token\":\"teller-a-token-0001\"}", "application/json");
    ASSERT_EQ(first->status, 200) << first->body;
    const std::string set = first->get_header_value("Set-Cookie");
    const httplib::Headers cookie = {{"Cookie", set.substr(0, set.find(';'))}};
    std::atomic<bool> got_data{false};
    auto stream = std::async(std::launch::async, [&] {
      httplib::Client streaming("127.0.0.1", (*admin)->port());
      streaming.set_read_timeout(30, 0);
      return streaming.Get("/api/holds/stream", cookie,
                           [&](const char*, size_t) {
                             got_data.store(true);
                             return true;
                           });
    });
    for (int i = 0; i < 100 && !got_data.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(got_data.load());
    httplib::Headers logout = cookie;
    logout.emplace("X-Txscreen-Console", "1");
    ASSERT_EQ(
        http.Post("/api/console/logout", logout, "", "text/plain")->status,
        200);
    ASSERT_EQ(stream.wait_for(std::chrono::seconds(5)),
              std::future_status::ready)
        << "the stream outlived its session";
  }
  auto login =
      http.Post("/api/console/login", console_header,
                "{\"token\":\"teller-a-token-0001\"}", "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string cookie = login->get_header_value("Set-Cookie");
  const httplib::Headers session = {
      {"Cookie", cookie.substr(0, cookie.find(';'))}};
  ASSERT_EQ(http.Get("/api/console/me", session)->status, 200);
  std::string rotated = read(roster);
  const std::string old_hash =
      "90adec3ffe384990d2015863fd3985ca2acdd0c5d94ced3de98e93bb7be33b69";
  ASSERT_NE(rotated.find(old_hash), std::string::npos);
  rotated.replace(rotated.find(old_hash), old_hash.size(),
                  engine::Sha256Hex("rotated-token-0009"));
  write(roster, rotated);
  ASSERT_TRUE(service.Reload().ok());
  auto stale = http.Get("/api/console/me", session);
  EXPECT_EQ(stale->status, 401);
  EXPECT_THAT(stale->body, HasSubstr("sign in again"));
  EXPECT_EQ(http.Get("/api/console/me", session)->status, 401);
  EXPECT_EQ(http.Get("/api/console/me",
                     {{"Authorization", "Bearer rotated-token-0009"}})
                ->status,
            200);
  console.Shutdown();
  (*admin)->Stop();

  // T-0217 leaves; the same reload meets a rule file with an error.
  write(roster,
        "staff_id,name,branch_id,role,token_sha256\n"
        "S-0102,Zhang Wei,NJ-0102,supervisor,"
        "89bb05e1aee801bb5fdc16d048280702fa07899babb57bfa4e3b237c8b353e29\n");
  append(pack + "/pack.textproto", "rule { id: \"BROKEN\" when: \"tx.\" }\n");
  absl::Status s = service.Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(service.roster()->Find("T-0217"), nullptr)
      << "a teller taken off the roster keeps access while a rule is broken";
  EXPECT_NE(service.roster()->Find("S-0102"), nullptr);
  std::string status = service.RulesStatusJson();
  EXPECT_THAT(status, HasSubstr("\"roster_last_error\":null"));
  EXPECT_THAT(status, Not(HasSubstr("\"last_error\":null")));

  // The rules mended, the roster broken: the rules load, the roster stays.
  std::filesystem::copy_file(
      absl::StrCat(kSourceDir, "/tests/testdata/hold_pack/pack.textproto"),
      pack + "/pack.textproto",
      std::filesystem::copy_options::overwrite_existing);
  write(roster, "staff_id,name\nT-0217\n");
  const int64_t reloads = service.stats().reloads.load();
  s = service.Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("roster.csv"));
  EXPECT_EQ(service.stats().reloads.load(), reloads + 1);
  EXPECT_EQ(service.roster()->Find("T-0217"), nullptr);
  EXPECT_NE(service.roster()->Find("S-0102"), nullptr);
  status = service.RulesStatusJson();
  EXPECT_THAT(status, HasSubstr("\"last_error\":null"));
  EXPECT_THAT(status, Not(HasSubstr("\"roster_last_error\":null")));
}

}  // namespace
}  // namespace txscreen
