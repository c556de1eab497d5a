// Sync end to end (docs/sync.md): two stores, each the real librefpos.so
// (dlopen) on its own SQLite file with its own client certificate, and the
// real refpos-hq process on 127.0.0.1 over mutual TLS 1.3. The story of
// DESIGN.md section 8: a code issued at one store, redeemed at the other
// while offline, both sync, and the referrer's balance shows at the first.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>
#include <sys/stat.h>
#include <vector>

#include "crypto/ed25519.hpp"
#include "exports.hpp"
#include "harness.hpp"
#include "plugin.hpp"
#include "schema_check.hpp"

using namespace refpos::test;

namespace {

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  REQUIRE(out.good());
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

struct Progress {
  std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> calls;
  static void record(void* self, const char* stage, int64_t done, int64_t total) {
    static_cast<Progress*>(self)->calls.emplace_back(stage, done, total);
  }
};

// A store folder with the plugin open on it, configured to sync with `hq`.
struct SyncedStore {
  TempDir dir;
  json config;
  std::unique_ptr<StoreHandle> store;

  SyncedStore(const std::string& store_id, const Credentials& creds, std::uint16_t port,
              const std::string& signing_public_hex = {}) {
    const TestChain& chain = TestChain::get();
    write_file(dir.str() + "/store.pem", creds.cert_pem, 0644);
    write_file(dir.str() + "/store.key", creds.key_pem, 0600);
    config = default_config(dir.str() + "/data");
    config["store_id"] = store_id;
    config["sync"] = {
        {"url", "https://127.0.0.1:" + std::to_string(port)},
        {"ca_file", chain.ca_file},
        {"cert_file", dir.str() + "/store.pem"},
        {"key_file", dir.str() + "/store.key"},
        {"signing_public_key_hex",
         signing_public_hex.empty() ? *refpos::crypto::ed25519_public_of(chain.signing_key_hex)
                                    : signing_public_hex},
        {"batch_events", 7},
        {"timeout_ms", 20'000}};
    store = std::make_unique<StoreHandle>(config);
  }

  Reply sync(Progress* progress = nullptr) {
    char* answer = nullptr;
    Reply reply;
    reply.status = plugin_api().sync(store->raw(), "{}", 2, progress ? &Progress::record : nullptr,
                                     progress, &answer);
    if (answer != nullptr) reply.text = answer;
    plugin_api().free_buffer(answer);
    reply.message = plugin_api().last_error(store->raw());
    reply.body = json::parse(reply.text, nullptr, false);
    return reply;
  }

  json wallet(const std::string& customer) {
    auto r = store->customer(customer);
    REQUIRE(r.status == REFPOS_OK);
    return r.body["wallet"];
  }
  std::string data() const { return dir.str() + "/data"; }
};

// Head office's follow-up export of `kind` for January 2026 (the test
// clock's month), on its file as it runs, with the shipped templates.
refpos::report::Export chain_export(const std::string& hq_db, refpos::report::ExportKind kind) {
  using namespace refpos::report;
  ExportRequest request;
  request.path = hq_db;
  request.kind = kind;
  auto period = parse_period("2026-01-01", "2026-02-01", "");
  REQUIRE(period.ok());
  request.period = *period;
  auto templates = load_templates(std::string(REFPOS_SOURCE_DIR) + "/assets/exports", kind,
                                  request.channels);
  REQUIRE(templates.ok());
  request.templates = std::move(*templates);
  auto built = build_export(request);
  REQUIRE_MESSAGE(built.ok(), built.error().describe());
  return std::move(*built);
}

json with_code(json request, const std::string& code) {
  request["code"] = code;
  return request;
}

json schema(const std::string& name) {
  std::ifstream in(std::string(REFPOS_SCHEMA_DIR) + "/v1/" + name + ".schema.json");
  REQUIRE(in.good());
  return json::parse(in);
}

std::string issued_code(const Reply& commit) {
  REQUIRE(commit.status == REFPOS_OK);
  REQUIRE(commit.body["issued_code"].is_object());
  return commit.body["issued_code"]["normalized"].get<std::string>();
}

}  // namespace

TEST_CASE("sync: a code issued at A, redeemed at B offline; after both sync A shows the referrer's reward") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  SyncedStore a("store-a", chain.store_a, hq.port());
  SyncedStore b("store-b", chain.store_b, hq.port());

