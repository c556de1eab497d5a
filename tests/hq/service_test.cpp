// The head office's service (tools/hq/service.cpp) on a real database, SQLite
// or PostgreSQL (backend.hpp: registered once per back end), fed with events
// made by the plugin's own event log (store::append_event).
#include <doctest/doctest.h>

#include <barrier>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "backend.hpp"
#include "base/clock.hpp"
#include "crypto/ed25519.hpp"
#include "hq/service.hpp"
#include "store/database.hpp"
#include "store/event_log.hpp"
#include "sync/protocol.hpp"
#include "store_log.hpp"
#include "temp_dir.hpp"

namespace refpos::hq {
namespace {

using json = nlohmann::json;

using testing::StoreLog;

struct HeadOffice {
  explicit HeadOffice(const test::TempDir& dir, const std::string& file = "hq.db")
      : db(dir, file), path(db.location()) {
    auto keys = crypto::ed25519_generate();
    REQUIRE(keys.ok());
    public_hex = keys->public_hex;
    private_hex = keys->private_hex;
    reopen();
  }
  // A new service on the same database (after close(): a restart).
  void reopen() {
    auto storage = db.open();
    REQUIRE(storage.ok());
    service = std::make_unique<Service>(
        std::move(*storage), ServiceOptions{private_hex, 500, db.report_database()}, clock);
  }
  void close() { service.reset(); }
  Reply push(const StoreLog& log, const std::string& body) {
    return service->push_events({Caller::Role::store, log.id()}, body);
  }
  sync::Updates pull(const std::string& store_id, std::int64_t cursor) {
    const Reply r = service->updates({Caller::Role::store, store_id}, cursor);
    REQUIRE(r.status == 200);
    auto u = sync::parse_updates(r.body.dump());
    REQUIRE(u.ok());
    return *u;
  }
  std::int64_t count(const char* sql) const { return db.integer(sql); }
  // Everything but change numbers and times, for "same state" checks (the
  // SQL runs on either back end: backend.hpp).
  std::string state() const {
    std::string out;
    const auto dump = [&](const char* sql) {
      for (const auto& row : db.column(sql)) out += row + "\n";
      out += "--\n";
    };
    dump("SELECT store_id || seq || type || body || hex(hash) FROM events ORDER BY store_id, seq");
    dump("SELECT customer_id || unit || sum(amount) || spendable_at_ms || held || origin FROM ledger"
         " GROUP BY customer_id, unit, spendable_at_ms, held, origin ORDER BY 1");
    dump("SELECT store_id || customer_id FROM store_customers ORDER BY 1");
    dump("SELECT store_id || acked_seq || hex(last_hash) || flagged_reason FROM stores ORDER BY 1");
    dump("SELECT store_id || txn_id || code || reversed || referrer_reversed_by_hq FROM redemptions ORDER BY 1");
    dump("SELECT code || kind FROM conflicts ORDER BY 1");
    return out;
  }
  test::HqDatabase db;
  std::string path;
  std::string public_hex;
  std::string private_hex;
  ManualClock clock{1'767'261'600'000};
  std::unique_ptr<Service> service;
};

std::int64_t acked(const Reply& r) { return r.body.at("acked_seq").get<std::int64_t>(); }
std::string reason(const Reply& r) { return r.body["error"].value("reason", ""); }

json demo_rules() {
  std::ifstream in(std::string(REFPOS_SOURCE_DIR) + "/assets/demo/store-config.json");
  REQUIRE(in.good());
  return json::parse(in).at("rules");
}

json redeemed(const std::string& txn, const std::string& code, const std::string& referee,
              const std::string& referrer) {
  return {{"txn_id", txn},           {"code", code},         {"program", "friends"},
          {"customer_id", referee},  {"discount_minor", 500}, {"discount_kind", "amount_off"},
          {"referee_credit_minor", 0}, {"currency", "EUR"},  {"referrer_customer_id", referrer},
          {"flags", json::array()}};
}
json accrued(const std::string& customer, const std::string& side, std::int64_t amount,
             std::int64_t spendable_at_ms, const std::string& code, const std::string& txn) {
  return {{"customer_id", customer}, {"side", side},       {"kind", "store_credit"},
          {"amount", amount},        {"currency", "EUR"},  {"spendable_at_ms", spendable_at_ms},
          {"held", false},           {"code", code},       {"txn_id", txn}};
}

void fill(StoreLog& log, int n) {
  for (int i = 1; i <= n; ++i) {
    log.add("customer_registered", {{"customer_id", "c-" + std::to_string(i)}, {"referred_by", nullptr}});
  }
}

TEST_CASE("a push is acknowledged and the same batch again changes nothing") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  fill(a, 3);
  const Reply first = hq.push(a, a.batch(1, 3));
  REQUIRE(first.status == 200);
  CHECK(acked(first) == 3);
  const auto change = hq.count("SELECT last FROM changes");
  const auto state = hq.state();
  const Reply again = hq.push(a, a.batch(1, 3));
  CHECK(again.status == 200);
  CHECK(again.body == first.body);
  CHECK(hq.count("SELECT last FROM changes") == change);
  CHECK(hq.state() == state);
  // An overlapping batch applies only what is new.
  a.add("customer_registered", {{"customer_id", "c-4"}, {"referred_by", nullptr}});
  CHECK(acked(hq.push(a, a.batch(2, 4))) == 4);
  CHECK(hq.count("SELECT count(*) FROM events") == 4);
  const Reply status = hq.service->status({Caller::Role::store, "store-a"}, std::nullopt);
  CHECK(status.body["acked_seq"] == 4);
  CHECK(status.body["flagged"] == false);
}

TEST_CASE("a gap is refused with the acked seq") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  fill(a, 6);
  REQUIRE(hq.push(a, a.batch(1, 2)).status == 200);
  const Reply gap = hq.push(a, a.batch(5, 6));
  CHECK(gap.status == 409);
  CHECK(reason(gap) == "gap");
  CHECK(gap.body["error"]["acked_seq"] == 2);
  CHECK(hq.count("SELECT count(*) FROM events") == 2);
}

