// The seeded story behind the report tests. Every expected figure below is
// written from the story's own constants (prices, discounts, who redeems
// whose code, which answers), never read back from the report engine.
#include "scenario.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <vector>

#include "plugin.hpp"

namespace refpos::test {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kHourMs = 3'600'000;
// kStartMs is 2026-01-01T00:00:00Z: day 0 of the period.
std::int64_t day(std::int64_t d, std::int64_t hour = 12) {
  return kStartMs + d * kDayMs + hour * kHourMs;
}

// The story's rules: codes only when the host asks for one (issue_code), so
// the number issued is exactly the number of issue_code calls; referrer
// store credit of 1000 pending 14 days; the partner "gym" gives 10 % off and
// earns 50 points per redemption, spendable at once.
constexpr std::int64_t kPrice = 5000;
constexpr std::int64_t kFriendsTotal = 4000;    // 20 % off 5000
constexpr std::int64_t kGymTotal = 4500;        // 10 % off 5000
constexpr std::int64_t kReferrerCredit = 1000;  // store credit per redemption
constexpr std::int64_t kGymPoints = 50;

json story_config(const std::string& data_dir, const std::string& store_id) {
  json config = default_config(data_dir);
  config["store_id"] = store_id;
  config["rules"]["issue"] = {{"when", "never"}};
  config["rules"]["referrer"] = {{"store_credit_minor", kReferrerCredit}, {"pending_days", 14}};
  config["code_keys"].push_back(
      {{"id", 2}, {"secret_hex", "101112131415161718191a1b1c1d1e1f"}, {"active", false}});
  config["rules"]["partners"] =
      json::array({{{"id", "gym"},
                    {"name", "City Gym"},
                    {"key_id", 2},
                    {"referee", {{"percent_off_bp", 1000}, {"min_spend_minor", 1000}}},
                    {"referrer", {{"points", kGymPoints}}},
                    {"code", {{"valid_days", 90}, {"max_redemptions", 100}}}}});
  return config;
}

class Story {
 public:
  explicit Story(const json& config) : store_(config) {}

  // One committed purchase; returns total_minor as the plugin answered it.
  std::int64_t buy(const std::string& txn, const std::string& customer, std::int64_t price,
                   std::int64_t at_ms, const std::string& code = "", int nps = -1,
                   const std::string& cashier = "cashier-1") {
    json request = cart(txn, customer, {price});
    request["cashier_id"] = cashier;
    request["clock_ms"] = at_ms;
    if (!code.empty()) request["code"] = code;
    if (nps >= 0) request["nps"] = nps;
    const auto reply = store_.commit(request);
    if (reply.status != REFPOS_OK) {
      throw std::runtime_error("commit " + txn + " failed: " + reply.message + " " + reply.text);
    }
    if (!code.empty() && !reply.body["redemption"].is_object()) {
      throw std::runtime_error("commit " + txn + " did not redeem " + code + ": " + reply.text);
    }
    return reply.body["total_minor"].get<std::int64_t>();
  }

  std::string issue(const json& who, std::int64_t at_ms) {
    json request = who;
    request["terminal_id"] = "till-1";
    request["clock_ms"] = at_ms;
    const auto reply = store_.issue_code(request);
    if (reply.status != REFPOS_OK || reply.body.value("new", false) != true) {
      throw std::runtime_error("issue_code failed: " + reply.message + " " + reply.text);
    }
    return reply.body["normalized"].get<std::string>();
  }

  void ask(const std::string& txn, const std::string& outcome, const std::string& cashier,
           std::int64_t at_ms) {
    const json request = {{"txn_id", txn},
                          {"outcome", outcome},
                          {"terminal_id", "till-1"},
                          {"cashier_id", cashier},
                          {"clock_ms", at_ms}};
    const std::string raw = request.dump();
    char* answer = nullptr;
    const auto status =
        plugin_api().call(store_.raw(), "ask_outcome", raw.data(), raw.size(), &answer);
    const std::string text = answer != nullptr ? answer : "";
    plugin_api().free_buffer(answer);
    if (status != REFPOS_OK) throw std::runtime_error("ask_outcome " + txn + " failed: " + text);
  }

  void refund(const std::string& reversal, const std::string& txn, std::int64_t at_ms) {
    const json request = {{"reversal_id", reversal},
                          {"txn_id", txn},
                          {"kind", "refund"},
                          {"terminal_id", "till-1"},
                          {"clock_ms", at_ms}};
    const auto reply = store_.reverse(request);
    if (reply.status != REFPOS_OK) {
      throw std::runtime_error("refund " + txn + " failed: " + reply.message + " " + reply.text);
    }
  }

