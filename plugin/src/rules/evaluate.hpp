// Rule evaluation: a pure function of (rule set, cart, customer, local state,
// clock). No I/O, no SQLite, no global state: the store gathers the facts,
// this decides, and the checkout records the decision. That keeps every rule
// testable with plain values and lets preview and commit share one answer.
#pragma once

#include <functional>

#include <cstdint>
#include <string>
#include <vector>

#include "cart/cart.hpp"
#include "codes/code.hpp"
#include "rules/ruleset.hpp"

namespace refpos::rules {

// What the store knows about the customer at the till.
struct CustomerFacts {
  bool known = false;
  std::int64_t purchases = 0;  // committed, not reversed
};

// What the store knows about a presented code (it may have been issued at
// another store, in which case only its fields are known).
struct CodeFacts {
  bool issued_here = false;
  std::string referrer_customer_id;  // "" unless issued_here
  std::int64_t redemptions = 0;      // at this store, not reversed
  bool revoked = false;
};

struct RedemptionDecision {
  bool accepted = false;
  std::string reason;    // rejection tag (docs/api.md), "" when accepted
  std::string message;   // for the cashier's screen
  std::int64_t discount_minor = 0;
  std::vector<std::int64_t> line_discounts_minor;  // one per cart line, sums to discount
  std::int64_t referrer_reward_minor = 0;
};

// Redeemable through the end of (issue day + valid_days), UTC.
std::int64_t code_expires_at_ms(const RuleSet& rules, std::uint32_t issue_day);

// Decides whether an authentic code can be redeemed by this cart now, and
// what it gives. The code's format and MAC have been checked by codes/.
RedemptionDecision evaluate_redemption(const RuleSet& rules, const Cart& cart,
                                       const codes::CodeFields& code, const CustomerFacts& customer,
                                       const CodeFacts& facts, std::int64_t now_ms);

// Whether the program issues this customer a code after paying `paid_minor`.
bool should_issue_code(const RuleSet& rules, const Cart& cart, std::int64_t paid_minor);

// Writes an amount of the store's currency for a customer ("$10.00").
using MoneyText = std::function<std::string(std::int64_t minor)>;

// What each side of a referral gets, in words for a receipt:
// friend_gets "20% off (up to $50.00)"; referrer_gets "$10.00", or "" when
// the program rewards the referrer with thanks only.
struct OfferText {
  std::string friend_gets;
  std::string referrer_gets;
};
OfferText offer_text(const RuleSet& rules, const MoneyText& money);

// The line on the receipt that tells a referrer what the friend gets and what
// they get: "Give this to a friend: they get 20% off, you get $10.00".
std::string referral_offer_message(const RuleSet& rules, const MoneyText& money);

}  // namespace refpos::rules
