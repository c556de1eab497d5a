// The sync wire format (plugin/src/sync/protocol.cpp): round trips, and every
// refusal names its field.
#include <doctest/doctest.h>

#include <string>

#include "sync/protocol.hpp"

namespace refpos::sync {
namespace {

using json = nlohmann::json;

WireEvent event(std::int64_t seq) {
  WireEvent e;
  e.seq = seq;
  e.type = "code_issued";
  e.at_ms = 1767261600000 + seq;
  e.ruleset_version = 3;
  e.body = R"({"code":"ABC","customer_id":"c-1"})";
  e.prev_hash.fill(static_cast<std::uint8_t>(seq - 1));
  e.hash.fill(static_cast<std::uint8_t>(seq));
  return e;
}

json batch_json() {
  return json::parse(serialize_batch({"store-001", {event(4), event(5), event(6)}}));
}

std::string refusal_field(const json& doc) {
  auto parsed = parse_batch(doc.dump());
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().kind == ErrorKind::bad_request);
  return parsed.error().field;
}

TEST_CASE("a batch survives a round trip byte for byte") {
  const PushBatch batch{"store-001", {event(4), event(5)}};
  auto parsed = parse_batch(serialize_batch(batch));
  REQUIRE(parsed.ok());
  CHECK(parsed->store_id == "store-001");
  CHECK(parsed->events == batch.events);
}

TEST_CASE("a batch is refused with the field that is wrong") {
  json doc = batch_json();
  SUBCASE("seqs not contiguous") {
    doc["events"][2]["seq"] = 9;
    auto parsed = parse_batch(doc.dump());
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().describe() ==
          "events[2].seq: must be 6, got 9 (seqs are contiguous and ascending)");
  }
  SUBCASE("unknown member") {
    doc["events"][1]["extra"] = 1;
    CHECK(refusal_field(doc) == "events[1].extra");
  }
  SUBCASE("unknown top-level member") {
    doc["cursor"] = 1;
    CHECK(refusal_field(doc) == "cursor");
  }
  SUBCASE("hash not 64 hex digits") {
    doc["events"][0]["hash"] = std::string(64, 'g');
    CHECK(refusal_field(doc) == "events[0].hash");
  }
  SUBCASE("prev_hash too short") {
    doc["events"][1]["prev_hash"] = "abcd";
    CHECK(refusal_field(doc) == "events[1].prev_hash");
  }
  SUBCASE("body not a JSON object") {
    doc["events"][2]["body"] = "[1,2]";
    CHECK(refusal_field(doc) == "events[2].body");
  }
  SUBCASE("body not JSON") {
    doc["events"][2]["body"] = "{nope";
    CHECK(refusal_field(doc) == "events[2].body");
  }
  SUBCASE("body given as an object, not as its text") {
    doc["events"][0]["body"] = json::object();
    CHECK(refusal_field(doc) == "events[0].body");
  }
  SUBCASE("seq zero") {
    doc["events"][0]["seq"] = 0;
    CHECK(refusal_field(doc) == "events[0].seq");
  }
  SUBCASE("type missing") {
    doc["events"][0].erase("type");
    CHECK(refusal_field(doc) == "events[0].type");
  }
  SUBCASE("type too long") {
    doc["events"][0]["type"] = std::string(kMaxEventTypeBytes + 1, 'x');
    CHECK(refusal_field(doc) == "events[0].type");
  }
  SUBCASE("event not an object") {
    doc["events"][1] = 5;
    CHECK(refusal_field(doc) == "events[1]");
  }
  SUBCASE("no events") {
    doc["events"] = json::array();
    CHECK(refusal_field(doc) == "events");
  }
  SUBCASE("store_id missing") {
    doc.erase("store_id");
    CHECK(refusal_field(doc) == "store_id");
  }
  SUBCASE("at_ms a string") {
    doc["events"][0]["at_ms"] = "now";
    CHECK(refusal_field(doc) == "events[0].at_ms");
  }
}

TEST_CASE("a batch at the limits") {
  std::vector<WireEvent> events;
  for (std::int64_t s = 1; s <= static_cast<std::int64_t>(kMaxBatchEvents) + 1; ++s) {
    events.push_back(event(s));
  }
  auto over = parse_batch(serialize_batch({"s", events}));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().field == "events");
  events.pop_back();
  CHECK(parse_batch(serialize_batch({"s", events})).ok());

  WireEvent big = event(1);
  big.body = "{\"x\":\"" + std::string(kMaxEventBodyBytes, 'a') + "\"}";
  auto too_big = parse_batch(serialize_batch({"s", {big}}));
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().field == "events[0].body");

  const std::string huge(kMaxBodyBytes + 1, ' ');
  auto refused = parse_batch(huge);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("limit") != std::string::npos);
  CHECK_FALSE(parse_batch("[]").ok());
  CHECK_FALSE(parse_batch("\xff").ok());
}

