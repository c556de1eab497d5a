// The push batch's fast reader (plugin/src/sync/batch_reader.cpp) against the
// general one: whatever the fast reader accepts, the general reader accepts
// with the same result; the usual batch takes the fast path; and the unusual
// but valid shapes it leaves alone still parse.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "sync/batch_reader.hpp"
#include "sync/protocol.hpp"

namespace refpos::sync {
namespace {

using json = nlohmann::json;

// Bodies of the shapes stores send, and a few that are legal but unusual.
const std::vector<json>& bodies() {
  static const std::vector<json> all = {
      {{"customer_id", "c-1"}, {"referred_by", nullptr}},
      {{"code", "R7-K2QF-7QK2"}, {"txn_id", "t-1"}, {"customer_id", "c-2"},
       {"discount", {{"kind", "percent"}, {"value", 20}, {"amount_minor", 1260}}},
       {"flags", json::array({"velocity", "held"})}},
      {{"amount", -500}, {"rate", 0.25}, {"held", false}, {"note", "Zoë \"quoted\" \\ path/x"}},
      {{"nested", {{"a", json::array({json::array({1, 2}), json::object(), nullptr, true})}}}},
      {{"tab", "a\tb"}, {"control", std::string("x\x01y")}},  // escapes: \t and \u0001
      json::object(),
  };
  return all;
}

WireEvent make_event(std::int64_t seq, const json& body) {
  WireEvent e;
  e.seq = seq;
  e.type = seq % 2 == 0 ? "code_issued" : "reward_accrued";
  e.at_ms = 1767261600000 + seq * 1000;
  e.ruleset_version = 3;
  e.body = body.dump();
  for (std::size_t i = 0; i < e.hash.size(); ++i) {
    e.prev_hash[i] = static_cast<std::uint8_t>(seq * 7 + static_cast<std::int64_t>(i));
    e.hash[i] = static_cast<std::uint8_t>(seq * 11 + static_cast<std::int64_t>(i));
  }
  return e;
}

PushBatch make_batch(std::int64_t first, std::size_t count) {
  PushBatch b{"store-001", {}};
  for (std::size_t i = 0; i < count; ++i) {
    const auto seq = first + static_cast<std::int64_t>(i);
    b.events.push_back(make_event(seq, bodies()[i % bodies().size()]));
  }
  return b;
}

// The contract: fast accepts => general accepts, with the same batch.
void check_agree(const std::string& text) {
  const auto fast = read_batch_fast(text);
  const auto general = parse_batch_general(text);
  if (!fast) return;
  INFO("text: " << text.substr(0, 400));
  REQUIRE(general.ok());
  CHECK(fast->store_id == general->store_id);
  CHECK(fast->events == general->events);
}

TEST_CASE("the usual batch takes the fast path and reads as the general reader reads it") {
  const PushBatch batch = make_batch(41, 12);
  const std::string text = serialize_batch(batch);
  const auto fast = read_batch_fast(text);
  // Bodies with \u escapes (the control character) are left to the general
  // reader, so the usual batch is the one without.
  PushBatch usual = batch;
  std::erase_if(usual.events, [](const WireEvent& e) { return e.body.find("\\u") != std::string::npos; });
  for (std::size_t i = 0; i < usual.events.size(); ++i) usual.events[i].seq = 41 + static_cast<std::int64_t>(i);
  const auto usual_fast = read_batch_fast(serialize_batch(usual));
  REQUIRE(usual_fast.has_value());
  CHECK(usual_fast->events == usual.events);
  CHECK_FALSE(fast.has_value());  // the one with \u0001 in a body
  auto parsed = parse_batch(text);
  REQUIRE(parsed.ok());
  CHECK(parsed->events == batch.events);
}

TEST_CASE("unusual but valid batches are left to the general reader and still parse") {
  const PushBatch batch = make_batch(1, 2);
  json doc = json::parse(serialize_batch(batch));
  const std::vector<std::string> texts = {
      // members in another order, with whitespace everywhere
      " { \"events\" : " + doc["events"].dump(2) + " , \"store_id\" : \"store-001\" } ",
      // a number written with an exponent
      [&] {
        json d = doc;
        d["events"][0]["at_ms"] = 0;
        std::string t = d.dump();
        t.replace(t.find("\"at_ms\":0"), 9, "\"at_ms\":0e0");
        return t;
      }(),
      // a key written with a \u escape
      [&] {
        std::string t = doc.dump();
        t.replace(t.find("\"store_id\""), 10, "\"store\\u005fid\"");
        return t;
      }(),
  };
  for (const auto& t : texts) {
    INFO(t.substr(0, 300));
    check_agree(t);
    auto general = parse_batch_general(t);
    auto parsed = parse_batch(t);
    CHECK(parsed.ok() == general.ok());
  }
  // The exponent is an error for both (at_ms must be an integer).
  CHECK_FALSE(parse_batch(texts[1]).ok());
  CHECK(parse_batch(texts[0]).ok());
  CHECK(parse_batch(texts[2]).ok());
}

TEST_CASE("mutated batches: whatever the fast reader accepts, the general reader accepts the same") {
  std::mt19937 rng(20261123);
  const std::string alphabet = "{}[]\":,\\/0123456789-.eE tfnulabcdefux\t\n";
  const std::string base = serialize_batch(make_batch(7, 5));
  const std::string plain = [] {
    PushBatch b = make_batch(7, 4);  // bodies 0-3: no \u escape
    return serialize_batch(b);
  }();
  int fast_accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string t = round % 2 == 0 ? plain : base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !t.empty(); ++k) {
      const std::size_t at = rng() % t.size();
      switch (rng() % 6) {
        case 0: t[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: t[at] = static_cast<char>(rng() % 256); break;
        case 2: t.erase(at, 1); break;
        case 3: t.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 4: t.insert(at, t.substr(at, 1 + rng() % 40)); break;
        default: t.resize(at); break;
      }
    }
    if (read_batch_fast(t)) ++fast_accepted;
    check_agree(t);
  }
  MESSAGE("fast reader accepted " << fast_accepted << " of 4000 mutated batches");
  CHECK(fast_accepted > 0);  // some edits keep a batch valid (a digit, a letter of a body)
}

TEST_CASE("a body is a plain JSON object only when both readers would say so") {
  for (const char* ok : {"{}", " {\"a\":1} ", "{\"a\":[1,-2.5,true,false,null,{\"b\":\"c\\\"d\"}]}"}) {
    CHECK(is_plain_json_object(ok));
    CHECK(json::accept(ok));
  }
  for (const char* no : {"", "[]", "{", "{\"a\":}", "{\"a\":01}", "{\"a\":1,}", "{\"a\" 1}", "{} {}",
                         "{\"a\":tru}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":\"\\x\"}", "\"s\"",
                         "{\"a\":\"\\u00e9\"}", "{\"a\":1e5}", "{\"a\":12345678901234567890}"}) {
    INFO(no);
    CHECK_FALSE(is_plain_json_object(no));
  }
  std::string deep(70, '[');
  deep = "{\"a\":" + deep + std::string(70, ']') + "}";
  CHECK_FALSE(is_plain_json_object(deep));  // legal, and left to the general reader
  CHECK(json::accept(deep));
}

}  // namespace
}  // namespace refpos::sync