  const std::string code = issued_code(a.store->commit(cart("A-1", "alice", {5000})));
  Progress progress;
  auto first = a.sync(&progress);
  REQUIRE_MESSAGE(first.status == REFPOS_OK, first.message);
  // The answer and the store's configuration match their published schemas.
  CHECK(refpos::test::validate(schema("sync.answer"), first.body).empty());
  CHECK(refpos::test::validate(schema("config"), a.config).empty());
  CHECK(first.body["pushed"].get<std::int64_t>() > 0);
  CHECK(first.body["acked_seq"] == first.body["pushed"]);
  // batch_events is 7: several batches, progress after each, ending complete.
  CHECK(first.body["batches"].get<std::int64_t>() ==
        (first.body["pushed"].get<std::int64_t>() + 6) / 7);
  REQUIRE(progress.calls.size() >= 3);
  CHECK(std::get<0>(progress.calls.front()) == "push");
  CHECK(std::get<1>(progress.calls.front()) == 0);
  CHECK(std::get<0>(progress.calls.back()) == "pull");
  CHECK(std::get<1>(progress.calls.back()) == 1);

  // B has never synced: it checks the code offline with the chain's key.
  auto redeemed = b.store->commit(with_code(cart("B-1", "bob", {8000}), code));
  REQUIRE(redeemed.status == REFPOS_OK);
  REQUIRE(redeemed.body["redemption"].is_object());
  CHECK(a.wallet("alice")["balance_minor"] == 0);

  REQUIRE(b.sync().status == REFPOS_OK);
  auto pulled = a.sync();
  REQUIRE_MESSAGE(pulled.status == REFPOS_OK, pulled.message);
  CHECK(pulled.body["wallets"].get<std::int64_t>() >= 1);
  // The reward earned at B is alice's at A now (default rules: $10.00 store
  // credit, spendable at once); B still counts it once, from its own ledger.
  CHECK(a.wallet("alice")["balance_minor"] == 1000);
  CHECK(b.wallet("alice")["balance_minor"] == 1000);

  // Syncing again changes nothing but the sync's own record.
  const auto before = snapshot_of(a.data());
  auto again = a.sync();
  REQUIRE(again.status == REFPOS_OK);
  CHECK(again.body["wallets"] == 0);
  CHECK(a.wallet("alice")["balance_minor"] == 1000);
  const auto after = snapshot_of(a.data());
  CHECK(after.wallets == before.wallets);
  CHECK(after.codes == before.codes);
  CHECK(audit_store(a.data(), "store-a").empty());
  CHECK(audit_store(b.data(), "store-b").empty());
}

TEST_CASE("sync: a sale made while the events go up is pushed by the next sync, and neither waits") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  SyncedStore a("store-a", chain.store_a, hq.port());
  std::int64_t to_send = 0;
  for (int i = 1; to_send <= 7; ++i) {  // batch_events is 7: batches are read after the sale below
    const auto sale = a.store->commit(cart("A-" + std::to_string(i), "alice", {5000}));
    REQUIRE(sale.status == REFPOS_OK);
    to_send = sale.body["events"]["last_seq"].get<std::int64_t>();
  }

  // As the push starts, a till on another thread sells on the same handle;
  // the sync goes on once the sale is committed.
  struct Till {
    SyncedStore* store;
    Reply sale;
    bool sold = false;
  } till{&a, {}, false};
  const auto sell_once = +[](void* self, const char* stage, int64_t done, int64_t) {
    auto* t = static_cast<Till*>(self);
    if (t->sold || std::string_view(stage) != "push" || done != 0) return;
    t->sold = true;
    std::thread([t] { t->sale = t->store->store->commit(cart("B-1", "bob", {3000})); }).join();
  };
  char* answer = nullptr;
  const auto status = plugin_api().sync(a.store->raw(), "{}", 2, sell_once, &till, &answer);
  const json first = json::parse(answer != nullptr ? answer : "null", nullptr, false);
  plugin_api().free_buffer(answer);
  REQUIRE_MESSAGE(status == REFPOS_OK, plugin_api().last_error(a.store->raw()));
  REQUIRE(till.sold);
  REQUIRE(till.sale.status == REFPOS_OK);
  // What the push counted at its start went up, and nothing after it.
  CHECK(first["pushed"] == to_send);
  CHECK(first["acked_seq"] == to_send);

