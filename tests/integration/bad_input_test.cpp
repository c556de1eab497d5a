// Bad input gets a status and a message that names the field, and changes
// nothing: the event count, the last sequence number, every balance and every
// code are compared before and after each refused call.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "plugin.hpp"
#include "temp_dir.hpp"

using namespace refpos::test;

namespace {

struct BadCase {
  std::string name;
  std::string request;  // raw bytes sent
  std::string field;    // expected in the message ("" to skip)
};

json good_cart() { return cart("T-100", "zoe", {2500, 1200}); }

// A copy of `doc` with the member at `pointer` set to `value` (null removes
// nothing: it sets null, which the plugin reads as absent).
json patched(json doc, const char* pointer, const json& value) {
  doc[json::json_pointer(pointer)] = value;
  return doc;
}

std::string with(const char* pointer, const json& value) {
  auto r = good_cart();
  r[json::json_pointer(pointer)] = value;
  return r.dump();
}

std::string without(const char* member) {
  auto r = good_cart();
  r.erase(member);
  return r.dump();
}

std::vector<BadCase> bad_checkout_requests() {
  std::string huge = good_cart().dump();
  huge.insert(1, "\"pad\":\"" + std::string(300 * 1024, 'x') + "\",");
  json many = good_cart();
  many["lines"] = json::array();
  for (int i = 0; i < 501; ++i) many["lines"].push_back(good_cart()["lines"][0]);
  json overflow = good_cart();
  overflow["lines"] = json::array();
  for (int i = 0; i < 3; ++i) {
    overflow["lines"].push_back({{"sku", "GOLD"}, {"quantity", 1}, {"unit_price_minor", 900'000'000'000'000}});
  }
  std::string invalid_utf8 = good_cart().dump();
  invalid_utf8.replace(invalid_utf8.find("zoe"), 3, "z\xff\xfe");
  std::string nul = good_cart().dump();
  nul.insert(5, 1, '\0');
  return {
      {"empty", "", ""},
      {"not JSON", "{\"txn_id\": ", ""},
      {"not an object", "[1,2,3]", ""},
      {"trailing garbage", good_cart().dump() + "x", ""},
      {"number overflows a double", R"({"txn_id":"T","lines":4e8845958})", ""},
      {"embedded NUL", nul, ""},
      {"invalid UTF-8", invalid_utf8, ""},
      {"too large", huge, ""},
      {"missing txn_id", without("txn_id"), "txn_id"},
      {"missing lines", without("lines"), "lines"},
      {"missing currency", without("currency"), "currency"},
      {"txn_id number", with("/txn_id", 42), "txn_id"},
      {"txn_id empty", with("/txn_id", ""), "txn_id"},
      {"txn_id too long", with("/txn_id", std::string(65, 'T')), "txn_id"},
      {"control character", with("/customer_id", "zo\x01" "e"), "customer_id"},
      {"unknown currency", with("/currency", "XXX"), "currency"},
      {"other currency", with("/currency", "EUR"), "currency"},
      {"currency number", with("/currency", 840), "currency"},
      {"no lines", with("/lines", json::array()), "lines"},
      {"501 lines", many.dump(), "lines"},
      {"line not object", with("/lines/1", "SKU"), "lines[1]"},
      {"zero quantity", with("/lines/0/quantity", 0), "lines[0].quantity"},
      {"negative quantity", with("/lines/1/quantity", -2), "lines[1].quantity"},
      {"quantity string", with("/lines/0/quantity", "2"), "lines[0].quantity"},
      {"quantity fraction", with("/lines/0/quantity", 1.5), "lines[0].quantity"},
      {"quantity huge", with("/lines/0/quantity", 1e30), "lines[0].quantity"},
      {"negative price", with("/lines/0/unit_price_minor", -1), "lines[0].unit_price_minor"},
      {"price above limit", with("/lines/0/unit_price_minor", 1'000'000'000'000'001), "lines[0].unit_price_minor"},
      {"price uint64", with("/lines/0/unit_price_minor", 18'446'744'073'709'551'615ULL), "lines[0].unit_price_minor"},
      {"line total overflow", with("/lines/0/quantity", 100000) /* x 25.00 fine */, ""},
      {"cart total overflow", overflow.dump(), "lines"},
      {"sku missing", with("/lines/0", json{{"quantity", 1}, {"unit_price_minor", 1}}), "lines[0].sku"},
      {"unknown member", with("/discount_minor", 100), "discount_minor"},
      {"unknown line member", with("/lines/0/tax", 1), "lines[0].tax"},
      {"code too long", with("/code", std::string(65, 'A')), "code"},
      {"code number", with("/code", 1234), "code"},
  };
}

}  // namespace

TEST_CASE("malformed and out-of-limit requests are refused, name the field, and change nothing") {
  TempDir dir;
  StoreHandle store(default_config(dir.str()));
  REQUIRE(store.commit(cart("T-1", "alice", {5000})).status == REFPOS_OK);
  const auto before = snapshot_of(dir.str());

  for (const auto& c : bad_checkout_requests()) {
    if (c.name == "line total overflow") continue;  // a valid request: see below
    CAPTURE(c.name);
    for (auto op : {plugin_api().commit, plugin_api().preview}) {
      const auto r = store.call(op, c.request);
      if (op == plugin_api().preview && c.name == "missing txn_id") {
        CHECK(r.status == REFPOS_OK);  // preview does not need one
        continue;
      }
      CHECK(r.status == REFPOS_E_BAD_REQUEST);
      CHECK(r.body["error"]["code"] == "BAD_REQUEST");
      CHECK_FALSE(r.message.empty());
      if (!c.field.empty()) {
        CHECK(r.body["error"]["field"] == c.field);
        CHECK(r.message.rfind(c.field + ": ", 0) == 0);
      }
    }
    CHECK(snapshot_of(dir.str()) == before);
  }
}

TEST_CASE("the message says what was wrong and what was expected") {
  TempDir dir;
  StoreHandle store(default_config(dir.str()));
  const auto r = store.call(plugin_api().commit, with("/lines/1/quantity", -2));
  CHECK(r.message == "lines[1].quantity: must be an integer from 1 to 100000, got -2");
}

TEST_CASE("other operations refuse bad input too") {
  TempDir dir;
  StoreHandle store(default_config(dir.str()));
  REQUIRE(store.commit(cart("T-1", "alice", {5000})).status == REFPOS_OK);
  const auto before = snapshot_of(dir.str());
  const json reverse = {{"reversal_id", "R-1"}, {"txn_id", "T-1"}, {"kind", "void"}, {"terminal_id", "t"}};
  struct Case { StoreHandle::Operation op; json request; const char* field; };
  const std::vector<Case> cases = {
      {plugin_api().reverse, patched(reverse, "/kind", "cancel"), "kind"},
      {plugin_api().reverse, patched(reverse, "/txn_id", nullptr), "txn_id"},
      {plugin_api().reverse, patched(reverse, "/extra", 1), "extra"},
      {plugin_api().issue_code, json{{"customer_id", ""}, {"terminal_id", "t"}}, "customer_id"},
      {plugin_api().issue_code, json{{"customer_id", "a"}}, "terminal_id"},
      {plugin_api().customer, json{{"customer_id", std::string(65, 'c')}}, "customer_id"},
      {plugin_api().customer, json{{"id", "alice"}}, "customer_id"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.request.dump());
    const auto r = store.call(c.op, c.request.dump());
    CHECK(r.status == REFPOS_E_BAD_REQUEST);
    CHECK(r.body["error"]["field"] == c.field);
  }
  CHECK(snapshot_of(dir.str()) == before);
}

TEST_CASE("SQL metacharacters and any UTF-8 in names are data, stored and returned verbatim") {
  TempDir dir;
  StoreHandle store(default_config(dir.str()));
  const std::vector<std::string> nasty = {"Robert'); DROP TABLE events;--", "\" OR 1=1 --",
                                          "%_\\'", "Zoë 😀 ü"};
  int n = 0;
  for (const auto& name : nasty) {
    CAPTURE(name);
    json request = cart("T'" + std::to_string(++n) + name.substr(0, 20), name, {5000});
    request["terminal_id"] = name;
    request["cashier_id"] = name;
    request["lines"][0]["sku"] = name;
    request["lines"][0]["category"] = name;
    const auto r = store.commit(request);
    REQUIRE(r.status == REFPOS_OK);
    const auto c = store.customer(name).body;
    CHECK(c["customer_id"] == name);
    CHECK(c["known"] == true);
    CHECK(c["purchases"] == 1);
  }
  CHECK(snapshot_of(dir.str()).events > 0);
  CHECK(audit_store(dir.str(), "store-001").empty());
}

TEST_CASE("a valid request at the limits is accepted") {
  TempDir dir;
  StoreHandle store(default_config(dir.str()));
  json request = good_cart();
  request["txn_id"] = std::string(64, 'T');
  request["lines"][0]["quantity"] = 100000;
  request["lines"][1]["unit_price_minor"] = 1'000'000'000;
  CHECK(store.commit(request).status == REFPOS_OK);
}

TEST_CASE("the C boundary refuses NULL, closed and foreign handles without crashing") {
  const auto& api = plugin_api();
  char* answer = nullptr;
  const char req[] = "{}";
  CHECK(api.preview(nullptr, req, 2, &answer) == REFPOS_E_BAD_HANDLE);
  CHECK(answer == nullptr);
  CHECK(std::string(api.last_error(nullptr)).find("NULL") != std::string::npos);

  TempDir dir;
  const std::string config = default_config(dir.str()).dump();
  refpos_store* store = nullptr;
  REQUIRE(api.open(config.data(), config.size(), &store, nullptr) == REFPOS_OK);
  CHECK(api.preview(store, req, 2, nullptr) == REFPOS_E_INVALID_ARGUMENT);
  CHECK(api.preview(store, nullptr, 5, &answer) == REFPOS_E_INVALID_ARGUMENT);
  CHECK(api.open(config.data(), config.size(), nullptr, nullptr) == REFPOS_E_INVALID_ARGUMENT);
  // A request is read for exactly its length: no NUL needed, none looked for.
  const std::string body = cart("", "amy", {100}).dump();
  const std::string unterminated = body + "GARBAGE";
  CHECK(api.preview(store, unterminated.data(), body.size(), &answer) == REFPOS_OK);
  api.free_buffer(answer);
  CHECK(api.close(store) == REFPOS_OK);
  // The registry answers for a closed handle without touching it.
  CHECK(api.preview(store, req, 2, &answer) == REFPOS_E_BAD_HANDLE);
  CHECK(api.close(store) == REFPOS_E_BAD_HANDLE);
  int not_a_store = 0;
  CHECK(api.customer(reinterpret_cast<refpos_store*>(&not_a_store), req, 2, &answer) ==
        REFPOS_E_BAD_HANDLE);
  CHECK(api.close(nullptr) == REFPOS_OK);
  api.free_buffer(nullptr);
}

TEST_CASE("a bad configuration is refused with the field named and no secret shown") {
  TempDir dir;
  const std::string secret = "000102030405060708090a0b0c0d0e0f";
  struct Case { const char* name; json config; const char* field; };
  auto base = default_config(dir.str());
  auto two_active = base;
  two_active["code_keys"].push_back({{"id", 2}, {"secret_hex", secret}, {"active", true}});
  const std::vector<Case> cases = {
      {"no store id", patched(base, "/store_id", nullptr), "store_id"},
      {"bad currency", patched(base, "/currency", "DOLLAR"), "currency"},
      {"short secret", patched(base, "/code_keys/0/secret_hex", "abcd"), "code_keys[0].secret_hex"},
      {"odd secret", patched(base, "/code_keys/0/secret_hex", secret + "Z"), "code_keys[0].secret_hex"},
      {"key id 0", patched(base, "/code_keys/0/id", 0), "code_keys[0].id"},
      {"no active key", patched(base, "/code_keys/0/active", false), "code_keys"},
      {"two active keys", two_active, "code_keys[1].active"},
      {"bad link", patched(base, "/share_link_template", "https://x/"), "share_link_template"},
      {"rules schema", patched(base, "/rules/schema", "v9"), "rules.schema"},
      {"percent > 100", patched(base, "/rules/referee/percent_off_bp", 10001), "rules.referee.percent_off_bp"},
      {"negative cap", patched(base, "/rules/referee/cap_minor", -1), "rules.referee.cap_minor"},
      {"zero validity", patched(base, "/rules/code/valid_days", 0), "rules.code.valid_days"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string text = c.config.dump();
    refpos_store* store = nullptr;
    char* error = nullptr;
    CHECK(plugin_api().open(text.data(), text.size(), &store, &error) == REFPOS_E_CONFIG);
    CHECK(store == nullptr);
    REQUIRE(error != nullptr);
    const std::string message = error;
    plugin_api().free_buffer(error);
    CHECK(message.rfind(std::string(c.field) + ": ", 0) == 0);
    CHECK(message.find(secret) == std::string::npos);
    CHECK(message.find("abcd") == std::string::npos);
  }
  const char garbage[] = "{not json";
  refpos_store* store = nullptr;
  CHECK(plugin_api().open(garbage, sizeof garbage - 1, &store, nullptr) == REFPOS_E_CONFIG);
}