TEST_CASE("a fork is refused and the store flagged") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  fill(a, 4);
  REQUIRE(hq.push(a, a.batch(1, 2)).status == 200);
  auto events = a.read(3, 4);
  SUBCASE("prev_hash changed, hash recomputed over it") {
    events[0].prev_hash[0] ^= 1;
    events[0].hash = store::event_hash(events[0].prev_hash, 3, "store-a", events[0].type,
                                       events[0].at_ms, events[0].ruleset_version, events[0].body);
  }
  SUBCASE("hash changed") { events[1].hash[5] ^= 1; }
  SUBCASE("body changed") { events[1].body = R"({"customer_id":"mallory"})"; }
  const Reply fork = hq.push(a, sync::serialize_batch({"store-a", events}));
  CHECK(fork.status == 409);
  CHECK(reason(fork) == "fork");
  CHECK(fork.body["error"]["acked_seq"] == 2);
  CHECK(hq.count("SELECT count(*) FROM events") == 2);
  CHECK(hq.count("SELECT count(*) FROM incidents WHERE kind = 'fork'") == 1);
  const Reply status = hq.service->status({Caller::Role::admin, "ops"}, "store-a");
  CHECK(status.body["flagged"] == true);
  CHECK(status.body["flag_reason"] == "fork");
}

TEST_CASE("a reused seq with other content is refused and recorded") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  fill(a, 3);
  REQUIRE(hq.push(a, a.batch(1, 3)).status == 200);
  // The store restored an old copy (seqs 1-2) and recorded another seq 3.
  StoreLog restored(dir, "store-a", "restored.db");
  fill(restored, 2);
  restored.add("customer_registered", {{"customer_id", "someone-else"}, {"referred_by", nullptr}});
  const Reply reused = hq.push(restored, restored.batch(3, 3));
  CHECK(reused.status == 409);
  CHECK(reason(reused) == "seq_reused");
  CHECK(reused.body["error"]["acked_seq"] == 3);
  CHECK(hq.count("SELECT count(*) FROM incidents WHERE kind = 'seq_reused'") == 1);
  CHECK(hq.count("SELECT count(*) FROM events") == 3);
}

TEST_CASE("callers are held to their own store and role") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog b(dir, "store-b");
  fill(b, 1);
  const Reply other = hq.service->push_events({Caller::Role::store, "store-a"}, b.batch(1, 1));
  CHECK(other.status == 403);
  CHECK(other.body["error"]["code"] == "forbidden");
  // Even a malformed batch for another store is 403 first.
  CHECK(hq.service->push_events({Caller::Role::store, "store-a"},
                                R"({"store_id": "store-b", "events": 3})").status == 403);
  CHECK(hq.service->push_events({Caller::Role::store, "store-a"}, "nonsense").status == 400);
  const Caller store{Caller::Role::store, "store-a"};
  CHECK(hq.service->publish_rules(store, demo_rules().dump()).status == 403);
  CHECK(hq.service->put_code_key(store, "{}").status == 403);
  CHECK(hq.service->revoke(store, R"({"store_id": "store-b"})").status == 403);
  CHECK(hq.service->status(store, std::string("store-b")).status == 403);
  CHECK(hq.count("SELECT count(*) FROM events") == 0);
}

TEST_CASE("a batch is applied whole or not at all") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  fill(a, 3);
  auto events = a.read(1, 3);
  SUBCASE("third hash wrong") {
    events[2].hash[0] ^= 0xff;
    CHECK(hq.push(a, sync::serialize_batch({"store-a", events})).status == 409);
  }
  SUBCASE("third seq wrong") {
    events[2].seq = 7;
    CHECK(hq.push(a, sync::serialize_batch({"store-a", events})).status == 400);
  }
  CHECK(hq.count("SELECT count(*) FROM events") == 0);
  CHECK(hq.count("SELECT count(*) FROM store_customers") == 0);
  CHECK(hq.count("SELECT coalesce(max(acked_seq), 0) FROM stores") == 0);
}

