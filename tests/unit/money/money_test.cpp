// Tests of money/money.cpp: the currency table, range limits at their edges,
// the one rounding rule, decimal rendering, and a property test of
// largest-remainder allocation over random carts.
#include "money/money.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using refpos::ErrorKind;
using refpos::money::allocate_largest_remainder;
using refpos::money::checked_multiply;
using refpos::money::Currency;
using refpos::money::find_currency;
using refpos::money::kMaxAmountMinor;
using refpos::money::Money;
using refpos::money::percent_of_half_up;

__extension__ typedef __int128 Int128;  // NOLINT(modernize-use-using)

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

Currency currency(std::string_view code) {
  const auto found = find_currency(code);
  REQUIRE(found.has_value());
  return *found;
}

Money money(std::int64_t minor, std::string_view code = "USD") {
  auto made = Money::of(minor, currency(code));
  REQUIRE(made.ok());
  return *made;
}

}  // namespace

TEST_CASE("money: find_currency knows exponents 0, 2 and 3") {
  for (const char* code : {"JPY", "KRW", "CLP", "ISK", "VND"}) {
    CAPTURE(code);
    CHECK(currency(code).exponent == 0);
  }
  for (const char* code : {"USD", "EUR", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK",
                           "PLN", "CZK"}) {
    CAPTURE(code);
    CHECK(currency(code).exponent == 2);
  }
  for (const char* code : {"KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"}) {
    CAPTURE(code);
    CHECK(currency(code).exponent == 3);
  }
  CHECK(currency("EUR").code == "EUR");
}

TEST_CASE("money: find_currency rejects unknown and lower-case codes") {
  for (const char* code : {"", "XXX", "usd", "Usd", "US", "USDD", "EU R"}) {
    CAPTURE(code);
    CHECK_FALSE(find_currency(code).has_value());
  }
}

TEST_CASE("money: Money::of accepts exactly [-kMaxAmountMinor, kMaxAmountMinor]") {
  const Currency usd = currency("USD");
  CHECK(Money::of(kMaxAmountMinor, usd).ok());
  CHECK(Money::of(-kMaxAmountMinor, usd).ok());
  CHECK(Money::of(0, usd).ok());
  for (std::int64_t minor : {kMaxAmountMinor + 1, -kMaxAmountMinor - 1, kInt64Max, kInt64Min}) {
    CAPTURE(minor);
    const auto made = Money::of(minor, usd);
    REQUIRE_FALSE(made.ok());
    CHECK(made.error().kind == ErrorKind::bad_request);
    CHECK(made.error().message ==
          "must be between -1000000000000000 and 1000000000000000 minor units, got " +
              std::to_string(minor));
  }
}

TEST_CASE("money: plus and minus stop at the range edges") {
  CHECK(money(kMaxAmountMinor - 1).plus(money(1))->minor() == kMaxAmountMinor);
  CHECK_FALSE(money(kMaxAmountMinor).plus(money(1)).ok());
  CHECK_FALSE(money(kMaxAmountMinor).plus(money(kMaxAmountMinor)).ok());
  CHECK(money(-kMaxAmountMinor + 1).minus(money(1))->minor() == -kMaxAmountMinor);
  CHECK_FALSE(money(-kMaxAmountMinor).minus(money(1)).ok());
  CHECK_FALSE(money(-kMaxAmountMinor).minus(money(kMaxAmountMinor)).ok());
  CHECK(money(kMaxAmountMinor).minus(money(kMaxAmountMinor))->is_zero());
  const auto overflow = money(kMaxAmountMinor).plus(money(1));
  CHECK(overflow.error().kind == ErrorKind::bad_request);
  CHECK(overflow.error().message.find("got 1000000000000001") != std::string::npos);
}

TEST_CASE("money: plus and minus refuse to mix currencies, naming both") {
  const auto sum = money(100, "USD").plus(money(100, "EUR"));
  REQUIRE_FALSE(sum.ok());
  CHECK(sum.error().kind == ErrorKind::bad_request);
  CHECK(sum.error().message == "cannot add EUR to USD: both amounts must be in the same currency");
  const auto difference = money(100, "JPY").minus(money(100, "KWD"));
  REQUIRE_FALSE(difference.ok());
  CHECK(difference.error().message.find("KWD") != std::string::npos);
  CHECK(difference.error().message.find("JPY") != std::string::npos);
}

