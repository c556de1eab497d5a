// Parsing a rule set: what head office publishes becomes typed rules, or one
// error that names every bad field.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "rules/evaluate.hpp"
#include "rules/ruleset.hpp"

using namespace refpos;
using namespace refpos::rules;
using nlohmann::json;

namespace {

// The demo store's rules, as shipped: the old style, before partners, fraud
// and offline rules existed.
json demo_rules() {
  const auto path = std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "assets" /
                    "demo" / "store-config.json";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path.string());
  return json::parse(in).at("rules");
}

// A rule set that uses every member.
json full_rules() {
  return json::parse(R"({
    "schema": "refpos.rules/1",
    "version": 7,
    "program": "friends",
    "online_only": false,
    "point_value_minor": 1,
    "referee": {
      "free_item": {"skus": ["COFFEE", "CAKE"]},
      "cap_minor": 500,
      "min_spend_minor": 1000,
      "new_customers_only": false,
      "stacking": "skip_discounted_lines",
      "excluded_categories": ["gift-cards"],
      "excluded_skus": ["TOBACCO-1"]
    },
    "referrer": {
      "points": 250,
      "pending_days": 14,
      "max_rewards": {"count": 5, "per": "month"}
    },
    "code": {
      "valid_days": 60,
      "max_redemptions": 10,
      "max_redemptions_per": {"count": 3, "per": "year"}
    },
    "issue": {"when": "promoters", "min_spend_minor": 1500},
    "limits": {"failed_code_attempts": 5, "window_minutes": 20},
    "fraud": {
      "referrer_in_basket": "hold",
      "velocity": [
        {"scope": "terminal", "max": 20, "window_minutes": 60, "action": "flag"},
        {"scope": "cashier", "max": 50, "window_minutes": 1440, "action": "refuse"}
      ]
    },
    "offline": {
      "max_discount_per_redemption_minor": 5000,
      "max_granted_since_sync_minor": 100000,
      "max_offline_hours": 72
    },
    "partners": [
      {
        "id": "gym", "name": "City Gym", "key_id": 7, "online_only": true,
        "referee": {"percent_off_bp": 1000, "cap_minor": 2000},
        "referrer": {"recognition_only": true},
        "code": {"valid_days": 365, "max_redemptions": 1000}
      },
      {
        "id": "acme", "name": "ACME staff", "key_id": 8,
        "referee": {"amount_off_minor": 1500, "stacking": "exclusive"},
        "referrer": {"points": 100, "max_rewards": {"count": 10, "per": "year"}},
        "code": {"valid_days": 30, "max_redemptions": 1}
      }
    ]
  })");
}

}  // namespace

TEST_CASE("ruleset: the demo store's old-style rule set still parses, with defaults for the rest") {
  const auto doc = demo_rules();
  auto parsed = parse_ruleset(doc, "rules");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().describe()));
  const RuleSet& r = *parsed;
  CHECK(r.version == 1);
  CHECK(r.program.id == "friends");
  CHECK(r.program.name == "friends");
  CHECK_FALSE(r.program.partner);
  CHECK_FALSE(r.program.online_only);
  CHECK(r.program.referee.kind == RefereeKind::percent_off);
  CHECK(r.program.referee.percent_off_bp == 2000);
  CHECK(r.program.referee.cap_minor == 5000);
  CHECK(r.program.referee.min_spend_minor == 2000);
  CHECK(r.program.referee.new_customers_only);
  CHECK(r.program.referee.stacking == Stacking::combine);
  CHECK(r.program.referee.excluded_categories.empty());
  CHECK(r.program.referrer.kind == ReferrerKind::store_credit);
  CHECK(r.program.referrer.amount_minor == 1000);
  CHECK(r.program.referrer.points == 0);
  CHECK(r.program.referrer.pending_days == 0);
  CHECK(r.program.referrer.max_rewards.count == 0);
  CHECK(r.program.code.valid_days == 30);
  CHECK(r.program.code.max_redemptions == 5);
  CHECK(r.program.code.max_redemptions_per.count == 0);
  // "issue": {"on_commit": true, "min_spend_minor": 0}
  CHECK(r.ask.when == AskWhen::every_customer);
  CHECK(r.ask.min_spend_minor == 0);
  CHECK(r.limits.failed_code_attempts == 5);
  CHECK(r.limits.window_minutes == 15);
  CHECK(r.partners.empty());
  CHECK(r.fraud.referrer_in_basket == FraudAction::refuse);
  CHECK(r.fraud.velocity.empty());
  CHECK(r.offline.max_discount_per_redemption_minor == 0);
  CHECK(r.offline.max_granted_since_sync_minor == 0);
  CHECK(r.offline.max_offline_hours == 0);
  CHECK(r.point_value_minor == 0);
  CHECK(&r.program_for_key(1) == &r.program);

  // Old-style variants: issuing turned off, a referrer thanked only.
  auto off = doc;
  off["issue"]["on_commit"] = false;
  auto parsed_off = parse_ruleset(off, "rules");
  REQUIRE(parsed_off.ok());
  CHECK(parsed_off->ask.when == AskWhen::never);
  auto thanks = doc;
  thanks["referrer"]["store_credit_minor"] = 0;
  auto parsed_thanks = parse_ruleset(thanks, "rules");
  REQUIRE(parsed_thanks.ok());
  CHECK(parsed_thanks->program.referrer.kind == ReferrerKind::recognition);
  CHECK_FALSE(parsed_thanks->program.referrer.has_value());
  auto no_issue = doc;
  no_issue.erase("issue");
  no_issue.erase("limits");
  auto parsed_bare = parse_ruleset(no_issue, "rules");
  REQUIRE(parsed_bare.ok());
  CHECK(parsed_bare->ask.when == AskWhen::every_customer);
  CHECK(parsed_bare->limits.failed_code_attempts == 0);
}

