// What only the PostgreSQL back end has: the write lock shared across
// connections, losing the server mid-transaction, and keeping the password
// out of every message. Registered under hq.pg.* only (CMakeLists.txt);
// the service tests cover the rest on both back ends.
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <thread>

#include "hq/pg_copy.hpp"
#include "hq/pg_storage.hpp"
#include "pg_cluster.hpp"

namespace refpos::hq {
namespace {

std::string fresh_database() {
  static int n = 0;
  return test::PgCluster::shared().create_database("pg_storage_" + std::to_string(++n));
}

// Runs `sql` on a connection of its own.
void run_sql(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(conn);
  REQUIRE(ok);
}

TEST_CASE("a database URL's password is redacted wherever it is written") {
  CHECK(redact_conninfo("postgresql://user:secret@host/db") == "postgresql://user:***@host/db");
  CHECK(redact_conninfo("postgres://user:s%40cret@host:5433/db?sslmode=require") ==
        "postgres://user:***@host:5433/db?sslmode=require");
  CHECK(redact_conninfo("postgresql://user@host:5432/db") == "postgresql://user@host:5432/db");
  CHECK(redact_conninfo("postgresql://host/db?user=u&password=secret&sslmode=verify-full") ==
        "postgresql://host/db?user=u&password=***&sslmode=verify-full");
  CHECK(redact_conninfo("postgresql:///db?password=secret") == "postgresql:///db?password=***");
  CHECK(redact_conninfo("host=h password=secret dbname=d") == "host=h password=*** dbname=d");
  CHECK(redact_conninfo("host=h password = 'se cret' dbname=d") == "host=h password = *** dbname=d");
}

TEST_CASE("a server that cannot be reached is an error that never shows the password") {
  auto s = PgStorage::open("postgresql://refpos:s3cret-pw@/hq?host=/nonexistent-refpos-socket");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::storage);
  CHECK(s.error().reason == "unavailable");
  CHECK(s.error().message.find("s3cret-pw") == std::string::npos);
  CHECK(s.error().message.find("refpos:***@") != std::string::npos);
}

TEST_CASE("a connection lost mid-transaction is an error, rolls back, and the next write reconnects") {
  const std::string url = fresh_database();
  auto opened = PgStorage::open(url);
  REQUIRE(opened.ok());
  PgStorage& s = **opened;
  const auto st = s.write([&]() -> Status {
    auto first = s.next_change();
    REQUIRE(first.ok());
    // As a server restart does to every session.
    run_sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    auto second = s.next_change();
    if (!second) return second.error();
    return ok_status();
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().reason == "unavailable");
  CHECK(s.write([&]() -> Status { return s.next_change().ok() ? ok_status() : Status(Error{}); }).ok());
  CHECK(*s.current_change() == 1);  // the lost transaction's change is not there
}

TEST_CASE("a server restart between transactions costs nothing: reads and writes reconnect") {
  auto opened = PgStorage::open(fresh_database());
  REQUIRE(opened.ok());
  PgStorage& s = **opened;
  auto background = s.open_another();
  REQUIRE(background.ok());
  const auto one_change = [](Storage& storage) {
    return storage.write([&]() -> Status {
      auto c = storage.next_change();
      if (!c) return c.error();
      return ok_status();
    });
  };
  REQUIRE(one_change(s).ok());
  test::PgCluster::shared().restart();
  CHECK(*s.current_change() == 1);  // a read outside a transaction
  CHECK(one_change(s).ok());
  CHECK(one_change(**background).ok());  // its session settings come back with it
  CHECK(*s.current_change() == 3);
}

TEST_CASE("a database down at start: calls fail as unavailable until it is up, then it connects and migrates") {
  const std::string url = fresh_database();  // created, never migrated
  test::PgCluster& cluster = test::PgCluster::shared();
  cluster.stop_server();
  struct Up {  // back up even if a check throws
    test::PgCluster& c;
    bool down = true;
    ~Up() {
      if (down) c.start_server();
    }
  } up{cluster};
  CHECK(PgStorage::open(url).error().reason == "unavailable");  // the strict open still refuses
  auto s = PgStorage::open_when_available(url);
  const auto one_change = [](Storage& storage) {
    return storage.write([&]() -> Status {
      auto c = storage.next_change();
      if (!c) return c.error();
      return ok_status();
    });
  };
  const auto down = one_change(*s);
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().kind == ErrorKind::storage);
  CHECK(down.error().reason == "unavailable");
  CHECK(s->current_change().error().reason == "unavailable");
  auto background = s->open_another();  // connects later too
  REQUIRE(background.ok());
  CHECK((*background)->fold_backlog().error().reason == "unavailable");

  cluster.start_server();
  up.down = false;
  CHECK(one_change(*s).ok());  // connected, and the schema made first
  CHECK(*s->current_change() == 1);
  CHECK(*(*background)->fold_backlog() == 0);
  CHECK(one_change(**background).ok());
  CHECK(*s->current_change() == 2);
}

TEST_CASE("a server that answers and refuses the connection is a configuration error, not an outage") {
  const std::string url = test::PgCluster::shared().url("no_such_database");
  auto s = PgStorage::open(url);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().reason == "refused");
  CHECK(s.error().message.find("no_such_database") != std::string::npos);
}