TEST_CASE("a push is acknowledged before it is folded and a pull folds it first") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  fill(a, 5);
  REQUIRE(acked(hq.push(a, a.batch(1, 3))) == 3);
  REQUIRE(acked(hq.push(a, a.batch(4, 5))) == 5);
  CHECK(*hq.service->fold_backlog() == 5);
  CHECK(hq.count("SELECT count(*) FROM fold_queue") == 2);
  CHECK(hq.count("SELECT count(*) FROM store_customers") == 0);
  const Reply status = hq.service->status({Caller::Role::store, "store-a"}, std::nullopt);
  CHECK(status.body["fold_backlog"] == 5);

  hq.pull("store-a", 0);
  CHECK(*hq.service->fold_backlog() == 0);
  CHECK(hq.count("SELECT count(*) FROM store_customers WHERE store_id = 'store-a'") == 5);
  // A replay queues nothing.
  REQUIRE(acked(hq.push(a, a.batch(1, 5))) == 5);
  CHECK(*hq.service->fold_backlog() == 0);
}

TEST_CASE("the fold worker folds behind ingest to the state of folding at once") {
  test::TempDir dir;
  HeadOffice with_worker(dir, "worker.db");
  HeadOffice inline_only(dir, "inline.db");
  REQUIRE(with_worker.service->start_folding().ok());
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  a.add("customer_registered", {{"customer_id", "r-1"}, {"referred_by", nullptr}});
  a.add("code_issued", {{"customer_id", "r-1"}, {"code", "CODE1"}});
  b.add("code_redeemed", redeemed("t-b1", "CODE1", "f-1", "r-1"));
  b.add("reward_accrued", accrued("r-1", "referrer", 500, 1'767'300'000'000, "CODE1", "t-b1"));
  fill(b, 40);
  for (HeadOffice* hq : {&with_worker, &inline_only}) {
    REQUIRE(hq->push(a, a.batch(1, 2)).status == 200);
    for (std::int64_t first = 1; first <= 42; first += 7) {
      REQUIRE(hq->push(b, b.batch(first, std::min<std::int64_t>(first + 6, 42))).status == 200);
    }
  }
  REQUIRE(with_worker.service->wait_folded(std::chrono::seconds(60)));
  CHECK(*with_worker.service->fold_backlog() == 0);
  CHECK(with_worker.count("SELECT count(*) FROM store_customers WHERE store_id = 'store-b'") == 42);
  CHECK(*inline_only.service->fold_backlog() == 44);
  inline_only.pull("store-a", 0);
  with_worker.pull("store-a", 0);
  CHECK(with_worker.state() == inline_only.state());
}

TEST_CASE("a fold queue left by a stopped head office is folded by the next run") {
  test::TempDir dir;
  StoreLog a(dir, "store-a");
  fill(a, 12);
  std::string path;
  {
    HeadOffice hq(dir);
    path = hq.path;
    REQUIRE(acked(hq.push(a, a.batch(1, 12))) == 12);
  }
  HeadOffice again(dir);
  CHECK(again.count("SELECT count(*) FROM fold_queue") == 1);
  REQUIRE(again.service->start_folding().ok());
  REQUIRE(again.service->wait_folded(std::chrono::seconds(60)));
  CHECK(again.count("SELECT count(*) FROM fold_queue") == 0);
  CHECK(again.count("SELECT count(*) FROM store_customers") == 12);
}

TEST_CASE("a held referrer reward is released or forfeited by an admin, once, and reaches its store") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  json held = accrued("r-1", "referrer", 500, 1'767'300'000'000, "CODE1", "t-1");
  held["held"] = true;
  a.add("code_redeemed", redeemed("t-1", "CODE1", "f-1", "r-1"));
  a.add("reward_accrued", held);
  a.add("code_redeemed", redeemed("t-2", "CODE2", "f-2", "r-2"));
  a.add("reward_accrued", accrued("r-2", "referrer", 500, 1'767'300'000'000, "CODE2", "t-2"));
  REQUIRE(hq.push(a, a.batch(1, 4)).status == 200);
  const Caller admin{Caller::Role::admin, "ops"};
  const auto decide = [&](const json& body) { return hq.service->decide_holds(admin, body.dump()); };

  // Refused, each changing nothing.
  CHECK(hq.service->decide_holds({Caller::Role::store, "store-a"}, "{}").status == 403);
  CHECK(decide({{"store_id", "store-a"}, {"txn_ids", {"t-1"}}, {"decision", "maybe"}}).status == 400);
  CHECK(decide({{"store_id", "store-a"}, {"txn_ids", json::array()}, {"decision", "release"}}).status == 400);
  const Reply not_held = decide({{"store_id", "store-a"}, {"txn_ids", {"t-1", "t-2"}}, {"decision", "release"}});
  CHECK(not_held.status == 404);  // t-2's reward was never held: nothing of the call applies
  CHECK(not_held.body["error"]["message"].get<std::string>().find("txn_ids[1]") != std::string::npos);
  CHECK(decide({{"store_id", "store-b"}, {"txn_ids", {"t-1"}}, {"decision", "release"}}).status == 404);
  CHECK(hq.count("SELECT count(*) FROM hold_decisions") == 0);

  const Reply released = decide({{"store_id", "store-a"}, {"txn_ids", {"t-1"}}, {"decision", "release"}});
  REQUIRE(released.status == 200);
  CHECK(released.body["decided"] == 1);
  // Said again: nothing new; the other decision: refused.
  CHECK(decide({{"store_id", "store-a"}, {"txn_ids", {"t-1"}}, {"decision", "release"}}).body["decided"] == 0);
  const Reply twice = decide({{"store_id", "store-a"}, {"txn_ids", {"t-1"}}, {"decision", "forfeit"}});
  CHECK(twice.status == 409);
  CHECK(reason(twice) == "already_decided");

  const auto u = hq.pull("store-a", 0);
  REQUIRE(u.hold_decisions.size() == 1);
  CHECK(u.hold_decisions[0] == sync::HoldDecision{"t-1", "release"});
  CHECK(hq.pull("store-a", u.cursor).hold_decisions.empty());
  CHECK(hq.pull("store-b", 0).hold_decisions.empty());  // meant for store-a only

  // The store applies it and says so: head office's ledger moves the entry.
  a.add("hold_released", {{"customer_id", "r-1"}, {"kind", "store_credit"}, {"amount", 500},
                          {"spendable_at_ms", 1'767'300'000'000}, {"currency", "EUR"}, {"txn_id", "t-1"}});
  REQUIRE(hq.push(a, a.batch(5, 5)).status == 200);
  hq.pull("store-a", 0);
  CHECK(hq.count("SELECT coalesce(sum(amount), 0) FROM ledger WHERE customer_id = 'r-1' AND held = 1") == 0);
  CHECK(hq.count("SELECT coalesce(sum(amount), 0) FROM ledger WHERE customer_id = 'r-1' AND held = 0") == 500);
}

