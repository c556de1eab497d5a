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

std::int64_t code_expires_at_ms(const Program& program, std::uint32_t issue_day) {
  return codes::issue_day_start_ms(issue_day) + (program.code.valid_days + 1) * kMsPerDay;
}

bool reveals_nothing(std::string_view reason) {
  // A typo or a cart that does not qualify says nothing about whether a code
  // exists; the rest would, so their precise tag goes only to the log.
  static constexpr std::string_view kPrecise[] = {
      "malformed", "mistyped", "customer_required", "not_new_customer", "min_spend",
      "nothing_eligible", "not_combinable", "free_item_missing", "self_referral", "rate_limited"};
  return std::find(std::begin(kPrecise), std::end(kPrecise), reason) != std::end(kPrecise);
}

RedemptionDecision check_buyer(const Program& program, const Cart& cart,
                               const CustomerFacts& customer) {
  const auto& referee = program.referee;
  if (!cart.customer_id) {
    return reject("customer_required",
                  "Enrol the customer first: a referral is redeemed by a named customer.");
  }
  if (referee.new_customers_only && customer.purchases > 0) {
    return reject("not_new_customer", "Referral rewards are for new customers only.");
  }
  if (referee.stacking == Stacking::exclusive && cart.host_discount_minor > 0) {
    return reject("not_combinable",
                  "The referral reward cannot be combined with the other discounts in this basket.");
  }
  // Only eligible lines count toward the minimum and carry the discount, and
  // only what the host's own discounts leave of them.
  std::int64_t eligible_minor = 0;
  std::vector<std::size_t> eligible_lines;
  for (std::size_t i = 0; i < cart.lines.size(); ++i) {
    const auto& line = cart.lines[i];
    if (!referee.is_eligible(line.sku, line.category)) continue;
    if (referee.stacking == Stacking::skip_discounted_lines && line.host_discount_minor > 0) continue;
    if (cart.line_net_minor(i) == 0 && referee.kind != RefereeKind::free_item) continue;
    eligible_lines.push_back(i);
    eligible_minor += cart.line_net_minor(i);  // <= subtotal, which is range-checked
  }
  if (eligible_lines.empty()) {
    return reject("nothing_eligible",
                  "None of these items can take the referral reward (excluded by the program).");
  }
  if (eligible_minor < referee.min_spend_minor) {
    const bool some_excluded = eligible_lines.size() < cart.lines.size();
    return reject("min_spend", "The referral reward needs a spend of at least " +
                                   money_text(referee.min_spend_minor, cart.currency) +
                                   (some_excluded ? " on eligible items." : "."));
  }

  RedemptionDecision d;
  d.accepted = true;
  d.program = &program;
  d.discount_kind = "referral";
  d.line_discounts_minor.assign(cart.lines.size(), 0);
  switch (referee.kind) {
    case RefereeKind::store_credit:
      d.referee_credit_minor = referee.store_credit_minor;
      d.message = "Referral: " + money_text(referee.store_credit_minor, cart.currency) +
                  " store credit for the new customer";
      return d;
    case RefereeKind::free_item: {
      // One unit of the dearest listed item in the basket, free (what is left
      // of its price after the host's discount, at most the cap).
      std::optional<std::size_t> best;
      for (const auto i : eligible_lines) {
        const auto& line = cart.lines[i];
        if (referee.free_item_skus.count(line.sku) == 0) continue;
        if (!best || line.unit_price_minor > cart.lines[*best].unit_price_minor) best = i;
      }
      if (!best) {
        std::string skus;
        for (const auto& sku : referee.free_item_skus) skus += (skus.empty() ? "" : ", ") + sku;
        return reject("free_item_missing",
                      "Add the free item to the basket first (one of: " + skus + ").");
      }
      std::int64_t free = std::min(cart.lines[*best].unit_price_minor, cart.line_net_minor(*best));
      if (referee.cap_minor > 0) free = std::min(free, referee.cap_minor);
      d.discount_minor = free;
      d.line_discounts_minor[*best] = free;
      d.discount_kind = "free_item";
      d.message = "Referral: one " + cart.lines[*best].sku + " free";
      return d;
    }
    case RefereeKind::amount_off:
      d.discount_minor = std::min(referee.amount_off_minor, eligible_minor);
      d.message = "Referral: " + money_text(d.discount_minor, cart.currency) + " off";
      break;
    case RefereeKind::percent_off:
      d.discount_minor = money::percent_of_half_up(eligible_minor, referee.percent_off_bp);
      if (referee.cap_minor > 0) d.discount_minor = std::min(d.discount_minor, referee.cap_minor);
      d.message = "Referral: " + percent_text(referee.percent_off_bp) + " off";
      break;
  }
  // Allocated over the eligible lines only; excluded lines get exactly 0.
  std::vector<std::int64_t> weights;
  weights.reserve(eligible_lines.size());
  for (const auto i : eligible_lines) weights.push_back(cart.line_net_minor(i));
  const auto shares = money::allocate_largest_remainder(d.discount_minor, weights);
  for (std::size_t k = 0; k < eligible_lines.size(); ++k) {
    d.line_discounts_minor[eligible_lines[k]] = shares[k];
  }
  assert(std::accumulate(d.line_discounts_minor.begin(), d.line_discounts_minor.end(),
                         std::int64_t{0}) == d.discount_minor);
  return d;
}

