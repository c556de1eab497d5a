// The checkout end to end through the real librefpos.so: issue a code,
// redeem it, credit the referrer, void, retry, and every way a code is
// refused, with the store's file audited after each story.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <numeric>

#include "plugin.hpp"
#include "temp_dir.hpp"

using namespace refpos::test;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

struct Fixture {
  TempDir dir;
  json config = default_config(dir.str());
  std::unique_ptr<StoreHandle> store = std::make_unique<StoreHandle>(config);

  // Commits a purchase for `customer` and returns the code issued to them.
  std::string code_for(const std::string& customer, const std::string& txn) {
    auto r = store->commit(cart(txn, customer, {5000}));
    REQUIRE(r.status == REFPOS_OK);
    return r.body["issued_code"]["normalized"].get<std::string>();
  }
  json with_code(json request, const std::string& code) {
    request["code"] = code;
    return request;
  }
  std::int64_t balance(const std::string& customer) {
    return store->customer(customer).body["wallet"]["balance_minor"].get<std::int64_t>();
  }
};

}  // namespace

TEST_CASE("a code issued to one customer gives the friend a discount and the referrer credit") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  CHECK(code.size() == 16);

  auto request = f.with_code(cart("T-2", "bob", {3999, 999}), code);
  auto preview = f.store->preview(request);
  REQUIRE(preview.status == REFPOS_OK);
  CHECK(preview.body["code"]["status"] == "accepted");
  // 20 % of 49.98 is 9.996, rounded half-up once to 10.00, split by largest
  // remainder: 8.00 on the 39.99 line and 2.00 on the 9.99 line.
  CHECK(preview.body["discount_minor"] == 1000);
  CHECK(preview.body["discount_lines"][0]["amount_minor"] == 800);
  CHECK(preview.body["discount_lines"][1]["amount_minor"] == 200);
  CHECK(preview.body["total_minor"] == 3998);
  CHECK(f.balance("alice") == 0);  // preview changes nothing

  auto commit = f.store->commit(request);
  REQUIRE(commit.status == REFPOS_OK);
  CHECK(commit.body["discount_minor"] == preview.body["discount_minor"]);
  CHECK(commit.body["discount_lines"] == preview.body["discount_lines"]);
  CHECK(commit.body["redemption"]["referrer_reward"]["settled"] == "store");
  CHECK(commit.body["issued_code"]["new"] == true);  // bob gets his own code
  CHECK(f.balance("alice") == 1000);

  auto bob = f.store->customer("bob").body;
  CHECK(bob["known"] == true);
  CHECK(bob["referred_by"] == commit.body["redemption"]["code"]);
  CHECK(audit_store(f.dir.str(), "store-001").empty());
}

TEST_CASE("excluded categories and SKUs get no discount line, through the real plugin") {
  TempDir dir;
  auto config = default_config(dir.str());
  config["rules"]["referee"]["excluded_categories"] = {"gift-cards"};
  StoreHandle store(config);
  auto issued = store.commit(cart("T-1", "alice", {5000}));
  REQUIRE(issued.status == REFPOS_OK);
  auto request = cart("T-2", "bob", {5000, 2500});
  request["lines"][1]["category"] = "gift-cards";
  request["code"] = issued.body["issued_code"]["normalized"];
  auto preview = store.preview(request);
  REQUIRE(preview.status == REFPOS_OK);
  CHECK(preview.body["discount_minor"] == 1000);  // 20 % of 50.00, the gift card left out
  REQUIRE(preview.body["discount_lines"].size() == 1);
  CHECK(preview.body["discount_lines"][0]["line"] == 0);
  request["lines"][0]["category"] = "gift-cards";
  auto nothing = store.preview(request);
  CHECK(nothing.status == REFPOS_E_CODE_REJECTED);
  CHECK(nothing.body["code"]["reason"] == "nothing_eligible");
}

