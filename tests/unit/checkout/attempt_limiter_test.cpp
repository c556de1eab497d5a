// Tests of checkout/attempt_limiter.cpp: the brake on failed code attempts
// per terminal, its window, and its memory bound.
#include "checkout/attempt_limiter.hpp"

#include <doctest/doctest.h>

namespace {

using refpos::checkout::AttemptLimiter;

constexpr std::int64_t kMinute = 60'000;

TEST_CASE("attempt limiter: blocks after N failures in the window, per terminal, until it slides") {
  AttemptLimiter limiter(3, 10 * kMinute);
  const std::int64_t t0 = 1'767'225'600'000;
  limiter.record_failure("till-1", t0);
  limiter.record_failure("till-1", t0 + kMinute);
  CHECK_FALSE(limiter.blocked_until("till-1", t0 + kMinute));
  limiter.record_failure("till-1", t0 + 2 * kMinute);
  // Blocked until the first failure leaves the window.
  CHECK(limiter.blocked_until("till-1", t0 + 2 * kMinute) == t0 + 10 * kMinute);
  CHECK_FALSE(limiter.blocked_until("till-2", t0 + 2 * kMinute));
  CHECK(limiter.blocked_until("till-1", t0 + 10 * kMinute - 1).has_value());
  CHECK_FALSE(limiter.blocked_until("till-1", t0 + 10 * kMinute));
}

TEST_CASE("attempt limiter: disabled with 0 failures") {
  AttemptLimiter limiter(0, kMinute);
  for (int i = 0; i < 100; ++i) limiter.record_failure("till-1", i);
  CHECK_FALSE(limiter.enabled());
  CHECK_FALSE(limiter.blocked_until("till-1", 100));
}

TEST_CASE("attempt limiter: memory stays bounded under many terminal ids") {
  AttemptLimiter limiter(2, kMinute);
  for (std::size_t i = 0; i < 3 * AttemptLimiter::kMaxTerminals; ++i) {
    limiter.record_failure("till-" + std::to_string(i), 0);
  }
  // The newest terminal is tracked; the structure never held more than the bound
  // (checked indirectly: the newest still counts, blocking after one more).
  const std::string newest = "till-" + std::to_string(3 * AttemptLimiter::kMaxTerminals - 1);
  limiter.record_failure(newest, 1);
  CHECK(limiter.blocked_until(newest, 1).has_value());
}

}  // namespace
