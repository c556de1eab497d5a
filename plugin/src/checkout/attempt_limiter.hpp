// Failed code attempts per terminal: a till that keeps presenting codes that
// cannot be used (someone guessing, or a script) is refused for a while with
// RATE_LIMITED, so that guessing costs time as well as the MAC's odds.
//
// In memory, per open store: the counts are a brake on guessing, not a fact
// to keep (a restart of the till, which an attacker at the counter cannot
// cause quietly, resets them). Bounded: at most kMaxTerminals terminals are
// tracked, and only the attempts inside the window.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace refpos::checkout {

class AttemptLimiter {
 public:
  static constexpr std::size_t kMaxTerminals = 4096;

  // `max_failures` in `window_ms`; 0 failures disables the limiter.
  AttemptLimiter(std::int64_t max_failures, std::int64_t window_ms)
      : max_failures_(max_failures), window_ms_(window_ms) {}

  [[nodiscard]] bool enabled() const { return max_failures_ > 0; }
  // New limits from a new rule set; the attempts counted so far stay.
  void reconfigure(std::int64_t max_failures, std::int64_t window_ms) {
    max_failures_ = max_failures;
    window_ms_ = window_ms;
  }

  // When the terminal may try again, if it is blocked at `now_ms`.
  [[nodiscard]] std::optional<std::int64_t> blocked_until(const std::string& terminal,
                                                          std::int64_t now_ms);
  void record_failure(const std::string& terminal, std::int64_t now_ms);

 private:
  void forget_before(std::deque<std::int64_t>& attempts, std::int64_t now_ms) const;

  std::int64_t max_failures_;
  std::int64_t window_ms_;
  std::map<std::string, std::deque<std::int64_t>, std::less<>> failures_;
};

}  // namespace refpos::checkout
