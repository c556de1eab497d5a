// Rule evaluation is a pure function: these tests feed it plain values.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>

#include "base/clock.hpp"
#include "money/format.hpp"
#include "money/money.hpp"
#include "rules/evaluate.hpp"
#include "rules/ruleset.hpp"

using namespace refpos;
using namespace refpos::rules;

namespace {

constexpr std::int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00Z
constexpr std::int64_t kMsPerHour = 3'600'000;
using Lines = std::vector<std::int64_t>;

// The demo store's customer program (assets/demo/store-config.json).
RuleSet friends() {
  RuleSet r;
  r.version = 1;
  r.program.id = "friends";
  r.program.name = "friends";
  r.program.referee.kind = RefereeKind::percent_off;
  r.program.referee.percent_off_bp = 2000;
  r.program.referee.cap_minor = 5000;
  r.program.referee.min_spend_minor = 2000;
  r.program.referee.new_customers_only = true;
  r.program.referrer.kind = ReferrerKind::store_credit;
  r.program.referrer.amount_minor = 1000;
  r.program.code.valid_days = 30;
  r.program.code.max_redemptions = 5;
  r.ask = {AskWhen::every_customer, 0};
  return r;
}

// The same with no minimum spend, so any cart qualifies.
RuleSet friends_any_spend() {
  auto r = friends();
  r.program.referee.min_spend_minor = 0;
  r.program.referee.cap_minor = 0;
  return r;
}

CartLine line_of(std::string sku, std::int64_t unit_minor, std::int64_t quantity = 1,
                 std::int64_t host_discount_minor = 0, std::string category = "cat") {
  CartLine l;
  l.sku = std::move(sku);
  l.category = std::move(category);
  l.quantity = quantity;
  l.unit_price_minor = unit_minor;
  l.total_minor = unit_minor * quantity;
  l.host_discount_minor = host_discount_minor;
  return l;
}

// Recomputes the cart's sums from its lines (after a test changes a line).
void resum(Cart& c) {
  c.subtotal_minor = 0;
  c.host_discount_minor = 0;
  for (const auto& l : c.lines) {
    c.subtotal_minor += l.total_minor;
    c.host_discount_minor += l.host_discount_minor;
  }
}

Cart cart_with(std::vector<CartLine> lines, std::optional<std::string> customer = "bob") {
  Cart c;
  c.terminal_id = "till-1";
  c.customer_id = std::move(customer);
  c.currency = *money::find_currency("USD");
  c.lines = std::move(lines);
  resum(c);
  return c;
}

Cart cart_of(std::initializer_list<std::int64_t> line_totals,
             std::optional<std::string> customer = "bob") {
  std::vector<CartLine> lines;
  for (const auto t : line_totals) lines.push_back(line_of("SKU", t));
  return cart_with(std::move(lines), std::move(customer));
}

codes::CodeFields code_issued_at(std::int64_t ms, std::uint8_t key_id = 1) {
  codes::CodeFields f;
  f.key_id = key_id;
  f.issue_day = *codes::issue_day_of(ms);
  f.nonce = 42;
  return f;
}

std::int64_t sum_of(const Lines& v) { return std::accumulate(v.begin(), v.end(), std::int64_t{0}); }

std::string dollars(std::int64_t minor) {
  return money::format_money(minor, *money::find_currency("USD"), *money::find_locale("en-US"));
}

// A partner program with its own rewards and code policy.
Program gym_partner() {
  Program p;
  p.id = "gym";
  p.name = "City Gym";
  p.partner = true;
  p.key_id = 7;
  p.referee.kind = RefereeKind::amount_off;
  p.referee.amount_off_minor = 1500;
  p.referee.new_customers_only = false;
  p.referrer.kind = ReferrerKind::points;
  p.referrer.points = 200;
  p.code.valid_days = 7;
  p.code.max_redemptions = 100;
  return p;
}

}  // namespace

// --- What an accepted redemption gives --------------------------------------

