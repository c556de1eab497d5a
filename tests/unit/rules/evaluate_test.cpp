// Rule evaluation is a pure function: these tests feed it plain values.
#include <doctest/doctest.h>

#include <numeric>
#include <random>

#include "base/clock.hpp"
#include "money/format.hpp"
#include "rules/evaluate.hpp"
#include "rules/ruleset.hpp"

using namespace refpos;
using namespace refpos::rules;

namespace {

constexpr std::int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00Z

RuleSet friends() {
  RuleSet r;
  r.version = 1;
  r.program = "friends";
  r.referee.percent_off_bp = 2000;
  r.referee.cap_minor = 5000;
  r.referee.min_spend_minor = 2000;
  r.referee.new_customers_only = true;
  r.referrer = {1000};
  r.code = {30, 5};
  r.issue = {true, 0};
  return r;
}

Cart cart_of(std::initializer_list<std::int64_t> line_totals, std::optional<std::string> customer = "bob") {
  Cart c;
  c.terminal_id = "till-1";
  c.customer_id = std::move(customer);
  c.currency = *money::find_currency("USD");
  for (const auto t : line_totals) {
    c.lines.push_back({"SKU", "cat", 1, t, t});
    c.subtotal_minor += t;
  }
  return c;
}

codes::CodeFields code_issued_at(std::int64_t ms) {
  return {1, *codes::issue_day_of(ms), 42};
}

}  // namespace

TEST_CASE("rules: an accepted redemption splits the rounded discount over the lines") {
  const auto d = evaluate_redemption(friends(), cart_of({3999, 999}), code_issued_at(kStartMs), {},
                                     {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 1000);
  CHECK(d.line_discounts_minor == std::vector<std::int64_t>{800, 200});
  CHECK(d.referrer_reward_minor == 1000);
  CHECK(d.message == "Referral: 20% off");
}

TEST_CASE("rules: each condition refuses with its own reason, in a fixed order") {
  const auto rules = friends();
  const auto code = code_issued_at(kStartMs);
  struct Case {
    const char* reason;
    Cart cart;
    CustomerFacts customer;
    CodeFacts facts;
    std::int64_t now_ms;
  };
  const std::vector<Case> cases = {
      {"revoked", cart_of({5000}), {}, {false, "", 0, true}, kStartMs},
      {"not_yet_valid", cart_of({5000}), {}, {}, kStartMs - 2 * kMsPerDay},
      {"expired", cart_of({5000}), {}, {}, kStartMs + 31 * kMsPerDay},
      {"used_up", cart_of({5000}), {}, {false, "", 5, false}, kStartMs},
      {"customer_required", cart_of({5000}, std::nullopt), {}, {}, kStartMs},
      {"self_referral", cart_of({5000}), {}, {true, "bob", 0, false}, kStartMs},
      {"not_new_customer", cart_of({5000}), {true, 1}, {}, kStartMs},
      {"min_spend", cart_of({1999}), {}, {}, kStartMs},
      // Several wrong at once: the first in the documented order wins.
      {"revoked", cart_of({1}, std::nullopt), {true, 3}, {true, "bob", 9, true}, kStartMs + 99 * kMsPerDay},
  };
  for (const auto& c : cases) {
    CAPTURE(c.reason);
    const auto d = evaluate_redemption(rules, c.cart, code, c.customer, c.facts, c.now_ms);
    CHECK_FALSE(d.accepted);
    CHECK(d.reason == c.reason);
    CHECK_FALSE(d.message.empty());
    CHECK(d.discount_minor == 0);
  }
}

TEST_CASE("rules: the validity window runs through the end of issue day + valid_days") {
  const auto rules = friends();
  const auto code = code_issued_at(kStartMs + 10 * 3'600'000);  // issued 10:00 on day 0
  const auto last_ms = kStartMs + 31 * kMsPerDay - 1;           // 23:59:59.999 on day 30
  CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, last_ms).accepted);
  CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, last_ms + 1).reason == "expired");
  // A store whose clock runs up to a day behind still accepts a fresh code.
  CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, kStartMs - kMsPerDay + 1).accepted);
}

TEST_CASE("rules: the cap bounds the discount and a returning customer may redeem when allowed") {
  auto rules = friends();
  auto d = evaluate_redemption(rules, cart_of({100000, 30001}), code_issued_at(kStartMs), {}, {}, kStartMs);
  CHECK(d.discount_minor == 5000);
  CHECK(std::accumulate(d.line_discounts_minor.begin(), d.line_discounts_minor.end(), std::int64_t{0}) == 5000);
  rules.referee.cap_minor = 0;  // no cap
  d = evaluate_redemption(rules, cart_of({100000, 30001}), code_issued_at(kStartMs), {}, {}, kStartMs);
  CHECK(d.discount_minor == 26000);  // 20 % of 1300.01 = 260.002 -> 260.00
  rules.referee.new_customers_only = false;
  CHECK(evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {true, 4}, {}, kStartMs).accepted);
}

