// The rule set: what a referral program gives and when (schema
// "refpos.rules/1", docs/rules.md). Published by head office, versioned; every
// event records the version that produced it. Parsed once at the edge with
// every field checked; contradictory rules are refused, and every bad field
// is named in one error, so a rule author fixes them all in one round.
//
// A rule set holds the store's customer program and any partner programs
// (gyms, employers, leadshare groups): each program has its own referee and
// referrer rewards and code policy; a code belongs to the partner whose key
// made it, else to the customer program.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace refpos::rules {

inline constexpr std::int64_t kMaxValidDays = 3650;
inline constexpr std::int64_t kMaxRedemptionsPerCode = 1'000'000;
inline constexpr std::size_t kMaxExclusions = 500;  // per list
inline constexpr std::size_t kMaxPartners = 200;
inline constexpr std::int64_t kMaxPendingDays = 365;
inline constexpr std::int64_t kMaxPoints = 1'000'000'000;

using IdSet = std::set<std::string, std::less<>>;

// A count per calendar month or year in the store's time zone.
enum class Per { month, year };
struct PeriodLimit {
  std::int64_t count = 0;  // 0: no limit
  Per per = Per::month;
};

// How the referral discount meets the host's own discounts on a line.
enum class Stacking {
  combine,                // applies to what is left after the host's discount
  skip_discounted_lines,  // lines the host discounted take no referral discount
  exclusive,              // a cart with any host discount cannot redeem
};

enum class RefereeKind { percent_off, amount_off, free_item, store_credit };

struct RefereeReward {
  RefereeKind kind = RefereeKind::percent_off;
  std::int32_t percent_off_bp = 0;      // percent_off: basis points of the eligible spend
  std::int64_t amount_off_minor = 0;    // amount_off: never more than the eligible spend
  IdSet free_item_skus;                 // free_item: one unit of the dearest of these
  std::int64_t store_credit_minor = 0;  // store_credit: into the friend's wallet, now
  std::int64_t cap_minor = 0;           // 0: no cap (percent_off, free_item)
  std::int64_t min_spend_minor = 0;     // eligible spend needed to redeem
  bool new_customers_only = true;
  Stacking stacking = Stacking::combine;
  // Lines the discount never applies to (gift cards, tobacco, items sold at
  // cost): they count neither toward min_spend nor toward the discount.
  IdSet excluded_categories;
  IdSet excluded_skus;

  [[nodiscard]] bool is_eligible(const std::string& sku, const std::string& category) const {
    return excluded_skus.count(sku) == 0 && (category.empty() || excluded_categories.count(category) == 0);
  }
};

// recognition: a thank-you on the receipt and nothing of value, for
// industries where monetary referral rewards are not allowed.
enum class ReferrerKind { store_credit, points, gift_card, recognition };

struct ReferrerReward {
  ReferrerKind kind = ReferrerKind::store_credit;
  std::int64_t amount_minor = 0;  // store_credit, gift_card
  std::int64_t points = 0;        // points
  std::int64_t pending_days = 0;  // spendable after the return window
  PeriodLimit max_rewards;        // per referrer; past it the friend still gets theirs

  [[nodiscard]] bool has_value() const {
    return kind != ReferrerKind::recognition && (amount_minor > 0 || points > 0);
  }
};

struct CodePolicy {
  std::int64_t valid_days = 30;         // redeemable through issue day + valid_days
  std::int64_t max_redemptions = 1;     // per code, ever
  PeriodLimit max_redemptions_per;      // per code, per period
};

struct Program {
  std::string id;                       // "friends", or the partner's id
  std::string name;                     // partners: shown on receipts
  bool partner = false;
  std::uint8_t key_id = 0;              // partners: the code key their codes carry
  bool online_only = false;             // redeemed online only: every till refuses its codes
  RefereeReward referee;
  ReferrerReward referrer;
  CodePolicy code;
};

// When the cashier should ask for a referral, and who gets a code.
enum class AskWhen { every_customer, promoters, min_spend, never };
struct AskPolicy {
  AskWhen when = AskWhen::every_customer;
  std::int64_t min_spend_minor = 0;     // paid; applies to every "when" but never
};

// Brakes on guessing codes at a till.
struct Limits {
  std::int64_t failed_code_attempts = 0;  // per terminal in the window; 0: no limit
  std::int64_t window_minutes = 15;
};

// What a fraud signal does: refuse the redemption, hold the referrer's reward
// for review at head office, or only flag it for the report.
enum class FraudAction { off, flag, hold, refuse };
enum class VelocityScope { code, terminal, cashier };
struct VelocityRule {
  VelocityScope scope = VelocityScope::code;
  std::int64_t max = 0;                 // redemptions in the window before acting
  std::int64_t window_minutes = 60;
  FraudAction action = FraudAction::flag;
};
struct FraudRules {
  FraudAction referrer_in_basket = FraudAction::refuse;
  std::vector<VelocityRule> velocity;
};

// Exposure bounds while the store cannot reach head office, as payment
// terminals bound offline payments. 0 means no bound.
struct OfflineLimits {
  std::int64_t max_discount_per_redemption_minor = 0;
  std::int64_t max_granted_since_sync_minor = 0;  // discounts + referrer value
  std::int64_t max_offline_hours = 0;
};

struct RuleSet {
  std::int64_t version = 0;             // >= 1
  Program program;                      // the customer program
  std::vector<Program> partners;
  AskPolicy ask;
  Limits limits;
  FraudRules fraud;
  OfflineLimits offline;
  std::int64_t point_value_minor = 0;   // what one point is worth when spent; 0: not spendable

  // The program a code with this key id belongs to.
  [[nodiscard]] const Program& program_for_key(std::uint8_t key_id) const;
  [[nodiscard]] const Program* partner(std::string_view id) const;
};

// Parses a rule set; `path` prefixes field names in errors ("rules"). On
// failure the error's message names every bad field found.
Result<RuleSet> parse_ruleset(const nlohmann::json& doc, const std::string& path);

std::string_view name_of(Per per);
std::string_view name_of(ReferrerKind kind);
std::string_view name_of(FraudAction action);

}  // namespace refpos::rules