RedemptionDecision evaluate_redemption(const RuleSet& rules, const Cart& cart,
                                       const codes::CodeFields& code, const CustomerFacts& customer,
                                       const CodeFacts& facts, std::int64_t now_ms,
                                       const ExposureFacts& exposure) {
  const Program& program = rules.program_for_key(code.key_id);
  // The buyer's conditions first: they answer the same for any code.
  RedemptionDecision d = check_buyer(program, cart, customer);
  if (!d.accepted) return d;
  if (facts.revoked) return reject("revoked", std::string(kCannotBeUsed));
  if (now_ms + kIssueClockSkewMs < codes::issue_day_start_ms(code.issue_day)) {
    return reject("not_yet_valid", std::string(kCannotBeUsed));
  }
  if (now_ms >= code_expires_at_ms(program, code.issue_day)) {
    return reject("expired", std::string(kCannotBeUsed));
  }
  if (facts.redemptions >= program.code.max_redemptions) {
    return reject("used_up", std::string(kCannotBeUsed));
  }
  if (program.code.max_redemptions_per.count > 0 &&
      facts.redemptions_in_period >= program.code.max_redemptions_per.count) {
    return reject("used_up", std::string(kCannotBeUsed));
  }
  if (facts.issued_here && facts.referrer_customer_id == *cart.customer_id) {
    return reject("self_referral", "A customer cannot redeem their own referral code.");
  }
  for (const auto& hash : cart.identity_hashes) {
    if (facts.referrer_identities.count(hash) != 0) {
      return reject("self_referral",
                    "This code belongs to someone with the same phone, e-mail or card.");
    }
  }
  // Exposure while offline: refuse past a bound, and say which.
  if (program.online_only) {
    return reject("online_only", "This program's codes are redeemed online only, not at the till.");
  }
  const auto& offline = rules.offline;
  if (offline.max_offline_hours > 0 &&
      now_ms - exposure.last_sync_ms > offline.max_offline_hours * 3'600'000) {
    return reject("offline_too_long", "This till has not reached head office for more than " +
                                          std::to_string(offline.max_offline_hours) +
                                          " hours: referral codes wait until it has.");
  }
  if (offline.max_discount_per_redemption_minor > 0 &&
      d.discount_minor + d.referee_credit_minor > offline.max_discount_per_redemption_minor) {
    return reject("offline_limit", "This reward is above what the till may grant offline (" +
                                       money_text(offline.max_discount_per_redemption_minor, cart.currency) +
                                       ").");
  }

  // The referrer's side.
  const auto& reward = program.referrer;
  d.referrer.kind = reward.kind;
  d.referrer.pending_days = reward.pending_days;
  if (reward.kind != ReferrerKind::recognition) {
    d.referrer.amount_minor = reward.amount_minor;
    d.referrer.points = reward.points;
  }
  if (reward.max_rewards.count > 0 && facts.referrer_rewards_in_period >= reward.max_rewards.count) {
    d.referrer.capped = true;
    d.referrer.amount_minor = 0;
    d.referrer.points = 0;
  }
  if (offline.max_granted_since_sync_minor > 0 &&
      exposure.granted_since_sync_minor + d.granted_minor() > offline.max_granted_since_sync_minor) {
    return reject("offline_limit", "The till has granted all it may before its next sync (" +
                                       money_text(offline.max_granted_since_sync_minor, cart.currency) +
                                       "): referral codes wait until then.");
  }

  // Fraud signals a till has.
  const auto act = [&](FraudAction action, std::string_view signal) -> bool {
    switch (action) {
      case FraudAction::off: return false;
      case FraudAction::flag: d.flags.emplace_back(signal); return false;
      case FraudAction::hold: d.flags.emplace_back(signal); d.referrer.held = true; return false;
      case FraudAction::refuse: return true;
    }
    return false;
  };
  if (facts.issued_here && cart.linked_customer_ids.count(facts.referrer_customer_id) != 0 &&
      act(rules.fraud.referrer_in_basket, "referrer_in_basket")) {
    auto r = reject("fraud_suspected", std::string(kCannotBeUsed));
    r.flags = d.flags;
    r.flags.emplace_back("referrer_in_basket");
    return r;
  }
  for (std::size_t i = 0; i < rules.fraud.velocity.size(); ++i) {
    const auto& rule = rules.fraud.velocity[i];
    const std::int64_t count = i < facts.velocity_counts.size() ? facts.velocity_counts[i] : 0;
    if (count < rule.max) continue;
    const std::string signal =
        std::string("velocity_") + (rule.scope == VelocityScope::code       ? "code"
                                    : rule.scope == VelocityScope::terminal ? "terminal"
                                                                            : "cashier");
    if (act(rule.action, signal)) {
      auto r = reject("fraud_suspected", std::string(kCannotBeUsed));
      r.flags = d.flags;  // every signal raised so far goes to the report
      r.flags.push_back(signal);
      return r;
    }
  }
  return d;
}