TEST_CASE("an unknown event type is stored and acknowledged") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  a.add("hologram_projected", {{"colour", "teal"}});
  const Reply r = hq.push(a, a.batch(1, 1));
  CHECK(r.status == 200);
  CHECK(acked(r) == 1);
  CHECK(hq.count("SELECT count(*) FROM events WHERE type = 'hologram_projected'") == 1);
}

// A ledger row for r-1 is refused by a trigger, so the fold fails after
// it has written other rows (PostgreSQL sends them behind the statements
// that follow, and learns of the failure only at COMMIT).
TEST_CASE("a fold that fails part-way leaves nothing, and folds whole once the cause is gone") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  a.add("customer_registered", {{"customer_id", "r-1"}, {"referred_by", nullptr}});
  a.add("code_redeemed", redeemed("t-a1", "CODE1", "f-1", "r-1"));
  a.add("reward_accrued", accrued("r-1", "referrer", 500, 1'767'300'000'000, "CODE1", "t-a1"));
  a.add("customer_registered", {{"customer_id", "c-2"}, {"referred_by", nullptr}});
  const bool pg = test::hq_backend() == test::HqBackend::postgres;
  (void)hq.db.column(
      pg ? "CREATE FUNCTION refuse_r1() RETURNS trigger LANGUAGE plpgsql AS $$"
           " BEGIN IF NEW.customer_id = 'r-1' THEN RAISE EXCEPTION 'refused'"
           " USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$;"
           " CREATE TRIGGER refuse_r1 BEFORE INSERT ON ledger FOR EACH ROW"
           " EXECUTE FUNCTION refuse_r1(); SELECT 1"
         : "CREATE TRIGGER refuse_r1 BEFORE INSERT ON ledger"
           " WHEN NEW.customer_id = 'r-1' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  REQUIRE(acked(hq.push(a, a.batch(1, 4))) == 4);

  const Reply refused = hq.service->updates({Caller::Role::store, "store-a"}, 0);
  CHECK(refused.status != 200);
  CHECK(hq.count("SELECT count(*) FROM fold_queue") == 1);
  CHECK(hq.count("SELECT count(*) FROM store_customers") == 0);
  CHECK(hq.count("SELECT count(*) FROM redemptions") == 0);
  CHECK(hq.count("SELECT count(*) FROM ledger") == 0);

  (void)hq.db.column(pg ? "DROP TRIGGER refuse_r1 ON ledger; SELECT 1" : "DROP TRIGGER refuse_r1");
  hq.pull("store-a", 0);
  CHECK(hq.count("SELECT count(*) FROM fold_queue") == 0);
  CHECK(hq.count("SELECT count(*) FROM store_customers") == 3);
  CHECK(hq.count("SELECT count(*) FROM redemptions WHERE referrer_amount = 500") == 1);
  CHECK(hq.count("SELECT count(*) FROM ledger WHERE customer_id = 'r-1'") == 1);
}

