#include "rules/evaluate.hpp"

#include <algorithm>
#include <cassert>
#include <numeric>

#include "base/clock.hpp"

namespace refpos::rules {
namespace {

// A store clock that runs up to a day behind the issuing store's must still
// accept a code issued "tomorrow" by its clock.
constexpr std::int64_t kIssueClockSkewMs = kMsPerDay;

RedemptionDecision reject(std::string reason, std::string message) {
  RedemptionDecision d;
  d.reason = std::move(reason);
  d.message = std::move(message);
  return d;
}

std::string percent_text(std::int32_t bp) {
  std::string s = std::to_string(bp / 100);
  if (bp % 100 != 0) {
    const int frac = bp % 100;
    s += (frac < 10 ? ".0" : ".") + std::to_string(frac);
    while (s.back() == '0') s.pop_back();
  }
  return s + "%";
}

std::string money_text(std::int64_t minor, money::Currency currency) {
  auto m = money::Money::of(minor, currency);
  return (m ? m->to_decimal_string() : std::to_string(minor)) + " " + std::string(currency.code);
}

}  // namespace

std::int64_t code_expires_at_ms(const RuleSet& rules, std::uint32_t issue_day) {
  return codes::issue_day_start_ms(issue_day) + (rules.code.valid_days + 1) * kMsPerDay;
}

RedemptionDecision evaluate_redemption(const RuleSet& rules, const Cart& cart,
                                       const codes::CodeFields& code, const CustomerFacts& customer,
                                       const CodeFacts& facts, std::int64_t now_ms) {
  const auto& referee = rules.referee;
  if (facts.revoked) return reject("revoked", "This code has been withdrawn.");
  if (now_ms + kIssueClockSkewMs < codes::issue_day_start_ms(code.issue_day)) {
    return reject("not_yet_valid", "This code is not valid yet.");
  }
  if (now_ms >= code_expires_at_ms(rules, code.issue_day)) {
    return reject("expired", "This code has expired.");
  }
  if (facts.redemptions >= rules.code.max_redemptions) {
    return reject("used_up", "This code has already been used the maximum number of times.");
  }
  if (!cart.customer_id) {
    return reject("customer_required",
                  "Enrol the customer first: a referral is redeemed by a named customer.");
  }
  if (facts.issued_here && facts.referrer_customer_id == *cart.customer_id) {
    return reject("self_referral", "A customer cannot redeem their own referral code.");
  }
  if (referee.new_customers_only && customer.purchases > 0) {
    return reject("not_new_customer", "Referral discounts are for new customers only.");
  }
  // Only eligible lines count toward the minimum and carry the discount.
  std::int64_t eligible_minor = 0;
  std::vector<std::size_t> eligible_lines;
  for (std::size_t i = 0; i < cart.lines.size(); ++i) {
    const auto& line = cart.lines[i];
    if (!referee.is_eligible(line.sku, line.category)) continue;
    eligible_lines.push_back(i);
    eligible_minor += line.total_minor;  // <= subtotal, which is range-checked
  }
  if (eligible_lines.empty()) {
    return reject("nothing_eligible",
                  "None of these items can take the referral discount (excluded by the program).");
  }
  if (eligible_minor < referee.min_spend_minor) {
    const bool some_excluded = eligible_lines.size() < cart.lines.size();
    return reject("min_spend", "The referral discount needs a spend of at least " +
                                   money_text(referee.min_spend_minor, cart.currency) +
                                   (some_excluded ? " on eligible items." : "."));
  }

  RedemptionDecision d;
  d.accepted = true;
  d.discount_minor = referee.amount_off_minor > 0
                         ? std::min(referee.amount_off_minor, eligible_minor)
                         : money::percent_of_half_up(eligible_minor, referee.percent_off_bp);
  if (referee.cap_minor > 0) d.discount_minor = std::min(d.discount_minor, referee.cap_minor);
  // Allocated over the eligible lines only; excluded lines get exactly 0.
  std::vector<std::int64_t> weights;
  weights.reserve(eligible_lines.size());
  for (const auto i : eligible_lines) weights.push_back(cart.lines[i].total_minor);
  const auto shares = money::allocate_largest_remainder(d.discount_minor, weights);
  d.line_discounts_minor.assign(cart.lines.size(), 0);
  for (std::size_t k = 0; k < eligible_lines.size(); ++k) {
    d.line_discounts_minor[eligible_lines[k]] = shares[k];
  }
  assert(std::accumulate(d.line_discounts_minor.begin(), d.line_discounts_minor.end(),
                         std::int64_t{0}) == d.discount_minor);
  d.referrer_reward_minor = rules.referrer.store_credit_minor;
  d.message = "Referral: " +
              (referee.amount_off_minor > 0 ? money_text(referee.amount_off_minor, cart.currency)
                                            : percent_text(referee.percent_off_bp)) +
              " off";
  return d;
}

bool should_issue_code(const RuleSet& rules, const Cart& cart, std::int64_t paid_minor) {
  return rules.issue.on_commit && cart.customer_id.has_value() &&
         paid_minor >= rules.issue.min_spend_minor;
}

OfferText offer_text(const RuleSet& rules, const MoneyText& money) {
  OfferText text;
  text.friend_gets = (rules.referee.amount_off_minor > 0 ? money(rules.referee.amount_off_minor)
                                                        : percent_text(rules.referee.percent_off_bp)) +
                     " off";
  if (rules.referee.amount_off_minor == 0 && rules.referee.cap_minor > 0) text.friend_gets += " (up to " + money(rules.referee.cap_minor) + ")";
  if (rules.referrer.store_credit_minor > 0) text.referrer_gets = money(rules.referrer.store_credit_minor);
  return text;
}

std::string referral_offer_message(const RuleSet& rules, const MoneyText& money) {
  const OfferText text = offer_text(rules, money);
  std::string msg = "Give this to a friend: they get " + text.friend_gets;
  if (!text.referrer_gets.empty()) msg += ", you get " + text.referrer_gets;
  return msg;
}

}  // namespace refpos::rules
