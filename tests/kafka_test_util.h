// File: kafka_test_util.h
//
// What the integration tests against the real broker share: where the
// broker is (TXSCREEN_KAFKA_BROKERS, set by tools/test), REQUIRE_KAFKA(),
// a monotonic clock in milliseconds and a temporary directory.
#ifndef TXSCREEN_TESTS_KAFKA_TEST_UTIL_H_
#define TXSCREEN_TESTS_KAFKA_TEST_UTIL_H_

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace txscreen::testing {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::string Brokers() {
  const char* b = std::getenv("TXSCREEN_KAFKA_BROKERS");
  return b != nullptr ? b : "";
}

// Skips the test without a broker, or fails it when TXSCREEN_REQUIRE_KAFKA
// is set (as tools/test does).
#define REQUIRE_KAFKA()                                                 \
  do {                                                                  \
    if (::txscreen::testing::Brokers().empty()) {                       \
      if (std::getenv("TXSCREEN_REQUIRE_KAFKA") != nullptr) {           \
        FAIL() << "TXSCREEN_KAFKA_BROKERS is not set (tools/test sets " \
                  "it after starting the broker)";                      \
      }                                                                 \
      GTEST_SKIP() << "no Kafka broker: run through tools/test";        \
    }                                                                   \
  } while (0)

// A fresh temporary directory, removed at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "txscreen-test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX"))
            .string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace txscreen::testing

#endif  // TXSCREEN_TESTS_KAFKA_TEST_UTIL_H_