TEST_CASE("a reward earned at another store reaches the referrer's store and not its own") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  a.add("customer_registered", {{"customer_id", "r-1"}, {"referred_by", nullptr}});
  b.add("code_redeemed", redeemed("t-b1", "CODE1", "f-1", "r-1"));
  b.add("reward_accrued", accrued("r-1", "referrer", 500, 1'767'300'000'000, "CODE1", "t-b1"));
  REQUIRE(hq.push(a, a.batch(1, 1)).status == 200);
  REQUIRE(hq.push(b, b.batch(1, 2)).status == 200);

  const auto at_a = hq.pull("store-a", 0);
  REQUIRE(at_a.wallets.size() == 1);
  CHECK(at_a.wallets[0].customer_id == "r-1");
  REQUIRE(at_a.wallets[0].entries.size() == 1);
  CHECK(at_a.wallets[0].entries[0].amount == 500);
  CHECK(at_a.wallets[0].entries[0].unit == "store_credit");
  CHECK(at_a.wallets[0].entries[0].spendable_at_ms == 1'767'300'000'000);
  CHECK(hq.pull("store-b", 0).wallets.empty());  // B counts its own

  // Pulling again from the cursor returned: nothing new.
  const auto again = hq.pull("store-a", at_a.cursor);
  CHECK(again.wallets.empty());
  CHECK_FALSE(again.rules);
  CHECK_FALSE(again.code_keys);
  CHECK(again.cursor == at_a.cursor);

  // A spend at B changes A's picture; A hears only that.
  b.add("balance_spent", {{"customer_id", "r-1"}, {"kind", "store_credit"}, {"amount", 200},
                          {"value_minor", 200}, {"currency", "EUR"}, {"txn_id", "t-b2"}});
  REQUIRE(hq.push(b, b.batch(3, 3)).status == 200);
  const auto later = hq.pull("store-a", at_a.cursor);
  REQUIRE(later.wallets.size() == 1);
  std::int64_t sum = 0;
  for (const auto& e : later.wallets[0].entries) sum += e.amount;
  CHECK(sum == 300);
}

// B redeems CODE7 without knowing its owner and accrues the referrer's
// reward by code; A's code_issued names the owner, r-7, who is credited by
// head office; B then reverses the sale whole, and head office takes the
// reward back. Folded in one transaction (PostgreSQL answers the reads of
// the later items from what it preloaded and wrote) or one pull at a time.
TEST_CASE("a reward attributed by code and reversed folds alike in one transaction or several") {
  for (const bool one_pull : {true, false}) {
    CAPTURE(one_pull);
    test::TempDir dir;
    HeadOffice hq(dir, one_pull ? "hq-one.db" : "hq-each.db");
    StoreLog a(dir, "store-a");
    StoreLog b(dir, "store-b");
    b.add("code_redeemed", redeemed("t-b1", "CODE7", "f-1", ""));
    json by_code = accrued("", "referrer", 500, 1'767'300'000'000, "CODE7", "t-b1");
    by_code["attribute_by"] = "code";
    b.add("reward_accrued", by_code);
    a.add("code_issued", {{"customer_id", "r-7"}, {"code", "CODE7"}});
    b.add("txn_reversed", {{"txn_id", "t-b1"}, {"complete", true}});
    const auto pull_unless = [&](bool skip) {
      if (!skip) hq.pull("store-a", 0);
    };
    REQUIRE(hq.push(b, b.batch(1, 2)).status == 200);
    pull_unless(one_pull);
    REQUIRE(hq.push(a, a.batch(1, 1)).status == 200);
    pull_unless(one_pull);
    if (!one_pull) {
      CHECK(hq.count("SELECT sum(amount) FROM ledger WHERE customer_id = 'r-7'") == 500);
    }
    REQUIRE(hq.push(b, b.batch(3, 3)).status == 200);
    hq.pull("store-a", 0);
    CHECK(hq.count("SELECT count(*) FROM fold_queue") == 0);
    CHECK(hq.db.column("SELECT source || ' ' || amount || ' ' || origin FROM ledger"
                       " WHERE customer_id = 'r-7' ORDER BY entry_id") ==
          std::vector<std::string>{"attributed:store-b:t-b1 500 hq",
                                   "attributed_reversed:store-b:t-b1 -500 hq"});
    CHECK(hq.db.column("SELECT referrer_customer_id || ' ' || referrer_amount || ' ' ||"
                       " referrer_by_code || reversed || referrer_reversed_by_store ||"
                       " referrer_reversed_by_hq FROM redemptions") ==
          std::vector<std::string>{"r-7 500 1110"});
    CHECK(hq.db.column("SELECT store_id || ' ' || customer_id FROM store_customers ORDER BY 1") ==
          std::vector<std::string>{"store-a r-7", "store-b f-1", "store-b r-7"});
    CHECK(hq.db.column("SELECT code || ' ' || customer_id FROM code_owners") ==
          std::vector<std::string>{"CODE7 r-7"});
  }
}

// CODE9, single-use, redeemed by one referee f-1 at A (t-a) and at B (t-b),
// each store accruing r-1's reward: one over_redeemed conflict once folded.
void redeem_twice(StoreLog& a, StoreLog& b) {
  a.add("code_redeemed", redeemed("t-a", "CODE9", "f-1", "r-1"));
  a.add("reward_accrued", accrued("r-1", "referrer", 500, 1'767'300'000'000, "CODE9", "t-a"));
  b.add("code_redeemed", redeemed("t-b", "CODE9", "f-1", "r-1"));
  b.add("reward_accrued", accrued("r-1", "referrer", 500, 1'767'400'000'000, "CODE9", "t-b"));
}