  const auto last = till.sale.body["events"]["last_seq"].get<std::int64_t>();
  REQUIRE(last > to_send);
  auto second = a.sync();
  REQUIRE_MESSAGE(second.status == REFPOS_OK, second.message);
  // The sale's events, and what the first sync itself recorded after it.
  CHECK(second.body["acked_seq"].get<std::int64_t>() >= last);
  CHECK(second.body["pushed"] == second.body["acked_seq"].get<std::int64_t>() - to_send);
  CHECK(audit_store(a.data(), "store-a").empty());
}

TEST_CASE("sync: a rule set published by an admin reaches the store, signed; a wrong key installs nothing") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  json rules = default_rules();
  rules["version"] = 2;
  rules["referee"]["percent_off_bp"] = 3000;
  TlsClient admin(hq.port(), chain.admin);
  REQUIRE(admin.handshake_ok());
  auto published = admin.request("POST", "/v1/admin/rules", rules.dump());
  REQUIRE(published.has_value());
  REQUIRE_MESSAGE(published->status == 200, published->body);

  // A store pinning another head office's key refuses the rule set whole.
  const auto stranger = *refpos::crypto::ed25519_generate();
  SyncedStore wary("store-b", chain.store_b, hq.port(), stranger.public_hex);
  auto refused = wary.sync();
  CHECK(refused.status == REFPOS_E_BAD_REQUEST);
  CHECK(refused.message.find("not signed by this chain's head office") != std::string::npos);
  auto still = wary.store->preview(cart("P-0", "carol", {10000}));
  REQUIRE(still.status == REFPOS_OK);

  SyncedStore a("store-a", chain.store_a, hq.port());
  auto synced = a.sync();
  REQUIRE_MESSAGE(synced.status == REFPOS_OK, synced.message);
  CHECK(synced.body["rules_version"] == 2);
  // The new rules are in force on the same handle, and after a reopen.
  const std::string code = issued_code(a.store->commit(cart("A-1", "alice", {5000})));
  auto preview = a.store->preview(with_code(cart("P-1", "dan", {10000}), code));
  REQUIRE(preview.status == REFPOS_OK);
  CHECK(preview.body["discount_minor"] == 3000);
  a.store.reset();
  a.store = std::make_unique<StoreHandle>(a.config);
  preview = a.store->preview(with_code(cart("P-2", "dan", {10000}), code));
  CHECK(preview.body["discount_minor"] == 3000);
}

TEST_CASE("sync: a store certificate pushing as another store is refused and nothing moves") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  // Store B's folder presenting store A's certificate.
  SyncedStore impostor("store-b", chain.store_a, hq.port());
  REQUIRE(impostor.store->commit(cart("B-1", "erin", {5000})).status == REFPOS_OK);
  auto refused = impostor.sync();
  CHECK(refused.status == REFPOS_E_STORAGE);
  CHECK(refused.message.find("403") != std::string::npos);
  // Its mark did not move: a correct certificate later sends everything.
  SyncedStore b("store-b", chain.store_b, hq.port());
  REQUIRE(b.store->commit(cart("B-1", "erin", {5000})).status == REFPOS_OK);
  auto ok = b.sync();
  REQUIRE_MESSAGE(ok.status == REFPOS_OK, ok.message);
  CHECK(ok.body["pushed"].get<std::int64_t>() > 0);
}

TEST_CASE("sync: without a sync section the call says so; an unreachable head office is a storage error") {
  TempDir dir;
  StoreHandle plain(default_config(dir.str()));
  char* answer = nullptr;
  CHECK(plugin_api().sync(plain.raw(), "{}", 2, nullptr, nullptr, &answer) == REFPOS_E_CONFIG);
  plugin_api().free_buffer(answer);
  CHECK(std::string(plugin_api().last_error(plain.raw())).find("no \"sync\" section") !=
        std::string::npos);

  const TestChain& chain = TestChain::get();
  std::uint16_t closed_port = 0;
  {
    HqProcess hq;
    closed_port = hq.port();
  }
  SyncedStore a("store-a", chain.store_a, closed_port);
  REQUIRE(a.store->commit(cart("A-1", "alice", {5000})).status == REFPOS_OK);
  auto down = a.sync();
  CHECK(down.status == REFPOS_E_STORAGE);
  CHECK(down.message.find("cannot connect") != std::string::npos);
  // The till still sells while head office is away.
  CHECK(a.store->commit(cart("A-2", "amy", {5000})).status == REFPOS_OK);
}

