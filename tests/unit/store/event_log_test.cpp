// The event log on a real SQLite file: gap-free, append-only, hash-chained.
#include <doctest/doctest.h>

#include "store/store.hpp"
#include "temp_dir.hpp"

using namespace refpos;
using namespace refpos::store;

namespace {

std::unique_ptr<Store> open_store(const test::TempDir& dir) {
  auto s = Store::open(dir.str(), "store-001", "USD");
  REQUIRE(s.ok());
  return std::move(*s);
}

Status append_one(Store& store, int n) {
  auto tx = WriteTransaction::begin(store.db());
  if (!tx) return tx.error();
  auto e = store.append(1000 + n, 1, EventDraft{"test", {{"n", n}}});
  if (!e) return e.error();
  return (*tx)->commit();
}

}  // namespace

TEST_CASE("event log: sequence numbers are gap-free and a rollback takes its number back") {
  test::TempDir dir;
  auto store = open_store(dir);
  REQUIRE(append_one(*store, 1).ok());
  {
    auto tx = WriteTransaction::begin(store->db());
    REQUIRE(tx.ok());
    auto e = store->append(2000, 1, EventDraft{"test", {{"n", 2}}});
    REQUIRE(e.ok());
    CHECK(e->seq == 2);
    // no commit: rolled back
  }
  REQUIRE(append_one(*store, 3).ok());
  CHECK(*last_event_seq(store->db()) == 2);
  CHECK(verify_event_chain(store->db(), "store-001").value().empty());
}

TEST_CASE("event log: tampering with a stored event breaks the chain where it happened") {
  test::TempDir dir;
  auto store = open_store(dir);
  for (int i = 1; i <= 5; ++i) REQUIRE(append_one(*store, i).ok());
  REQUIRE(verify_event_chain(store->db(), "store-001").value().empty());
  // Someone with the file drops the guard and edits event 3.
  REQUIRE(store->db().exec("DROP TRIGGER events_append_only_update").ok());
  REQUIRE(store->db().exec("UPDATE events SET body = '{\"n\":300}' WHERE seq = 3").ok());
  CHECK(verify_event_chain(store->db(), "store-001").value() == "event 3: hash does not match its content");
}

TEST_CASE("event log: the hash covers every field, length-prefixed") {
  const Hash zero{};
  const auto h = event_hash(zero, 1, "s", "t", 5, 1, "{}");
  CHECK(h != event_hash(zero, 2, "s", "t", 5, 1, "{}"));
  CHECK(h != event_hash(zero, 1, "s2", "t", 5, 1, "{}"));
  CHECK(h != event_hash(zero, 1, "s", "t", 6, 1, "{}"));
  CHECK(h != event_hash(zero, 1, "s", "t", 5, 2, "{}"));
  // Moving a byte from one field to the next must change the hash.
  CHECK(event_hash(zero, 1, "ab", "c", 5, 1, "{}") != event_hash(zero, 1, "a", "bc", 5, 1, "{}"));
}

TEST_CASE("store: the schema migrates once and remembers whose file it is") {
  test::TempDir dir;
  { auto s = open_store(dir); }
  { auto s = open_store(dir); }  // reopen: no migration error
  auto other = Store::open(dir.str(), "store-002", "USD");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == ErrorKind::config);
}