TEST_CASE("ruleset: a full rule set with partners, fraud, offline limits and issue.when") {
  auto parsed = parse_ruleset(full_rules(), "rules");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().describe()));
  const RuleSet& r = *parsed;
  CHECK(r.version == 7);
  CHECK(r.point_value_minor == 1);

  const auto& referee = r.program.referee;
  CHECK(referee.kind == RefereeKind::free_item);
  CHECK(referee.free_item_skus == IdSet{"CAKE", "COFFEE"});
  CHECK(referee.cap_minor == 500);
  CHECK(referee.min_spend_minor == 1000);
  CHECK_FALSE(referee.new_customers_only);
  CHECK(referee.stacking == Stacking::skip_discounted_lines);
  CHECK(referee.excluded_categories == IdSet{"gift-cards"});
  CHECK(referee.excluded_skus == IdSet{"TOBACCO-1"});

  const auto& referrer = r.program.referrer;
  CHECK(referrer.kind == ReferrerKind::points);
  CHECK(referrer.points == 250);
  CHECK(referrer.amount_minor == 0);
  CHECK(referrer.pending_days == 14);
  CHECK(referrer.max_rewards.count == 5);
  CHECK(referrer.max_rewards.per == Per::month);

  CHECK(r.program.code.valid_days == 60);
  CHECK(r.program.code.max_redemptions == 10);
  CHECK(r.program.code.max_redemptions_per.count == 3);
  CHECK(r.program.code.max_redemptions_per.per == Per::year);

  CHECK(r.ask.when == AskWhen::promoters);
  CHECK(r.ask.min_spend_minor == 1500);
  CHECK(r.limits.failed_code_attempts == 5);
  CHECK(r.limits.window_minutes == 20);

  CHECK(r.fraud.referrer_in_basket == FraudAction::hold);
  REQUIRE(r.fraud.velocity.size() == 2);
  CHECK(r.fraud.velocity[0].scope == VelocityScope::terminal);
  CHECK(r.fraud.velocity[0].max == 20);
  CHECK(r.fraud.velocity[0].window_minutes == 60);
  CHECK(r.fraud.velocity[0].action == FraudAction::flag);
  CHECK(r.fraud.velocity[1].scope == VelocityScope::cashier);
  CHECK(r.fraud.velocity[1].max == 50);
  CHECK(r.fraud.velocity[1].window_minutes == 1440);
  CHECK(r.fraud.velocity[1].action == FraudAction::refuse);

  CHECK(r.offline.max_discount_per_redemption_minor == 5000);
  CHECK(r.offline.max_granted_since_sync_minor == 100000);
  CHECK(r.offline.max_offline_hours == 72);

  REQUIRE(r.partners.size() == 2);
  const auto& gym = r.partners[0];
  CHECK(gym.id == "gym");
  CHECK(gym.name == "City Gym");
  CHECK(gym.partner);
  CHECK(gym.key_id == 7);
  CHECK(gym.online_only);
  CHECK(gym.referee.kind == RefereeKind::percent_off);
  CHECK(gym.referee.percent_off_bp == 1000);
  CHECK(gym.referee.cap_minor == 2000);
  CHECK(gym.referee.new_customers_only);  // the default
  CHECK(gym.referrer.kind == ReferrerKind::recognition);
  CHECK(gym.code.valid_days == 365);
  CHECK(gym.code.max_redemptions == 1000);
  const auto& acme = r.partners[1];
  CHECK(acme.id == "acme");
  CHECK(acme.key_id == 8);
  CHECK_FALSE(acme.online_only);
  CHECK(acme.referee.kind == RefereeKind::amount_off);
  CHECK(acme.referee.amount_off_minor == 1500);
  CHECK(acme.referee.stacking == Stacking::exclusive);
  CHECK(acme.referrer.kind == ReferrerKind::points);
  CHECK(acme.referrer.points == 100);
  CHECK(acme.referrer.max_rewards.per == Per::year);

  CHECK(&r.program_for_key(7) == &gym);
  CHECK(&r.program_for_key(8) == &acme);
  CHECK(&r.program_for_key(1) == &r.program);
  CHECK(r.partner("acme") == &acme);
  CHECK(r.partner("friends") == nullptr);

  // Each referrer kind and the choices of the other words.
  auto doc = full_rules();
  doc["referrer"] = {{"gift_card_minor", 2500}};
  doc["issue"] = {{"when", "min_spend"}, {"min_spend_minor", 3000}};
  doc["fraud"] = {{"referrer_in_basket", "off"}};
  doc["referee"]["stacking"] = "combine";
  auto other = parse_ruleset(doc, "rules");
  REQUIRE_MESSAGE(other.ok(), (other.ok() ? std::string() : other.error().describe()));
  CHECK(other->program.referrer.kind == ReferrerKind::gift_card);
  CHECK(other->program.referrer.amount_minor == 2500);
  CHECK(other->ask.when == AskWhen::min_spend);
  CHECK(other->ask.min_spend_minor == 3000);
  CHECK(other->fraud.referrer_in_basket == FraudAction::off);
  CHECK(other->program.referee.stacking == Stacking::combine);
  doc["issue"] = {{"when", "never"}};
  doc["referee"] = {{"store_credit_minor", 1500}};
  doc["referrer"] = {{"store_credit_minor", 1000}};
  auto third = parse_ruleset(doc, "rules");
  REQUIRE_MESSAGE(third.ok(), (third.ok() ? std::string() : third.error().describe()));
  CHECK(third->ask.when == AskWhen::never);
  CHECK(third->program.referee.kind == RefereeKind::store_credit);
  CHECK(third->program.referee.store_credit_minor == 1500);
  CHECK(third->program.referrer.kind == ReferrerKind::store_credit);
}