TEST_CASE("an ack round-trips and refuses a negative seq") {
  auto ack = parse_ack(serialize_ack({41}));
  REQUIRE(ack.ok());
  CHECK(ack->acked_seq == 41);
  auto bad = parse_ack(R"({"acked_seq": -1})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().field == "acked_seq");
  CHECK(parse_ack(R"({"acked_seq": 1, "more": 2})").error().field == "more");
}

Updates full_updates() {
  Updates u;
  u.cursor = 1234;
  u.rules = SignedRules{4, json{{"schema", "refpos.rules/1"}}, std::string(128, 'a')};
  u.code_keys = std::vector<CodeKeyUpdate>{{1, std::string(32, 'b'), false},
                                           {2, std::string(64, 'c'), true}};
  u.revoked_codes = {"ABCDEFGH12345678"};
  u.revoked_stores = {"store-007"};
  u.wallets = {{"c-17", {{"store_credit", 1000, 1767261600000, false}, {"points", -5, 0, true}}}};
  u.conflicts = {{3, "ABCDEFGH12345678", "over_redeemed", "kept", {"t-1", "t-2"}}};
  return u;
}

TEST_CASE("updates survive a round trip") {
  const Updates u = full_updates();
  auto parsed = parse_updates(serialize_updates(u));
  REQUIRE(parsed.ok());
  CHECK(parsed->cursor == 1234);
  REQUIRE(parsed->rules);
  CHECK(parsed->rules->version == 4);
  CHECK(parsed->rules->document == u.rules->document);
  REQUIRE(parsed->code_keys);
  CHECK(parsed->code_keys->size() == 2);
  CHECK((*parsed->code_keys)[1].active);
  CHECK(parsed->revoked_stores == u.revoked_stores);
  REQUIRE(parsed->wallets.size() == 1);
  CHECK(parsed->wallets[0].entries[1].amount == -5);
  CHECK(parsed->wallets[0].entries[1].held);
  REQUIRE(parsed->conflicts.size() == 1);
  CHECK(parsed->conflicts[0].txn_ids == u.conflicts[0].txn_ids);

  CHECK_FALSE(parsed->resend_keys);

  Updates empty;
  const std::string empty_text = serialize_updates(empty);
  CHECK(empty_text.find("resend_keys") == std::string::npos);  // only sent when true
  auto none = parse_updates(empty_text);
  REQUIRE(none.ok());
  CHECK_FALSE(none->rules);
  CHECK_FALSE(none->code_keys);

  Updates resend;
  resend.resend_keys = true;
  auto again = parse_updates(serialize_updates(resend));
  REQUIRE(again.ok());
  CHECK(again->resend_keys);
  CHECK_FALSE(parse_updates(R"({"cursor": 1, "revoked_codes": [], "revoked_stores": [], "wallets": [],)"
                            R"( "conflicts": [], "resend_keys": "yes"})")
                  .ok());
}

TEST_CASE("updates are refused with the field that is wrong") {
  json doc = json::parse(serialize_updates(full_updates()));
  const auto field_of = [](const json& d) {
    auto parsed = parse_updates(d.dump());
    REQUIRE_FALSE(parsed.ok());
    return parsed.error().field;
  };
  SUBCASE("unit") {
    doc["wallets"][0]["entries"][0]["unit"] = "euros";
    CHECK(field_of(doc) == "wallets[0].entries[0].unit");
  }
  SUBCASE("secret never echoed") {
    doc["code_keys"][1]["secret_hex"] = "zz-secret-zz";
    auto parsed = parse_updates(doc.dump());
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().field == "code_keys[1].secret_hex");
    CHECK(parsed.error().message.find("zz-secret-zz") == std::string::npos);
  }
  SUBCASE("key id out of range") {
    doc["code_keys"][0]["id"] = 0;
    CHECK(field_of(doc) == "code_keys[0].id");
  }
  SUBCASE("held missing") {
    doc["wallets"][0]["entries"][1].erase("held");
    CHECK(field_of(doc) == "wallets[0].entries[1].held");
  }
  SUBCASE("signature") {
    doc["rules"]["signature_hex"] = "00";
    CHECK(field_of(doc) == "rules.signature_hex");
  }
  SUBCASE("conflict txn id") {
    doc["conflicts"][0]["txn_ids"][1] = 5;
    CHECK(field_of(doc) == "conflicts[0].txn_ids[1]");
  }
  SUBCASE("revoked store") {
    doc["revoked_stores"][0] = "";
    CHECK(field_of(doc) == "revoked_stores[0]");
  }
  SUBCASE("unknown member") {
    doc["wallets"][0]["balance"] = 3;
    CHECK(field_of(doc) == "wallets[0].balance");
  }
  SUBCASE("cursor missing") {
    doc.erase("cursor");
    CHECK(field_of(doc) == "cursor");
  }
}

TEST_CASE("errors are read back and any body gives one") {
  const ProtocolError gap{"conflict", "events[0].seq: must be at most 3, got 7", "gap", 2};
  const auto back = parse_error(409, error_body(gap).dump());
  CHECK(back.code == "conflict");
  CHECK(back.reason == "gap");
  CHECK(back.acked_seq == std::optional<std::int64_t>(2));
  const auto html = parse_error(502, "<html>bad gateway</html>");
  CHECK(html.code == "http_502");
  CHECK(html.message == "<html>bad gateway</html>");
  CHECK_FALSE(html.acked_seq);
}

TEST_CASE("hashes in hex and back") {
  store::Hash h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(i * 7);
  const auto hex = hash_hex(h);
  CHECK(hex.size() == 64);
  CHECK(parse_hash_hex(hex) == std::optional<store::Hash>(h));
  CHECK_FALSE(parse_hash_hex(hex.substr(1)));
  CHECK_FALSE(parse_hash_hex(std::string(64, 'x')));
}

}  // namespace
}  // namespace refpos::sync
