// refposctl hq migrate's library (tools/hq/migrate.hpp): a head office
// built on SQLite through the real Service, with events made by the
// plugin's own event log, moved into a database of the test process's
// throwaway PostgreSQL cluster, then served from there. Registered under
// hq.pg.* only (CMakeLists.txt): it needs the cluster.
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "codes/code.hpp"
#include "crypto/ed25519.hpp"
#include "hq/migrate.hpp"
#include "hq/pg_storage.hpp"
#include "hq/service.hpp"
#include "hq/sqlite_storage.hpp"
#include "pg_cluster.hpp"
#include "store/database.hpp"
#include "store/event_log.hpp"
#include "sync/protocol.hpp"
#include "store_log.hpp"
#include "temp_dir.hpp"

namespace refpos::hq {
namespace {

using json = nlohmann::json;

std::string fresh_database() {
  static int n = 0;
  return test::PgCluster::shared().create_database("migrate_" + std::to_string(++n));
}

// The first column of every row of `sql`, on a connection of its own.
std::vector<std::string> pg_column(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string error = ok ? "" : PQerrorMessage(conn);
  std::vector<std::string> out;
  for (int i = 0; ok && i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  PQfinish(conn);
  INFO(sql, ": ", error);
  REQUIRE(ok);
  return out;
}
std::int64_t pg_integer(const std::string& url, const std::string& sql) {
  return std::stoll(pg_column(url, sql).at(0));
}

std::vector<std::string> sqlite_column(const std::string& path, const std::string& sql) {
  auto db = store::Database::open(path);
  REQUIRE(db.ok());
  auto q = (*db)->query(sql.c_str());
  REQUIRE(q.ok());
  std::vector<std::string> out;
  while (*(*q)->step()) out.push_back((*q)->text(0));
  return out;
}

// Rows of every data table, as "table rows" lines (what must be empty
// after a refusal or a rollback, and equal after a migration).
std::string pg_data_rows(const std::string& url) {
  std::string out;
  for (const auto& t : pg_column(url,
                                 "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                 " AND tablename <> 'schema_migrations' ORDER BY 1")) {
    out += t + " " + pg_column(url, "SELECT count(*) FROM " + t).at(0) + "\n";
  }
  return out;
}

using testing::StoreLog;

// A head office (the real Service) on the storage given.
struct Office {
  explicit Office(Result<std::unique_ptr<Storage>> storage) {
    REQUIRE(storage.ok());
    auto keys = crypto::ed25519_generate();
    REQUIRE(keys.ok());
    service = std::make_unique<Service>(std::move(*storage),
                                        ServiceOptions{keys->private_hex, 500, ""}, clock);
  }
  Reply push(StoreLog& log, std::int64_t from, std::int64_t to) {
    return service->push_events({Caller::Role::store, log.id()}, log.batch(from, to));
  }
  // A store's pull, as the body it is sent.
  json pull(const std::string& store_id, std::int64_t cursor) {
    const Reply r = service->updates({Caller::Role::store, store_id}, cursor);
    INFO(r.body.dump());
    REQUIRE(r.status == 200);
    return r.body;
  }
  Reply admin(Reply (Service::*call)(const Caller&, std::string_view), const json& body) {
    return (service.get()->*call)({Caller::Role::admin, "ops"}, body.dump());
  }
  ManualClock clock{1'767'261'600'000};
  std::unique_ptr<Service> service;
};

Result<std::unique_ptr<Storage>> sqlite_storage(const std::string& path) {
  auto s = SqliteStorage::open(path);
  if (!s) return s.error();
  return std::unique_ptr<Storage>(std::move(*s));
}
Result<std::unique_ptr<Storage>> pg_storage(const std::string& url) {
  auto s = PgStorage::open(url);
  if (!s) return s.error();
  return std::unique_ptr<Storage>(std::move(*s));
}

json redeemed(const std::string& txn, const std::string& code, const std::string& referee,
              const std::string& referrer) {
  return {{"txn_id", txn},
          {"code", code},
          {"program", "friends"},
          {"customer_id", referee},
          {"discount_minor", 500},
          {"discount_kind", "amount_off"},
          {"referee_credit_minor", 0},
          {"currency", "EUR"},
          {"referrer_customer_id", referrer},
          {"flags", json::array()}};
}
json accrued(const std::string& customer, std::int64_t amount, const std::string& code,
             const std::string& txn, bool held = false) {
  return {{"customer_id", customer},
          {"side", "referrer"},
          {"kind", "store_credit"},
          {"amount", amount},
          {"currency", "EUR"},
          {"spendable_at_ms", 1'767'300'000'000},
          {"held", held},
          {"code", code},
          {"txn_id", txn}};
}
json registered(const std::string& customer) {
  return {{"customer_id", customer}, {"referred_by", nullptr}};
}

json demo_rules() {
  std::ifstream in(std::string(REFPOS_SOURCE_DIR) + "/assets/demo/store-config.json");
  REQUIRE(in.good());
  return json::parse(in).at("rules");
}

std::string key_hex(char digit) { return std::string(64, digit); }

// Three stores' logs and a head office on SQLite that has seen something of
// everything: pushes and folds, a code issued at one store and redeemed at
// another, a single-use code redeemed twice (a conflict), a held reward and
// its release, rules, code keys, revoked codes and a revoked store, contact
// keys, a forgotten customer, a fork refused, and a last push not folded yet.
struct SourceChain {
  explicit SourceChain(const test::TempDir& dir)
      : path((dir.path() / "hq.sqlite3").string()),
        a(dir, "store-a"),
        b(dir, "store-b"),
        c(dir, "store-c") {
    Office hq(sqlite_storage(path));
    a.add("customer_registered", registered("r-1"));
    a.add("code_issued", {{"customer_id", "r-1"}, {"code", "CODE1"}});
    a.add("code_redeemed", redeemed("t-a9", "CODE9", "f-1", "r-1"));
    a.add("reward_accrued", accrued("r-1", 500, "CODE9", "t-a9"));
    a.add("code_redeemed", redeemed("t-h", "CODE2", "f-2", "r-2"));
    a.add("reward_accrued", accrued("r-2", 300, "CODE2", "t-h", true));
    b.add("code_redeemed", redeemed("t-b1", "CODE1", "f-3", "r-1"));
    b.add("reward_accrued", accrued("r-1", 500, "CODE1", "t-b1"));
    b.add("code_redeemed", redeemed("t-b9", "CODE9", "f-1", "r-1"));
    b.add("reward_accrued", accrued("r-1", 500, "CODE9", "t-b9"));
    for (int i = 1; i <= 30; ++i)
      c.add("customer_registered", registered("c-" + std::to_string(i)));
    REQUIRE(hq.push(a, 1, 6).status == 200);
    REQUIRE(hq.push(b, 1, 4).status == 200);
    REQUIRE(hq.push(c, 1, 20).status == 200);
    mid_cursor = hq.pull("store-a", 0).at("cursor").get<std::int64_t>();

    REQUIRE(hq.admin(&Service::publish_rules, demo_rules()).status == 200);
    REQUIRE(hq.admin(&Service::put_code_key,
                     {{"id", 1}, {"secret_hex", key_hex('a')}, {"active", false}})
                .status == 200);
    REQUIRE(hq.admin(&Service::put_code_key,
                     {{"id", 2}, {"secret_hex", key_hex('b')}, {"active", true}})
                .status == 200);
    const codes::CodeKey key{1, std::vector<std::uint8_t>(32, 7)};
    REQUIRE(hq.admin(&Service::revoke, {{"codes", {codes::issue_with_nonce(key, 2000, 12345)}}})
                .status == 200);
    REQUIRE(hq.admin(&Service::revoke, {{"store_id", "store-9"}}).status == 200);
    REQUIRE(hq.admin(&Service::decide_holds,
                     {{"store_id", "store-a"}, {"txn_ids", {"t-h"}}, {"decision", "release"}})
                .status == 200);
    const sync::PiiKeyUpload keys{mid_cursor, {{"r-1", key_hex('1')}, {"f-1", key_hex('2')}}};
    REQUIRE(
        hq.service->put_pii_keys({Caller::Role::store, "store-a"}, sync::serialize_key_upload(keys))
            .status == 200);
    REQUIRE(hq.admin(&Service::forget, {{"customer_id", "f-1"}}).status == 200);

    // A fork from store-c: refused, recorded as an incident, store flagged.
    auto forked = c.read(21, 22);
    forked[1].hash[0] ^= 1;
    REQUIRE(hq.service
                ->push_events({Caller::Role::store, "store-c"},
                              sync::serialize_batch({"store-c", forked}))
                .status == 409);
    hq.pull("store-b", 0);
    // Pushed and acknowledged, not folded: the fold queue moves too.
    REQUIRE(hq.push(c, 21, 30).status == 200);
  }

  std::string path;
  StoreLog a;
  StoreLog b;
  StoreLog c;
  std::int64_t mid_cursor = 0;
};

TEST_CASE("a head office migrated from SQLite to PostgreSQL is whole, and its stores cannot tell") {
  test::TempDir dir;
  SourceChain chain(dir);
  const std::string url = fresh_database();
  std::int64_t copy_calls = 0;
  std::int64_t verify_last = 0;
  const auto progress = [&](std::string_view stage, std::int64_t done, std::int64_t) {
    if (stage == "copy") ++copy_calls;
    if (stage == "verify") verify_last = done;
  };
  auto migrated = migrate_sqlite_to_postgres({chain.path, url, progress});
  REQUIRE_MESSAGE(migrated.ok(), (migrated.ok() ? "" : migrated.error().describe()));
  const MigrateSummary& summary = *migrated;

  // Every table, none of them empty in this chain, row for row.
  const auto sqlite_count = [&](const std::string& t) {
    return std::stoll(sqlite_column(chain.path, "SELECT count(*) FROM " + t).at(0));
  };
  CHECK(summary.tables.size() == 17);
  for (const auto& t : summary.tables) {
    INFO(t.table);
    CHECK(t.rows > 0);
    CHECK(t.rows == sqlite_count(t.table));
    CHECK(t.rows == pg_integer(url, "SELECT count(*) FROM " + t.table));
  }
  CHECK(summary.stores == 4);  // a, b, c and the revoked store-9
  CHECK(summary.chains_verified == 4);
  CHECK(summary.events == 6 + 4 + 30);
  CHECK(summary.last_change ==
        std::stoll(sqlite_column(chain.path, "SELECT last FROM changes").at(0)));
  CHECK(pg_integer(url, "SELECT last FROM changes") == summary.last_change);
  CHECK(copy_calls > 0);
  CHECK(verify_last == summary.events);
  // The keys that made codes already issued came along, secrets and all.
  CHECK(
      pg_column(url,
                "SELECT id || ':' || secret_hex || ':' || active FROM code_keys ORDER BY id") ==
      sqlite_column(chain.path,
                    "SELECT id || ':' || secret_hex || ':' || active FROM code_keys ORDER BY id"));

  // Every store pulls the same answer from both, from the start and from
  // a cursor it held; the file itself was only read.
  Office on_sqlite(sqlite_storage(chain.path));
  Office on_pg(pg_storage(url));
  std::map<std::string, json> from_start;
  for (const char* store : {"store-a", "store-b", "store-c"}) {
    for (const std::int64_t cursor : {std::int64_t{0}, chain.mid_cursor}) {
      INFO(store, " from ", cursor);
      const json answer = on_pg.pull(store, cursor);
      CHECK(answer == on_sqlite.pull(store, cursor));
      if (cursor == 0) from_start[store] = answer;
    }
  }
  // Answers with something in them: rules, both keys, the revocations, the
  // decision, the forgotten customer, the conflict and a wallet.
  const json& at_a = from_start["store-a"];
  CHECK(at_a.at("rules").is_object());
  CHECK(at_a.at("code_keys").size() == 2);
  CHECK(at_a.at("revoked_codes").size() == 1);
  CHECK(at_a.at("revoked_stores") == json::array({"store-9"}));
  CHECK(at_a.at("hold_decisions").size() == 1);
  CHECK(at_a.at("forgotten") == json::array({"f-1"}));
  CHECK(from_start["store-b"].at("conflicts").size() == 1);
  CHECK_FALSE(from_start["store-b"].at("wallets").empty());
  // The next push continues each chain, and what it folds gets the next ids.
  chain.a.add("code_redeemed", redeemed("t-a10", "CODE1", "f-4", "r-1"));
  chain.a.add("reward_accrued", accrued("r-1", 500, "CODE1", "t-a10"));
  const Reply pushed_pg = on_pg.push(chain.a, 7, 8);
  const Reply pushed_sqlite = on_sqlite.push(chain.a, 7, 8);
  CHECK(pushed_pg.status == 200);
  CHECK(pushed_pg.body == pushed_sqlite.body);
  CHECK(on_pg.pull("store-b", chain.mid_cursor) == on_sqlite.pull("store-b", chain.mid_cursor));
  const std::string ledger =
      "SELECT entry_id || ' ' || customer_id || ' ' || amount FROM ledger ORDER BY entry_id";
  CHECK(pg_column(url, ledger) == sqlite_column(chain.path, ledger));
}

TEST_CASE("a migration into a database that holds data is refused and leaves it as it was") {
  test::TempDir dir;
  SourceChain chain(dir);
  const std::string url = fresh_database();
  {
    Office used(pg_storage(url));
    REQUIRE(used.admin(&Service::put_code_key,
                       {{"id", 3}, {"secret_hex", key_hex('c')}, {"active", true}})
                .status == 200);
  }
  const std::string before = pg_data_rows(url);
  auto migrated = migrate_sqlite_to_postgres({chain.path, url, {}});
  REQUIRE_FALSE(migrated.ok());
  CHECK(migrated.error().reason == "target_not_empty");
  CHECK(migrated.error().message.find("code_keys") != std::string::npos);
  CHECK(pg_data_rows(url) == before);
  CHECK(pg_integer(url, "SELECT count(*) FROM events") == 0);

  // A database of something else entirely: refused before any table is made.
  const std::string other = fresh_database();
  pg_column(other, "CREATE TABLE invoices (id integer)");
  auto foreign = migrate_sqlite_to_postgres({chain.path, other, {}});
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().reason == "target_foreign");
  CHECK(pg_column(other, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") ==
        std::vector<std::string>{"invoices"});
}

TEST_CASE("the migration copies the schema version refpos-hq makes") {
  // kSourceSchemaVersion is SqliteStorage's: a file refpos-hq makes is at it.
  test::TempDir dir;
  const std::string path = (dir.path() / "new.sqlite3").string();
  REQUIRE(SqliteStorage::open(path).ok());
  CHECK(std::stoll(sqlite_column(path, "PRAGMA user_version").at(0)) == kSourceSchemaVersion);
}

TEST_CASE("a migration from a file that is not a head office at the latest schema is refused") {
  test::TempDir dir;
  const std::string url = fresh_database();
  std::string path;
  std::string reason;
  std::string says;
  StoreLog log(dir, "store-a");
  log.add("customer_registered", registered("r-1"));
  SUBCASE("a store's event log") {
    path = log.path();
    reason = "not_head_office";
    says = "store's refpos.db";
  }
  SUBCASE("a file that is not SQLite") {
    path = (dir.path() / "notes.txt").string();
    std::ofstream(path) << "not a database, not even close, but long enough to be read as one\n";
    reason = "not_head_office";
    says = "not a SQLite database";
  }
  SUBCASE("no file") {
    path = (dir.path() / "missing.sqlite3").string();
    reason = "not_head_office";
    says = "is not a file";
  }
  SUBCASE("a head office at an older schema version") {
    path = (dir.path() / "old.sqlite3").string();
    REQUIRE(SqliteStorage::open(path).ok());
    auto db = store::Database::open(path);
    REQUIRE(db.ok());
    const std::string older = "PRAGMA user_version = " + std::to_string(kSourceSchemaVersion - 1);
    REQUIRE((*db)->exec(older.c_str()).ok());
    reason = "schema_too_old";
    says = "start refpos-hq on it once";
  }
  auto migrated = migrate_sqlite_to_postgres({path, url, {}});
  REQUIRE_FALSE(migrated.ok());
  CHECK(migrated.error().reason == reason);
  CHECK_MESSAGE(migrated.error().message.find(says) != std::string::npos, migrated.error().message);
  CHECK(pg_integer(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0);
}

TEST_CASE(
    "a migration whose target does not hold what was sent is rolled back and leaves it empty") {
  test::TempDir dir;
  SourceChain chain(dir);
  const std::string url = fresh_database();
  REQUIRE(PgStorage::open(url).ok());  // the schema, for the trigger to sit on
  std::string says;
  SUBCASE("a hash altered on its way in") {
    pg_column(url, R"sql(
CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.store_id = 'store-b' AND NEW.seq = 2 THEN
    NEW.hash := set_byte(NEW.hash, 0, get_byte(NEW.hash, 0) # 1);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER tamper BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION tamper())sql");
    says = "store store-b seq 2";
  }
  SUBCASE("a ledger row dropped on its way in") {
    pg_column(url, R"sql(
CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.entry_id = 2 THEN RETURN NULL; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER tamper BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION tamper())sql");
    says = "table ledger";
  }
  auto migrated = migrate_sqlite_to_postgres({chain.path, url, {}});
  REQUIRE_FALSE(migrated.ok());
  CHECK(migrated.error().reason == "verify_failed");
  CHECK_MESSAGE(migrated.error().message.find(says) != std::string::npos, migrated.error().message);
  for (const auto& t : pg_column(url,
                                 "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                 " AND tablename NOT IN ('schema_migrations', 'changes')")) {
    INFO(t);
    CHECK(pg_integer(url, "SELECT count(*) FROM " + t) == 0);
  }
  CHECK(pg_integer(url, "SELECT last FROM changes") == 0);
}

TEST_CASE(
    "a migration to an unreachable PostgreSQL is a clear error that never shows the password") {
  test::TempDir dir;
  SourceChain chain(dir);
  // Port 1: nothing listens there, the connection is refused at once.
  auto migrated =
      migrate_sqlite_to_postgres({chain.path, "postgresql://refpos:s3cret-pw@127.0.0.1:1/hq", {}});
  REQUIRE_FALSE(migrated.ok());
  CHECK(migrated.error().kind == ErrorKind::storage);
  CHECK(migrated.error().reason == "unavailable");
  CHECK(migrated.error().message.find("s3cret-pw") == std::string::npos);
  CHECK_MESSAGE(migrated.error().message.find("refpos:***@127.0.0.1:1") != std::string::npos,
                migrated.error().message);
  // A server that answers and refuses: a configuration to fix, not an outage.
  auto refused = migrate_sqlite_to_postgres(
      {chain.path, test::PgCluster::shared().url("no_such_database"), {}});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().reason == "refused");
  CHECK_MESSAGE(refused.error().message.find("no_such_database") != std::string::npos,
                refused.error().message);
}

}  // namespace
}  // namespace refpos::hq
