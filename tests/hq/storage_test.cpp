// The Storage interface itself (tools/hq/storage.hpp), on whichever back end
// REFPOS_TEST_BACKEND names (backend.hpp): what the service tests reach only
// indirectly. Registered for both back ends (CMakeLists.txt).
#include <doctest/doctest.h>

#include <numeric>
#include <stdexcept>

#include "backend.hpp"
#include "hq/storage.hpp"

namespace refpos::hq {
namespace {

std::unique_ptr<Storage> open_storage(const test::TempDir& dir) {
  auto s = test::HqDatabase(dir, "storage.db").open();
  REQUIRE(s.ok());
  return std::move(*s);
}

TEST_CASE("storage: hashes come back byte for byte, and a missing referrer stays missing") {
  test::TempDir dir;
  auto s = open_storage(dir);
  sync::WireEvent e;
  e.seq = 1;
  e.type = "code_redeemed";
  e.at_ms = 1'767'261'600'000;
  e.ruleset_version = 3;
  e.body = R"({"note":"caf\u00e9 \u2713"})";
  std::iota(e.prev_hash.begin(), e.prev_hash.end(), std::uint8_t{0});    // 00 01 .. 1f
  std::iota(e.hash.begin(), e.hash.end(), std::uint8_t{0xe0});           // e0 .. ff
  RedemptionRecord r;
  r.store_id = "store-a";
  r.txn_id = "t-1";
  r.code = "CODE1";
  r.seq = 1;
  r.referee_customer_id = "f-1";
  r.referrer_unit = "store_credit";
  REQUIRE(s->write([&]() -> Status {
    if (auto st = s->insert_event("store-a", e, 1); !st) return st;
    return s->insert_redemption(r);
  }).ok());
  auto back = s->find_event("store-a", 1);
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK(**back == e);
  auto found = s->find_redemption("store-a", "t-1");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK_FALSE((*found)->referrer_customer_id.has_value());
  CHECK((*found)->code == "CODE1");
}

TEST_CASE("storage: a push's events stored at once come back byte for byte, and a reused seq fails them all") {
  test::TempDir dir;
  auto s = open_storage(dir);
  // Bodies as a store may send them: JSON with escapes, and white space
  // between tokens that COPY's text format must carry (tab, LF, CR).
  const std::vector<std::string> bodies = {
      R"({"note":"back\\slash \"quoted\" \t tab escape"})", "{\t\"a\":\r\n1}", R"({"x":"\\N"})",
      R"({"note":"caf\u00e9 \u2713 {not,an,array}"})"};
  std::vector<sync::WireEvent> events;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    sync::WireEvent e;
    e.seq = static_cast<std::int64_t>(i) + 1;
    e.type = "txn_committed";
    e.at_ms = 1'767'261'600'000 + static_cast<std::int64_t>(i);
    e.ruleset_version = 2;
    e.body = bodies[i];
    std::iota(e.prev_hash.begin(), e.prev_hash.end(), static_cast<std::uint8_t>(i));
    std::iota(e.hash.begin(), e.hash.end(), static_cast<std::uint8_t>(0x80 + i));
    events.push_back(e);
  }
  REQUIRE(s->write([&] { return s->insert_events("store-a", events, 7); }).ok());
  auto back = s->events_between("store-a", 1, 4);
  REQUIRE(back.ok());
  CHECK(*back == events);
  // All or nothing: a batch that reuses seq 4 leaves seq 5 out too.
  std::vector<sync::WireEvent> again = {events[3], events[3]};
  again[1].seq = 5;
  CHECK_FALSE(s->write([&] { return s->insert_events("store-a", again, 8); }).ok());
  auto after = s->events_between("store-a", 1, 5);
  REQUIRE(after.ok());
  CHECK(after->size() == 4);
}