TEST_CASE("rules: an accepted redemption splits the rounded discount over the lines") {
  const auto rules = friends();
  const auto d =
      evaluate_redemption(rules, cart_of({3999, 999}), code_issued_at(kStartMs), {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.reason.empty());
  CHECK(d.discount_minor == 1000);
  CHECK(d.line_discounts_minor == Lines{800, 200});
  CHECK(d.referrer.kind == ReferrerKind::store_credit);
  CHECK(d.referrer.amount_minor == 1000);
  CHECK(d.message == "Referral: 20% off");
  CHECK(d.discount_kind == "referral");
  CHECK(d.program == &rules.program);
  CHECK(d.flags.empty());
  CHECK(d.granted_minor() == 2000);
}

TEST_CASE("rules: each referee reward gives exactly its value") {
  struct Row {
    const char* name;
    std::function<void(RefereeReward&)> set;
    Cart cart;
    std::int64_t discount;
    Lines lines;
    std::int64_t credit;
    const char* kind;
    const char* message;  // nullptr: not asserted
  };
  const auto bakery = [](bool with_cake, std::int64_t cake_host_discount = 0) {
    std::vector<CartLine> lines = {line_of("BREAD", 500), line_of("COFFEE", 350, 2)};
    if (with_cake) lines.push_back(line_of("CAKE", 450, 1, cake_host_discount));
    return cart_with(std::move(lines));
  };
  const auto free_item = [](std::int64_t cap) {
    return [cap](RefereeReward& r) {
      r.kind = RefereeKind::free_item;
      r.free_item_skus = {"CAKE", "COFFEE"};
      r.cap_minor = cap;
    };
  };
  const std::vector<Row> rows = {
      {"percent_off",
       [](RefereeReward& r) { r.percent_off_bp = 2000; },
       cart_of({3000, 1000}),
       800,
       {600, 200},
       0,
       "referral",
       "Referral: 20% off"},
      {"percent_off capped",
       [](RefereeReward& r) {
         r.percent_off_bp = 1250;
         r.cap_minor = 300;
       },
       cart_of({3000, 1000}),
       300,
       {225, 75},
       0,
       "referral",
       "Referral: 12.5% off"},
      {"amount_off",
       [](RefereeReward& r) {
         r.kind = RefereeKind::amount_off;
         r.amount_off_minor = 1000;
       },
       cart_of({3000, 1000}),
       1000,
       {750, 250},
       0,
       "referral",
       "Referral: 10.00 USD off"},
      {"amount_off above the cart",
       [](RefereeReward& r) {
         r.kind = RefereeKind::amount_off;
         r.amount_off_minor = 5000;
       },
       cart_of({3000, 1000}),
       4000,
       {3000, 1000},
       0,
       "referral",
       nullptr},
      // One unit of the dearest listed SKU, by unit price, not line total.
      {"free_item, the dearest listed",
       free_item(0),
       bakery(true),
       450,
       {0, 0, 450},
       0,
       "free_item",
       "Referral: one CAKE free"},
      {"free_item, capped",
       free_item(400),
       bakery(true),
       400,
       {0, 0, 400},
       0,
       "free_item",
       "Referral: one CAKE free"},
      {"free_item, what the host's discount leaves",
       free_item(0),
       bakery(true, 300),
       150,
       {0, 0, 150},
       0,
       "free_item",
       "Referral: one CAKE free"},
      {"free_item, one unit of a line of two",
       free_item(0),
       bakery(false),
       350,
       {0, 350},
       0,
       "free_item",
       "Referral: one COFFEE free"},
      // A tie goes to the first such line: the same basket always gets the same answer.
      {"free_item, a tie",
       free_item(0),
       cart_with({line_of("COFFEE", 450), line_of("CAKE", 450, 1, 100)}),
       450,
       {450, 0},
       0,
       "free_item",
       "Referral: one COFFEE free"},
      {"store_credit",
       [](RefereeReward& r) {
         r.kind = RefereeKind::store_credit;
         r.store_credit_minor = 1500;
       },
       cart_of({3000, 1000}),
       0,
       {0, 0},
       1500,
       "referral",
       "Referral: 15.00 USD store credit for the new customer"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto rules = friends_any_spend();
    row.set(rules.program.referee);
    const auto d = evaluate_redemption(rules, row.cart, code_issued_at(kStartMs), {}, {}, kStartMs);
    REQUIRE(d.accepted);
    CHECK(d.discount_minor == row.discount);
    CHECK(d.line_discounts_minor == row.lines);
    CHECK(sum_of(d.line_discounts_minor) == d.discount_minor);
    CHECK(d.referee_credit_minor == row.credit);
    CHECK(d.discount_kind == row.kind);
    if (row.message != nullptr) CHECK(d.message == row.message);
    CHECK(d.granted_minor() == row.discount + row.credit + 1000);
    // check_buyer gives the same reward on its own.
    const auto buyer = check_buyer(rules.program, row.cart, {});
    CHECK(buyer.accepted);
    CHECK(buyer.discount_minor == row.discount);
    CHECK(buyer.line_discounts_minor == row.lines);
    CHECK(buyer.referee_credit_minor == row.credit);
  }
}

TEST_CASE("rules: a free item that is not in the basket is named for the cashier") {
  auto rules = friends_any_spend();
  rules.program.referee.kind = RefereeKind::free_item;
  rules.program.referee.free_item_skus = {"COFFEE", "CAKE"};
  const auto d = evaluate_redemption(rules, cart_with({line_of("BREAD", 500)}),
                                     code_issued_at(kStartMs), {}, {}, kStartMs);
  CHECK_FALSE(d.accepted);
  CHECK(d.reason == "free_item_missing");
  CHECK(d.message == "Add the free item to the basket first (one of: CAKE, COFFEE).");
  CHECK(d.discount_minor == 0);
  // An excluded category hides the free item too.
  rules.program.referee.excluded_categories = {"drinks"};
  const auto hidden = evaluate_redemption(
      rules, cart_with({line_of("BREAD", 500), line_of("COFFEE", 350, 1, 0, "drinks")}),
      code_issued_at(kStartMs), {}, {}, kStartMs);
  CHECK(hidden.reason == "free_item_missing");
}

TEST_CASE("rules: each referrer reward kind is granted as such, with its pending days") {
  struct Row {
    ReferrerKind kind;
    std::int64_t amount;  // set on the rule
    std::int64_t points;  // set on the rule
    std::int64_t granted_amount;
    std::int64_t granted_points;
    const char* name;
  };
  const std::vector<Row> rows = {
      {ReferrerKind::store_credit, 1000, 0, 1000, 0, "store_credit"},
      {ReferrerKind::gift_card, 2500, 0, 2500, 0, "gift_card"},
      {ReferrerKind::points, 0, 250, 0, 250, "points"},
      // Thanks only, even if a value was left on the rule: nothing of value.
      {ReferrerKind::recognition, 1000, 50, 0, 0, "recognition"},
      {ReferrerKind::recognition, 0, 0, 0, 0, "recognition"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CAPTURE(row.amount);
    auto rules = friends();
    rules.program.referrer.kind = row.kind;
    rules.program.referrer.amount_minor = row.amount;
    rules.program.referrer.points = row.points;
    rules.program.referrer.pending_days = 14;
    const auto d =
        evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {}, {}, kStartMs);
    REQUIRE(d.accepted);
    CHECK(d.discount_minor == 1000);
    CHECK(d.referrer.kind == row.kind);
    CHECK(d.referrer.amount_minor == row.granted_amount);
    CHECK(d.referrer.points == row.granted_points);
    CHECK(d.referrer.pending_days == 14);
    CHECK_FALSE(d.referrer.held);
    CHECK_FALSE(d.referrer.capped);
    CHECK(d.granted_minor() == 1000 + row.granted_amount);
    CHECK(name_of(row.kind) == row.name);
    CHECK(rules.program.referrer.has_value() == (row.kind != ReferrerKind::recognition));
  }
}

TEST_CASE("rules: past the referrer's limit for the period the friend still gets theirs") {
  for (const auto kind : {ReferrerKind::store_credit, ReferrerKind::points}) {
    CAPTURE(name_of(kind));
    auto rules = friends();
    rules.program.referrer.kind = kind;
    rules.program.referrer.amount_minor = kind == ReferrerKind::points ? 0 : 1000;
    rules.program.referrer.points = kind == ReferrerKind::points ? 300 : 0;
    rules.program.referrer.pending_days = 30;
    rules.program.referrer.max_rewards = {3, Per::month};
    struct Row {
      std::int64_t so_far;
      bool capped;
    };
    for (const auto& row : {Row{0, false}, Row{2, false}, Row{3, true}, Row{7, true}}) {
      CAPTURE(row.so_far);
      CodeFacts facts;
      facts.referrer_rewards_in_period = row.so_far;
      const auto d = evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {},
                                         facts, kStartMs);
      REQUIRE(d.accepted);
      CHECK(d.discount_minor == 1000);  // the friend's discount is untouched
      CHECK(d.referrer.capped == row.capped);
      CHECK(d.referrer.kind == kind);
      CHECK(d.referrer.pending_days == 30);
      if (row.capped) {
        CHECK(d.referrer.amount_minor == 0);
        CHECK(d.referrer.points == 0);
        CHECK(d.granted_minor() == 1000);
      } else {
        CHECK(d.referrer.amount_minor == rules.program.referrer.amount_minor);
        CHECK(d.referrer.points == rules.program.referrer.points);
      }
    }
  }
}

// --- When a redemption is refused -------------------------------------------

TEST_CASE("rules: each condition refuses with its own reason") {
  const auto rules = friends();
  const auto code = code_issued_at(kStartMs);
  CodeFacts revoked;
  revoked.revoked = true;
  CodeFacts used_up;
  used_up.redemptions = 5;
  CodeFacts own;
  own.issued_here = true;
  own.referrer_customer_id = "bob";
  struct Case {
    const char* reason;
    Cart cart;
    CustomerFacts customer;
    CodeFacts facts;
    std::int64_t now_ms;
  };
  const std::vector<Case> cases = {
      {"revoked", cart_of({5000}), {}, revoked, kStartMs},
      {"not_yet_valid", cart_of({5000}), {}, {}, kStartMs - 2 * kMsPerDay},
      {"expired", cart_of({5000}), {}, {}, kStartMs + 31 * kMsPerDay},
      {"used_up", cart_of({5000}), {}, used_up, kStartMs},
      {"customer_required", cart_of({5000}, std::nullopt), {}, {}, kStartMs},
      {"self_referral", cart_of({5000}), {}, own, kStartMs},
      {"not_new_customer", cart_of({5000}), {true, 1}, {}, kStartMs},
      {"min_spend", cart_of({1999}), {}, {}, kStartMs},
  };
  for (const auto& c : cases) {
    CAPTURE(c.reason);
    const auto d = evaluate_redemption(rules, c.cart, code, c.customer, c.facts, c.now_ms);
    CHECK_FALSE(d.accepted);
    CHECK(d.reason == c.reason);
    CHECK_FALSE(d.message.empty());
    CHECK(d.discount_minor == 0);
    CHECK(d.referrer.amount_minor == 0);
  }
}

TEST_CASE("rules: conditions are checked in a fixed order, the buyer's before the code's") {
  // Everything is wrong at first; each step fixes the reason just reported,
  // and the next in the documented order is reported.
  auto rules = friends();
  rules.program.referee.stacking = Stacking::exclusive;
  rules.program.referee.excluded_categories = {"tobacco"};
  rules.program.online_only = true;
  rules.offline.max_offline_hours = 24;
  rules.offline.max_discount_per_redemption_minor = 500;
  rules.fraud.referrer_in_basket = FraudAction::refuse;
  Cart cart = cart_with({line_of("CIG", 1000, 1, 100, "tobacco")}, std::nullopt);
  CustomerFacts customer{true, 3};
  CodeFacts facts;
  facts.issued_here = true;
  facts.referrer_customer_id = "bob";
  facts.revoked = true;
  facts.redemptions = 5;
  std::int64_t now = kStartMs - 2 * kMsPerDay;
  ExposureFacts exposure;
  exposure.last_sync_ms = now - 48 * kMsPerHour;
  const auto code = code_issued_at(kStartMs);

  struct Step {
    const char* reason;
    bool buyer;  // a condition on the buyer and cart, not on the code
    std::function<void()> fix;
  };
  const std::vector<Step> steps = {
      {"customer_required", true, [&] { cart.customer_id = "bob"; }},
      {"not_new_customer", true, [&] { customer = {}; }},
      {"not_combinable", true,
       [&] {
         cart.lines[0].host_discount_minor = 0;
         resum(cart);
       }},
      {"nothing_eligible", true, [&] { cart.lines[0].category = "snacks"; }},
      {"min_spend", true,
       [&] {
         cart.lines[0] = line_of("CRISPS", 5000, 1, 0, "snacks");
         resum(cart);
       }},
      {"revoked", false, [&] { facts.revoked = false; }},
      {"not_yet_valid", false, [&] { now = kStartMs + 40 * kMsPerDay; }},
      {"expired", false, [&] { now = kStartMs; }},
      {"used_up", false, [&] { facts.redemptions = 0; }},
      {"self_referral", false,
       [&] {
         facts.referrer_customer_id = "alice";
         cart.linked_customer_ids = {"alice"};
       }},
      {"online_only", false, [&] { rules.program.online_only = false; }},
      {"offline_too_long", false, [&] { exposure.last_sync_ms = now - kMsPerHour; }},
      {"offline_limit", false, [&] { rules.offline.max_discount_per_redemption_minor = 1000; }},
      {"fraud_suspected", false, [&] { rules.fraud.referrer_in_basket = FraudAction::flag; }},
  };
  for (const auto& step : steps) {
    CAPTURE(step.reason);
    const auto d = evaluate_redemption(rules, cart, code, customer, facts, now, exposure);
    CHECK_FALSE(d.accepted);
    CHECK(d.reason == step.reason);
    CHECK(d.discount_minor == 0);
    // The buyer's conditions answer the same whatever the code: check_buyer
    // alone reports them.
    CHECK(check_buyer(rules.program, cart, customer).accepted == !step.buyer);
    if (step.buyer) CHECK(reveals_nothing(d.reason));
    step.fix();
  }
  const auto d = evaluate_redemption(rules, cart, code, customer, facts, now, exposure);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 1000);
  CHECK(d.flags == std::vector<std::string>{"referrer_in_basket"});
}