TEST_CASE("ruleset: contradictory or unknown rules are refused, naming the field") {
  struct Row {
    const char* what;
    std::function<void(json&)> change;
    const char* field;
    const char* says;  // part of the message
  };
  const std::vector<Row> rows = {
      {"two referee kinds",
       [](json& d) {
         d["referee"] = {{"percent_off_bp", 1000}, {"amount_off_minor", 500}};
       },
       "rules.referee.percent_off_bp", "exactly one reward for the friend"},
      {"free item and store credit",
       [](json& d) {
         d["referee"] = {{"free_item", {{"skus", {"CAKE"}}}}, {"store_credit_minor", 500}};
       },
       "rules.referee.percent_off_bp", "exactly one reward for the friend"},
      {"no referee kind",
       [](json& d) {
         d["referee"] = {{"min_spend_minor", 500}};
       },
       "rules.referee.percent_off_bp", "exactly one reward for the friend"},
      {"cap with amount_off",
       [](json& d) {
         d["referee"] = {{"amount_off_minor", 500}, {"cap_minor", 300}};
       },
       "rules.referee.cap_minor", "a fixed amount is its own cap"},
      {"cap with store credit",
       [](json& d) {
         d["referee"] = {{"store_credit_minor", 500}, {"cap_minor", 300}};
       },
       "rules.referee.cap_minor", "a fixed amount is its own cap"},
      {"the free item excluded", [](json& d) { d["referee"]["excluded_skus"] = {"CAKE"}; },
       "rules.referee.excluded_skus", "the free item itself"},
      {"a free item without skus", [](json& d) { d["referee"]["free_item"] = json::object(); },
       "rules.referee.free_item.skus", "required"},
      {"two referrer kinds",
       [](json& d) {
         d["referrer"] = {{"points", 10}, {"gift_card_minor", 500}};
       },
       "rules.referrer.store_credit_minor", "exactly one reward for the referrer"},
      {"recognition and credit",
       [](json& d) {
         d["referrer"] = {{"recognition_only", true}, {"store_credit_minor", 500}};
       },
       "rules.referrer.store_credit_minor", "exactly one reward for the referrer"},
      {"max_redemptions_per.count > max_redemptions",
       [](json& d) {
         d["code"] = {{"valid_days", 30},
                      {"max_redemptions", 2},
                      {"max_redemptions_per", {{"count", 3}, {"per", "month"}}}};
       },
       "rules.code.max_redemptions_per", "than max_redemptions in all (2)"},
      {"a period limit without its period",
       [](json& d) {
         d["referrer"]["max_rewards"] = {{"count", 3}};
       },
       "rules.referrer.max_rewards.per", "required"},
      {"a period that is not one",
       [](json& d) { d["code"]["max_redemptions_per"]["per"] = "week"; },
       "rules.code.max_redemptions_per.per", "\"month\", \"year\""},
      {"partner referrer with store credit",
       [](json& d) {
         d["partners"][0]["referrer"] = {{"store_credit_minor", 500}};
       },
       "rules.partners[0].referrer.store_credit_minor", "never cash"},
      {"partner referrer with a gift card",
       [](json& d) {
         d["partners"][1]["referrer"] = {{"gift_card_minor", 500}};
       },
       "rules.partners[1].referrer.gift_card_minor", "never cash"},
      {"duplicate partner ids", [](json& d) { d["partners"][1]["id"] = "gym"; },
       "rules.partners[1].id", "names another program"},
      {"a partner named as the customer program",
       [](json& d) { d["partners"][0]["id"] = "friends"; }, "rules.partners[0].id",
       "names another program"},
      {"duplicate partner key ids", [](json& d) { d["partners"][1]["key_id"] = 7; },
       "rules.partners[1].key_id", "already belongs to another partner"},
      {"a partner key id out of range", [](json& d) { d["partners"][0]["key_id"] = 32; },
       "rules.partners[0].key_id", "from 1 to 31"},
      {"a partner that is not an object", [](json& d) { d["partners"][1] = "acme"; },
       "rules.partners[1]", "partner program object"},
      {"a partner without a name", [](json& d) { d["partners"][0].erase("name"); },
       "rules.partners[0].name", "required"},
      {"min_spend when without min_spend_minor",
       [](json& d) {
         d["issue"] = {{"when", "min_spend"}};
       },
       "rules.issue.min_spend_minor", "required"},
      {"min_spend when with min_spend_minor 0",
       [](json& d) {
         d["issue"] = {{"when", "min_spend"}, {"min_spend_minor", 0}};
       },
       "rules.issue.min_spend_minor", "required"},
      {"an unknown when", [](json& d) { d["issue"]["when"] = "sometimes"; }, "rules.issue.when",
       "\"promoters\""},
      {"an unknown stacking", [](json& d) { d["referee"]["stacking"] = "both"; },
       "rules.referee.stacking", "\"skip_discounted_lines\""},
      {"an unknown fraud action", [](json& d) { d["fraud"]["referrer_in_basket"] = "ban"; },
       "rules.fraud.referrer_in_basket", "\"refuse\""},
      {"a velocity rule without max", [](json& d) { d["fraud"]["velocity"][1].erase("max"); },
       "rules.fraud.velocity[1].max", "required"},
      {"an unknown velocity scope", [](json& d) { d["fraud"]["velocity"][0]["scope"] = "store"; },
       "rules.fraud.velocity[0].scope", "\"cashier\""},
      {"pending days past a year", [](json& d) { d["referrer"]["pending_days"] = 366; },
       "rules.referrer.pending_days", "from 0 to 365"},
      {"unknown top-level member", [](json& d) { d["surprise"] = true; }, "rules.surprise",
       "unknown member"},
      {"unknown referee member", [](json& d) { d["referee"]["percent_of_bp"] = 10; },
       "rules.referee.percent_of_bp", "unknown member"},
      {"unknown free item member", [](json& d) { d["referee"]["free_item"]["sku"] = "X"; },
       "rules.referee.free_item.sku", "unknown member"},
      {"unknown period member", [](json& d) { d["referrer"]["max_rewards"]["every"] = 2; },
       "rules.referrer.max_rewards.every", "unknown member"},
      {"unknown partner member", [](json& d) { d["partners"][1]["colour"] = "red"; },
       "rules.partners[1].colour", "unknown member"},
      {"unknown velocity member", [](json& d) { d["fraud"]["velocity"][0]["extra"] = 1; },
       "rules.fraud.velocity[0].extra", "unknown member"},
      {"unknown offline member", [](json& d) { d["offline"]["max_hours"] = 4; },
       "rules.offline.max_hours", "unknown member"},
      {"unknown issue member (old on_commit is known)",
       [](json& d) { d["issue"]["on_checkout"] = true; }, "rules.issue.on_checkout",
       "unknown member"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.what);
    auto doc = full_rules();
    row.change(doc);
    const auto parsed = parse_ruleset(doc, "rules");
    REQUIRE_FALSE(parsed.ok());
    const auto& e = parsed.error();
    CAPTURE(e.describe());
    CHECK(e.kind == ErrorKind::bad_request);
    CHECK(e.field == row.field);  // one problem: named by its own field
    CHECK(e.message.find(row.says) != std::string::npos);
    CHECK(e.message.find("problems") == std::string::npos);
  }
}

