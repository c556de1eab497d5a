#include "checkout/attempt_limiter.hpp"

namespace refpos::checkout {

void AttemptLimiter::forget_before(std::deque<std::int64_t>& attempts, std::int64_t now_ms) const {
  // A test clock may move back: an attempt "in the future" is kept, and
  // counts until the clock passes it by a window.
  while (!attempts.empty() && attempts.front() <= now_ms - window_ms_) attempts.pop_front();
}

std::optional<std::int64_t> AttemptLimiter::blocked_until(const std::string& terminal,
                                                          std::int64_t now_ms) {
  if (!enabled()) return std::nullopt;
  const auto it = failures_.find(terminal);
  if (it == failures_.end()) return std::nullopt;
  forget_before(it->second, now_ms);
  if (static_cast<std::int64_t>(it->second.size()) < max_failures_) return std::nullopt;
  return it->second.front() + window_ms_;
}

void AttemptLimiter::record_failure(const std::string& terminal, std::int64_t now_ms) {
  if (!enabled()) return;
  auto it = failures_.find(terminal);
  if (it == failures_.end()) {
    if (failures_.size() >= kMaxTerminals) {
      // Drop terminals with nothing left in the window; if every one is
      // still counting, the first in order goes (a bound, not a policy).
      for (auto t = failures_.begin(); t != failures_.end();) {
        forget_before(t->second, now_ms);
        t = t->second.empty() ? failures_.erase(t) : std::next(t);
      }
      if (failures_.size() >= kMaxTerminals) failures_.erase(failures_.begin());
    }
    it = failures_.emplace(terminal, std::deque<std::int64_t>{}).first;
  }
  forget_before(it->second, now_ms);
  it->second.push_back(now_ms);
  // Only the newest max_failures_ matter for blocking.
  while (static_cast<std::int64_t>(it->second.size()) > max_failures_) it->second.pop_front();
}

}  // namespace refpos::checkout