TEST_CASE("sync: the redeeming store syncs before the issuing one; head office credits the owner when it learns them") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  SyncedStore a("store-a", chain.store_a, hq.port());
  SyncedStore b("store-b", chain.store_b, hq.port());
  const std::string code = issued_code(a.store->commit(cart("A-1", "alice", {5000})));
  REQUIRE(b.store->commit(with_code(cart("B-1", "bob", {8000}), code)).status == REFPOS_OK);
  // Head office hears of the reward first, with no owner for the code yet.
  auto early = b.sync();
  REQUIRE_MESSAGE(early.status == REFPOS_OK, early.message);
  CHECK(early.body["wallets"] == 0);
  auto late = a.sync();
  REQUIRE_MESSAGE(late.status == REFPOS_OK, late.message);
  CHECK(a.wallet("alice")["balance_minor"] == 1000);
  // B learns of alice through the reward and sees the same balance.
  REQUIRE(b.sync().status == REFPOS_OK);
  CHECK(b.wallet("alice")["balance_minor"] == 1000);
  // B voids the sale: head office takes the reward back everywhere.
  auto voided = b.store->reverse({{"reversal_id", "R-1"}, {"txn_id", "B-1"}, {"kind", "void"},
                                  {"terminal_id", "till-1"}});
  REQUIRE(voided.status == REFPOS_OK);
  REQUIRE(b.sync().status == REFPOS_OK);
  REQUIRE(a.sync().status == REFPOS_OK);
  CHECK(a.wallet("alice")["balance_minor"] == 0);
  CHECK(b.wallet("alice")["balance_minor"] == 0);
}

TEST_CASE("sync: rewards held by a fraud rule are released or forfeited by head office at the next sync") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  SyncedStore a("store-a", chain.store_a, hq.port());
  // One redemption per terminal per hour; more are accepted, their referrer
  // reward held for review (docs/rules.md, "fraud").
  a.store.reset();
  a.config["rules"]["fraud"] = {{"velocity", json::array({{{"scope", "terminal"}, {"max", 1},
                                                            {"window_minutes", 60}, {"action", "hold"}}})}};
  a.store = std::make_unique<StoreHandle>(a.config);

  const std::string code = issued_code(a.store->commit(cart("A-1", "alice", {5000})));
  REQUIRE(a.store->commit(with_code(cart("A-2", "bob", {5000}), code)).status == REFPOS_OK);
  for (const char* txn : {"A-3", "A-4"}) {
    auto held = a.store->commit(with_code(cart(txn, std::string("friend-") + txn, {5000}), code));
    REQUIRE(held.status == REFPOS_OK);
    REQUIRE(held.body["redemption"]["referrer_reward"]["held"] == true);
  }
  CHECK(a.wallet("alice")["held_minor"] == 2000);
  REQUIRE(a.sync().status == REFPOS_OK);

  TlsClient admin(hq.port(), chain.admin);
  REQUIRE(admin.handshake_ok());
  const auto decide = [&](const char* txn, const char* decision) {
    auto r = admin.request("POST", "/v1/admin/holds",
                           json{{"store_id", "store-a"}, {"txn_ids", {txn}}, {"decision", decision}}.dump());
    REQUIRE(r.has_value());
    return *r;
  };
  CHECK(decide("A-2", "release").status == 404);  // never held
  REQUIRE(decide("A-3", "release").status == 200);
  REQUIRE(decide("A-4", "forfeit").status == 200);

  auto applied = a.sync();
  REQUIRE_MESSAGE(applied.status == REFPOS_OK, applied.message);
  CHECK(refpos::test::validate(schema("sync.answer"), applied.body).empty());
  CHECK(applied.body["hold_decisions"] == 2);
  auto w = a.wallet("alice");
  CHECK(w["held_minor"] == 0);
  CHECK(w["balance_minor"] == 2000);  // A-2's reward and A-3's, released
  CHECK(store_sql_int(a.data(), "SELECT count(*) FROM events WHERE type = 'hold_released'") == 1);
  CHECK(store_sql_int(a.data(), "SELECT count(*) FROM events WHERE type = 'hold_forfeited'") == 1);

  // Applied once: the next sync pushes the store's records of it and
  // changes nothing else.
  auto again = a.sync();
  REQUIRE(again.status == REFPOS_OK);
  CHECK(again.body["hold_decisions"] == 0);
  CHECK(a.wallet("alice")["balance_minor"] == 2000);

  // Refunds after the decision take back what is there: the released
  // reward from the balance, the forfeited one not a second time.
  for (const char* txn : {"A-3", "A-4"}) {
    auto refund = a.store->reverse({{"reversal_id", std::string("R-") + txn}, {"txn_id", txn},
                                    {"kind", "refund"}, {"terminal_id", "till-1"}});
    REQUIRE_MESSAGE(refund.status == REFPOS_OK, refund.text);
  }
  w = a.wallet("alice");
  CHECK(w["held_minor"] == 0);
  CHECK(w["balance_minor"] == 1000);
  CHECK(audit_store(a.data(), "store-a").empty());
  REQUIRE(a.sync().status == REFPOS_OK);
  TlsClient check(hq.port(), chain.admin);
  REQUIRE(check.handshake_ok());
  auto status = check.request("GET", "/v1/status?store_id=store-a");
  REQUIRE(status.has_value());
  CHECK(json::parse(status->body)["fold_backlog"] == 0);
}

