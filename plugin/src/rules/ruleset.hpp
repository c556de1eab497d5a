// The rule set: what a referral program gives and when (schema
// "refpos.rules/1", docs/api.md). Published by head office, versioned; every
// event records the version that produced it. Parsed once at the edge with
// every field checked; contradictory rules are refused.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace refpos::rules {

inline constexpr std::int64_t kMaxValidDays = 3650;
inline constexpr std::int64_t kMaxRedemptionsPerCode = 1'000'000;
inline constexpr std::size_t kMaxExclusions = 500;  // per list

struct RefereeReward {
  // Exactly one of the two kinds: a percentage of the eligible spend, or a
  // fixed amount off it (never more than the eligible spend).
  std::int32_t percent_off_bp = 0;      // basis points of the eligible spend
  std::int64_t amount_off_minor = 0;    // used when > 0 (then percent_off_bp is 0)
  std::int64_t cap_minor = 0;           // 0: no cap
  std::int64_t min_spend_minor = 0;     // subtotal needed to redeem
  bool new_customers_only = true;
  // Lines the discount never applies to (gift cards, tobacco, items sold at
  // cost): they count neither toward min_spend nor toward the discount.
  std::set<std::string, std::less<>> excluded_categories;
  std::set<std::string, std::less<>> excluded_skus;

  [[nodiscard]] bool is_eligible(const std::string& sku, const std::string& category) const {
    return excluded_skus.count(sku) == 0 && (category.empty() || excluded_categories.count(category) == 0);
  }
};

struct ReferrerReward {
  std::int64_t store_credit_minor = 0;  // per converted referral
};

struct CodePolicy {
  std::int64_t valid_days = 30;         // redeemable through issue day + valid_days
  std::int64_t max_redemptions = 1;     // per code
};

struct IssuePolicy {
  bool on_commit = true;                // issue the customer a code at checkout
  std::int64_t min_spend_minor = 0;     // total paid needed to be issued one
};

// Brakes on guessing codes at a till.
struct Limits {
  std::int64_t failed_code_attempts = 0;  // per terminal in the window; 0: no limit
  std::int64_t window_minutes = 15;
};

struct RuleSet {
  std::int64_t version = 0;             // >= 1
  std::string program;
  RefereeReward referee;
  ReferrerReward referrer;
  CodePolicy code;
  IssuePolicy issue;
  Limits limits;
};

// Parses a rule set; `path` prefixes field names in errors ("rules").
Result<RuleSet> parse_ruleset(const nlohmann::json& doc, const std::string& path);

}  // namespace refpos::rules