TEST_CASE("rules: a code that might be a guess is refused in words that give nothing away") {
  const auto rules = friends();
  const auto code = code_issued_at(kStartMs);
  CodeFacts revoked;
  revoked.revoked = true;
  CodeFacts used_up;
  used_up.redemptions = 5;
  struct Case {
    const char* reason;
    CodeFacts facts;
    std::int64_t now_ms;
  };
  for (const auto& c : std::vector<Case>{{"revoked", revoked, kStartMs},
                                         {"not_yet_valid", {}, kStartMs - 2 * kMsPerDay},
                                         {"expired", {}, kStartMs + 31 * kMsPerDay},
                                         {"used_up", used_up, kStartMs}}) {
    CAPTURE(c.reason);
    const auto d = evaluate_redemption(rules, cart_of({5000}), code, {}, c.facts, c.now_ms);
    CHECK(d.reason == c.reason);
    CHECK(d.message == kCannotBeUsed);
    CHECK_FALSE(reveals_nothing(d.reason));
  }
}

TEST_CASE("rules: which rejection reasons may be told to the customer as they are") {
  for (const char* reason :
       {"malformed", "mistyped", "customer_required", "not_new_customer", "min_spend",
        "nothing_eligible", "not_combinable", "free_item_missing"}) {
    CAPTURE(reason);
    CHECK(reveals_nothing(reason));
  }
  for (const char* reason : {"expired", "revoked", "used_up", "not_yet_valid", "not_authentic",
                             "unknown_key", "fraud_suspected", "online_only", "offline_too_long",
                             "offline_limit", "", "anything_else"}) {
    CAPTURE(reason);
    CHECK_FALSE(reveals_nothing(reason));
  }
}