TEST_CASE("a single-use code redeemed at two stores by one referee gives one conflict and one reward") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  redeem_twice(a, b);
  REQUIRE(hq.push(a, a.batch(1, 2)).status == 200);
  REQUIRE(hq.push(b, b.batch(1, 2)).status == 200);

  const auto at_b = hq.pull("store-b", 0);  // folds what the pushes queued
  CHECK(hq.count("SELECT count(*) FROM conflicts") == 1);
  CHECK(hq.count("SELECT count(*) FROM ledger WHERE origin = 'hq' AND amount = -500") == 1);
  REQUIRE(at_b.conflicts.size() == 1);
  CHECK(at_b.conflicts[0].code == "CODE9");
  CHECK(at_b.conflicts[0].kind == "over_redeemed");
  CHECK(at_b.conflicts[0].txn_ids == std::vector<std::string>{"t-a", "t-b"});
  REQUIRE(at_b.wallets.size() == 1);  // r-1: A's reward and head office's reversal
  std::int64_t elsewhere = 0;
  bool reversal = false;
  for (const auto& e : at_b.wallets[0].entries) {
    elsewhere += e.amount;
    reversal = reversal || (e.amount == -500 && e.spendable_at_ms == 1'767'400'000'000);
  }
  CHECK(reversal);
  CHECK(elsewhere == 0);  // B's own +500 plus this: one reward in all
  CHECK(hq.pull("store-a", 0).conflicts.size() == 1);

  // The same batches again: still one conflict, one reversal.
  CHECK(hq.push(b, b.batch(1, 2)).status == 200);
  CHECK(hq.count("SELECT count(*) FROM ledger WHERE origin = 'hq'") == 1);
}

TEST_CASE("the referral report reads either back end: one snapshot, the conflicts, a store's scope") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  redeem_twice(a, b);
  b.add("code_redeemed", redeemed("t-late", "CODE9", "f-2", "r-1"), 1'800'000'000'000);  // after the period
  REQUIRE(hq.push(a, a.batch(1, 2)).status == 200);
  REQUIRE(hq.push(b, b.batch(1, 3)).status == 200);

  const Caller admin{Caller::Role::admin, "admin"};
  const auto report = [&](std::optional<std::string> store) {
    ReportQuery q;
    q.from = "2025-12-01";
    q.to = "2026-02-01";
    q.format = "json";
    q.store_id = std::move(store);
    auto prepared = hq.service->prepare_report(admin, q);
    REQUIRE(std::holds_alternative<Service::ReportJob>(prepared));
    return std::get<Service::ReportJob>(prepared)();  // the server runs it on its report thread
  };
  const Reply chain = report(std::nullopt);
  REQUIRE_MESSAGE(chain.status == 200, chain.body.dump());
  REQUIRE(chain.text.has_value());
  const json got = json::parse(*chain.text);
  CHECK(got["source"] == "head_office");
  CHECK(got["stores"] == json::array({"store-a", "store-b"}));
  CHECK(got["events_in_period"] == 4);  // the late redemption is not in it
  CHECK(got["codes"]["redemptions"] == 2);
  REQUIRE(got["conflicts"].size() == 1);
  CHECK(got["conflicts"][0]["code"] == "CODE9");
  // The conflict as head office knows it, the later redemption too.
  CHECK(got["conflicts"][0]["txns"].size() == 3);

  const Reply scoped = report("store-b");  // a second report on the same connection
  REQUIRE(scoped.status == 200);
  const json at_b = json::parse(*scoped.text);
  CHECK(at_b["stores"] == json::array({"store-b"}));
  CHECK(at_b["codes"]["redemptions"] == 1);

  const Reply unknown = report("store-z");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.dump().find("store-z") != std::string::npos);
}

TEST_CASE("after a restore from a backup a store whose cursor the database never handed out gets everything") {
  test::TempDir dir;
  HeadOffice hq(dir);
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  StoreLog c(dir, "store-c");
  // r-1 is known at A; a reward of theirs earned at B must reach A.
  a.add("code_redeemed", redeemed("t-a", "CODE1", "f-1", "r-1"));
  REQUIRE(hq.push(a, a.batch(1, 1)).status == 200);
  const std::int64_t before_backup = hq.pull("store-a", 0).cursor;

  hq.close();
  hq.db.back_up("nightly");
  hq.reopen();
  // After the backup: B's reward for r-1, and A's pull that hears of it.
  b.add("code_redeemed", redeemed("t-b", "CODE2", "f-2", "r-1"));
  b.add("reward_accrued", accrued("r-1", "referrer", 700, 1'767'300'000'000, "CODE2", "t-b"));
  REQUIRE(hq.push(b, b.batch(1, 2)).status == 200);
  const auto heard = hq.pull("store-a", before_backup);
  REQUIRE(heard.wallets.size() == 1);
  const std::int64_t held_by_a = heard.cursor;
  REQUIRE(held_by_a > before_backup);

  hq.close();
  hq.db.restore("nightly");  // B's batch and A's pull are gone from head office
  hq.reopen();
  // B sends again what was lost, which takes a change number at or below
  // A's cursor; other stores move the counter past it before A comes back...
  REQUIRE(hq.push(b, b.batch(1, 2)).status == 200);
  REQUIRE(hq.pull("store-b", 0).cursor <= held_by_a);
  for (int i = 1; i <= 3; ++i) {
    c.add("sale_completed", json{{"txn_id", "c-" + std::to_string(i)}});
    REQUIRE(hq.push(c, c.batch(i, i)).status == 200);
  }
  REQUIRE(hq.pull("store-c", 0).cursor > held_by_a);
  // ...and A still hears of r-1's reward, whose change now numbers below its cursor.
  const auto again = hq.pull("store-a", held_by_a);
  CHECK(again.resend_keys);  // the keys A sent after the backup are gone too
  REQUIRE(again.wallets.size() == 1);
  CHECK(again.wallets[0].customer_id == "r-1");
  CHECK(again.wallets[0].entries.size() == 1);
  // A cursor head office did hand out is answered from where it stands.
  const auto settled = hq.pull("store-a", again.cursor);
  CHECK(settled.wallets.empty());
  CHECK_FALSE(settled.resend_keys);
  CHECK_FALSE(heard.resend_keys);
}

