// The referral loop at the till through the real librefpos.so: pending
// rewards and their clawback, partial refunds, balances spent as discount
// lines, tax per line, asking for referrals (NPS), leads and forget, the
// referrer's thank-you, rule installs, offline caps and fraud signals,
// partner codes and per-period limits in the store's time zone. Every story
// ends with the store's file audited.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <random>

#include "plugin.hpp"
#include "temp_dir.hpp"

using namespace refpos::test;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kHourMs = 3'600'000;

struct Loop {
  TempDir dir;
  json config;
  std::unique_ptr<StoreHandle> store;

  explicit Loop(const std::function<void(json&)>& tweak = {}) : config(default_config(dir.str())) {
    if (tweak) tweak(config);
    store = std::make_unique<StoreHandle>(config);
  }
  void reopen() {
    store.reset();
    store = std::make_unique<StoreHandle>(config);
  }
  std::string code_for(const std::string& customer, const std::string& txn,
                       std::optional<std::int64_t> at_ms = std::nullopt) {
    auto request = cart(txn, customer, {5000});
    if (at_ms) request["clock_ms"] = *at_ms;
    auto r = store->commit(request);
    REQUIRE(r.status == REFPOS_OK);
    REQUIRE(r.body["issued_code"].is_object());
    return r.body["issued_code"]["normalized"].get<std::string>();
  }
  json wallet(const std::string& customer, std::optional<std::int64_t> at_ms = std::nullopt) {
    json request = {{"customer_id", customer}};
    if (at_ms) request["clock_ms"] = *at_ms;
    auto r = store->call(plugin_api().customer, request.dump());
    REQUIRE(r.status == REFPOS_OK);
    return r.body["wallet"];
  }
  Reply refund(const std::string& reversal_id, const std::string& txn, json lines = nullptr,
               std::optional<std::int64_t> at_ms = std::nullopt) {
    json request = {{"reversal_id", reversal_id}, {"txn_id", txn}, {"kind", "refund"},
                    {"terminal_id", "till-1"}};
    if (!lines.is_null()) request["lines"] = std::move(lines);
    if (at_ms) request["clock_ms"] = *at_ms;
    return store->reverse(request);
  }
  std::int64_t events_of(const std::string& type) {
    return store_sql_int(dir.str(), "SELECT count(*) FROM events WHERE type = '" + type + "'");
  }
  std::string audit() { return audit_store(dir.str(), "store-001"); }
};

json with_code(json request, const std::string& code) {
  request["code"] = code;
  return request;
}

json at(json request, std::int64_t ms) {
  request["clock_ms"] = ms;
  return request;
}

std::int64_t sum_of(const json& lines, const char* member, const char* reason = nullptr) {
  std::int64_t total = 0;
  for (const auto& l : lines) {
    if (reason == nullptr || l["reason"] == reason) total += l[member].get<std::int64_t>();
  }
  return total;
}

std::size_t count_in(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

void pending_rules(json& config) {
  config["rules"]["referrer"] = {{"store_credit_minor", 1000}, {"pending_days", 14}};
}

}  // namespace

// ---- 1. Pending period ---------------------------------------------------

TEST_CASE("loop: a pending referrer reward becomes spendable after pending_days") {
  Loop f(pending_rules);
  const auto code = f.code_for("alice", "T-1");
  auto r = f.store->commit(with_code(cart("T-2", "bob", {5000}), code));
  REQUIRE(r.status == REFPOS_OK);
  CHECK(r.body["redemption"]["referrer_reward"]["spendable_at_ms"] == kStartMs + 14 * kDayMs);

  auto w = f.wallet("alice");
  CHECK(w["pending_minor"] == 1000);
  CHECK(w["balance_minor"] == 0);
  w = f.wallet("alice", kStartMs + 14 * kDayMs - 1);
  CHECK(w["pending_minor"] == 1000);
  CHECK(w["balance_minor"] == 0);
  w = f.wallet("alice", kStartMs + 14 * kDayMs + 1);
  CHECK(w["pending_minor"] == 0);
  CHECK(w["balance_minor"] == 1000);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: a refund before maturity claws the pending reward back, never below zero") {
  Loop f(pending_rules);
  const auto code = f.code_for("alice", "T-1");
  REQUIRE(f.store->commit(with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);
  REQUIRE(f.wallet("alice")["pending_minor"] == 1000);

  auto refund = f.refund("R-1", "T-2", nullptr, kStartMs + 3 * kDayMs);
  REQUIRE(refund.status == REFPOS_OK);
  CHECK(refund.body["complete"] == true);
  CHECK(refund.body["referrer_reward_reversed"]["amount"] == 1000);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM events WHERE type = 'reward_reversed' AND "
                             "json_extract(body, '$.was_pending') = 1") == 1);
  auto w = f.wallet("alice");
  CHECK(w["pending_minor"] == 0);
  CHECK(w["balance_minor"] == 0);
  // And once the reward would have matured, nothing is left either way.
  w = f.wallet("alice", kStartMs + 20 * kDayMs);
  CHECK(w["pending_minor"] == 0);
  CHECK(w["balance_minor"] == 0);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: a refund after maturity of a reward already spent leaves a negative balance") {
  Loop f(pending_rules);
  const auto code = f.code_for("alice", "T-1");
  REQUIRE(f.store->commit(with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);
  const std::int64_t later = kStartMs + 15 * kDayMs;
  REQUIRE(f.wallet("alice", later)["balance_minor"] == 1000);

  auto spend = at(cart("T-3", "alice", {3000}), later);
  spend["spend"] = {{"store_credit_minor", 1000}};
  auto spent = f.store->commit(spend);
  REQUIRE(spent.status == REFPOS_OK);
  CHECK(spent.body["total_minor"] == 2000);
  CHECK(f.wallet("alice")["balance_minor"] == 0);

  auto refund = f.refund("R-1", "T-2", nullptr, later + kHourMs);
  REQUIRE(refund.status == REFPOS_OK);
  CHECK(refund.body["reversed_referrer_reward_minor"] == 1000);
  auto w = f.wallet("alice");
  CHECK(w["balance_minor"] == -1000);
  CHECK(w["pending_minor"] == 0);
  CHECK(f.audit().empty());
}