 private:
  StoreHandle store_;
};

void expect_total(std::int64_t got, std::int64_t want, const char* what) {
  if (got != want) {
    throw std::runtime_error(std::string("scenario: ") + what + " paid " + std::to_string(got) +
                             ", the story assumes " + std::to_string(want));
  }
}

}  // namespace

json run_main_scenario(const std::string& data_dir) {
  Story s(story_config(data_dir, "store-001"));

  // ---- December 2025: before the period --------------------------------
  s.buy("D-1", "ref-r0", 3000, day(-12));
  const auto r0 = s.issue({{"customer_id", "ref-r0"}}, day(-12, 13));
  expect_total(s.buy("D-2", "cust-pre1", kPrice, day(-10), r0), kFriendsTotal, "cust-pre1");

  // ---- January 2026: the period -------------------------------------------
  // Four referrers buy (not referred), with NPS answers and asks by cashier-1.
  const int referrer_nps[4] = {10, 9, 7, 3};
  const char* referrer_ask[4] = {"code_issued", "asked", "declined", "not_asked"};
  std::vector<std::string> codes;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "ref-a" + std::to_string(i + 1);
    const std::string txn = "J-A" + std::to_string(i + 1);
    s.buy(txn, id, 3000, day(1, 9 + i), "", referrer_nps[i], "cashier-1");
    s.ask(txn, referrer_ask[i], "cashier-1", day(1, 10 + i));
    codes.push_back(s.issue({{"customer_id", id}}, day(1, 14 + i)));
  }
  s.buy("J-A1b", "ref-a1", 3000, day(3));  // ref-a1 comes back: 2 purchases
  s.buy("J-anon", "", 1000, day(3, 13));   // anonymous
  const auto gym = s.issue({{"partner_id", "gym"}}, day(2));

  // Redemptions: ref-a1's code by b1 b2 b3, ref-a2's by b4 b5, ref-a3's by
  // b6, ref-r0's (issued in December) by b7, the gym's by b8 b9.
  struct Redeem {
    const char* customer;
    const std::string* code;
    std::int64_t total;
    int nps;
  };
  const Redeem redeems[] = {
      {"cust-b1", &codes[0], kFriendsTotal, 10}, {"cust-b2", &codes[0], kFriendsTotal, 10},
      {"cust-b3", &codes[0], kFriendsTotal, 8},  {"cust-b4", &codes[1], kFriendsTotal, 0},
      {"cust-b5", &codes[1], kFriendsTotal, 6},  {"cust-b6", &codes[2], kFriendsTotal, -1},
      {"cust-b7", &r0, kFriendsTotal, -1},       {"cust-b8", &gym, kGymTotal, -1},
      {"cust-b9", &gym, kGymTotal, -1},
  };
  int n = 0;
  for (const auto& r : redeems) {
    ++n;
    const std::string txn = "J-B" + std::to_string(n);
    expect_total(s.buy(txn, r.customer, kPrice, day(4 + n), *r.code, r.nps, "cashier-2"), r.total,
                 r.customer);
  }
  // cashier-2 is asked about three of them: two not asked, one asked.
  s.ask("J-B1", "not_asked", "cashier-2", day(5, 13));
  s.ask("J-B2", "not_asked", "cashier-2", day(6, 13));
  s.ask("J-B3", "asked", "cashier-2", day(7, 13));

  // Repeat purchases of referred customers: b1, b2 once more, pre1 twice.
  s.buy("J-R1", "cust-b1", 2500, day(15));
  s.buy("J-R2", "cust-b2", 2500, day(15, 13));
  s.buy("J-R3", "cust-pre1", 3000, day(16));
  s.buy("J-R4", "cust-pre1", 3000, day(16, 13));

  // b6's purchase comes back whole: ref-a3's pending reward is clawed back.
  s.refund("X-1", "J-B6", day(17));

  // The chain: b1 and b4 refer in turn; c1 c3 redeem b1's code, c2 b4's, on
  // January 20 (their referrers' rewards are still pending on February 1).
  const auto b1 = s.issue({{"customer_id", "cust-b1"}}, day(18));
  const auto b4 = s.issue({{"customer_id", "cust-b4"}}, day(18, 13));
  expect_total(s.buy("J-C1", "cust-c1", kPrice, day(19, 9), b1), kFriendsTotal, "cust-c1");
  expect_total(s.buy("J-C2", "cust-c2", kPrice, day(19, 10), b4), kFriendsTotal, "cust-c2");
  expect_total(s.buy("J-C3", "cust-c3", kPrice, day(19, 11), b1), kFriendsTotal, "cust-c3");
  s.refund("X-2", "J-C3", day(24));  // c3's comes back: b1's pending reward clawed back

  // ---- February 2026: after the period (must not count) ---------------------
  s.buy("F-1", "ref-a1", 3000, day(33), "", 10, "cashier-1");
  s.ask("F-1", "not_asked", "cashier-1", day(33, 13));
  s.refund("X-3", "J-C2", day(35));  // after the period: c2's reward still pending on Feb 1

  // ---- what the report for January must say ---------------------------------
  json e;
  e["empty"] = "false";
  e["codes.issued"] = 7;  // ref-a1..a4, gym, cust-b1, cust-b4
  e["codes.issued_partner"] = 1;
  e["codes.redemptions"] = 12;  // b1..b9, c1..c3
  e["codes.codes_redeemed"] = 7;
  e["codes.redemptions_reversed"] = 2;  // b6, c3 (c2's refund is in February)
  e["codes.redemptions_unattributed"] = 0;
  e["codes.conversion_rate"] = 12.0 / 7.0;

  // Referred: b1..b9, c1..c3 and pre1 (referred in December). Their January
  // purchases: 10 friends redemptions at 4000, 2 gym at 4500, b1 b2 at 2500,
  // pre1 2 x 3000.
  const std::int64_t referred_revenue =
      10 * kFriendsTotal + 2 * kGymTotal + 2 * 2500LL + 2 * 3000LL;
  e["revenue.USD.referred.customers"] = 13;
  e["revenue.USD.referred.transactions"] = 16;
  e["revenue.USD.referred.revenue_minor"] = referred_revenue;              // 60000
  e["revenue.USD.referred.average_basket_minor"] = referred_revenue / 16;  // 3750, exact
  e["revenue.USD.referred.repeat_customers"] = 3;                          // b1, b2, pre1
  e["revenue.USD.referred.repeat_rate"] = 3.0 / 13.0;
  // Not referred: ref-a1..a4 (ref-a1 twice), 3000 each.
  e["revenue.USD.not_referred.customers"] = 4;
  e["revenue.USD.not_referred.transactions"] = 5;
  e["revenue.USD.not_referred.revenue_minor"] = 15000;
  e["revenue.USD.not_referred.average_basket_minor"] = 3000;
  e["revenue.USD.not_referred.repeat_customers"] = 1;
  e["revenue.USD.not_referred.repeat_rate"] = 0.25;
  e["revenue.USD.anonymous.transactions"] = 1;
  e["revenue.USD.anonymous.revenue_minor"] = 1000;

  // Referrer store credit for the 10 friends redemptions; pending on Feb 1:
  // c1, c2 (c3's clawed back); clawed back: b6's and c3's.
  e["rewards.referrer.store_credit.USD.granted_count"] = 10;
  e["rewards.referrer.store_credit.USD.granted_amount"] = 10 * kReferrerCredit;
  e["rewards.referrer.store_credit.USD.pending_count"] = 2;
  e["rewards.referrer.store_credit.USD.pending_amount"] = 2 * kReferrerCredit;
  e["rewards.referrer.store_credit.USD.held_count"] = 0;
  e["rewards.referrer.store_credit.USD.clawed_back_count"] = 2;
  e["rewards.referrer.store_credit.USD.clawed_back_amount"] = 2 * kReferrerCredit;
  e["rewards.referrer.points.granted_count"] = 2;
  e["rewards.referrer.points.granted_amount"] = 2 * kGymPoints;
  e["rewards.referrer.points.pending_amount"] = 0;
  e["rewards.referrer.points.clawed_back_amount"] = 0;

  e["chain.referred_customers"] = 12;    // b1..b9, c1..c3
  e["chain.referred_who_referred"] = 2;  // b1, b4
  e["chain.rate"] = 2.0 / 12.0;

  // Redemptions per referrer, ties by id: ref-a1 3; cust-b1 2, ref-a2 2;
  // cust-b4 1, ref-a3 1, ref-r0 1.
  const char* top[] = {"ref-a1", "cust-b1", "ref-a2", "cust-b4", "ref-a3", "ref-r0"};
  const int top_redemptions[] = {3, 2, 2, 1, 1, 1};
  for (int i = 0; i < 6; ++i) {
    const std::string p = "top_referrers." + std::to_string(i + 1) + ".";
    e[p + "customer_id"] = top[i];
    e[p + "redemptions"] = top_redemptions[i];
  }
  e["partners.gym.codes_issued"] = 1;
  e["partners.gym.redemptions"] = 2;
  e["partners.gym.referees"] = 2;

  e["ask_rate.store-001.cashier-1.eligible"] = 4;
  e["ask_rate.store-001.cashier-1.asked"] = 3;
  e["ask_rate.store-001.cashier-1.declined"] = 1;
  e["ask_rate.store-001.cashier-1.code_issued"] = 1;
  e["ask_rate.store-001.cashier-1.not_asked"] = 1;
  e["ask_rate.store-001.cashier-1.ask_rate"] = 0.75;
  e["ask_rate.store-001.cashier-2.eligible"] = 3;
  e["ask_rate.store-001.cashier-2.asked"] = 1;
  e["ask_rate.store-001.cashier-2.not_asked"] = 2;
  e["ask_rate.store-001.cashier-2.ask_rate"] = 1.0 / 3.0;

  // NPS: referrers 10 9 7 3, redeemers 10 10 8 0 6.
  const int histogram[11] = {1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 3};
  for (int i = 0; i <= 10; ++i) e["nps.histogram." + std::to_string(i)] = histogram[i];
  e["nps.answers"] = 9;
  e["nps.promoters"] = 4;
  e["nps.passives"] = 2;
  e["nps.detractors"] = 3;
  e["nps.score"] = 100.0 * (4 - 3) / 9.0;
  e["conflicts.count"] = 0;
  return e;
}

