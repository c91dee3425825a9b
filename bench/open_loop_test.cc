#include "bench/open_loop.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "bench/transaction_generator.h"
#include "engine/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::bench {
namespace {

TEST(ReplayScheduleTest, RecordedGapsDividedBySpeed) {
  ReplaySchedule s = ReplaySchedule::AtSpeed(10);
  const int64_t t0 = 1'790'000'000'000'000;
  EXPECT_EQ(s.Next(t0), 0);
  EXPECT_EQ(s.Next(t0 + 1'000'000), 100'000);
  EXPECT_EQ(s.Next(t0 + 1'000'000), 100'000);  // the same time: together
  EXPECT_EQ(s.Next(t0 + 60'000'000), 6'000'000);
}

TEST(ReplayScheduleTest, AnEarlierTimeIsSentAtOnceNeverBeforeItsPredecessor) {
  ReplaySchedule s = ReplaySchedule::AtSpeed(1);
  const int64_t t0 = 1'790'000'000'000'000;
  EXPECT_EQ(s.Next(t0 + 5'000'000), 0);
  EXPECT_EQ(s.Next(t0 + 9'000'000), 4'000'000);
  EXPECT_EQ(s.Next(t0 + 6'000'000), 4'000'000);  // out of order
  EXPECT_EQ(s.Next(t0), 4'000'000);              // before the first
  EXPECT_EQ(s.Next(t0 + 10'000'000), 5'000'000);
}

TEST(ReplayScheduleTest, SlowerThanRecorded) {
  ReplaySchedule s = ReplaySchedule::AtSpeed(0.5);
  EXPECT_EQ(s.Next(1'000'000), 0);
  EXPECT_EQ(s.Next(2'000'000), 2'000'000);
}

TEST(ReplayScheduleTest, FarOffTimesAndTinySpeedsDoNotOverflow) {
  ReplaySchedule s = ReplaySchedule::AtSpeed(1e-9);
  EXPECT_EQ(s.Next(0), 0);
  EXPECT_EQ(s.Next(-253'402'300'799'000'000), 0);  // before: at once
  EXPECT_EQ(s.Next(253'402'300'799'000'000), 1'000'000'000'000'000'000);
}

TEST(ReplayScheduleTest, RateIgnoresTheRecordedTimes) {
  ReplaySchedule s = ReplaySchedule::AtRate(4);
  EXPECT_EQ(s.Next(99), 0);
  EXPECT_EQ(s.Next(5), 250'000);
  EXPECT_EQ(s.Next(1'000'000'000), 500'000);
  // From the index: no drift after many.
  for (int i = 3; i < 4000; ++i) s.Next(0);
  EXPECT_EQ(s.Next(0), 1'000'000'000);
}

int64_t ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

TEST(WaitUntilTest, NeverEarlyAndSleepsInsteadOfSpinning) {
  DeliveryCounter deliveries;
  // No broker: a wait this short never polls the producer.
  auto producer =
      MakeOpenLoopProducer({{"bootstrap.servers", "127.0.0.1:1"}}, &deliveries);
  ASSERT_TRUE(producer.ok()) << producer.status();
  constexpr int kWaits = 100;
  const int64_t wall_before = WallMicros();
  const int64_t cpu_before = ThreadCpuMicros();
  for (int i = 0; i < kWaits; ++i) {
    // Due sooner than the shortest sleep, as every message at 16,000/s.
    const int64_t due = WallMicros() + 60;
    WaitUntil(producer->get(), due);
    EXPECT_GE(WallMicros(), due);
  }
  const int64_t cpu = ThreadCpuMicros() - cpu_before;
  const int64_t wall = WallMicros() - wall_before;
  // Each wait slept its shortest sleep (so that at high rates one wake-up
  // sends several messages)...
  EXPECT_GE(wall, kWaits * kMinSleepUs);
  // ...and did not spend it on the CPU: a spin on the clock would use about
  // all of it, on the core the load test shares with the engine.
  EXPECT_LT(cpu, wall / 2) << "cpu " << cpu << " us over " << wall << " us";
}

// On librdkafka's mock cluster (no broker needed: the messages only have to
// be accepted). `demo` runs one open loop until it is told to stop.
class RunOpenLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made =
        MakeOpenLoopProducer({{"test.mock.num.brokers", "1"}}, &deliveries_);
    ASSERT_TRUE(made.ok()) << made.status();
    producer_ = std::move(*made);
  }
  void TearDown() override {
    if (producer_ != nullptr) producer_->flush(5000);
  }
  DeliveryCounter deliveries_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

// A stop is seen within a long gap (0.1/s: the second message is due 10 s
// after the first), not at its end.
TEST_F(RunOpenLoopTest, StopsPromptlyInALongGap) {
  GeneratorOptions g;
  g.customers = 100;
  TransactionGenerator gen(g);
  std::atomic<bool> stop{false};
  OpenLoopOptions o;
  o.rate = 0.1;
  o.start_us = WallMicros();
  o.end_us = INT64_MAX;
  o.stop = &stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  const int64_t started = WallMicros();
  auto r = RunOpenLoop(o, &gen, producer_.get(), nullptr);
  const int64_t took_us = WallMicros() - started;
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sent, 1);
  EXPECT_LT(took_us, 2'000'000);
}

// Each transaction is moved to its send time, and its account's opening
// with it: however far the generator's clock has run ahead (here ~10
// minutes of event time per transaction), no account opens after its
// transaction, and the account age is what the generator meant.
TEST_F(RunOpenLoopTest, AccountOpeningMovesWithTheSendTime) {
  GeneratorOptions g;
  g.customers = 20;
  g.per_customer_per_day = 7;  // 20 customers: ~10 min of event time a step
  TransactionGenerator gen(g);
  TransactionGenerator same(g);  // the same transactions, unmoved
  OpenLoopOptions o;
  o.rate = 5000;
  o.start_us = WallMicros();
  o.end_us = INT64_MAX;
  o.max_count = 2000;
  int64_t checked = 0;
  auto r = RunOpenLoop(
      o, &gen, producer_.get(),
      [&](const txscreen::v1::Transaction& tx, int64_t intended_us, bool) {
        txscreen::v1::Transaction original;
        same.Next(&original);
        EXPECT_EQ(engine::TimestampMicros(tx.occurred_at()), intended_us);
        if (!tx.has_account_opened_at()) return;
        ++checked;
        EXPECT_LE(engine::TimestampMicros(tx.account_opened_at()), intended_us)
            << tx.transaction_id();
        EXPECT_EQ(engine::TimestampMicros(tx.occurred_at()) -
                      engine::TimestampMicros(tx.account_opened_at()),
                  engine::TimestampMicros(original.occurred_at()) -
                      engine::TimestampMicros(original.account_opened_at()))
            << tx.transaction_id();
      });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sent, 2000);
  EXPECT_GT(checked, 1000);
}

TEST(ParseKeyValuesTest, PairsAndErrors) {
  std::map<std::string, std::string> settings = {{"acks", "1"}};
  ASSERT_TRUE(
      ParseKeyValues("acks=all,linger.ms=5,,sasl.password=a=b", &settings)
          .ok());
  EXPECT_EQ(
      settings,
      (std::map<std::string, std::string>{
          {"acks", "all"}, {"linger.ms", "5"}, {"sasl.password", "a=b"}}));
  EXPECT_TRUE(ParseKeyValues("", &settings).ok());
  EXPECT_EQ(ParseKeyValues("acks", &settings).message(),
            "KEY=VALUE pairs expected, not 'acks'");
  EXPECT_EQ(ParseKeyValues("=5", &settings).message(),
            "KEY=VALUE pairs expected, not '=5'");
}

}  // namespace
}  // namespace txscreen::bench
