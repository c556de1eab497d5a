// Checkout: the operations a host calls, from request text to answer text.
//
//   preview   parse -> price -> check the code -> answer; writes nothing.
//   commit    parse -> replay? -> price -> check -> ONE write transaction:
//             events + derived state + the answer itself -> answer.
//   reverse   parse -> replay? -> ONE write transaction reversing a commit.
//
// The answer to a commit or reverse is stored in the same transaction as the
// facts, so a retry after a crash gets the identical bytes back, and an
// answer the host received is always backed by its facts.
//
// Not thread-safe: the C boundary serialises calls on a handle.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "checkout/attempt_limiter.hpp"
#include "store/store.hpp"
#include "wire/config.hpp"

namespace refpos::checkout {

// An operation's outcome: an error (if it failed) and the answer document
// (always set on success; on failure, set where the answer carries more
// than the error, e.g. a preview whose code was rejected).
struct Answer {
  std::optional<Error> error;
  std::string json;
};

class Checkout {
 public:
  // Opens the store described by the configuration. With a clock override in
  // the configuration the store uses a ManualClock, else the system clock.
  static Result<std::unique_ptr<Checkout>> open(wire::StoreConfig config);
  // For tests: an explicit clock.
  static Result<std::unique_ptr<Checkout>> open(wire::StoreConfig config,
                                                std::unique_ptr<Clock> clock);

  Answer preview(std::string_view request);
  Answer commit(std::string_view request);
  Answer reverse(std::string_view request);
  Answer issue_code(std::string_view request);
  Answer customer(std::string_view request);
  // ABI 1.1: what prints for a committed transaction. On success `json`
  // holds the rendered bytes (ESC/POS or PNG are binary), not JSON.
  Answer render(std::string_view request);
  // ABI 1.2, through call(): the referral loop around the checkout.
  Answer ask_outcome(std::string_view request);
  Answer lead(std::string_view request);
  Answer contact(std::string_view request);
  Answer forget(std::string_view request);
  Answer install_rules(std::string_view request);

  // ABI 1.3 sync, in two steps around the network (the handle's lock is held
  // for each step, not between them): the request read and the store's
  // configuration as it is now; then, with the sync's outcome, the rules and
  // keys it installed taken in and the answer built.
  Result<wire::StoreConfig> begin_sync(std::string_view request);
  Answer finish_sync(const Result<std::string>& report_json);

  // After a sync (on its own connection) installed rules or code keys:
  // take them into this handle. Call with the handle's lock held.
  Status reload_installed();

  [[nodiscard]] const wire::StoreConfig& config() const { return config_; }
  [[nodiscard]] Clock& clock() { return *clock_; }
  store::Store& store() { return *store_; }

 private:
  Checkout(wire::StoreConfig config, std::unique_ptr<store::Store> store,
           std::unique_ptr<Clock> clock);

  static Status apply_installed(store::Store& store, wire::StoreConfig& config);

  struct Impl;
  wire::StoreConfig config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Clock> clock_;
  AttemptLimiter attempts_;
  // The current month and year in the store's time zone, [start, end).
  struct PeriodMemo {
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
  };
  std::array<PeriodMemo, 2> periods_{};
};

}  // namespace refpos::checkout