TEST_CASE("storage: a unit of work that fails or throws leaves nothing, and a nested write joins it") {
  test::TempDir dir;
  auto s = open_storage(dir);
  const auto failed = s->write([&]() -> Status {
    REQUIRE(s->next_change().ok());
    REQUIRE(s->touch_store("store-a", 5).ok());
    return make_error(ErrorKind::conflict, "", "changed my mind");
  });
  CHECK_FALSE(failed.ok());
  CHECK_THROWS_AS((void)s->write([&]() -> Status {
    REQUIRE(s->touch_store("store-b", 5).ok());
    throw std::runtime_error("a bug");
  }),
                  std::runtime_error);
  CHECK(*s->current_change() == 0);
  CHECK_FALSE(s->find_store("store-a")->has_value());
  CHECK_FALSE(s->find_store("store-b")->has_value());

  REQUIRE(s->write([&]() -> Status {
    auto outer = s->next_change();
    REQUIRE(outer.ok());
    return s->write([&]() -> Status { return s->touch_store("store-a", 7); });
  }).ok());
  CHECK(*s->current_change() == 1);
  CHECK((*s->find_store("store-a"))->last_seen_ms == 7);
}

TEST_CASE("storage: an event seq is held once, and the change counter only moves in a unit of work") {
  test::TempDir dir;
  auto s = open_storage(dir);
  sync::WireEvent e;
  e.seq = 1;
  e.type = "customer_registered";
  e.body = "{}";
  REQUIRE(s->write([&] { return s->insert_event("store-a", e, 1); }).ok());
  const auto again = s->write([&] { return s->insert_event("store-a", e, 2); });
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::storage);
  CHECK(again.error().reason == "constraint");
  std::int64_t first = 0;
  std::int64_t second = 0;
  REQUIRE(s->write([&]() -> Status {
    first = *s->next_change();
    second = *s->next_change();
    return ok_status();
  }).ok());
  CHECK(first == 1);
  CHECK(second == 2);
  CHECK(*s->current_change() == 2);
}

TEST_CASE("storage: contact-data keys are replaced and deleted per customer, and forgetting reaches all but the origin") {
  test::TempDir dir;
  auto s = open_storage(dir);
  std::vector<std::uint8_t> key(32, 0);
  key[31] = 0xff;  // zero and high bytes: binary-safe
  REQUIRE(s->write([&]() -> Status {
    if (auto st = s->put_pii_key("store-a", "c-1", key); !st) return st;
    if (auto st = s->put_pii_key("store-a", "c-1", key); !st) return st;  // replaced
    if (auto st = s->put_pii_key("store-b", "c-1", key); !st) return st;
    return s->put_pii_key("store-b", "c-2", key);
  }).ok());
  std::int64_t deleted = 0;
  REQUIRE(s->write([&]() -> Status {
    auto n = s->delete_pii_keys("c-1");
    if (!n) return n.error();
    deleted = *n;
    return ok_status();
  }).ok());
  CHECK(deleted == 2);

  CHECK_FALSE(s->forgotten_change("c-1")->has_value());
  REQUIRE(s->write([&]() -> Status {
    if (auto st = s->save_forgotten("c-1", "store-a", 100, 5); !st) return st;
    return s->save_forgotten("c-2", "", 110, 6);
  }).ok());
  CHECK(*s->forgotten_change("c-1") == std::optional<std::int64_t>(5));
  CHECK(*s->forgotten_since("store-a", 0) == std::vector<std::string>{"c-2"});
  CHECK(*s->forgotten_since("store-b", 0) == std::vector<std::string>{"c-1", "c-2"});
  CHECK(*s->forgotten_since("store-b", 5) == std::vector<std::string>{"c-2"});
  // Forgotten again (back, then asked again elsewhere): the new change.
  REQUIRE(s->write([&] { return s->save_forgotten("c-1", "store-b", 120, 7); }).ok());
  CHECK(*s->forgotten_since("store-a", 6) == std::vector<std::string>{"c-1"});
  CHECK(s->forgotten_since("store-b", 6)->empty());
}

}  // namespace
}  // namespace refpos::hq