TEST_CASE("the receipt says what the friend gets and what the referrer gets") {
  Fixture f;
  auto r = f.store->commit(cart("T-1", "alice", {5000}));
  REQUIRE(r.status == REFPOS_OK);
  const auto issued = r.body["issued_code"];
  CHECK(issued["message"] ==
        "Give this to a friend: they get 20% off (up to $50.00), you get $10.00");
  CHECK(issued["share_link"] == "https://example.com/r/" + issued["normalized"].get<std::string>());
  const auto code = issued["code"].get<std::string>();
  CHECK(code.size() == 19);
  CHECK(code[4] == '-');
  const auto lines = r.body["receipt_lines"].dump();
  CHECK(lines.find(code) != std::string::npos);
  // Issued 2026-01-01 with 30 valid days: redeemable through 2026-01-31.
  CHECK(lines.find("Valid until 2026-01-31") != std::string::npos);
}

TEST_CASE("a retried commit returns the identical answer and writes nothing") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  const auto request = f.with_code(cart("T-2", "bob", {5000}), code);
  const auto first = f.store->commit(request);
  REQUIRE(first.status == REFPOS_OK);
  const auto before = snapshot_of(f.dir.str());

  const auto retry = f.store->commit(request);
  CHECK(retry.status == REFPOS_OK);
  CHECK(retry.text == first.text);
  // Other spacing and member order are the same request.
  const auto spaced = f.store->call(refpos::test::plugin_api().commit, request.dump(4));
  CHECK(spaced.text == first.text);
  CHECK(snapshot_of(f.dir.str()) == before);

  SUBCASE("the same txn_id with other content is a conflict") {
    auto other = cart("T-2", "bob", {7000});
    const auto conflict = f.store->commit(other);
    CHECK(conflict.status == REFPOS_E_CONFLICT);
    CHECK(conflict.body["error"]["field"] == "txn_id");
    CHECK(snapshot_of(f.dir.str()) == before);
  }
  SUBCASE("a retry after closing and reopening the store is still identical") {
    f.store.reset();
    f.store = std::make_unique<StoreHandle>(f.config);
    CHECK(f.store->commit(request).text == first.text);
    CHECK(snapshot_of(f.dir.str()) == before);
  }
}

TEST_CASE("a void reverses what the transaction granted") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  auto commit = f.store->commit(f.with_code(cart("T-2", "bob", {5000}), code));
  REQUIRE(commit.status == REFPOS_OK);
  REQUIRE(f.balance("alice") == 1000);
  const auto bob_code = commit.body["issued_code"]["normalized"].get<std::string>();

  const json reversal = {{"reversal_id", "R-1"}, {"txn_id", "T-2"}, {"kind", "void"},
                         {"terminal_id", "till-1"}};
  auto reversed = f.store->reverse(reversal);
  REQUIRE(reversed.status == REFPOS_OK);
  CHECK(reversed.body["reversed_discount_minor"] == 1000);
  CHECK(reversed.body["reversed_referrer_reward_minor"] == 1000);
  CHECK(reversed.body["revoked_code"] == commit.body["issued_code"]["code"]);
  CHECK(f.balance("alice") == 0);
  CHECK(f.store->customer("alice").body["codes"][0]["redemptions"] == 0);

  // bob's own code went with the void.
  auto carol = f.store->preview(f.with_code(cart("", "carol", {5000}), bob_code));
  CHECK(carol.status == REFPOS_E_CODE_REJECTED);
  CHECK(carol.body["code"]["reason"] == "revoked");

  const auto before = snapshot_of(f.dir.str());
  CHECK(f.store->reverse(reversal).text == reversed.text);  // a retry
  auto again = reversal;
  again["reversal_id"] = "R-2";
  CHECK(f.store->reverse(again).status == REFPOS_E_CONFLICT);  // reversed once only
  again["txn_id"] = "T-404";
  CHECK(f.store->reverse(again).status == REFPOS_E_NOT_FOUND);
  CHECK(snapshot_of(f.dir.str()) == before);
  CHECK(audit_store(f.dir.str(), "store-001").empty());
}