TEST_CASE("rules: the validity window runs through the end of issue day + valid_days") {
  const auto rules = friends();
  const auto code = code_issued_at(kStartMs + 10 * kMsPerHour);  // issued 10:00 on day 0
  const auto last_ms = kStartMs + 31 * kMsPerDay - 1;            // 23:59:59.999 on day 30
  CHECK(code_expires_at_ms(rules.program, code.issue_day) == last_ms + 1);
  CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, last_ms).accepted);
  const auto late = evaluate_redemption(rules, cart_of({5000}), code, {}, {}, last_ms + 1);
  CHECK(late.reason == "expired");
  CHECK(late.message == kCannotBeUsed);
  // A store whose clock runs up to a day behind still accepts a fresh code.
  CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, kStartMs - kMsPerDay).accepted);
  CHECK(
      evaluate_redemption(rules, cart_of({5000}), code, {}, {}, kStartMs - kMsPerDay - 1).reason ==
      "not_yet_valid");
}

TEST_CASE("rules: the cap bounds the discount and a returning customer may redeem when allowed") {
  auto rules = friends();
  auto d = evaluate_redemption(rules, cart_of({100000, 30001}), code_issued_at(kStartMs), {}, {},
                               kStartMs);
  CHECK(d.discount_minor == 5000);
  CHECK(sum_of(d.line_discounts_minor) == 5000);
  rules.program.referee.cap_minor = 0;  // no cap
  d = evaluate_redemption(rules, cart_of({100000, 30001}), code_issued_at(kStartMs), {}, {},
                          kStartMs);
  CHECK(d.discount_minor == 26000);  // 20 % of 1300.01 = 260.002 -> 260.00
  CHECK(
      evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {true, 4}, {}, kStartMs)
          .reason == "not_new_customer");
  rules.program.referee.new_customers_only = false;
  CHECK(
      evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {true, 4}, {}, kStartMs)
          .accepted);
}

TEST_CASE("rules: a code is used up at max_redemptions in all and per period") {
  auto rules = friends();
  rules.program.code.max_redemptions = 5;
  rules.program.code.max_redemptions_per = {2, Per::month};
  struct Row {
    std::int64_t redemptions;
    std::int64_t in_period;
    bool accepted;
  };
  for (const auto& row : {Row{0, 0, true}, Row{3, 1, true}, Row{3, 2, false}, Row{4, 9, false},
                          Row{5, 0, false}, Row{4, 1, true}}) {
    CAPTURE(row.redemptions);
    CAPTURE(row.in_period);
    CodeFacts facts;
    facts.redemptions = row.redemptions;
    facts.redemptions_in_period = row.in_period;
    const auto d =
        evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {}, facts, kStartMs);
    CHECK(d.accepted == row.accepted);
    if (!row.accepted) {
      CHECK(d.reason == "used_up");
      CHECK(d.message == kCannotBeUsed);
    }
  }
  // Without a per-period limit only the total counts.
  rules.program.code.max_redemptions_per = {};
  CodeFacts facts;
  facts.redemptions_in_period = 4;
  facts.redemptions = 4;
  CHECK(evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {}, facts, kStartMs)
            .accepted);
}

// --- The host's own discounts -----------------------------------------------

TEST_CASE("rules: each stacking mode meets the host's discounts in its own way") {
  // Line A: 100.00 less a 20.00 host discount; line B: 50.00, not discounted.
  const Cart cart = cart_with({line_of("A", 10000, 1, 2000), line_of("B", 5000)});
  struct Row {
    Stacking stacking;
    RefereeKind kind;
    const char* reason;  // "" when accepted
    std::int64_t discount;
    Lines lines;
  };
  const std::vector<Row> rows = {
      // 20 % of what the host's discount leaves: 80.00 + 50.00.
      {Stacking::combine, RefereeKind::percent_off, "", 2600, {1600, 1000}},
      // 100.00 off, split over the nets of 80.00 and 50.00.
      {Stacking::combine, RefereeKind::amount_off, "", 10000, {6154, 3846}},
      {Stacking::skip_discounted_lines, RefereeKind::percent_off, "", 1000, {0, 1000}},
      {Stacking::skip_discounted_lines, RefereeKind::amount_off, "", 5000, {0, 5000}},
      {Stacking::exclusive, RefereeKind::percent_off, "not_combinable", 0, {}},
      {Stacking::exclusive, RefereeKind::amount_off, "not_combinable", 0, {}},
  };
  for (const auto& row : rows) {
    CAPTURE(static_cast<int>(row.stacking));
    CAPTURE(static_cast<int>(row.kind));
    auto rules = friends_any_spend();
    rules.program.referee.stacking = row.stacking;
    rules.program.referee.kind = row.kind;
    rules.program.referee.amount_off_minor = 10000;
    const auto d = evaluate_redemption(rules, cart, code_issued_at(kStartMs), {}, {}, kStartMs);
    CHECK(d.reason == row.reason);
    CHECK(d.accepted == (std::string_view(row.reason).empty()));
    CHECK(d.discount_minor == row.discount);
    if (d.accepted) CHECK(d.line_discounts_minor == row.lines);
  }

  auto rules = friends_any_spend();
  // exclusive: a cart without host discounts redeems as usual.
  rules.program.referee.stacking = Stacking::exclusive;
  const auto plain =
      evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {}, {}, kStartMs);
  CHECK(plain.accepted);
  CHECK(plain.discount_minor == 1000);
  // skip_discounted_lines: every line discounted leaves nothing eligible.
  rules.program.referee.stacking = Stacking::skip_discounted_lines;
  const auto none = evaluate_redemption(rules, cart_with({line_of("A", 10000, 1, 1)}),
                                        code_issued_at(kStartMs), {}, {}, kStartMs);
  CHECK(none.reason == "nothing_eligible");
  // combine: a line the host gave away entirely takes nothing more.
  rules.program.referee.stacking = Stacking::combine;
  const auto given =
      evaluate_redemption(rules, cart_with({line_of("A", 10000, 1, 10000), line_of("B", 5000)}),
                          code_issued_at(kStartMs), {}, {}, kStartMs);
  REQUIRE(given.accepted);
  CHECK(given.line_discounts_minor == Lines{0, 1000});
  // The minimum spend is on the net.
  rules.program.referee.min_spend_minor = 13001;
  CHECK(evaluate_redemption(rules, cart, code_issued_at(kStartMs), {}, {}, kStartMs).reason ==
        "min_spend");
  rules.program.referee.min_spend_minor = 13000;
  CHECK(evaluate_redemption(rules, cart, code_issued_at(kStartMs), {}, {}, kStartMs).accepted);
}

// --- Self-referral and fraud ------------------------------------------------