// ---- 2. Partial refunds ------------------------------------------------

TEST_CASE("loop: partial refunds add up to what was paid and the discount given") {
  Loop f;
  const auto code = f.code_for("alice", "T-1");
  // 2 x 15.00, 3 x 10.00, 1 x 25.00 = 85.00; 20 % = 17.00 split 6 / 6 / 5.
  auto request = with_code(cart("T-2", "bob", {1500, 1000, 2500}), code);
  request["lines"][0]["quantity"] = 2;
  request["lines"][1]["quantity"] = 3;
  auto commit = f.store->commit(request);
  REQUIRE(commit.status == REFPOS_OK);
  REQUIRE(commit.body["discount_minor"] == 1700);
  const auto paid = commit.body["total_minor"].get<std::int64_t>();
  REQUIRE(paid == 6800);
  REQUIRE(f.wallet("alice")["balance_minor"] == 1000);

  std::int64_t refunded = 0, discount_back = 0;
  auto step1 = f.refund("R-1", "T-2", json::array({{{"line", 0}, {"quantity", 1}},
                                                   {{"line", 1}, {"quantity", 1}}}));
  REQUIRE(step1.status == REFPOS_OK);
  CHECK(step1.body["complete"] == false);
  CHECK(step1.body["refund_minor"] == 1200 + 800);  // 15.00 - 3.00 and 10.00 - 2.00
  CHECK(step1.body["referrer_reward_reversed"].is_null());  // 60.00 still eligible
  CHECK(f.wallet("alice")["balance_minor"] == 1000);
  refunded += step1.body["refund_minor"].get<std::int64_t>();
  discount_back += step1.body["reversed_discount_minor"].get<std::int64_t>();
  CHECK(sum_of(step1.body["lines"], "refund_minor") == step1.body["refund_minor"]);

  SUBCASE("refunding more than is left is refused, naming the line, and changes nothing") {
    const auto before = snapshot_of(f.dir.str());
    auto over = f.refund("R-X", "T-2", json::array({{{"line", 2}, {"quantity", 1}},
                                                    {{"line", 0}, {"quantity", 2}}}));
    CHECK(over.status == REFPOS_E_BAD_REQUEST);
    CHECK(over.body["error"]["field"] == "lines[1].quantity");
    CHECK(over.message.find("lines[1].quantity") != std::string::npos);
    CHECK(snapshot_of(f.dir.str()) == before);
  }

  auto step2 = f.refund("R-2", "T-2", json::array({{{"line", 1}, {"quantity", 1}}}));
  REQUIRE(step2.status == REFPOS_OK);
  CHECK(step2.body["complete"] == false);
  refunded += step2.body["refund_minor"].get<std::int64_t>();
  discount_back += step2.body["reversed_discount_minor"].get<std::int64_t>();

  auto step3 = f.refund("R-3", "T-2");  // the rest
  REQUIRE(step3.status == REFPOS_OK);
  CHECK(step3.body["complete"] == true);
  refunded += step3.body["refund_minor"].get<std::int64_t>();
  discount_back += step3.body["reversed_discount_minor"].get<std::int64_t>();
  CHECK(step3.body["referrer_reward_reversed"]["amount"] == 1000);

  CHECK(refunded == paid);
  CHECK(discount_back == 1700);
  CHECK(f.wallet("alice")["balance_minor"] == 0);
  // Nothing is left to refund.
  CHECK(f.refund("R-4", "T-2", json::array({{{"line", 2}, {"quantity", 1}}})).status ==
        REFPOS_E_CONFLICT);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: a partial refund that leaves less than min_spend claws back the referrer reward once") {
  Loop f;
  const auto code = f.code_for("alice", "T-1");
  REQUIRE(f.store->commit(with_code(cart("T-2", "bob", {1500, 1000}), code)).status == REFPOS_OK);
  REQUIRE(f.wallet("alice")["balance_minor"] == 1000);

  auto partial = f.refund("R-1", "T-2", json::array({{{"line", 0}, {"quantity", 1}}}));
  REQUIRE(partial.status == REFPOS_OK);
  CHECK(partial.body["complete"] == false);
  CHECK(partial.body["referrer_reward_reversed"]["amount"] == 1000);
  CHECK(partial.body["reversed_referrer_reward_minor"] == 1000);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM events WHERE type = 'reward_reversed' AND "
                             "json_extract(body, '$.why') = 'below_min_spend'") == 1);
  CHECK(f.wallet("alice")["balance_minor"] == 0);

  auto rest = f.refund("R-2", "T-2");
  REQUIRE(rest.status == REFPOS_OK);
  CHECK(rest.body["complete"] == true);
  CHECK(rest.body["reversed_referrer_reward_minor"] == 0);
  CHECK(f.wallet("alice")["balance_minor"] == 0);  // taken back once, not twice
  CHECK(f.events_of("reward_reversed") == 1);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: property: refunding random carts in random steps restores every wallet") {
  Loop f([](json& c) { c["rules"]["code"]["max_redemptions"] = 1000; });
  std::mt19937_64 rng(20260401);
  const auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  // alice earns credit from 20 friends to spend on her random carts.
  const auto code = f.code_for("alice", "S-0");
  for (int i = 1; i <= 20; ++i) {
    const auto id = std::to_string(i);
    REQUIRE(f.store->commit(with_code(cart("S-" + id, "seed" + id, {5000}), code)).status ==
            REFPOS_OK);
  }
  REQUIRE(f.wallet("alice")["balance_minor"] == 20'000);

  for (int round = 0; round < 200; ++round) {
    CAPTURE(round);
    const std::string txn = "P-" + std::to_string(round);
    const bool friend_redeems = round % 3 == 0;
    const std::string customer = friend_redeems ? "friend" + std::to_string(round) : "alice";
    json request = cart(txn, customer, {});
    request["lines"] = json::array();
    const auto n_lines = uniform(1, 4);
    std::int64_t subtotal = 0;
    for (std::int64_t i = 0; i < n_lines; ++i) {
      const auto q = uniform(1, 4);
      const auto p = uniform(1, 4000);
      subtotal += q * p;
      request["lines"].push_back({{"sku", "SKU-" + std::to_string(i)}, {"category", "general"},
                                  {"quantity", q}, {"unit_price_minor", p}});
    }
    // Every cart involves refpos (a code or a balance spent): a plain cart
    // cannot be refunded in parts (see the report of commit_in_transaction).
    if (friend_redeems) {
      if (subtotal < 2000) {  // the referee's min_spend
        request["lines"][0]["unit_price_minor"] = request["lines"][0]["unit_price_minor"].get<std::int64_t>() + 2000;
      }
      request["code"] = code;
    } else {
      const auto balance = f.wallet("alice")["balance_minor"].get<std::int64_t>();
      REQUIRE(balance == 20'000);
      request["spend"] = {{"store_credit_minor", uniform(1, std::min(balance, subtotal))}};
    }
    const auto before = snapshot_of(f.dir.str()).wallets;
    auto commit = f.store->commit(request);
    REQUIRE(commit.status == REFPOS_OK);
    const auto paid = commit.body["total_minor"].get<std::int64_t>();

    std::vector<std::int64_t> left;
    for (const auto& l : request["lines"]) left.push_back(l["quantity"].get<std::int64_t>());
    std::int64_t refunded = 0;
    bool complete = false;
    for (int step = 0; !complete; ++step) {
      json lines = json::array();
      for (std::size_t i = 0; i < left.size(); ++i) {
        if (left[i] == 0 || uniform(0, 1) == 0) continue;
        const auto q = uniform(1, left[i]);
        lines.push_back({{"line", i}, {"quantity", q}});
        left[i] -= q;
      }
      if (lines.empty()) continue;
      auto r = f.refund(txn + "/R" + std::to_string(step), txn, lines);
      CAPTURE(r.message);
      CAPTURE(request.dump());
      REQUIRE(r.status == REFPOS_OK);
      refunded += r.body["refund_minor"].get<std::int64_t>();
      complete = r.body["complete"].get<bool>();
      const bool all_back = std::all_of(left.begin(), left.end(), [](auto q) { return q == 0; });
      CHECK(complete == all_back);
    }
    CHECK(refunded == paid);
    CHECK(snapshot_of(f.dir.str()).wallets == before);
  }
  CHECK(f.audit().empty());
}

// ---- 3. Spending balances ----------------------------------------------

TEST_CASE("loop: store credit and points are spent as discount lines that add up") {
  Loop f([](json& c) {
    c["rules"]["referee"] = {{"store_credit_minor", 1500}, {"min_spend_minor", 2000}};
    c["rules"]["referrer"] = {{"points", 100}};
    c["rules"]["point_value_minor"] = 10;
  });
  // carol refers alice (alice gets 15.00 welcome credit), then alice refers
  // bob (alice gets 100 points, worth 10.00).
  const auto carol = f.store->issue_code({{"customer_id", "carol"}, {"terminal_id", "till-1"}});
  REQUIRE(carol.status == REFPOS_OK);
  auto first = f.store->commit(with_code(cart("T-1", "alice", {5000}),
                                         carol.body["normalized"].get<std::string>()));
  REQUIRE(first.status == REFPOS_OK);
  // A welcome credit is not a discount: the receipt thanks and names the
  // credit, and prints no "Referral discount -$0.00" line.
  const std::string receipt = first.body["receipt_lines"].dump();
  CHECK(count_in(receipt, "Welcome: $15.00 store credit") == 1);
  CHECK(count_in(receipt, "Referral discount") == 0);
  CHECK(count_in(receipt, ": welcome, and thank") == 1);
  const auto alice_code = first.body["issued_code"]["normalized"].get<std::string>();
  REQUIRE(f.store->commit(with_code(cart("T-2", "bob", {5000}), alice_code)).status == REFPOS_OK);
  auto w = f.wallet("alice");
  REQUIRE(w["balance_minor"] == 1500);
  REQUIRE(w["points"] == 100);

  auto request = cart("T-3", "alice", {3000, 1000});
  request["spend"] = {{"store_credit_minor", 1200}, {"points", 50}};
  auto preview = f.store->preview(request);
  REQUIRE(preview.status == REFPOS_OK);
  const auto& lines = preview.body["discount_lines"];
  CHECK(sum_of(lines, "amount_minor", "store_credit") == 1200);
  CHECK(sum_of(lines, "amount_minor", "points") == 500);
  CHECK(sum_of(lines, "amount_minor") == preview.body["discount_minor"]);
  CHECK(preview.body["discount_minor"] == 1700);
  CHECK(preview.body["total_minor"] == 2300);

  SUBCASE("refusals name the reason and change nothing") {
    const auto before = snapshot_of(f.dir.str());
    struct Case {
      const char* name;
      json spend;
      std::vector<std::int64_t> prices;
      const char* field;
      const char* reason;
    };
    const std::vector<Case> cases = {
        {"credit over balance", {{"store_credit_minor", 1501}}, {5000}, "spend.store_credit_minor",
         "insufficient_balance"},
        {"credit over total", {{"store_credit_minor", 1500}}, {1000}, "spend.store_credit_minor",
         "more_than_total"},
        {"points over balance", {{"points", 101}}, {5000}, "spend.points", "insufficient_balance"},
        {"points over total", {{"points", 100}}, {900}, "spend.points", "more_than_total"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      auto r = cart("T-9", "alice", {});
      r["lines"] = json::array();
      for (auto p : c.prices) {
        r["lines"].push_back({{"sku", "X"}, {"quantity", 1}, {"unit_price_minor", p}});
      }
      r["spend"] = c.spend;
      for (const auto& reply : {f.store->preview(r), f.store->commit(r)}) {
        CHECK(reply.status == REFPOS_E_BAD_REQUEST);
        CHECK(reply.body["error"]["field"] == c.field);
        CHECK(reply.body["error"]["reason"] == c.reason);
      }
    }
    CHECK(snapshot_of(f.dir.str()) == before);
  }

  auto commit = f.store->commit(request);
  REQUIRE(commit.status == REFPOS_OK);
  CHECK(commit.body["discount_lines"] == preview.body["discount_lines"]);
  w = f.wallet("alice");
  CHECK(w["balance_minor"] == 300);
  CHECK(w["points"] == 50);
  CHECK(f.audit().empty());
}

// ---- 4. Tax --------------------------------------------------------------

TEST_CASE("loop: tax per line, inclusive and exclusive, hand-computed") {
  Loop f;
  const auto code = f.code_for("alice", "T-1");
  // 10.00 at 19 % and 25.00 at 7 %; 20 % off: 2.00 and 5.00, nets 8.00 and 20.00.
  auto request = with_code(cart("", "bob", {1000, 2500}), code);
  request["lines"][0]["tax_rate_bp"] = 1900;
  request["lines"][1]["tax_rate_bp"] = 700;

  request["tax"] = "exclusive";
  auto ex = f.store->preview(request);
  REQUIRE(ex.status == REFPOS_OK);
  CHECK(ex.body["discount_minor"] == 700);
  CHECK(ex.body["tax_lines"][0]["tax_minor"] == 152);  // 8.00 x 19 %
  CHECK(ex.body["tax_lines"][1]["tax_minor"] == 140);  // 20.00 x 7 %
  CHECK(ex.body["tax_minor"] == 292);
  CHECK(sum_of(ex.body["tax_lines"], "tax_minor") == ex.body["tax_minor"]);
  CHECK(ex.body["total_minor"] == 2800 + 292);
  CHECK(sum_of(ex.body["tax_lines"], "gross_minor") == ex.body["total_minor"]);

  request["tax"] = "inclusive";
  auto in = f.store->preview(request);
  REQUIRE(in.status == REFPOS_OK);
  CHECK(in.body["tax_lines"][0]["tax_minor"] == 128);  // 800 x 19/119 = 127.73
  CHECK(in.body["tax_lines"][1]["tax_minor"] == 131);  // 2000 x 7/107 = 130.84
  CHECK(in.body["tax_minor"] == 259);
  CHECK(sum_of(in.body["tax_lines"], "tax_minor") == in.body["tax_minor"]);
  CHECK(in.body["total_minor"] == 2800);
  CHECK(sum_of(in.body["tax_lines"], "gross_minor") == in.body["total_minor"]);

  request["txn_id"] = "T-2";
  auto commit = f.store->commit(request);
  REQUIRE(commit.status == REFPOS_OK);
  CHECK(commit.body["tax_minor"] == 259);
  CHECK(commit.body["total_minor"] == 2800);
  CHECK(f.audit().empty());
}

// ---- 5. Ask / NPS ----------------------------------------------------------

TEST_CASE("loop: promoters are asked and get a code; the ask outcome is recorded once") {
  Loop f([](json& c) { c["rules"]["issue"] = {{"when", "promoters"}}; });
  auto promoter = cart("T-1", "alice", {5000});
  promoter["nps"] = 9;
  auto p = f.store->commit(promoter);
  REQUIRE(p.status == REFPOS_OK);
  CHECK(p.body["ask"]["ask"] == true);
  CHECK(p.body["ask"]["why"] == "promoter");
  CHECK(p.body["issued_code"].is_object());

  auto passive = cart("T-2", "dave", {5000});
  passive["nps"] = 7;
  auto d = f.store->commit(passive);
  REQUIRE(d.status == REFPOS_OK);
  CHECK(d.body["ask"]["ask"] == false);
  CHECK(d.body["issued_code"].is_null());
  CHECK(f.store->customer("dave").body["codes"].empty());

  const json outcome = {{"txn_id", "T-1"}, {"outcome", "code_issued"}, {"terminal_id", "till-1"},
                        {"cashier_id", "cashier-7"}};
  auto first = call_op(*f.store, "ask_outcome", outcome);
  REQUIRE(first.status == REFPOS_OK);
  const auto before = snapshot_of(f.dir.str());
  auto retry = call_op(*f.store, "ask_outcome", outcome);
  CHECK(retry.status == REFPOS_OK);
  CHECK(retry.text == first.text);
  auto other = outcome;
  other["outcome"] = "declined";
  CHECK(call_op(*f.store, "ask_outcome", other).status == REFPOS_E_CONFLICT);
  other["txn_id"] = "T-404";
  CHECK(call_op(*f.store, "ask_outcome", other).status == REFPOS_E_NOT_FOUND);
  CHECK(snapshot_of(f.dir.str()) == before);
  CHECK(f.events_of("ask_recorded") == 1);
  CHECK(f.audit().empty());
}

// ---- 6. Leads and forget ---------------------------------------------------

TEST_CASE("loop: leads need consent, are sealed, and forget removes the contact data only") {
  Loop f;
  auto first = cart("T-1", "alice", {5000});
  first["identity_hashes"] = {std::string(64, 'a')};
  REQUIRE(f.store->commit(first).status == REFPOS_OK);
  const auto code = f.store->customer("alice").body["codes"][0]["code"].get<std::string>();
  REQUIRE(f.store->commit(with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);

  json lead = {{"lead_id", "L-1"}, {"customer_id", "alice"}, {"friend_name", "Zebedee Quill"},
               {"friend_contact", "zebedee.quill@example.org"}, {"terminal_id", "till-1"}};
  const auto before_refusal = snapshot_of(f.dir.str());
  auto no_consent = call_op(*f.store, "lead", lead);
  CHECK(no_consent.status == REFPOS_E_BAD_REQUEST);
  CHECK(no_consent.body["error"]["field"] == "consent");
  lead["consent"] = false;
  CHECK(call_op(*f.store, "lead", lead).status == REFPOS_E_BAD_REQUEST);
  CHECK(snapshot_of(f.dir.str()) == before_refusal);

  lead["consent"] = true;
  auto stored = call_op(*f.store, "lead", lead);
  REQUIRE(stored.status == REFPOS_OK);
  CHECK(f.events_of("lead_captured") == 1);
  for (const char* secret : {"Zebedee", "Quill", "zebedee.quill@example.org", "example.org"}) {
    CAPTURE(secret);
    CHECK(store_sql_int(f.dir.str(), std::string("SELECT count(*) FROM events WHERE body LIKE '%") +
                                   secret + "%'") == 0);
    CHECK(store_sql_int(f.dir.str(), std::string("SELECT count(*) FROM leads WHERE sealed LIKE '%") +
                                   secret + "%'") == 0);
  }
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM leads WHERE sealed IS NOT NULL") == 1);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM identities WHERE customer_id = 'alice'") == 1);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM pii_keys WHERE subject = 'alice'") == 1);

  const auto before = snapshot_of(f.dir.str());
  auto forgot = call_op(*f.store, "forget", json{{"customer_id", "alice"}, {"terminal_id", "till-1"}});
  REQUIRE(forgot.status == REFPOS_OK);
  CHECK(forgot.body["removed"].get<std::int64_t>() >= 3);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM pii_keys WHERE subject = 'alice'") == 0);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM identities WHERE customer_id = 'alice'") == 0);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM leads WHERE lead_id = 'L-1' AND sealed IS NULL") == 1);
  const auto after = snapshot_of(f.dir.str());
  CHECK(after.wallets == before.wallets);
  CHECK(after.events == before.events + 1);
  CHECK(f.wallet("alice")["balance_minor"] == 1000);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: a customer's own contact is kept sealed, per channel, with consent that can be withdrawn") {
  Loop f;
  REQUIRE(f.store->commit(cart("T-1", "ana", {5000})).status == REFPOS_OK);
  const json email = {{"customer_id", "ana"}, {"channel", "email"},
                      {"address", "ana.lopez@example.net"}, {"name", "Ana Lopez"},
                      {"consent", true}, {"terminal_id", "till-1"}, {"cashier_id", "c7"}};
  const auto with = [](json r, const char* key, json value) {
    r[key] = std::move(value);
    return r;
  };
  // Refused, naming the field, and nothing written.
  const auto before_refusals = snapshot_of(f.dir.str());
  for (const auto& refusal : std::vector<std::pair<json, std::string>>{
           {with(email, "address", "ana.lopez at example.net"), "address"},
           {with(email, "channel", "sms"), "address"},  // an e-mail is no phone number
           {with(email, "channel", "fax"), "channel"},
           {with(email, "consent", false), "address"},  // withdrawing keeps no address
           {with(email, "name", "Ana\nLopez"), "name"}}) {
    const json& bad = refusal.first;
    const std::string& field = refusal.second;
    CAPTURE(bad.dump());
    auto refused = call_op(*f.store, "contact", bad);
    CHECK(refused.status == REFPOS_E_BAD_REQUEST);
    CHECK(refused.body["error"]["field"] == field);
  }
  CHECK(snapshot_of(f.dir.str()) == before_refusals);

  auto kept = call_op(*f.store, "contact", email);
  REQUIRE_MESSAGE(kept.status == REFPOS_OK, kept.text);
  CHECK(kept.body["channel"] == "email");
  CHECK(kept.body["consent"] == true);
  auto sms = call_op(*f.store, "contact", json{{"customer_id", "ana"}, {"channel", "sms"},
                                               {"address", "+34 600 123 456"}, {"consent", true},
                                               {"terminal_id", "till-1"}});
  REQUIRE(sms.status == REFPOS_OK);
  CHECK(f.events_of("contact_consented") == 2);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM events WHERE type = 'contact_consented'"
                                   " AND json_extract(body, '$.sealed') LIKE 'v1.%'") == 2);
  for (const char* secret : {"ana.lopez", "example.net", "Lopez", "600 123"}) {
    CAPTURE(secret);
    CHECK(store_sql_int(f.dir.str(), std::string("SELECT count(*) FROM events WHERE instr(body, '") +
                                         secret + "') > 0") == 0);
  }
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM pii_keys WHERE subject = 'ana'") == 1);

  auto withdrawn = call_op(*f.store, "contact", json{{"customer_id", "ana"}, {"channel", "sms"},
                                                     {"consent", false}, {"terminal_id", "till-1"}});
  REQUIRE(withdrawn.status == REFPOS_OK);
  CHECK(withdrawn.body["consent"] == false);
  CHECK(f.events_of("contact_withdrawn") == 1);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM events WHERE type = 'contact_withdrawn'"
                                   " AND json_extract(body, '$.channel') = 'sms'") == 1);

  // A customer never seen before is registered by it, like a lead's referrer.
  REQUIRE(call_op(*f.store, "contact", with(email, "customer_id", "newcomer")).status ==
          REFPOS_OK);
  CHECK(f.store->customer("newcomer").body["known"] == true);

  auto forgot = call_op(*f.store, "forget", json{{"customer_id", "ana"}, {"terminal_id", "till-1"}});
  REQUIRE(forgot.status == REFPOS_OK);
  CHECK(forgot.body["removed"].get<std::int64_t>() >= 1);
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM pii_keys WHERE subject = 'ana'") == 0);
  CHECK(f.audit().empty());
}