TEST_CASE("ruleset: every bad field is named in one error") {
  auto doc = full_rules();
  doc["version"] = 0;
  doc["referee"]["stacking"] = "both";
  doc["partners"][1]["key_id"] = 99;
  const auto parsed = parse_ruleset(doc, "rules");
  REQUIRE_FALSE(parsed.ok());
  const auto& e = parsed.error();
  CAPTURE(e.describe());
  CHECK(e.kind == ErrorKind::bad_request);
  CHECK(e.field == "rules");
  CHECK(e.message.rfind("3 problems: ", 0) == 0);
  for (const char* field :
       {"rules.version: ", "rules.referee.stacking: ", "rules.partners[1].key_id: "}) {
    CAPTURE(field);
    CHECK(e.message.find(field) != std::string::npos);
  }

  // Contradictions and unknown members at different depths, in one round too.
  doc = full_rules();
  doc["referee"] = {{"amount_off_minor", 500}, {"cap_minor", 300}};
  doc["code"]["max_redemptions_per"]["count"] = 11;
  doc["partners"][0]["referrer"] = {{"points", 10}, {"mood", "happy"}};
  const auto several = parse_ruleset(doc, "rules");
  REQUIRE_FALSE(several.ok());
  CAPTURE(several.error().describe());
  CHECK(several.error().field == "rules");
  CHECK(several.error().message.rfind("3 problems: ", 0) == 0);
  for (const char* field : {"rules.referee.cap_minor: ", "rules.code.max_redemptions_per: ",
                            "rules.partners[0].referrer.mood: "}) {
    CAPTURE(field);
    CHECK(several.error().message.find(field) != std::string::npos);
  }
}