TEST_CASE("published rules are signed and versions only go up and admin routes are checked") {
  test::TempDir dir;
  HeadOffice hq(dir);
  const Caller admin{Caller::Role::admin, "ops"};
  json rules = demo_rules();
  const Reply published = hq.service->publish_rules(admin, rules.dump());
  REQUIRE(published.status == 200);
  const auto u = hq.pull("store-a", 0);
  REQUIRE(u.rules);
  CHECK(u.rules->version == rules["version"]);
  CHECK(crypto::ed25519_verify(hq.public_hex, u.rules->document.dump(), u.rules->signature_hex));
  CHECK_FALSE(crypto::ed25519_verify(hq.public_hex, u.rules->document.dump() + " ",
                                     u.rules->signature_hex));
  const Reply same = hq.service->publish_rules(admin, rules.dump());
  CHECK(same.status == 409);
  rules["version"] = 0;
  CHECK(hq.service->publish_rules(admin, rules.dump()).status == 400);
  CHECK(hq.service->publish_rules(admin, "{]").status == 400);
  CHECK_FALSE(hq.pull("store-a", u.cursor).rules);

  const std::string secret(64, 'a');
  CHECK(hq.service->put_code_key(admin, json{{"id", 1}, {"secret_hex", secret}, {"active", true}}.dump())
            .status == 200);
  const Reply bad_key = hq.service->put_code_key(
      admin, json{{"id", 2}, {"secret_hex", "not-hex-secret"}, {"active", true}}.dump());
  CHECK(bad_key.status == 400);
  CHECK(bad_key.body.dump().find("not-hex-secret") == std::string::npos);
  CHECK(hq.service->put_code_key(admin, json{{"id", 2}, {"secret_hex", secret}}.dump()).status == 400);
  CHECK(hq.service->put_code_key(admin, json{{"id", 2}, {"secret_hex", secret}, {"active", true}}.dump())
            .status == 200);
  const auto keys = hq.pull("store-a", u.cursor);
  REQUIRE(keys.code_keys);
  REQUIRE(keys.code_keys->size() == 2);
  CHECK_FALSE((*keys.code_keys)[0].active);  // one key issues
  CHECK((*keys.code_keys)[1].active);

  CHECK(hq.service->revoke(admin, R"({"store_id": "store-9"})").status == 200);
  CHECK(hq.service->revoke(admin, R"({"codes": [], "store_id": "x"})").status == 400);
  CHECK(hq.service->revoke(admin, R"({})").status == 400);
  const auto revoked = hq.pull("store-a", keys.cursor);
  CHECK(revoked.revoked_stores == std::vector<std::string>{"store-9"});
  CHECK(hq.service->store_revoked("store-9"));
  CHECK(hq.service->updates({Caller::Role::store, "store-9"}, 0).status == 403);
}

TEST_CASE("two head-office instances on one database take pushes at once and answer alike") {
  // Several refpos-hq instances behind a load balancer share one database
  // (README, refpos-hq `database`): writes are serialised by the database
  // (PgStorage's advisory lock, SQLite's file lock), not by one process.
  test::TempDir dir;
  HeadOffice one(dir);
  HeadOffice two(dir);  // the same database
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  a.add("customer_registered", {{"customer_id", "r-1"}, {"referred_by", nullptr}});
  fill(a, 47);
  b.add("code_redeemed", redeemed("t-b1", "CODE1", "f-1", "r-1"));
  b.add("reward_accrued", accrued("r-1", "referrer", 500, 1'767'300'000'000, "CODE1", "t-b1"));
  fill(b, 46);
  // One store through each instance, at the same time; statuses are
  // checked after the threads (assertions stay on this thread).
  std::vector<int> statuses_a;
  std::vector<int> statuses_b;
  const auto push_all = [](HeadOffice& hq, StoreLog& log, std::vector<int>& statuses) {
    for (std::int64_t first = 1; first <= 48; first += 4) {
      statuses.push_back(hq.push(log, log.batch(first, first + 3)).status);
    }
  };
  std::thread through_two([&] { push_all(two, b, statuses_b); });
  push_all(one, a, statuses_a);
  through_two.join();
  CHECK(statuses_a == std::vector<int>(12, 200));
  CHECK(statuses_b == std::vector<int>(12, 200));
  CHECK(one.count("SELECT count(*) FROM events") == 96);
  CHECK(one.count("SELECT last FROM changes") == 24);  // one change per push, none lost

  // A store may reach either instance: each sees what the other took.
  b.add("balance_spent", {{"customer_id", "r-1"}, {"kind", "store_credit"}, {"amount", 200},
                          {"value_minor", 200}, {"currency", "EUR"}, {"txn_id", "t-b2"}});
  CHECK(acked(one.push(b, b.batch(49, 49))) == 49);
  const auto at_a = two.pull("store-a", 0);
  REQUIRE(at_a.wallets.size() == 1);
  std::int64_t sum = 0;
  for (const auto& e : at_a.wallets[0].entries) sum += e.amount;
  CHECK(sum == 300);
  CHECK(one.pull("store-a", 0).cursor == at_a.cursor);
  CHECK(one.state() == two.state());
}