TEST_CASE("sync: contact keys go to head office; forgetting there reaches every store and keeps the money") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  SyncedStore a("store-a", chain.store_a, hq.port());
  SyncedStore b("store-b", chain.store_b, hq.port());
  const std::string code = issued_code(a.store->commit(cart("A-1", "alice", {5000})));
  const json contact = {{"customer_id", "alice"}, {"channel", "email"},
                        {"address", "alice.moreau@example.com"}, {"name", "Alice Moreau"},
                        {"consent", true}, {"terminal_id", "till-1"}};
  auto consented = call_op(*a.store, "contact", contact);
  REQUIRE_MESSAGE(consented.status == REFPOS_OK, consented.text);
  CHECK(refpos::test::validate(schema("contact.answer"), consented.body).empty());
  REQUIRE(call_op(*a.store, "lead", json{{"lead_id", "L-1"}, {"customer_id", "alice"},
                                         {"friend_name", "Sam Okafor"},
                                         {"friend_contact", "+44 20 7946 0000"},
                                         {"consent", true}, {"terminal_id", "till-1"}})
              .status == REFPOS_OK);
  REQUIRE(b.store->commit(with_code(cart("B-1", "bob", {8000}), code)).status == REFPOS_OK);

  auto synced = a.sync();
  REQUIRE_MESSAGE(synced.status == REFPOS_OK, synced.message);
  CHECK(refpos::test::validate(schema("sync.answer"), synced.body).empty());
  CHECK(synced.body["keys_uploaded"] == 1);
  REQUIRE(b.sync().status == REFPOS_OK);
  CHECK(a.sync().body["keys_uploaded"] == 0);  // sent once
  const std::string hq_db = hq.database();
  CHECK(sql_int_in_file(hq_db, "SELECT count(*) FROM pii_keys WHERE store_id = 'store-a' AND subject = 'alice'") == 1);
  // Head office holds the contact only sealed: no address, no name in its log.
  for (const char* plain : {"alice.moreau@", "Alice Moreau", "7946", "Okafor"}) {
    CAPTURE(plain);
    CHECK(sql_int_in_file(hq_db, std::string("SELECT count(*) FROM events WHERE instr(body, '") + plain +
                                     "') > 0") == 0);
  }
  const std::int64_t balance = a.wallet("alice")["balance_minor"].get<std::int64_t>();
  REQUIRE(balance > 0);
  // With the keys, head office can thank Alice (her friend redeemed at B)
  // and follow up her lead, on the channels they agreed to.
  using refpos::report::ExportKind;
  const auto thanks = chain_export(hq_db, ExportKind::thanks);
  REQUIRE(thanks.messages.size() == 1);
  CHECK(thanks.messages[0].recipient_id == "alice");
  CHECK(thanks.messages[0].to == "alice.moreau@example.com");
  CHECK(thanks.messages[0].body.find("Alice") != std::string::npos);
  const auto leads = chain_export(hq_db, ExportKind::leads);
  REQUIRE(leads.messages.size() == 1);
  CHECK(leads.messages[0].to == "+44 20 7946 0000");

  // The store's own routes: a key upload with a cursor from before a forget
  // keeps nothing (that store has not forgotten yet); a bad key is 400; an
  // admin does not upload keys.
  TlsClient admin(hq.port(), chain.admin);
  REQUIRE(admin.handshake_ok());
  const auto money_figures = [&] {
    TlsClient reader(hq.port(), chain.admin);
    REQUIRE(reader.handshake_ok());
    auto r = reader.request("GET", "/v1/reports/referrals?from=2026-01-01&to=2026-01-02&format=json");
    REQUIRE(r.has_value());
    REQUIRE(r->status == 200);
    const json doc = json::parse(r->body);
    return json{doc["codes"], doc["revenue"], doc["rewards"], doc["top_referrers"]};
  };
  const json figures_before = money_figures();
  CHECK(figures_before[0]["redemptions"] == 1);
  auto forgot = admin.request("POST", "/v1/admin/forget", json{{"customer_id", "alice"}}.dump());
  REQUIRE(forgot.has_value());
  REQUIRE_MESSAGE(forgot->status == 200, forgot->body);
  CHECK(json::parse(forgot->body)["keys_removed"] == 1);
  CHECK(sql_int_in_file(hq_db, "SELECT count(*) FROM pii_keys WHERE subject = 'alice'") == 0);
  // Forgotten at once at head office: no export names her or her lead.
  CHECK(chain_export(hq_db, ExportKind::thanks).messages.empty());
  CHECK(chain_export(hq_db, ExportKind::leads).messages.empty());
  {
    TlsClient store(hq.port(), chain.store_a);
    REQUIRE(store.handshake_ok());
    const std::string key(64, 'a');
    auto stale = store.request("POST", "/v1/pii_keys",
                               json{{"cursor", 0}, {"keys", {{{"subject", "alice"}, {"key_hex", key}}}}}.dump());
    REQUIRE(stale.has_value());
    REQUIRE_MESSAGE(stale->status == 200, stale->body);
    CHECK(json::parse(stale->body)["skipped"] == 1);
    auto bad = store.request("POST", "/v1/pii_keys",
                             json{{"cursor", 0}, {"keys", {{{"subject", "x"}, {"key_hex", "zz"}}}}}.dump());
    REQUIRE(bad.has_value());
    CHECK(bad->status == 400);
    CHECK(bad->body.find("zz") == std::string::npos);  // what is wrong, never the key
  }
  auto by_admin = admin.request("POST", "/v1/pii_keys", json{{"cursor", 0}, {"keys", json::array()}}.dump());
  REQUIRE(by_admin.has_value());
  CHECK(by_admin->status == 403);
  CHECK(sql_int_in_file(hq_db, "SELECT count(*) FROM pii_keys WHERE subject = 'alice'") == 0);

  // Both stores forget her at their next sync; her money stays.
  for (SyncedStore* s : {&a, &b}) {
    auto applied = s->sync();
    REQUIRE_MESSAGE(applied.status == REFPOS_OK, applied.message);
    CHECK(applied.body["forgotten"] == 1);
    CHECK(store_sql_int(s->data(), "SELECT count(*) FROM pii_keys WHERE subject = 'alice'") == 0);
    CHECK(store_sql_int(s->data(), "SELECT count(*) FROM events WHERE type = 'customer_forgotten'"
                                   " AND json_extract(body, '$.by') = 'head_office'") == 1);
    CHECK(s->sync().body["forgotten"] == 0);
  }
  CHECK(store_sql_int(a.data(), "SELECT count(*) FROM leads WHERE sealed IS NOT NULL") == 0);
  CHECK(a.wallet("alice")["balance_minor"] == balance);
  CHECK(audit_store(a.data(), "store-a").empty());
  CHECK(money_figures() == figures_before);  // head office's money facts too

  // Forgotten at a till: head office drops its key and tells the other
  // stores, not the one where it was asked.
  REQUIRE(call_op(*b.store, "contact", json{{"customer_id", "bob"}, {"channel", "sms"},
                                            {"address", "+1 212 555 0100"}, {"consent", true},
                                            {"terminal_id", "till-1"}})
              .status == REFPOS_OK);
  REQUIRE(b.sync().body["keys_uploaded"] == 1);
  CHECK(sql_int_in_file(hq_db, "SELECT count(*) FROM pii_keys WHERE subject = 'bob'") == 1);
  REQUIRE(call_op(*b.store, "forget", json{{"customer_id", "bob"}, {"terminal_id", "office"}}).status ==
          REFPOS_OK);
  CHECK(b.sync().body["forgotten"] == 0);
  CHECK(sql_int_in_file(hq_db, "SELECT count(*) FROM pii_keys WHERE subject = 'bob'") == 0);
  CHECK(a.sync().body["forgotten"] == 1);
  CHECK(store_sql_int(a.data(), "SELECT count(*) FROM events WHERE type = 'customer_forgotten'"
                                " AND json_extract(body, '$.customer_id') = 'bob'") == 1);
}