TEST_CASE("a refund of the referee's purchase after the reward was credited leaves a debt, not a loss") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  REQUIRE(f.store->commit(f.with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);
  REQUIRE(f.store->commit(f.with_code(cart("T-3", "carol", {5000}), code)).status == REFPOS_OK);
  CHECK(f.balance("alice") == 2000);
  for (const auto* txn : {"T-2", "T-3"}) {
    const json refund = {{"reversal_id", std::string("R-") + txn}, {"txn_id", txn},
                         {"kind", "refund"}, {"terminal_id", "till-1"}};
    REQUIRE(f.store->reverse(refund).status == REFPOS_OK);
  }
  CHECK(f.balance("alice") == 0);
  CHECK(audit_store(f.dir.str(), "store-001").empty());
}

TEST_CASE("a code that cannot be used is refused with its reason and changes nothing") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  REQUIRE(f.store->commit(f.with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);
  const auto before = snapshot_of(f.dir.str());

  struct Case {
    const char* name;
    json request;
    const char* reason;
  };
  std::string mistyped = code;
  mistyped[5] = mistyped[5] == 'A' ? 'B' : 'A';
  std::string forged = code;  // valid check symbol, wrong MAC
  forged[12] = forged[12] == 'Z' ? 'Y' : 'Z';
  forged = with_check_symbol(forged);
  std::string other_key = forged;
  other_key[0] = '7';
  other_key = with_check_symbol(other_key);

  const std::vector<Case> cases = {
      {"malformed", f.with_code(cart("T-9", "dave", {5000}), "HELLO-WORLD"), "malformed"},
      {"mistyped", f.with_code(cart("T-9", "dave", {5000}), mistyped), "mistyped"},
      {"forged MAC", f.with_code(cart("T-9", "dave", {5000}), forged), "not_authentic"},
      {"unknown key", f.with_code(cart("T-9", "dave", {5000}), other_key), "unknown_key"},
      // Her own code: she has bought before, which the buyer checks (before the
      // code's facts, so that a made-up code answers alike) already refuse.
      {"own code", f.with_code(cart("T-9", "alice", {5000}), code), "not_new_customer"},
      {"not new", f.with_code(cart("T-9", "bob", {5000}), code), "not_new_customer"},
      {"below min spend", f.with_code(cart("T-9", "dave", {1999}), code), "min_spend"},
      {"anonymous", f.with_code(cart("T-9", "", {5000}), code), "customer_required"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto p = f.store->preview(c.request);
    CHECK(p.status == REFPOS_E_CODE_REJECTED);
    CHECK(p.body["code"]["reason"] == c.reason);
    CHECK(p.body["discount_minor"] == 0);
    CHECK_FALSE(p.message.empty());
    const auto m = f.store->commit(c.request);
    CHECK(m.status == REFPOS_E_CODE_REJECTED);
    CHECK(m.body["error"]["reason"] == c.reason);
  }
  // A forged code and a code of an unknown key look alike to the customer.
  CHECK(f.store->preview(cases[2].request).body["code"]["message"] ==
        f.store->preview(cases[3].request).body["code"]["message"]);
  CHECK(snapshot_of(f.dir.str()) == before);
}

TEST_CASE("a code is valid through its window and refused after it") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  auto request = f.with_code(cart("", "bob", {5000}), code);
  request["clock_ms"] = kStartMs + 30 * kDayMs;  // last valid day
  CHECK(f.store->preview(request).status == REFPOS_OK);
  request["clock_ms"] = kStartMs + 31 * kDayMs;
  const auto expired = f.store->preview(request);
  CHECK(expired.status == REFPOS_E_CODE_REJECTED);
  CHECK(expired.body["code"]["reason"] == "expired");
}