TEST_CASE("rules: a customer cannot redeem their own code, by id or by a shared identity") {
  const auto rules = friends();
  const auto code = code_issued_at(kStartMs);
  CodeFacts facts;
  facts.issued_here = true;
  facts.referrer_customer_id = "bob";
  auto d = evaluate_redemption(rules, cart_of({5000}), code, {}, facts, kStartMs);
  CHECK(d.reason == "self_referral");
  CHECK(d.message == "A customer cannot redeem their own referral code.");
  // A code from another store: its referrer is not known here.
  facts.issued_here = false;
  facts.referrer_customer_id = "";
  CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, facts, kStartMs).accepted);

  // Bob under a second loyalty id, with the same phone hash as the referrer.
  facts.issued_here = true;
  facts.referrer_customer_id = "robert";
  facts.referrer_identities = {"hash-phone", "hash-card"};
  auto cart = cart_of({5000});
  cart.identity_hashes = {"hash-email", "hash-phone"};
  d = evaluate_redemption(rules, cart, code, {}, facts, kStartMs);
  CHECK(d.reason == "self_referral");
  CHECK(d.message == "This code belongs to someone with the same phone, e-mail or card.");
  cart.identity_hashes = {"hash-email"};
  CHECK(evaluate_redemption(rules, cart, code, {}, facts, kStartMs).accepted);
}

TEST_CASE("rules: the referrer's card in the friend's basket is refused, held or flagged") {
  struct Row {
    FraudAction action;
    bool accepted;
    bool held;
    std::vector<std::string> flags;
  };
  const std::vector<Row> rows = {
      {FraudAction::refuse, false, false, {"referrer_in_basket"}},
      {FraudAction::hold, true, true, {"referrer_in_basket"}},
      {FraudAction::flag, true, false, {"referrer_in_basket"}},
      {FraudAction::off, true, false, {}},
  };
  CodeFacts facts;
  facts.issued_here = true;
  facts.referrer_customer_id = "alice";
  for (const auto& row : rows) {
    CAPTURE(name_of(row.action));
    auto rules = friends();
    rules.fraud.referrer_in_basket = row.action;
    auto cart = cart_of({5000});
    cart.linked_customer_ids = {"carol", "alice"};
    const auto d = evaluate_redemption(rules, cart, code_issued_at(kStartMs), {}, facts, kStartMs);
    CHECK(d.accepted == row.accepted);
    CHECK(d.flags == row.flags);
    CHECK(d.referrer.held == row.held);
    if (row.accepted) {
      CHECK(d.discount_minor == 1000);
      CHECK(d.referrer.amount_minor == 1000);  // held, not taken away
    } else {
      CHECK(d.reason == "fraud_suspected");
      CHECK(d.message == kCannotBeUsed);
      CHECK(d.discount_minor == 0);
    }
    // Without the referrer's card in the basket nothing is signalled.
    cart.linked_customer_ids = {"carol"};
    const auto clean =
        evaluate_redemption(rules, cart, code_issued_at(kStartMs), {}, facts, kStartMs);
    CHECK(clean.accepted);
    CHECK(clean.flags.empty());
    CHECK_FALSE(clean.referrer.held);
  }
}

TEST_CASE("rules: a velocity rule acts once its window holds max redemptions") {
  struct Row {
    VelocityScope scope;
    FraudAction action;
    std::int64_t count;
    bool accepted;
    bool held;
    std::vector<std::string> flags;
  };
  const std::vector<Row> rows = {
      {VelocityScope::terminal, FraudAction::refuse, 3, false, false, {"velocity_terminal"}},
      {VelocityScope::terminal, FraudAction::hold, 3, true, true, {"velocity_terminal"}},
      {VelocityScope::terminal, FraudAction::flag, 3, true, false, {"velocity_terminal"}},
      {VelocityScope::terminal, FraudAction::off, 3, true, false, {}},
      {VelocityScope::code, FraudAction::flag, 4, true, false, {"velocity_code"}},
      {VelocityScope::cashier, FraudAction::hold, 9, true, true, {"velocity_cashier"}},
      {VelocityScope::cashier, FraudAction::refuse, 99, false, false, {"velocity_cashier"}},
      // Below max: nothing.
      {VelocityScope::terminal, FraudAction::refuse, 2, true, false, {}},
      {VelocityScope::code, FraudAction::hold, 0, true, false, {}},
  };
  for (const auto& row : rows) {
    CAPTURE(static_cast<int>(row.scope));
    CAPTURE(name_of(row.action));
    CAPTURE(row.count);
    auto rules = friends();
    rules.fraud.velocity = {{row.scope, 3, 60, row.action}};
    CodeFacts facts;
    facts.velocity_counts = {row.count};
    const auto d =
        evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {}, facts, kStartMs);
    CHECK(d.accepted == row.accepted);
    CHECK(d.referrer.held == row.held);
    CHECK(d.flags == row.flags);
    if (!row.accepted) {
      CHECK(d.reason == "fraud_suspected");
      CHECK(d.message == kCannotBeUsed);
    }
  }

  // Several rules: each signals on its own; counts the store did not supply are 0.
  auto rules = friends();
  rules.fraud.velocity = {{VelocityScope::code, 2, 60, FraudAction::flag},
                          {VelocityScope::terminal, 5, 60, FraudAction::hold},
                          {VelocityScope::cashier, 1, 60, FraudAction::refuse}};
  CodeFacts facts;
  facts.velocity_counts = {2, 5};
  const auto d =
      evaluate_redemption(rules, cart_of({5000}), code_issued_at(kStartMs), {}, facts, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.referrer.held);
  CHECK(d.flags == std::vector<std::string>{"velocity_code", "velocity_terminal"});
}

// --- Offline exposure -------------------------------------------------------