// ---- 7. Closing the loop ------------------------------------------------------

TEST_CASE("loop: the referrer's next receipt says their friend joined, once") {
  Loop f;
  const auto code = f.code_for("alice", "T-1");
  REQUIRE(f.store->commit(with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);
  auto next = f.store->commit(cart("T-3", "alice", {1000}));
  REQUIRE(next.status == REFPOS_OK);
  CHECK(count_in(next.body["receipt_lines"].dump(), "Your friend joined") == 1);
  auto after = f.store->commit(cart("T-4", "alice", {1000}));
  REQUIRE(after.status == REFPOS_OK);
  CHECK(count_in(after.body["receipt_lines"].dump(), "Your friend joined") == 0);
  // A retry of the thank-you receipt prints the same, and thanks no one twice.
  CHECK(f.store->commit(cart("T-3", "alice", {1000})).text == next.text);
  CHECK(f.events_of("referrer_thanked") == 1);
  CHECK(f.audit().empty());
}

// ---- 8. install_rules -----------------------------------------------------------

TEST_CASE("loop: install_rules refuses a bad set naming every field, and keeps newer ones") {
  Loop f;
  const auto code = f.code_for("alice", "T-1");
  const auto request = with_code(cart("", "bob", {5000}), code);
  const auto original = f.store->preview(request);
  REQUIRE(original.status == REFPOS_OK);
  REQUIRE(original.body["discount_minor"] == 1000);

  auto bad = default_rules();
  bad["version"] = 2;
  bad["referee"]["percent_off_bp"] = 20000;
  bad["code"]["valid_days"] = 0;
  bad["referrer"]["pending_days"] = -1;
  auto refused = call_op(*f.store, "install_rules", json{{"rules", bad}});
  CHECK(refused.status == REFPOS_E_BAD_REQUEST);
  CHECK(refused.message.find("3 problems") != std::string::npos);
  for (const char* field : {"referee.percent_off_bp", "code.valid_days", "referrer.pending_days"}) {
    CAPTURE(field);
    CHECK(refused.message.find(field) != std::string::npos);
  }
  CHECK(f.store->preview(request).text == original.text);

  auto newer = default_rules();
  newer["version"] = 2;
  newer["referee"] = {{"amount_off_minor", 700}, {"min_spend_minor", 2000}};
  auto installed = call_op(*f.store, "install_rules", json{{"rules", newer}});
  REQUIRE(installed.status == REFPOS_OK);
  CHECK(installed.body["version"] == 2);
  CHECK(f.store->preview(request).body["discount_minor"] == 700);

  auto older = default_rules();
  older["version"] = 2;
  CHECK(call_op(*f.store, "install_rules", json{{"rules", older}}).status == REFPOS_E_CONFLICT);
  older["version"] = 1;
  CHECK(call_op(*f.store, "install_rules", json{{"rules", older}}).status == REFPOS_E_CONFLICT);
  CHECK(f.store->preview(request).body["discount_minor"] == 700);

  f.reopen();  // the configuration still says version 1
  CHECK(f.store->preview(request).body["discount_minor"] == 700);
  CHECK(f.audit().empty());
}

// ---- 9. Offline caps and fraud ------------------------------------------------

TEST_CASE("loop: a reward above the offline cap is refused and the refusal recorded") {
  Loop f([](json& c) { c["rules"]["offline"] = {{"max_discount_per_redemption_minor", 500}}; });
  const auto code = f.code_for("alice", "T-1");
  const auto small = f.store->preview(with_code(cart("", "bob", {2500}), code));
  CHECK(small.status == REFPOS_OK);  // 5.00 is within the cap
  const auto before = snapshot_of(f.dir.str());
  const auto request = with_code(cart("T-2", "bob", {5000}), code);
  const auto p = f.store->preview(request);
  CHECK(p.status == REFPOS_E_CODE_REJECTED);
  CHECK(p.body["code"]["reason"] == "offline_limit");
  const auto c = f.store->commit(request);
  CHECK(c.status == REFPOS_E_CODE_REJECTED);
  CHECK(c.body["error"]["reason"] == "offline_limit");
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM events WHERE type = 'redemption_refused' AND "
                             "json_extract(body, '$.reason') = 'offline_limit'") == 1);
  const auto after = snapshot_of(f.dir.str());
  CHECK(after.events == before.events + 1);
  CHECK(after.wallets == before.wallets);
  CHECK(f.store->customer("bob").body["known"] == false);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: an online-only program's codes are refused at the till") {
  Loop f([](json& c) { c["rules"]["online_only"] = true; });
  const auto code = f.code_for("alice", "T-1");
  const auto c = f.store->commit(with_code(cart("T-2", "bob", {5000}), code));
  CHECK(c.status == REFPOS_E_CODE_REJECTED);
  CHECK(c.body["error"]["reason"] == "online_only");
  CHECK(f.events_of("redemption_refused") == 1);
  CHECK(f.wallet("alice")["balance_minor"] == 0);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: velocity per terminal with action hold accepts the redemption but holds the reward") {
  Loop f([](json& c) {
    c["rules"]["fraud"] = {{"velocity", json::array({{{"scope", "terminal"}, {"max", 1},
                                                      {"window_minutes", 60}, {"action", "hold"}}})}};
  });
  const auto code = f.code_for("alice", "T-1");
  auto first = f.store->commit(with_code(cart("T-2", "bob", {5000}), code));
  REQUIRE(first.status == REFPOS_OK);
  CHECK(first.body["redemption"]["referrer_reward"]["held"] == false);
  auto second = f.store->commit(with_code(cart("T-3", "carol", {5000}), code));
  REQUIRE(second.status == REFPOS_OK);
  CHECK(second.body["discount_minor"] == 1000);  // carol still gets her discount
  CHECK(second.body["redemption"]["referrer_reward"]["held"] == true);
  CHECK(second.body["redemption"]["flags"].dump().find("velocity_terminal") != std::string::npos);
  auto w = f.wallet("alice");
  CHECK(w["balance_minor"] == 1000);
  CHECK(w["held_minor"] == 1000);
  // Outside the window the terminal is clear again.
  auto later = f.store->commit(at(with_code(cart("T-4", "dave", {5000}), code), kStartMs + 2 * kHourMs));
  REQUIRE(later.status == REFPOS_OK);
  CHECK(later.body["redemption"]["referrer_reward"]["held"] == false);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: the referrer in the basket and self-referral by identity are refused") {
  Loop f;
  auto first = cart("T-1", "alice", {5000});
  const std::string hash(64, 'c');
  first["identity_hashes"] = json::array({hash});
  auto issued = f.store->commit(first);
  REQUIRE(issued.status == REFPOS_OK);
  const auto code = issued.body["issued_code"]["normalized"].get<std::string>();
  const auto before = snapshot_of(f.dir.str());

  auto basket = with_code(cart("T-2", "bob", {5000}), code);
  basket["linked_customer_ids"] = {"alice"};
  auto refused = f.store->commit(basket);
  CHECK(refused.status == REFPOS_E_CODE_REJECTED);
  CHECK(refused.body["error"]["reason"] == "fraud_suspected");
  CHECK(store_sql_int(f.dir.str(), "SELECT count(*) FROM events WHERE type = 'redemption_refused' AND "
                             "json_extract(body, '$.reason') = 'fraud_suspected'") == 1);
  basket["linked_customer_ids"] = {"someone-else"};
  CHECK(f.store->preview(basket).status == REFPOS_OK);

  auto same_person = with_code(cart("T-3", "bob", {5000}), code);
  same_person["identity_hashes"] = json::array({hash});
  auto self = f.store->commit(same_person);
  CHECK(self.status == REFPOS_E_CODE_REJECTED);
  CHECK(self.body["error"]["reason"] == "self_referral");
  same_person["identity_hashes"] = {std::string(64, 'd')};
  CHECK(f.store->preview(same_person).status == REFPOS_OK);

  const auto after = snapshot_of(f.dir.str());
  CHECK(after.wallets == before.wallets);
  CHECK(f.store->customer("bob").body["known"] == false);
  CHECK(f.audit().empty());
}