TEST_CASE("a code is used at most max_redemptions times") {
  Fixture f;
  auto config = f.config;
  f.store.reset();
  config["rules"]["code"]["max_redemptions"] = 2;
  f.store = std::make_unique<StoreHandle>(config);
  const std::string code = f.code_for("alice", "T-1");
  CHECK(f.store->commit(f.with_code(cart("T-2", "bob", {5000}), code)).status == REFPOS_OK);
  CHECK(f.store->commit(f.with_code(cart("T-3", "carol", {5000}), code)).status == REFPOS_OK);
  const auto third = f.store->commit(f.with_code(cart("T-4", "dave", {5000}), code));
  CHECK(third.status == REFPOS_E_CODE_REJECTED);
  CHECK(third.body["error"]["reason"] == "used_up");
  CHECK(f.balance("alice") == 2000);
}

TEST_CASE("the percent discount is capped") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  const auto r = f.store->preview(f.with_code(cart("", "bob", {100000, 30001}), code));
  REQUIRE(r.status == REFPOS_OK);
  CHECK(r.body["discount_minor"] == 5000);
  std::int64_t sum = 0;
  for (const auto& l : r.body["discount_lines"]) sum += l["amount_minor"].get<std::int64_t>();
  CHECK(sum == 5000);
}

TEST_CASE("a customer keeps one valid code; issue_code returns it again") {
  Fixture f;
  const std::string code = f.code_for("alice", "T-1");
  const json req = {{"customer_id", "alice"}, {"terminal_id", "till-1"}};
  const auto again = f.store->issue_code(req);
  REQUIRE(again.status == REFPOS_OK);
  CHECK(again.body["normalized"] == code);
  CHECK(again.body["new"] == false);
  const auto second = f.store->commit(cart("T-2", "alice", {100}));
  CHECK(second.body["issued_code"]["normalized"] == code);
  CHECK(second.body["issued_code"]["new"] == false);
  const auto fresh = f.store->issue_code({{"customer_id", "erin"}, {"terminal_id", "till-1"}});
  CHECK(fresh.body["new"] == true);
  CHECK(f.store->customer("erin").body["known"] == true);
}

TEST_CASE("the event log is append-only and refuses gaps") {
  Fixture f;
  (void)f.code_for("alice", "T-1");
  f.store.reset();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((f.dir.str() + "/refpos.db").c_str(), &db) == SQLITE_OK);
  for (const char* sql : {"UPDATE events SET body = '{}' WHERE seq = 1",
                          "DELETE FROM events WHERE seq = 1",
                          "INSERT INTO events SELECT seq + 5, store_id, type, at_ms, ruleset_version,"
                          " body, prev_hash, hash FROM events WHERE seq = 1"}) {
    CAPTURE(sql);
    CHECK(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_CONSTRAINT);
  }
  sqlite3_close(db);
  CHECK(audit_store(f.dir.str(), "store-001").empty());
}

TEST_CASE("a data folder is opened by one handle at a time, and only for its own store") {
  Fixture f;
  CHECK_THROWS_WITH_AS(StoreHandle{f.config}, doctest::Contains("already open"), std::runtime_error);
  f.store.reset();
  auto other = f.config;
  other["store_id"] = "store-002";
  CHECK_THROWS_WITH_AS(StoreHandle{other}, doctest::Contains("belongs to store_id"),
                       std::runtime_error);
  auto yen = f.config;
  yen["currency"] = "JPY";
  CHECK_THROWS_WITH_AS(StoreHandle{yen}, doctest::Contains("currency"), std::runtime_error);
  CHECK_NOTHROW(StoreHandle{f.config});
}