TEST_CASE("rules: offline bounds refuse past each limit, and only past it") {
  const auto code = code_issued_at(kStartMs);
  const auto now = kStartMs + 12 * kMsPerHour;
  ExposureFacts fresh;
  fresh.last_sync_ms = now - kMsPerHour;

  SUBCASE("online_only") {
    auto rules = friends();
    rules.program.online_only = true;
    const auto d = evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, fresh);
    CHECK(d.reason == "online_only");
    CHECK_FALSE(d.accepted);
  }
  SUBCASE("offline_too_long: more than max_offline_hours since the last sync") {
    auto rules = friends();
    rules.offline.max_offline_hours = 24;
    ExposureFacts exposure;
    exposure.last_sync_ms = now - 24 * kMsPerHour;
    CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, exposure).accepted);
    exposure.last_sync_ms -= 1;
    const auto d = evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, exposure);
    CHECK(d.reason == "offline_too_long");
    CHECK(d.message.find("24 hours") != std::string::npos);
    rules.offline.max_offline_hours = 0;  // no bound
    CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, exposure).accepted);
  }
  SUBCASE("offline_limit per redemption: the discount or the friend's credit") {
    auto rules = friends();
    rules.offline.max_discount_per_redemption_minor = 1000;
    CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, fresh).accepted);  // 1000
    const auto d = evaluate_redemption(rules, cart_of({5005}), code, {}, {}, now, fresh);   // 1001
    CHECK(d.reason == "offline_limit");
    CHECK(d.message == "This reward is above what the till may grant offline (10.00 USD).");
    rules.program.referee.kind = RefereeKind::store_credit;
    rules.program.referee.store_credit_minor = 1001;
    CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, fresh).reason ==
          "offline_limit");
    rules.program.referee.store_credit_minor = 1000;
    CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, fresh).accepted);
  }
  SUBCASE("offline_limit since the last sync: discounts and the referrer's value") {
    auto rules = friends();
    rules.offline.max_granted_since_sync_minor = 5000;
    ExposureFacts exposure = fresh;
    exposure.granted_since_sync_minor = 3000;  // + 1000 off + 1000 credit = 5000
    CHECK(evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, exposure).accepted);
    exposure.granted_since_sync_minor = 3001;
    const auto d = evaluate_redemption(rules, cart_of({5000}), code, {}, {}, now, exposure);
    CHECK(d.reason == "offline_limit");
    CHECK(d.message.find("50.00 USD") != std::string::npos);
    // A capped referrer grants nothing, so the same till may still redeem.
    rules.program.referrer.max_rewards = {1, Per::month};
    CodeFacts capped;
    capped.referrer_rewards_in_period = 1;
    const auto c = evaluate_redemption(rules, cart_of({5000}), code, {}, capped, now, exposure);
    CHECK(c.accepted);
    CHECK(c.referrer.capped);
  }
}

// --- Partner programs -------------------------------------------------------

TEST_CASE("rules: a code's key id chooses the partner program, with its own rewards and policy") {
  auto rules = friends();
  rules.partners = {gym_partner()};
  CHECK(&rules.program_for_key(7) == &rules.partners[0]);
  CHECK(&rules.program_for_key(1) == &rules.program);
  CHECK(&rules.program_for_key(8) == &rules.program);
  CHECK(rules.partner("gym") == &rules.partners[0]);
  CHECK(rules.partner("friends") == nullptr);
  CHECK(rules.partner("nope") == nullptr);

  const auto gym_code = code_issued_at(kStartMs, 7);
  const auto own_code = code_issued_at(kStartMs, 1);
  // A returning customer: the gym's offer is for everyone, the store's is not.
  const CustomerFacts returning{true, 4};
  auto d = evaluate_redemption(rules, cart_of({5000}), gym_code, returning, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.program == &rules.partners[0]);
  CHECK(d.discount_minor == 1500);
  CHECK(d.line_discounts_minor == Lines{1500});
  CHECK(d.message == "Referral: 15.00 USD off");
  CHECK(d.referrer.kind == ReferrerKind::points);
  CHECK(d.referrer.points == 200);
  CHECK(d.referrer.amount_minor == 0);
  CHECK(evaluate_redemption(rules, cart_of({5000}), own_code, returning, {}, kStartMs).reason ==
        "not_new_customer");
  // No minimum spend at the gym, 20.00 at the store.
  CHECK(evaluate_redemption(rules, cart_of({1000}), gym_code, {}, {}, kStartMs).discount_minor ==
        1000);
  CHECK(evaluate_redemption(rules, cart_of({1000}), own_code, {}, {}, kStartMs).reason ==
        "min_spend");
  // The gym's codes last 7 days, the store's 30.
  CHECK(code_expires_at_ms(rules.partners[0], gym_code.issue_day) == kStartMs + 8 * kMsPerDay);
  const auto day_8 = kStartMs + 8 * kMsPerDay;
  CHECK(evaluate_redemption(rules, cart_of({5000}), gym_code, {}, {}, day_8).reason == "expired");
  CHECK(evaluate_redemption(rules, cart_of({5000}), own_code, {}, {}, day_8).accepted);
  // The gym's 100 redemptions per code, the store's 5.
  CodeFacts many;
  many.redemptions = 50;
  CHECK(evaluate_redemption(rules, cart_of({5000}), gym_code, {}, many, kStartMs).accepted);
  CHECK(evaluate_redemption(rules, cart_of({5000}), own_code, {}, many, kStartMs).reason ==
        "used_up");
  // A partner that is online only refuses at the till; the store's codes do not.
  rules.partners[0].online_only = true;
  CHECK(evaluate_redemption(rules, cart_of({5000}), gym_code, {}, {}, kStartMs).reason ==
        "online_only");
  CHECK(evaluate_redemption(rules, cart_of({5000}), own_code, {}, {}, kStartMs).accepted);
}

// --- When to ask for a referral ----------------------------------------------

TEST_CASE("rules: whether to issue a code and what the offer says") {
  auto rules = friends();
  CHECK(should_ask(rules, cart_of({100}), 100, std::nullopt).ask);
  CHECK_FALSE(should_ask(rules, cart_of({100}, std::nullopt), 100, std::nullopt).ask);
  rules.ask.min_spend_minor = 2500;
  CHECK_FALSE(should_ask(rules, cart_of({2499}), 2499, std::nullopt).ask);
  CHECK(should_ask(rules, cart_of({2500}), 2500, std::nullopt).ask);
  rules.ask.when = AskWhen::never;  // was issue.on_commit = false
  CHECK_FALSE(should_ask(rules, cart_of({2500}), 2500, std::nullopt).ask);

  CHECK(referral_offer_message(friends(), dollars) ==
        "Give this to a friend: they get 20% off (up to $50.00), you get $10.00");
  CHECK(offer_text(friends(), dollars).referrer_gets == "$10.00");
  auto plain = friends();
  plain.program.referee.percent_off_bp = 1250;
  plain.program.referee.cap_minor = 0;
  plain.program.referrer.kind = ReferrerKind::recognition;  // recognition only
  plain.program.referrer.amount_minor = 0;
  CHECK(referral_offer_message(plain, dollars) == "Give this to a friend: they get 12.5% off");
  CHECK(offer_text(plain, dollars).referrer_gets.empty());
}

