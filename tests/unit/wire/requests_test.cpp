// The edge: requests become typed values or precise errors.
#include <doctest/doctest.h>

#include "wire/json_input.hpp"
#include "wire/requests.hpp"

using namespace refpos;
using namespace refpos::wire;

namespace {
const money::Currency kUsd = *money::find_currency("USD");
const char* kCart =
    R"({"txn_id":"T-1","terminal_id":"till-1","currency":"USD","customer_id":"bob",)"
    R"("lines":[{"sku":"A","quantity":2,"unit_price_minor":1250},{"sku":"B","category":"shoes","quantity":1,"unit_price_minor":999}]})";
}  // namespace

TEST_CASE("wire: a cart is parsed into typed lines with totals") {
  auto r = parse_checkout_request(kCart, kUsd, true);
  REQUIRE(r.ok());
  CHECK(*r->txn_id == "T-1");
  CHECK(r->cart.lines.size() == 2);
  CHECK(r->cart.lines[0].total_minor == 2500);
  CHECK(r->cart.lines[1].category == "shoes");
  CHECK(r->cart.subtotal_minor == 3499);
  CHECK(*r->cart.customer_id == "bob");
  CHECK_FALSE(r->code.has_value());
  CHECK(r->context.digest.size() == 32);
}

TEST_CASE("wire: the request digest ignores spacing, member order and clock_ms") {
  const auto a = parse_checkout_request(kCart, kUsd, true);
  const auto b = parse_checkout_request(
      R"({ "lines":[{"unit_price_minor":1250,"quantity":2,"sku":"A"},{"sku":"B","unit_price_minor":999,"category":"shoes","quantity":1}],
           "customer_id":"bob","currency":"USD","terminal_id":"till-1","txn_id":"T-1","clock_ms":1767225600000 })",
      kUsd, true);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->context.digest == b->context.digest);
  CHECK(*b->context.clock_ms == 1767225600000);
  const auto c = parse_checkout_request(
      R"({"txn_id":"T-1","terminal_id":"till-1","currency":"USD","customer_id":"bob",)"
      R"("lines":[{"sku":"A","quantity":3,"unit_price_minor":1250}]})",
      kUsd, true);
  REQUIRE(c.ok());
  CHECK(a->context.digest != c->context.digest);
}

TEST_CASE("wire: strict UTF-8") {
  CHECK(first_invalid_utf8("plain ascii") == std::string_view::npos);
  CHECK(first_invalid_utf8("Zo\xc3\xab \xf0\x9f\x98\x80 \xe2\x82\xac") == std::string_view::npos);
  CHECK(first_invalid_utf8("\xc0\xaf") == 0);             // overlong '/'
  CHECK(first_invalid_utf8("ab\xe0\x80\xaf") == 2);       // overlong, 3 bytes
  CHECK(first_invalid_utf8("\xed\xa0\x80") == 0);         // surrogate U+D800
  CHECK(first_invalid_utf8("\xf4\x90\x80\x80") == 0);     // past U+10FFFF
  CHECK(first_invalid_utf8("ok\xe2\x82") == 2);           // truncated
  CHECK(first_invalid_utf8("\x80") == 0);                 // stray continuation
  CHECK(first_invalid_utf8("\xff") == 0);
}

TEST_CASE("wire: errors name the field and say what was expected") {
  const auto err = [](const std::string& text) {
    auto r = parse_checkout_request(text, kUsd, true);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_request);
    return r.error().describe();
  };
  CHECK(err(R"({"terminal_id":"t","currency":"USD","lines":[{"sku":"A","quantity":1,"unit_price_minor":1}]})") ==
        "txn_id: is required");
  CHECK(err(R"({"txn_id":"T","terminal_id":"t","currency":"EUR","lines":[{"sku":"A","quantity":1,"unit_price_minor":1}]})") ==
        "currency: must be the store's currency \"USD\", got \"EUR\"");
  CHECK(err(R"({"txn_id":"T","terminal_id":"t","currency":"USD","lines":[{"sku":"A","quantity":true,"unit_price_minor":1}]})") ==
        "lines[0].quantity: must be an integer from 1 to 100000, got true");
  CHECK(err(R"({"txn_id":"T","terminal_id":"t","currency":"USD","lines":[],"x":1})") ==
        "lines: must have 1 to 500 items, got 0");
  CHECK(err("[]").find("must be a JSON object") != std::string::npos);
  CHECK(err("{\"a\":").find("not valid JSON") != std::string::npos);
}

TEST_CASE("wire: reverse, issue_code and customer requests") {
  auto rev = parse_reverse_request(R"({"reversal_id":"R","txn_id":"T","kind":"refund","terminal_id":"t"})");
  REQUIRE(rev.ok());
  CHECK(rev->kind == "refund");
  CHECK_FALSE(parse_reverse_request(R"({"reversal_id":"R","txn_id":"T","kind":"undo","terminal_id":"t"})").ok());
  CHECK(parse_issue_code_request(R"({"customer_id":"c","terminal_id":"t","cashier_id":"k"})").ok());
  CHECK(parse_customer_request(R"({"customer_id":"c"})").ok());
  CHECK_FALSE(parse_customer_request(R"({"customer_id":"c","clock_ms":5})").ok());  // before 2020
}