TEST_CASE("currencies with 0 and 3 decimals") {
  TempDir dir;
  for (const auto& row : {std::tuple{"JPY", 4999, 1000}, std::tuple{"KWD", 49999, 5000}}) {
    const std::string currency = std::get<0>(row);
    const int price = std::get<1>(row);
    const int expected = std::get<2>(row);
    CAPTURE(currency);
    auto config = default_config(dir.str() + "/" + currency);
    config["currency"] = currency;
    StoreHandle store(config);
    auto first = cart("T-1", "alice", {5000});
    first["currency"] = currency;
    const auto code = store.commit(first).body["issued_code"]["normalized"].get<std::string>();
    auto redeem = cart("", "bob", {price});
    redeem["currency"] = currency;
    redeem["code"] = code;
    const auto r = store.preview(redeem);
    REQUIRE(r.status == REFPOS_OK);
    // JPY: 20 % of 4999 yen = 999.8 -> 1000 (capped at 5000). KWD: 20 % of
    // 49.999 KWD = 9.9998 -> 10.000, capped at 5.000.
    CHECK(r.body["discount_minor"] == expected);
  }
}

TEST_CASE("recognition-only programs: no credit, but the referral is still settled at the store") {
  Fixture f;
  auto config = f.config;
  f.store.reset();
  config["rules"]["referrer"]["store_credit_minor"] = 0;
  f.store = std::make_unique<StoreHandle>(config);
  const std::string code = f.code_for("alice", "T-1");
  const auto r = f.store->commit(f.with_code(cart("T-2", "bob", {5000}), code));
  REQUIRE(r.status == REFPOS_OK);
  CHECK(r.body["redemption"]["referrer_reward"]["settled"] == "store");
  CHECK(r.body["redemption"]["referrer_reward"]["amount_minor"] == 0);
  CHECK(f.balance("alice") == 0);
  CHECK(audit_store(f.dir.str(), "store-001").empty());
}

TEST_CASE("failed code attempts are limited per terminal, and the limit slides with the clock") {
  TempDir dir;
  auto config = default_config(dir.str());
  config["rules"]["limits"] = {{"failed_code_attempts", 3}, {"window_minutes", 10}};
  StoreHandle store(config);
  auto issued = store.commit(cart("T-1", "alice", {5000}));
  REQUIRE(issued.status == REFPOS_OK);
  const std::string good = issued.body["issued_code"]["normalized"].get<std::string>();

  auto attempt = [&](const std::string& code, const std::string& terminal, std::int64_t at_ms) {
    json request = cart("", "bob", {5000});
    request["terminal_id"] = terminal;
    request["code"] = code;
    request["clock_ms"] = at_ms;
    return store.preview(request);
  };
  // A customer who does not qualify is not guessing: not counted.
  json small = cart("", "bob", {100});
  small["code"] = good;
  for (int i = 0; i < 5; ++i) CHECK(store.preview(small).body["code"]["reason"] == "min_spend");

  const std::string forged = good.substr(0, 15) + (good.back() == 'A' ? "B" : "A");
  for (int i = 0; i < 3; ++i) {
    CHECK(attempt(forged, "till-1", kStartMs + i).status == REFPOS_E_CODE_REJECTED);
  }
  auto blocked = attempt(good, "till-1", kStartMs + 1000);  // even a good code
  CHECK(blocked.status == REFPOS_E_RATE_LIMITED);
  CHECK(blocked.body["error"]["code"] == "RATE_LIMITED");
  CHECK(blocked.message.find("till-1") != std::string::npos);
  CHECK(blocked.message.find("10 more minutes") != std::string::npos);
  // The commit is refused too, and records nothing.
  const auto before = snapshot_of(dir.str());
  json commit = cart("T-2", "bob", {5000});
  commit["code"] = good;
  commit["clock_ms"] = kStartMs + 2000;
  CHECK(store.commit(commit).status == REFPOS_E_RATE_LIMITED);
  CHECK(snapshot_of(dir.str()) == before);
  // Another terminal is not affected; the window slides.
  CHECK(attempt(good, "till-2", kStartMs + 3000).status == REFPOS_OK);
  CHECK(attempt(good, "till-1", kStartMs + 10 * 60'000).status == REFPOS_OK);
}