TEST_CASE("rules: should_ask for each policy, with its reason") {
  struct Row {
    AskWhen when;
    std::int64_t min_spend;
    bool customer;
    std::int64_t paid;
    std::optional<int> nps;
    bool ask;
    const char* why;
  };
  const std::vector<Row> rows = {
      {AskWhen::every_customer, 0, true, 1, std::nullopt, true, "every_customer"},
      {AskWhen::every_customer, 0, true, 0, 3, true, "every_customer"},
      {AskWhen::every_customer, 0, false, 5000, 10, false, "no_customer"},
      {AskWhen::every_customer, 2500, true, 2499, std::nullopt, false, "below_min_spend"},
      {AskWhen::every_customer, 2500, true, 2500, std::nullopt, true, "every_customer"},
      {AskWhen::promoters, 0, true, 5000, 10, true, "promoter"},
      {AskWhen::promoters, 0, true, 5000, 9, true, "promoter"},
      {AskWhen::promoters, 0, true, 5000, 8, false, "not_promoter"},
      {AskWhen::promoters, 0, true, 5000, 0, false, "not_promoter"},
      {AskWhen::promoters, 0, true, 5000, std::nullopt, false, "not_promoter"},
      {AskWhen::promoters, 0, false, 5000, 10, false, "no_customer"},
      {AskWhen::promoters, 2500, true, 2499, 10, false, "below_min_spend"},
      {AskWhen::min_spend, 2500, true, 2500, std::nullopt, true, "min_spend"},
      {AskWhen::min_spend, 2500, true, 2499, 10, false, "below_min_spend"},
      {AskWhen::min_spend, 2500, false, 9999, 10, false, "no_customer"},
      {AskWhen::never, 0, true, 9999, 10, false, "off"},
      {AskWhen::never, 0, false, 9999, std::nullopt, false, "off"},
  };
  for (const auto& row : rows) {
    CAPTURE(static_cast<int>(row.when));
    CAPTURE(row.paid);
    CAPTURE(row.nps.value_or(-1));
    auto rules = friends();
    rules.ask = {row.when, row.min_spend};
    const auto cart = row.customer ? cart_of({row.paid}) : cart_of({row.paid}, std::nullopt);
    const auto a = should_ask(rules, cart, row.paid, row.nps);
    CHECK(a.ask == row.ask);
    CHECK(a.why == row.why);
  }
}