TEST_CASE("loop: an expired real code and a forged one tell the customer the same") {
  Loop f;
  const auto code = f.code_for("alice", "T-1");
  std::string forged = code;
  forged[12] = forged[12] == 'Z' ? 'Y' : 'Z';
  forged = with_check_symbol(forged);

  const std::int64_t later = kStartMs + 40 * kDayMs;
  auto expired = f.store->preview(at(with_code(cart("", "bob", {5000}), code), later));
  auto fake = f.store->preview(at(with_code(cart("", "bob", {5000}), forged), later));
  REQUIRE(expired.status == REFPOS_E_CODE_REJECTED);
  REQUIRE(fake.status == REFPOS_E_CODE_REJECTED);
  CHECK(expired.body["code"]["reason"] == "expired");
  CHECK(fake.body["code"]["reason"] == "not_authentic");
  CHECK(expired.body["code"]["customer_message"] == fake.body["code"]["customer_message"]);
  CHECK(expired.body["code"]["message"] == fake.body["code"]["message"]);
  CHECK(f.audit().empty());
}

// ---- 10. Partner codes --------------------------------------------------------

TEST_CASE("loop: a partner's code credits the partner's points") {
  Loop f([](json& c) {
    c["code_keys"].push_back(
        {{"id", 2}, {"secret_hex", "101112131415161718191a1b1c1d1e1f"}, {"active", false}});
    c["rules"]["partners"] = json::array(
        {{{"id", "gym"}, {"name", "City Gym"}, {"key_id", 2},
          {"referee", {{"percent_off_bp", 1000}, {"min_spend_minor", 1000}}},
          {"referrer", {{"points", 50}}},
          {"code", {{"valid_days", 30}, {"max_redemptions", 100}}}}});
  });
  auto issued = f.store->issue_code({{"partner_id", "gym"}, {"terminal_id", "till-1"}});
  REQUIRE(issued.status == REFPOS_OK);
  CHECK(issued.body["customer_id"] == "partner:gym");
  const auto code = issued.body["normalized"].get<std::string>();
  CHECK(code[0] == '2');  // the partner's key
  CHECK(f.store->issue_code({{"partner_id", "nobody"}, {"terminal_id", "till-1"}}).status ==
        REFPOS_E_NOT_FOUND);

  auto r = f.store->commit(with_code(cart("T-1", "bob", {5000}), code));
  REQUIRE(r.status == REFPOS_OK);
  CHECK(r.body["discount_minor"] == 500);  // the partner's 10 %, not the store's 20 %
  CHECK(r.body["redemption"]["program"] == "gym");
  CHECK(r.body["redemption"]["referrer_reward"]["kind"] == "points");
  auto partner = f.store->customer("partner:gym").body;
  CHECK(partner["wallet"]["points"] == 50);
  CHECK(partner["wallet"]["balance_minor"] == 0);
  CHECK(f.audit().empty());
}