AskDecision should_ask(const RuleSet& rules, const Cart& cart, std::int64_t paid_minor,
                       std::optional<int> nps) {
  const auto& ask = rules.ask;
  if (ask.when == AskWhen::never) return {false, "off"};
  if (!cart.customer_id) return {false, "no_customer"};
  switch (ask.when) {
    case AskWhen::promoters:
      if (!nps || *nps < 9) return {false, "not_promoter"};
      if (paid_minor < ask.min_spend_minor) return {false, "below_min_spend"};
      return {true, "promoter"};
    case AskWhen::min_spend:
      if (paid_minor < ask.min_spend_minor) return {false, "below_min_spend"};
      return {true, "min_spend"};
    default:
      if (paid_minor < ask.min_spend_minor) return {false, "below_min_spend"};
      return {true, "every_customer"};
  }
}

OfferText offer_text(const RuleSet& rules, const MoneyText& money) {
  const auto& referee = rules.program.referee;
  const auto& referrer = rules.program.referrer;
  OfferText text;
  switch (referee.kind) {
    case RefereeKind::percent_off:
      text.friend_gets = percent_text(referee.percent_off_bp) + " off";
      if (referee.cap_minor > 0) text.friend_gets += " (up to " + money(referee.cap_minor) + ")";
      break;
    case RefereeKind::amount_off: text.friend_gets = money(referee.amount_off_minor) + " off"; break;
    case RefereeKind::free_item: text.friend_gets = "a free " + *referee.free_item_skus.begin(); break;
    case RefereeKind::store_credit:
      text.friend_gets = money(referee.store_credit_minor) + " store credit";
      break;
  }
  switch (referrer.kind) {
    case ReferrerKind::store_credit: text.referrer_gets = money(referrer.amount_minor); break;
    case ReferrerKind::gift_card: text.referrer_gets = "a " + money(referrer.amount_minor) + " gift card"; break;
    case ReferrerKind::points: text.referrer_gets = std::to_string(referrer.points) + " points"; break;
    case ReferrerKind::recognition: break;
  }
  return text;
}

std::string referral_offer_message(const RuleSet& rules, const MoneyText& money) {
  const OfferText text = offer_text(rules, money);
  std::string msg = "Give this to a friend: they get " + text.friend_gets;
  if (!text.referrer_gets.empty()) msg += ", you get " + text.referrer_gets;
  return msg;
}

}  // namespace refpos::rules