void run_small_store(const std::string& data_dir, const std::string& store_id, int customers,
                     std::int64_t price_minor) {
  Story s(story_config(data_dir, store_id));
  for (int i = 0; i < customers; ++i) {
    const std::string id = store_id + "-cust-" + std::to_string(i + 1);
    s.buy(store_id + "-T" + std::to_string(i + 1), id, price_minor, day(9, 9 + i), "", 10);
  }
}

namespace {

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error("sqlite: " + message + " in: " + sql);
  }
}

}  // namespace

void build_head_office_file(const std::string& hq_path,
                            const std::vector<std::pair<std::string, std::string>>& store_dbs,
                            const std::string& conflict_code, const std::string& conflict_txn) {
  sqlite3* db = nullptr;
  if (sqlite3_open(hq_path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + hq_path);
  // The columns as tools/hq/sqlite_storage.cpp creates them.
  exec(db, R"sql(
CREATE TABLE stores (store_id TEXT PRIMARY KEY, acked_seq INTEGER NOT NULL DEFAULT 0,
  last_hash BLOB NOT NULL, last_seen_ms INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0, revoked_change_seq INTEGER,
  flagged_reason TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE events (store_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
  at_ms INTEGER NOT NULL, ruleset_version INTEGER NOT NULL, body TEXT NOT NULL,
  prev_hash BLOB NOT NULL, hash BLOB NOT NULL, change_seq INTEGER NOT NULL,
  PRIMARY KEY (store_id, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE conflicts (conflict_id INTEGER PRIMARY KEY, code TEXT NOT NULL, kind TEXT NOT NULL,
  settlement TEXT NOT NULL, change_seq INTEGER NOT NULL, UNIQUE (code, kind)) STRICT;
CREATE TABLE conflict_txns (conflict_id INTEGER NOT NULL REFERENCES conflicts(conflict_id),
  store_id TEXT NOT NULL, txn_id TEXT NOT NULL, arrival INTEGER NOT NULL,
  PRIMARY KEY (conflict_id, store_id, txn_id)) STRICT;
)sql");
  for (const auto& [store_id, path] : store_dbs) {
    sqlite3_stmt* attach = nullptr;
    sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS s", -1, &attach, nullptr);
    sqlite3_bind_text(attach, 1, path.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(attach) != SQLITE_DONE) throw std::runtime_error("attach " + path);
    sqlite3_finalize(attach);
    exec(db,
         "INSERT INTO stores (store_id, acked_seq, last_hash) SELECT store_id, max(seq), "
         "zeroblob(32) FROM s.events GROUP BY store_id");
    exec(db,
         "INSERT INTO events SELECT store_id, seq, type, at_ms, ruleset_version, body, "
         "prev_hash, hash, seq FROM s.events");
    exec(db, "DETACH DATABASE s");
  }
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO conflicts (conflict_id, code, kind, settlement, change_seq) "
                     "VALUES (1, ?1, 'double_redemption', 'customer keeps the discount, "
                     "referrer rewarded once', 1)",
                     -1, &q, nullptr);
  sqlite3_bind_text(q, 1, conflict_code.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(q) != SQLITE_DONE) throw std::runtime_error("insert conflict");
  sqlite3_finalize(q);
  sqlite3_prepare_v2(db,
                     "INSERT INTO conflict_txns VALUES (1, 'store-001', ?1, 1), "
                     "(1, 'store-elsewhere', 'T-ELSEWHERE', 2)",
                     -1, &q, nullptr);
  sqlite3_bind_text(q, 1, conflict_txn.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(q) != SQLITE_DONE) throw std::runtime_error("insert conflict_txns");
  sqlite3_finalize(q);
  sqlite3_close(db);
}

std::int64_t sql_int(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_stmt* stmt = nullptr;
  std::int64_t out = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

}  // namespace refpos::test