TEST_CASE("rules: whether to issue a code and what the offer says") {
  auto rules = friends();
  CHECK(should_issue_code(rules, cart_of({100}), 100));
  CHECK_FALSE(should_issue_code(rules, cart_of({100}, std::nullopt), 100));
  rules.issue.min_spend_minor = 2500;
  CHECK_FALSE(should_issue_code(rules, cart_of({2499}), 2499));
  CHECK(should_issue_code(rules, cart_of({2500}), 2500));
  rules.issue.on_commit = false;
  CHECK_FALSE(should_issue_code(rules, cart_of({2500}), 2500));

  const auto usd = *money::find_currency("USD");
  const auto dollars = [&](std::int64_t minor) {
    return money::format_money(minor, usd, *money::find_locale("en-US"));
  };
  CHECK(referral_offer_message(friends(), dollars) ==
        "Give this to a friend: they get 20% off (up to $50.00), you get $10.00");
  CHECK(offer_text(friends(), dollars).referrer_gets == "$10.00");
  auto plain = friends();
  plain.referee.percent_off_bp = 1250;
  plain.referee.cap_minor = 0;
  plain.referrer.store_credit_minor = 0;  // recognition only
  CHECK(referral_offer_message(plain, dollars) == "Give this to a friend: they get 12.5% off");
  CHECK(offer_text(plain, dollars).referrer_gets.empty());
}

TEST_CASE("rules: parsing refuses what is contradictory or out of range, naming the field") {
  const nlohmann::json good = {{"schema", "refpos.rules/1"},
                               {"version", 3},
                               {"program", "friends"},
                               {"referee", {{"percent_off_bp", 2000}}},
                               {"referrer", {{"store_credit_minor", 1000}}},
                               {"code", {{"valid_days", 30}, {"max_redemptions", 1}}}};
  auto parsed = parse_ruleset(good, "rules");
  REQUIRE(parsed.ok());
  CHECK(parsed->version == 3);
  CHECK(parsed->referee.new_customers_only);
  CHECK(parsed->issue.on_commit);

  const auto field_of = [](nlohmann::json doc) {
    auto r = parse_ruleset(doc, "rules");
    return r.ok() ? std::string("accepted") : r.error().field;
  };
  auto doc = good;
  doc["version"] = 0;
  CHECK(field_of(doc) == "rules.version");
  doc = good;
  doc["referee"]["percent_off_bp"] = -5;
  CHECK(field_of(doc) == "rules.referee.percent_off_bp");
  doc = good;
  doc["code"]["max_redemptions"] = 0;
  CHECK(field_of(doc) == "rules.code.max_redemptions");
  doc = good;
  doc["surprise"] = true;
  CHECK(field_of(doc) == "rules.surprise");
  doc = good;
  doc.erase("referrer");
  CHECK(field_of(doc) == "rules.referrer");
  CHECK(field_of(nlohmann::json::array()) == "rules");
}

TEST_CASE("rules: excluded categories and SKUs take no discount and do not count toward the minimum") {
  auto rules = friends();
  rules.referee.excluded_categories = {"gift-cards"};
  rules.referee.excluded_skus = {"TOBACCO-1"};
  auto cart = cart_of({3000, 5000, 2000});
  cart.lines[0].category = "gift-cards";
  cart.lines[2].sku = "TOBACCO-1";
  const auto code = code_issued_at(kStartMs);

  // 20 % of the one eligible line (50.00), not of the 100.00 subtotal.
  auto d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 1000);
  CHECK(d.line_discounts_minor == std::vector<std::int64_t>{0, 1000, 0});

  // The minimum is on eligible spend: 50.00 eligible < 60.00 needed.
  rules.referee.min_spend_minor = 6000;
  d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
  CHECK(d.reason == "min_spend");
  CHECK(d.message == "The referral discount needs a spend of at least 60.00 USD on eligible items.");

  // Nothing eligible: refused with its own reason.
  rules.referee.min_spend_minor = 0;
  cart.lines[1].category = "gift-cards";
  d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
  CHECK_FALSE(d.accepted);
  CHECK(d.reason == "nothing_eligible");

  // A line without a category is judged by its SKU alone.
  rules.referee.excluded_categories = {""};
  CHECK(rules.referee.is_eligible("SKU", ""));
}