TEST_CASE("ruleset: a parsed rule set decides as the rules say") {
  // The full rule set end to end: a partner code gets the partner's reward.
  auto parsed = parse_ruleset(full_rules(), "rules");
  REQUIRE(parsed.ok());
  Cart cart;
  cart.terminal_id = "till-1";
  cart.customer_id = "bob";
  cart.currency = *money::find_currency("USD");
  CartLine line;
  line.sku = "SHOES";
  line.category = "shoes";
  line.quantity = 1;
  line.unit_price_minor = 8000;
  line.total_minor = 8000;
  cart.lines = {line};
  cart.subtotal_minor = 8000;
  codes::CodeFields code;
  code.key_id = 8;
  code.issue_day = *codes::issue_day_of(1'767'225'600'000);
  code.nonce = 1;
  ExposureFacts exposure;
  exposure.last_sync_ms = 1'767'225'600'000;
  const auto d = evaluate_redemption(*parsed, cart, code, {}, {}, 1'767'225'600'000, exposure);
  REQUIRE(d.accepted);
  CHECK(d.program == &parsed->partners[1]);
  CHECK(d.discount_minor == 1500);
  CHECK(d.referrer.kind == ReferrerKind::points);
  CHECK(d.referrer.points == 100);
  // The customer program's code wants its free item, which is not here.
  code.key_id = 1;
  CHECK(evaluate_redemption(*parsed, cart, code, {}, {}, 1'767'225'600'000, exposure).reason ==
        "free_item_missing");
}