// ---- 11. Per-referrer limit per month in the store's time zone ----------------

TEST_CASE("loop: max_rewards per month counts months in the store's time zone") {
  Loop f([](json& c) {
    c["rules"]["referrer"]["max_rewards"] = {{"count", 1}, {"per", "month"}};
    c["time_zone"] = "EST5EDT,M3.2.0,M11.1.0";
  });
  const std::int64_t march1 = kStartMs + 59 * kDayMs;  // 2026-03-01T00:00Z
  const std::int64_t april1 = kStartMs + 90 * kDayMs;  // 2026-04-01T00:00Z
  const auto code = f.code_for("alice", "T-1", march1 + 4 * kDayMs + 12 * kHourMs);

  auto redeem = [&](const std::string& txn, const std::string& who, std::int64_t ms) {
    auto r = f.store->commit(at(with_code(cart(txn, who, {5000}), code), ms));
    REQUIRE(r.status == REFPOS_OK);
    return r.body["redemption"]["referrer_reward"];
  };
  auto bob = redeem("T-2", "bob", march1 + 9 * kDayMs);
  CHECK(bob["capped"] == false);
  CHECK(f.wallet("alice")["balance_minor"] == 1000);
  auto carol = redeem("T-3", "carol", march1 + 19 * kDayMs);
  CHECK(carol["capped"] == true);
  CHECK(f.wallet("alice")["balance_minor"] == 1000);
  // 2026-04-01 03:00 UTC is 23:00 on 31 March in New York (EDT, UTC-4).
  auto dave = redeem("T-4", "dave", april1 + 3 * kHourMs);
  CHECK(dave["capped"] == true);
  CHECK(f.wallet("alice")["balance_minor"] == 1000);
  // 05:00 UTC is 01:00 on 1 April there: a new month.
  auto erin = redeem("T-5", "erin", april1 + 5 * kHourMs);
  CHECK(erin["capped"] == false);
  CHECK(f.wallet("alice")["balance_minor"] == 2000);
  CHECK(f.audit().empty());
}