TEST_CASE("COPY text format: the four special characters escaped, runs between them kept, integers and bytea") {
  std::string out;
  pg_copy::append_text(out, "plain");
  CHECK(out == "plain");
  out.clear();
  pg_copy::append_text(out, "a\\b\tc\nd\re\\");
  CHECK(out == "a\\\\b\\tc\\nd\\re\\\\");
  out.clear();
  pg_copy::append_text(out, "");
  pg_copy::append_integer(out, -9'007'199'254'740'993);
  out += '\t';
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
  pg_copy::append_bytea(out, std::span<const std::uint8_t>(bytes));
  CHECK(out == "-9007199254740993\t\\\\x000fa0ff");
}

TEST_CASE("text with a NUL byte is refused, not cut short") {
  auto opened = PgStorage::open(fresh_database());
  REQUIRE(opened.ok());
  PgStorage& s = **opened;
  const auto st = s.write([&] { return s.touch_store(std::string("store\0a", 7), 1); });
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::bad_request);
  CHECK_FALSE(s.find_store("store")->has_value());
}

// The first column of the first row of `sql`, on a connection of its own.
std::string first_value(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
  const std::string value = ok ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(conn);
  REQUIRE(ok);
  return value;
}

TEST_CASE("a write sent behind that fails fails its transaction at the next read or at COMMIT") {
  const std::string url = fresh_database();
  auto opened = PgStorage::open(url);
  REQUIRE(opened.ok());
  PgStorage& s = **opened;
  const LedgerEntry good{"c-1", "store_credit", 100, 0, false, "store-1", "test:1"};
  LedgerEntry bad = good;
  bad.unit = "pebbles";  // refused by the table's CHECK
  const auto behind_then = [&](const std::function<Status()>& next) {
    return s.write([&]() -> Status {
      auto change = s.next_change();
      if (!change) return change.error();
      if (auto st = s.add_ledger_entry(good, *change); !st) return st;
      if (auto st = s.mark_store_customer("store-1", "c-1", *change); !st) return st;
      auto sent = s.add_ledger_entry(bad, *change);
      CHECK(sent.ok());  // sent, not answered yet
      if (auto st = s.set_code_owner("CODE1", "c-1", "store-1"); !st) return st;
      return next();
    });
  };
  for (const bool read_next : {true, false}) {
    CAPTURE(read_next);
    const auto st = behind_then([&]() -> Status {
      if (!read_next) return ok_status();  // COMMIT finds it
      auto owner = s.find_code_owner("CODE1");
      REQUIRE_FALSE(owner.ok());
      CHECK(owner.error().reason == "constraint");
      CHECK_FALSE(s.find_code_owner("CODE1").ok());  // the same error again
      auto later = s.find_store("store-1");
      REQUIRE_FALSE(later.ok());
      return later.error();
    });
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::storage);
    CHECK(st.error().reason == "constraint");
    CHECK(st.error().message.find("add_ledger_entry") != std::string::npos);
    for (const char* table : {"ledger", "store_customers", "code_owners"}) {
      CAPTURE(table);
      CHECK(first_value(url, std::string("SELECT count(*) FROM ") + table) == "0");
    }
    CHECK(*s.current_change() == 0);
  }
  // The connection goes on: the same writes without the bad one commit.
  REQUIRE(s.write([&]() -> Status {
             auto change = s.next_change();
             if (!change) return change.error();
             if (auto st = s.add_ledger_entry(good, *change); !st) return st;
             return s.mark_store_customer("store-1", "c-1", *change);
           }).ok());
  CHECK(first_value(url, "SELECT count(*) FROM ledger") == "1");
  CHECK(first_value(url, "SELECT count(*) FROM store_customers") == "1");
}

TEST_CASE("write transactions of two connections never interleave and the background one sees the other wait") {
  const std::string url = fresh_database();
  auto foreground = PgStorage::open(url);
  REQUIRE(foreground.ok());
  auto background = (*foreground)->open_another();
  REQUIRE(background.ok());
  Storage& bg = **background;
  std::int64_t bg_change = 0;
  std::int64_t fg_change = 0;
  std::thread other;
  const auto st = bg.write([&]() -> Status {
    bg_change = *bg.next_change();
    other = std::thread([&] {
      (void)(*foreground)->write([&]() -> Status {
        fg_change = *(*foreground)->next_change();
        return ok_status();
      });
    });
    // The foreground write waits for this transaction's lock.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool waiting = false;
    while (!waiting && std::chrono::steady_clock::now() < deadline) {
      waiting = bg.others_waiting();
      std::this_thread::yield();
    }
    CHECK(waiting);
    CHECK(fg_change == 0);
    return ok_status();
  });
  other.join();
  REQUIRE(st.ok());
  CHECK(bg_change == 1);
  CHECK(fg_change == 2);
  CHECK_FALSE((*foreground)->others_waiting());  // a foreground connection never gives way
}

}  // namespace
}  // namespace refpos::hq