TEST_CASE("rules: over random carts and exclusions, excluded lines get 0 and the lines add up") {
  std::mt19937_64 rng(20261123);
  std::uniform_int_distribution<std::int64_t> price(0, 100'000);
  std::uniform_int_distribution<int> lines(1, 12);
  std::uniform_int_distribution<int> percent(0, 10'000);
  std::bernoulli_distribution excluded(0.3);
  const auto code = code_issued_at(kStartMs);
  for (int round = 0; round < 5'000; ++round) {
    auto rules = friends();
    rules.referee.min_spend_minor = 0;
    rules.referee.cap_minor = round % 3 == 0 ? 0 : price(rng);
    rules.referee.percent_off_bp = percent(rng);
    rules.referee.excluded_categories = {"excluded"};
    Cart cart = cart_of({});
    const int n = lines(rng);
    std::int64_t eligible = 0;
    for (int i = 0; i < n; ++i) {
      const std::int64_t total = price(rng);
      const bool out = excluded(rng);
      cart.lines.push_back({"SKU-" + std::to_string(i), out ? "excluded" : "shoes", 1, total, total});
      cart.subtotal_minor += total;
      if (!out) eligible += total;
    }
    const auto d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
    CAPTURE(round);
    if (!d.accepted) {
      CHECK(d.reason == "nothing_eligible");
      continue;
    }
    CHECK(d.discount_minor <= eligible);
    REQUIRE(d.line_discounts_minor.size() == cart.lines.size());
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < cart.lines.size(); ++i) {
      const auto share = d.line_discounts_minor[i];
      if (cart.lines[i].category == "excluded") CHECK(share == 0);
      CHECK(share >= 0);
      CHECK(share <= cart.lines[i].total_minor);
      sum += share;
    }
    CHECK(sum == d.discount_minor);
  }
}

TEST_CASE("rules: exclusion lists are lists of identifiers") {
  nlohmann::json doc = {{"schema", "refpos.rules/1"},
                        {"version", 1},
                        {"program", "friends"},
                        {"referee",
                         {{"percent_off_bp", 2000},
                          {"excluded_categories", {"gift-cards", "tobacco"}},
                          {"excluded_skus", {"SKU-1"}}}},
                        {"referrer", {{"store_credit_minor", 1000}}},
                        {"code", {{"valid_days", 30}, {"max_redemptions", 1}}}};
  auto parsed = parse_ruleset(doc, "rules");
  REQUIRE(parsed.ok());
  CHECK(parsed->referee.excluded_categories.count("tobacco") == 1);
  CHECK_FALSE(parsed->referee.is_eligible("SKU-1", "shoes"));
  CHECK(parsed->referee.is_eligible("SKU-2", "shoes"));

  doc["referee"]["excluded_skus"] = {"ok", 7};
  auto bad = parse_ruleset(doc, "rules");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().field == "rules.referee.excluded_skus[1]");
  doc["referee"]["excluded_skus"] = {""};
  CHECK(parse_ruleset(doc, "rules").error().field == "rules.referee.excluded_skus[0]");
  doc["referee"]["excluded_skus"] = "SKU-1";
  CHECK(parse_ruleset(doc, "rules").error().field == "rules.referee.excluded_skus");
  doc["referee"]["excluded_skus"] = std::vector<std::string>(501, "x");
  CHECK(parse_ruleset(doc, "rules").error().field == "rules.referee.excluded_skus");
}

TEST_CASE("rules: a fixed amount off is allocated over eligible lines and never exceeds them") {
  auto rules = friends();
  rules.referee.percent_off_bp = 0;
  rules.referee.amount_off_minor = 1000;
  rules.referee.cap_minor = 0;
  rules.referee.min_spend_minor = 0;
  const auto code = code_issued_at(kStartMs);
  auto d = evaluate_redemption(rules, cart_of({3000, 1000}), code, {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 1000);
  CHECK(d.line_discounts_minor == std::vector<std::int64_t>{750, 250});
  CHECK(d.message == "Referral: 10.00 USD off");
  // A cart worth less than the amount: the discount is the cart, total 0.
  d = evaluate_redemption(rules, cart_of({499, 1}), code, {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 500);
  CHECK(d.line_discounts_minor == std::vector<std::int64_t>{499, 1});

  const auto usd = *money::find_currency("USD");
  const auto dollars = [&](std::int64_t minor) {
    return money::format_money(minor, usd, *money::find_locale("en-US"));
  };
  rules.referee.cap_minor = 500;  // a cap says nothing more next to an amount
  CHECK(offer_text(rules, dollars).friend_gets == "$10.00 off");
  CHECK(referral_offer_message(rules, dollars) ==
        "Give this to a friend: they get $10.00 off, you get $10.00");
}

TEST_CASE("rules: the referee gets exactly one of a percentage and an amount") {
  nlohmann::json doc = {{"schema", "refpos.rules/1"},
                        {"version", 1},
                        {"program", "friends"},
                        {"referee", {{"amount_off_minor", 1500}}},
                        {"referrer", {{"store_credit_minor", 1000}}},
                        {"code", {{"valid_days", 30}, {"max_redemptions", 1}}}};
  auto parsed = parse_ruleset(doc, "rules");
  REQUIRE(parsed.ok());
  CHECK(parsed->referee.amount_off_minor == 1500);
  CHECK(parsed->referee.percent_off_bp == 0);
  doc["referee"]["percent_off_bp"] = 1000;
  auto both = parse_ruleset(doc, "rules");
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().message.find("exactly one of percent_off_bp") != std::string::npos);
  doc["referee"] = nlohmann::json::object();
  CHECK_FALSE(parse_ruleset(doc, "rules").ok());
  doc["referee"] = {{"amount_off_minor", 0}};
  CHECK(parse_ruleset(doc, "rules").error().field == "rules.referee.amount_off_minor");
}