TEST_CASE("the same store's batch through two instances at once is taken once and acknowledged by both") {
  // A store whose answer was lost retries through the load balancer and
  // reaches the other instance while the first is still applying: each
  // event is stored once, one change per batch, and both answer the ack.
  test::TempDir dir;
  HeadOffice one(dir);
  HeadOffice two(dir);
  StoreLog a(dir, "store-a");
  fill(a, 48);
  std::vector<std::int64_t> acks_one;
  std::vector<std::int64_t> acks_two;
  std::vector<std::string> batches;  // read here: the log's connection is this thread's
  for (std::int64_t first = 1; first <= 48; first += 4) batches.push_back(a.batch(first, first + 3));
  std::barrier together(2);
  const auto push_all = [&](HeadOffice& hq, std::vector<std::int64_t>& acks) {
    for (const auto& batch : batches) {
      together.arrive_and_wait();  // both instances get the batch at once
      const Reply r = hq.push(a, batch);
      acks.push_back(r.status == 200 ? acked(r) : -r.status);
    }
  };
  std::thread through_two([&] { push_all(two, acks_two); });
  push_all(one, acks_one);
  through_two.join();
  std::vector<std::int64_t> expected;
  for (std::int64_t last = 4; last <= 48; last += 4) expected.push_back(last);
  const auto text = [](const std::vector<std::int64_t>& v) {
    std::string out;
    for (const auto x : v) out += std::to_string(x) + " ";
    return out;
  };
  CHECK_MESSAGE(acks_one == expected, text(acks_one));
  CHECK_MESSAGE(acks_two == expected, text(acks_two));
  CHECK(one.count("SELECT count(*) FROM events") == 48);
  CHECK(one.count("SELECT last FROM changes") == 12);  // one change per batch: none taken twice
  CHECK(one.count("SELECT count(*) FROM incidents") == 0);
}

TEST_CASE("batches split at random points and replayed at random end as one push") {
  test::TempDir dir;
  StoreLog a(dir, "store-a");
  StoreLog b(dir, "store-b");
  std::mt19937 rng(20260101);
  const auto add_mixed = [&](StoreLog& log, int n) {
    for (int i = 1; i <= n; ++i) {
      const std::string txn = log.id() + "-t" + std::to_string(i);
      const std::string referee = "f-" + std::to_string(rng() % 7);
      switch (rng() % 5) {
        case 0: log.add("customer_registered", {{"customer_id", referee}, {"referred_by", nullptr}}); break;
        case 1:
          log.add("code_redeemed", redeemed(txn, "CODE" + std::to_string(rng() % 3), referee, "r-1"));
          log.add("reward_accrued", accrued("r-1", "referrer", 100, 1'767'300'000'000 + i, "CODE", txn));
          break;
        case 2:
          log.add("balance_spent", {{"customer_id", "r-1"}, {"kind", "store_credit"}, {"amount", 30},
                                   {"value_minor", 30}, {"currency", "EUR"}, {"txn_id", txn}});
          break;
        case 3: log.add("something_new", {{"n", i}}); break;
        default:
          log.add("reward_accrued", accrued(referee, "referee", 50, 0, "CODE", txn));
          break;
      }
    }
  };
  add_mixed(a, 60);
  add_mixed(b, 60);
  const auto total = [](StoreLog& log) { return static_cast<std::int64_t>(log.read(1, 1'000'000).size()); };

  test::TempDir once_dir;
  HeadOffice once(once_dir);
  REQUIRE(once.push(a, a.batch(1, total(a))).status == 200);
  REQUIRE(once.push(b, b.batch(1, total(b))).status == 200);
  const std::string expected = once.state();

  for (int round = 0; round < 4; ++round) {
    test::TempDir round_dir;
    HeadOffice hq(round_dir);
    for (StoreLog* log : {&a, &b}) {
      const std::int64_t n = total(*log);
      std::int64_t next = 1;
      std::vector<std::pair<std::int64_t, std::int64_t>> sent;
      while (next <= n) {
        const std::int64_t to = std::min(n, next + static_cast<std::int64_t>(rng() % 9));
        REQUIRE(acked(hq.push(*log, log->batch(next, to))) == to);
        sent.emplace_back(next, to);
        if (rng() % 3 == 0) {  // a lost acknowledgement: something sent before, again
          const auto [f, t] = sent[rng() % sent.size()];
          const Reply replay = hq.push(*log, log->batch(f, t));
          REQUIRE(replay.status == 200);
          CHECK(acked(replay) == to);
        }
        next = to + 1;
      }
    }
    CHECK(hq.state() == expected);
  }
}

}  // namespace
}  // namespace refpos::hq
