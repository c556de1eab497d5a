// Clock: where the plugin reads the time. Injected so that tests move time
// instead of waiting for it. Times are Unix milliseconds (UTC); local-time
// questions (periods, time zones) are answered by rules/, not here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace refpos {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

// A clock that stands still until told to move; used by tests and by a store
// opened with a clock override.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t now_ms) : now_ms_(now_ms) {}
  [[nodiscard]] std::int64_t now_ms() const override { return now_ms_.load(); }
  void set_ms(std::int64_t now_ms) { now_ms_.store(now_ms); }
  void advance_ms(std::int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

inline constexpr std::int64_t kMsPerDay = 86'400'000;

}  // namespace refpos