TEST_CASE("sync: head office serves the chain's referral report to an admin, as HTML and JSON") {
  HqProcess hq;
  const TestChain& chain = TestChain::get();
  SyncedStore a("store-a", chain.store_a, hq.port());
  SyncedStore b("store-b", chain.store_b, hq.port());
  const std::string code = issued_code(a.store->commit(cart("A-1", "alice", {5000})));
  REQUIRE(b.store->commit(with_code(cart("B-1", "bob", {8000}), code)).status == REFPOS_OK);
  REQUIRE(a.sync().status == REFPOS_OK);
  REQUIRE(b.sync().status == REFPOS_OK);
  // What the report must count, from the stores' own files.
  const std::int64_t issued = store_sql_int(a.data(), "SELECT count(*) FROM events WHERE type = 'code_issued'") +
                              store_sql_int(b.data(), "SELECT count(*) FROM events WHERE type = 'code_issued'");
  REQUIRE(issued >= 1);

  TlsClient admin(hq.port(), chain.admin);
  REQUIRE(admin.handshake_ok());
  const std::string period = "from=2026-01-01&to=2026-01-02";
  auto json_report = admin.request("GET", "/v1/reports/referrals?" + period + "&format=json");
  REQUIRE(json_report.has_value());
  REQUIRE_MESSAGE(json_report->status == 200, json_report->body);
  CHECK(json_report->headers["content-type"] == "application/json");
  const json doc = json::parse(json_report->body);
  CHECK(doc["source"] == "head_office");
  CHECK(doc["store_id"].is_null());
  CHECK(doc["codes"]["issued"] == issued);
  CHECK(doc["codes"]["redemptions"] == 1);

  auto at_b = admin.request("GET", "/v1/reports/referrals?" + period + "&format=json&store_id=store-b");
  REQUIRE(at_b.has_value());
  REQUIRE(at_b->status == 200);
  CHECK(json::parse(at_b->body)["codes"]["redemptions"] == 1);

  auto html = admin.request("GET", "/v1/reports/referrals?" + period);
  REQUIRE(html.has_value());
  REQUIRE(html->status == 200);
  CHECK(html->headers["content-type"] == "text/html; charset=utf-8");
  CHECK(html->body.find("data-figure=\"codes.redemptions\" data-value=\"1\"") != std::string::npos);
  CHECK(html->body.find("<script") == std::string::npos);

  // Refused, each with a clear error.
  const auto status_of = [&](const std::string& target) {
    auto r = admin.request("GET", target);
    REQUIRE(r.has_value());
    return r->status;
  };
  CHECK(status_of("/v1/reports/referrals?from=2026-01-02&to=2026-01-01") == 400);  // reversed
  CHECK(status_of("/v1/reports/referrals?to=2026-01-02") == 400);                  // no from
  CHECK(status_of("/v1/reports/referrals?" + period + "&format=pdf") == 400);
  CHECK(status_of("/v1/reports/referrals?" + period + "&store_id=store-zz") == 404);
  TlsClient store(hq.port(), chain.store_a);
  REQUIRE(store.handshake_ok());
  auto forbidden = store.request("GET", "/v1/reports/referrals?" + period);
  REQUIRE(forbidden.has_value());
  CHECK(forbidden->status == 403);
}
