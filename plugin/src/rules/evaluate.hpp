// Rule evaluation: a pure function of (rule set, cart, customer, local state,
// clock). No I/O, no SQLite, no global state: the store gathers the facts,
// this decides, and the checkout records the decision. That keeps every rule
// testable with plain values and lets preview and commit share one answer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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
// another store, in which case only its fields are known), counted by the
// store over the periods and windows the rules name.
struct CodeFacts {
  bool issued_here = false;
  std::string referrer_customer_id;  // "" unless issued_here (partners: "partner:<id>")
  std::int64_t redemptions = 0;      // at this store, not reversed
  std::int64_t redemptions_in_period = 0;      // code.max_redemptions_per's period
  std::int64_t referrer_rewards_in_period = 0; // referrer.max_rewards' period
  bool revoked = false;
  IdSet referrer_identities;         // contact and payment-token hashes seen with the referrer
  std::vector<std::int64_t> velocity_counts;  // per rules.fraud.velocity entry, in its window
};

// Exposure while offline (docs/rules.md, "Offline exposure").
struct ExposureFacts {
  std::int64_t granted_since_sync_minor = 0;
  std::int64_t last_sync_ms = 0;     // or when the store first opened
};

struct ReferrerGrant {
  ReferrerKind kind = ReferrerKind::recognition;
  std::int64_t amount_minor = 0;     // store_credit, gift_card
  std::int64_t points = 0;
  std::int64_t pending_days = 0;
  bool held = false;                 // a fraud rule holds it for review
  bool capped = false;               // the referrer's limit for the period is reached
};

struct RedemptionDecision {
  bool accepted = false;
  std::string reason;            // rejection tag (docs/api.md), "" when accepted
  std::string message;           // for the cashier's screen
  std::string customer_message;  // for the customer: never tells a real code from a made-up one
  const Program* program = nullptr;
  std::int64_t discount_minor = 0;
  std::vector<std::int64_t> line_discounts_minor;  // one per cart line, sums to discount
  std::string discount_kind;     // "referral" or "free_item"
  std::int64_t referee_credit_minor = 0;  // store credit for the friend
  ReferrerGrant referrer;
  std::vector<std::string> flags;  // fraud signals to report, e.g. "velocity_terminal"
  // Value handed out now, for the offline exposure caps.
  [[nodiscard]] std::int64_t granted_minor() const {
    return discount_minor + referee_credit_minor + referrer.amount_minor;
  }
};

// The rejection a customer sees for any code that might be a guess: the
// same words whether it was made up, expired, withdrawn or used up.
inline constexpr std::string_view kCannotBeUsed = "This code cannot be used.";
bool reveals_nothing(std::string_view reason);  // true where the precise words give nothing away

// Redeemable through the end of (issue day + valid_days), UTC.
std::int64_t code_expires_at_ms(const Program& program, std::uint32_t issue_day);

// Whether this buyer and cart meet the conditions of `program` that do not
// depend on the code's own facts (customer named, new customer, stacking,
// eligible lines, minimum spend, the free item present). Checked before the
// code's MAC, so a made-up code and a real one get the same answer here.
// Returns the rejection, or an accepted decision with the discount computed.
RedemptionDecision check_buyer(const Program& program, const Cart& cart,
                               const CustomerFacts& customer);

// Decides whether an authentic code can be redeemed by this cart now, and
// what it gives. The code's format and MAC have been checked by codes/; the
// program is the one its key belongs to.
RedemptionDecision evaluate_redemption(const RuleSet& rules, const Cart& cart,
                                       const codes::CodeFields& code, const CustomerFacts& customer,
                                       const CodeFacts& facts, std::int64_t now_ms,
                                       const ExposureFacts& exposure = {});

// Whether the cashier should ask this customer for a referral (and the
// program issue them a code), and why: "every_customer", "promoter",
// "min_spend"; or why not: "no_customer", "not_promoter", "below_min_spend",
// "off". `nps` is the customer's answer (0-10) if one was given.
struct AskDecision {
  bool ask = false;
  std::string why;
};
AskDecision should_ask(const RuleSet& rules, const Cart& cart, std::int64_t paid_minor,
                       std::optional<int> nps);

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