TEST_CASE("money: negated, is_zero, is_negative and equality") {
  CHECK(money(-5).negated() == money(5));
  CHECK(money(-5).is_negative());
  CHECK_FALSE(money(0).is_negative());
  CHECK(Money::zero(currency("EUR")).is_zero());
  CHECK_FALSE(money(5, "USD") == money(5, "EUR"));
}

TEST_CASE("money: checked_multiply at the range edges and for extreme inputs") {
  CHECK(*checked_multiply(1, kMaxAmountMinor, "q") == kMaxAmountMinor);
  CHECK(*checked_multiply(-1, kMaxAmountMinor, "q") == -kMaxAmountMinor);
  CHECK(*checked_multiply(1'000, 1'000'000'000'000, "q") == kMaxAmountMinor);
  CHECK(*checked_multiply(0, kInt64Max, "q") == 0);
  CHECK(*checked_multiply(kInt64Min, 0, "q") == 0);
  CHECK(*checked_multiply(-3, 7, "q") == -21);
  struct Case { std::int64_t quantity, unit; };
  for (const Case c : {Case{1, kMaxAmountMinor + 1}, Case{-1, kMaxAmountMinor + 1},
                       Case{1'000, 1'000'000'000'001}, Case{kInt64Max, kInt64Max},
                       Case{kInt64Min, kInt64Min}, Case{kInt64Min, kInt64Max},
                       Case{kInt64Min, -1}, Case{2, kInt64Max / 2 + 1}}) {
    CAPTURE(c.quantity);
    CAPTURE(c.unit);
    const auto product = checked_multiply(c.quantity, c.unit, "cart.lines[3].quantity");
    REQUIRE_FALSE(product.ok());
    CHECK(product.error().kind == ErrorKind::bad_request);
    CHECK(product.error().field == "cart.lines[3].quantity");
  }
}

TEST_CASE("money: percent_of_half_up rounds exact halves up") {
  struct Case { std::int64_t amount; std::int32_t basis_points; std::int64_t expected; };
  const Case cases[] = {
      {25, 1'000, 3},        // 2.5 -> 3
      {15, 1'000, 2},        // 1.5 -> 2
      {5, 1'000, 1},         // 0.5 -> 1
      {4, 1'000, 0},         // 0.4 -> 0
      {24, 1'000, 2},        // 2.4 -> 2
      {26, 1'000, 3},        // 2.6 -> 3
      {1, 5'000, 1},         // 0.5 -> 1
      {1, 4'999, 0},         // 0.4999 -> 0
      {999, 1'250, 125},     // 124.875 -> 125
      {1'999, 250, 50},      // 49.975 -> 50
      {1'000, 333, 33},      // 33.3 -> 33
      {0, 10'000, 0},
      {12'345, 0, 0},
      {12'345, 10'000, 12'345},
      {kMaxAmountMinor, 10'000, kMaxAmountMinor},   // needs 128 bits
      {kMaxAmountMinor, 9'999, 999'900'000'000'000},
      {kMaxAmountMinor - 1, 5'000, 500'000'000'000'000},  // ...999.5 -> up
      {kMaxAmountMinor - 1, 1, 100'000'000'000},  // 99'999'999'999.9999 -> up
  };
  for (const Case& c : cases) {
    CAPTURE(c.amount);
    CAPTURE(c.basis_points);
    CHECK(percent_of_half_up(c.amount, c.basis_points) == c.expected);
  }
}

TEST_CASE("money: to_decimal_string for exponents 0, 2, 3 and negatives") {
  struct Case { std::int64_t minor; const char* code; const char* expected; };
  const Case cases[] = {
      {1234, "USD", "12.34"},   {5, "USD", "0.05"},       {0, "USD", "0.00"},
      {-5, "USD", "-0.05"},     {-1234, "USD", "-12.34"}, {100, "EUR", "1.00"},
      {1234, "JPY", "1234"},    {0, "JPY", "0"},          {-7, "JPY", "-7"},
      {1234, "KWD", "1.234"},   {5, "KWD", "0.005"},      {-50, "KWD", "-0.050"},
      {kMaxAmountMinor, "USD", "10000000000000.00"},
      {-kMaxAmountMinor, "KWD", "-1000000000000.000"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.minor);
    CAPTURE(c.code);
    CHECK(money(c.minor, c.code).to_decimal_string() == c.expected);
  }
}

TEST_CASE("money: allocate_largest_remainder, worked examples") {
  using V = std::vector<std::int64_t>;
  CHECK(allocate_largest_remainder(100, V{100, 100, 100}) == V{34, 33, 33});  // tie: lowest index
  CHECK(allocate_largest_remainder(2, V{1, 1, 1}) == V{1, 1, 0});
  CHECK(allocate_largest_remainder(10, V{300, 700}) == V{3, 7});
  CHECK(allocate_largest_remainder(5, V{1, 2, 3}) == V{1, 2, 2});  // 0.83 1.67 2.5
  CHECK(allocate_largest_remainder(0, V{5, 0, 7}) == V{0, 0, 0});
  CHECK(allocate_largest_remainder(0, V{0, 0}) == V{0, 0});
  CHECK(allocate_largest_remainder(0, V{}).empty());
  CHECK(allocate_largest_remainder(12, V{0, 12, 0}) == V{0, 12, 0});
  CHECK(allocate_largest_remainder(kMaxAmountMinor, V{kMaxAmountMinor, kMaxAmountMinor}) ==
        V{kMaxAmountMinor / 2, kMaxAmountMinor / 2});
  // The weights' sum exceeds INT64_MAX; 128-bit intermediates keep it exact.
  CHECK(allocate_largest_remainder(3, V{kInt64Max, kInt64Max, kInt64Max}) == V{1, 1, 1});
}

namespace {

struct Cart {
  std::vector<std::int64_t> weights;
  std::int64_t total = 0;
};

// 1..50 lines; a quarter of them zero, a quarter huge, the rest ordinary.
Cart random_cart(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> line_count(1, 50);
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_int_distribution<std::int64_t> huge(0, kMaxAmountMinor / 50);
  std::uniform_int_distribution<std::int64_t> ordinary(1, 100'000);
  Cart cart;
  cart.weights.resize(static_cast<std::size_t>(line_count(rng)));
  std::int64_t sum = 0;
  for (auto& weight : cart.weights) {
    const int k = kind(rng);
    weight = k == 0 ? 0 : k == 1 ? huge(rng) : ordinary(rng);
    sum += weight;
  }
  cart.total = std::uniform_int_distribution<std::int64_t>(0, sum)(rng);
  return cart;
}

// Why the parts are wrong, or "" if they are right.
std::string allocation_violation(const Cart& cart, const std::vector<std::int64_t>& parts) {
  if (parts.size() != cart.weights.size()) return "wrong number of parts";
  Int128 weight_sum = 0;
  Int128 part_sum = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    weight_sum += cart.weights[i];
    part_sum += parts[i];
  }
  if (part_sum != cart.total) return "parts do not add up to the total";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] < 0 || parts[i] > cart.weights[i]) {
      return "part " + std::to_string(i) + " is negative or above its weight";
    }
    // |part - total * w / W| < 1, multiplied through by W. (All weights zero:
    // every part is zero, which the checks above already enforce.)
    const Int128 error = Int128{parts[i]} * weight_sum - Int128{cart.total} * cart.weights[i];
    if (weight_sum > 0 && (error >= weight_sum || -error >= weight_sum)) {
      return "part " + std::to_string(i) + " is not within 1 of its exact share";
    }
  }
  return "";
}

}  // namespace

TEST_CASE("money: allocate_largest_remainder property over 20000 random carts") {
  std::mt19937_64 rng(20240611);
  int violations = 0;
  for (int cart_index = 0; cart_index < 20'000; ++cart_index) {
    const Cart cart = random_cart(rng);
    const std::string violation =
        allocation_violation(cart, allocate_largest_remainder(cart.total, cart.weights));
    if (!violation.empty() && violations++ < 5) {
      FAIL_CHECK("cart " << cart_index << " (" << cart.weights.size() << " lines, total "
                         << cart.total << "): " << violation);
    }
  }
  CHECK(violations == 0);
}
