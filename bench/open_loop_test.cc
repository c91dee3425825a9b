#include "bench/open_loop.h"

#include <time.h>

#include <map>
#include <string>

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