TEST_CASE("rules: the offer in words for each reward kind") {
  struct Row {
    std::function<void(Program&)> set;
    const char* friend_gets;
    const char* referrer_gets;
    const char* message;
  };
  const std::vector<Row> rows = {
      {[](Program&) {}, "20% off (up to $50.00)", "$10.00",
       "Give this to a friend: they get 20% off (up to $50.00), you get $10.00"},
      {[](Program& p) {
         p.referee.percent_off_bp = 1005;
         p.referee.cap_minor = 0;
       },
       "10.05% off", "$10.00", "Give this to a friend: they get 10.05% off, you get $10.00"},
      {[](Program& p) {
         p.referee.percent_off_bp = 5;
         p.referee.cap_minor = 0;
       },
       "0.05% off", "$10.00", "Give this to a friend: they get 0.05% off, you get $10.00"},
      {[](Program& p) {
         p.referee.kind = RefereeKind::amount_off;
         p.referee.amount_off_minor = 1500;
         p.referee.cap_minor = 0;
       },
       "$15.00 off", "$10.00", "Give this to a friend: they get $15.00 off, you get $10.00"},
      {[](Program& p) {
         p.referee.kind = RefereeKind::free_item;
         p.referee.free_item_skus = {"COFFEE", "CAKE"};
       },
       "a free CAKE", "$10.00", "Give this to a friend: they get a free CAKE, you get $10.00"},
      {[](Program& p) {
         p.referee.kind = RefereeKind::store_credit;
         p.referee.store_credit_minor = 1500;
         p.referee.cap_minor = 0;
       },
       "$15.00 store credit", "$10.00",
       "Give this to a friend: they get $15.00 store credit, you get $10.00"},
      {[](Program& p) {
         p.referrer.kind = ReferrerKind::gift_card;
         p.referrer.amount_minor = 2500;
       },
       "20% off (up to $50.00)", "a $25.00 gift card",
       "Give this to a friend: they get 20% off (up to $50.00), you get a $25.00 gift card"},
      {[](Program& p) {
         p.referrer.kind = ReferrerKind::points;
         p.referrer.amount_minor = 0;
         p.referrer.points = 250;
       },
       "20% off (up to $50.00)", "250 points",
       "Give this to a friend: they get 20% off (up to $50.00), you get 250 points"},
      {[](Program& p) {
         p.referrer.kind = ReferrerKind::recognition;
         p.referrer.amount_minor = 0;
       },
       "20% off (up to $50.00)", "", "Give this to a friend: they get 20% off (up to $50.00)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.message);
    auto rules = friends();
    row.set(rules.program);
    const auto text = offer_text(rules, dollars);
    CHECK(text.friend_gets == row.friend_gets);
    CHECK(text.referrer_gets == row.referrer_gets);
    CHECK(referral_offer_message(rules, dollars) == row.message);
  }
}

// --- Parsing (ruleset_test.cpp has the rest) ---------------------------------

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
  CHECK(parsed->program.referee.new_customers_only);
  CHECK(parsed->ask.when == AskWhen::every_customer);

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

TEST_CASE(
    "rules: excluded categories and SKUs take no discount and do not count toward the minimum") {
  auto rules = friends();
  rules.program.referee.excluded_categories = {"gift-cards"};
  rules.program.referee.excluded_skus = {"TOBACCO-1"};
  auto cart = cart_of({3000, 5000, 2000});
  cart.lines[0].category = "gift-cards";
  cart.lines[2].sku = "TOBACCO-1";
  const auto code = code_issued_at(kStartMs);

  // 20 % of the one eligible line (50.00), not of the 100.00 subtotal.
  auto d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 1000);
  CHECK(d.line_discounts_minor == Lines{0, 1000, 0});

  // The minimum is on eligible spend: 50.00 eligible < 60.00 needed.
  rules.program.referee.min_spend_minor = 6000;
  d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
  CHECK(d.reason == "min_spend");
  CHECK(d.message == "The referral reward needs a spend of at least 60.00 USD on eligible items.");

  // Nothing eligible: refused with its own reason.
  rules.program.referee.min_spend_minor = 0;
  cart.lines[1].category = "gift-cards";
  d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
  CHECK_FALSE(d.accepted);
  CHECK(d.reason == "nothing_eligible");

  // A line without a category is judged by its SKU alone.
  rules.program.referee.excluded_categories = {""};
  CHECK(rules.program.referee.is_eligible("SKU", ""));
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
    rules.program.referee.min_spend_minor = 0;
    rules.program.referee.cap_minor = round % 3 == 0 ? 0 : price(rng);
    rules.program.referee.percent_off_bp = percent(rng);
    rules.program.referee.excluded_categories = {"excluded"};
    Cart cart = cart_of({});
    const int n = lines(rng);
    std::int64_t eligible = 0;
    for (int i = 0; i < n; ++i) {
      const std::int64_t total = price(rng);
      const bool out = excluded(rng);
      cart.lines.push_back(
          line_of("SKU-" + std::to_string(i), total, 1, 0, out ? "excluded" : "shoes"));
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

TEST_CASE(
    "rules: over random carts, rules, host discounts and stacking, the discount stays within the "
    "net") {
  std::mt19937_64 rng(0x5EED'2026'0101ULL);
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  const char* const skus[] = {"A", "B", "C", "D", "E"};
  const auto code = code_issued_at(kStartMs);
  int accepted = 0;
  for (int round = 0; round < 5'000; ++round) {
    CAPTURE(round);
    auto rules = friends();
    auto& referee = rules.program.referee;
    referee.min_spend_minor = 0;
    referee.new_customers_only = false;
    referee.kind = static_cast<RefereeKind>(pick(0, 3));
    referee.stacking = static_cast<Stacking>(pick(0, 2));
    referee.percent_off_bp = static_cast<std::int32_t>(pick(0, 10'000));
    referee.amount_off_minor = pick(1, 50'000);
    referee.store_credit_minor = pick(1, 50'000);
    referee.free_item_skus = {"A", "B"};
    referee.cap_minor = chance(0.5) ? 0 : pick(1, 30'000);
    if (referee.kind == RefereeKind::amount_off || referee.kind == RefereeKind::store_credit) {
      referee.cap_minor = 0;  // the parser refuses a cap next to a fixed amount
    }
    referee.excluded_categories = {"excluded"};

    std::vector<CartLine> cart_lines;
    const auto n = pick(1, 12);
    for (std::int64_t i = 0; i < n; ++i) {
      auto line = line_of(skus[pick(0, 4)], pick(0, 20'000), pick(1, 5), 0,
                          chance(0.2) ? "excluded" : "shoes");
      if (chance(0.4)) line.host_discount_minor = pick(0, line.total_minor);
      cart_lines.push_back(std::move(line));
    }
    const Cart cart = cart_with(std::move(cart_lines));

    // The model: which lines may take the discount, and what they are worth.
    std::int64_t eligible_net = 0;
    std::vector<bool> eligible(cart.lines.size(), false);
    std::optional<std::size_t> free_line;
    for (std::size_t i = 0; i < cart.lines.size(); ++i) {
      const auto& l = cart.lines[i];
      const auto net = cart.line_net_minor(i);
      if (l.category == "excluded") continue;
      if (referee.stacking == Stacking::skip_discounted_lines && l.host_discount_minor > 0)
        continue;
      if (net == 0 && referee.kind != RefereeKind::free_item) continue;
      eligible[i] = true;
      eligible_net += net;
      if (referee.free_item_skus.count(l.sku) != 0 &&
          (!free_line || l.unit_price_minor > cart.lines[*free_line].unit_price_minor)) {
        free_line = i;
      }
    }
    const bool any_eligible = std::find(eligible.begin(), eligible.end(), true) != eligible.end();

    const auto d = evaluate_redemption(rules, cart, code, {}, {}, kStartMs);
    CHECK(d.discount_minor >= 0);
    if (referee.stacking == Stacking::exclusive && cart.host_discount_minor > 0) {
      CHECK(d.reason == "not_combinable");
      continue;
    }
    if (!any_eligible) {
      CHECK(d.reason == "nothing_eligible");
      continue;
    }
    if (referee.kind == RefereeKind::free_item && !free_line) {
      CHECK(d.reason == "free_item_missing");
      continue;
    }
    REQUIRE(d.accepted);
    ++accepted;
    CHECK(d.discount_minor <= eligible_net);
    REQUIRE(d.line_discounts_minor.size() == cart.lines.size());
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < cart.lines.size(); ++i) {
      const auto share = d.line_discounts_minor[i];
      CAPTURE(i);
      CHECK(share >= 0);
      CHECK(share <= cart.line_net_minor(i));
      if (!eligible[i]) CHECK(share == 0);
      sum += share;
    }
    CHECK(sum == d.discount_minor);

    // And the exact amount for each kind.
    std::int64_t expected = 0;
    switch (referee.kind) {
      case RefereeKind::percent_off:
        expected = (eligible_net * referee.percent_off_bp + 5'000) / 10'000;  // half up
        if (referee.cap_minor > 0) expected = std::min(expected, referee.cap_minor);
        break;
      case RefereeKind::amount_off:
        expected = std::min(referee.amount_off_minor, eligible_net);
        break;
      case RefereeKind::free_item:
        expected =
            std::min(cart.lines[*free_line].unit_price_minor, cart.line_net_minor(*free_line));
        if (referee.cap_minor > 0) expected = std::min(expected, referee.cap_minor);
        CHECK(d.line_discounts_minor[*free_line] == expected);
        break;
      case RefereeKind::store_credit:
        expected = 0;
        CHECK(d.referee_credit_minor == referee.store_credit_minor);
        break;
    }
    CHECK(d.discount_minor == expected);
  }
  // The generator reaches the accepted path often enough to mean something.
  CHECK(accepted > 2'000);
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
  CHECK(parsed->program.referee.excluded_categories.count("tobacco") == 1);
  CHECK_FALSE(parsed->program.referee.is_eligible("SKU-1", "shoes"));
  CHECK(parsed->program.referee.is_eligible("SKU-2", "shoes"));

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
  rules.program.referee.kind = RefereeKind::amount_off;
  rules.program.referee.percent_off_bp = 0;
  rules.program.referee.amount_off_minor = 1000;
  rules.program.referee.cap_minor = 0;
  rules.program.referee.min_spend_minor = 0;
  const auto code = code_issued_at(kStartMs);
  auto d = evaluate_redemption(rules, cart_of({3000, 1000}), code, {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 1000);
  CHECK(d.line_discounts_minor == Lines{750, 250});
  CHECK(d.message == "Referral: 10.00 USD off");
  // A cart worth less than the amount: the discount is the cart, total 0.
  d = evaluate_redemption(rules, cart_of({499, 1}), code, {}, {}, kStartMs);
  REQUIRE(d.accepted);
  CHECK(d.discount_minor == 500);
  CHECK(d.line_discounts_minor == Lines{499, 1});

  rules.program.referee.cap_minor = 500;  // a cap says nothing more next to an amount
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
  CHECK(parsed->program.referee.kind == RefereeKind::amount_off);
  CHECK(parsed->program.referee.amount_off_minor == 1500);
  CHECK(parsed->program.referee.percent_off_bp == 0);
  doc["referee"]["percent_off_bp"] = 1000;
  auto both = parse_ruleset(doc, "rules");
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().message.find("exactly one reward for the friend") != std::string::npos);
  doc["referee"] = nlohmann::json::object();
  CHECK_FALSE(parse_ruleset(doc, "rules").ok());
  doc["referee"] = {{"amount_off_minor", 0}};
  CHECK(parse_ruleset(doc, "rules").error().field == "rules.referee.amount_off_minor");
}
