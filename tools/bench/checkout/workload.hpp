// The checkout the benchmark repeats, as the JSON a host would send
// (docs/api.md): the store configuration, carts, and the check that the
// plugin really did what is being timed.
//
// The workload is a referral chain. Customer 0 buys without a code and is
// given one; customer i (i >= 1) is new, redeems the code customer i-1 was
// given, and is given a code of their own. So every timed commit both redeems
// a code (a discount, a referrer reward, a wallet credit) and issues one, and
// every code is redeemed once, as in a real store whose codes carry a few
// redemptions each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace refpos::bench {

// The fixed store clock (2026-01-01T00:00:00Z): codes issued during the run
// never expire during the run, however long it takes.
inline constexpr std::int64_t kBenchClockMs = 1'767'225'600'000;

// Redemptions allowed per code in the benchmark's rule set: the plugin's
// maximum, so that no variation of the workload (one code redeemed by every
// customer) runs into "used_up".
inline constexpr std::int64_t kBenchMaxRedemptions = 1'000'000;

// Partner programs in the rule set (each with its own code key, ids 2..).
inline constexpr int kBenchPartners = 25;
// Rules in the benchmark's rule set, one per thing a rule author writes: the
// customer program's 25 (percent off with a cap, min spend, new customers
// only, stacking, 10 excluded categories, 5 excluded SKUs, referrer credit,
// pending period, referrer limit per month, validity, max redemptions, limit
// per year), ask policy and attempt limit (2), fraud (4), offline caps (3),
// and one per partner program (each has its own reward, min spend and code
// policy): 34 + kBenchPartners = 59, at least the 50 the issue asks for.
inline constexpr int kBenchRuleCount = 34 + kBenchPartners;

// Customers and events the store holds before anything is timed: a large
// store's state, so that every count the rules ask for runs over real tables.
inline constexpr std::size_t kDefaultPrefillCustomers = 10'000;
inline constexpr std::int64_t kDefaultPrefillEvents = 100'000;

// The open() configuration of a store in `data_dir`: one code key, the
// "friends" program (20 % off up to 50.00, 10.00 store credit for the
// referrer, a code for every customer), the fixed clock.
std::string store_config_json(const std::string& data_dir);

// The commit request of customer `index` (txn "bench-txn-<index>"), with the
// code to redeem if any. The cart: three lines, 63.00 USD.
std::string commit_request_json(std::size_t index, const std::optional<std::string>& code);

// A prefill commit: customer `index`'s visit `visit` (each customer has a
// contact hash; the first visit redeems `code`).
std::string prefill_request_json(std::size_t index, std::size_t visit,
                                 const std::optional<std::string>& code);

// The last event sequence number a commit answer reports.
std::int64_t last_seq_of(const std::string& commit_answer);

// A preview of the same cart for a customer who never bought here, with
// `code`: the plugin must accept it.
std::string preview_request_json(const std::string& code);

// The code a commit issued (its normalized form), after checking that the
// answer shows what the workload needs: a redemption when `expect_redemption`
// and a new code. Throws BenchError otherwise, quoting the answer.
std::string issued_code_of(const std::string& commit_answer, bool expect_redemption);

// Throws BenchError unless a preview answer accepted its code.
void require_accepted_preview(const std::string& preview_answer);

}  // namespace refpos::bench
