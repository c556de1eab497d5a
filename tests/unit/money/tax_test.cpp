// Tests of money/tax.cpp: hand-computed lines in both modes (half-cent cases,
// 0 % and 100 %, the edges of the amount range), whole carts with their
// per-rate sums, and a property test over random carts that checks every
// line against an exact integer formula written differently from the code.
#include "money/tax.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "money/money.hpp"

namespace {

using refpos::money::compute_tax;
using refpos::money::kBasisPointsWhole;
using refpos::money::kMaxAmountMinor;
using refpos::money::TaxLineIn;
using refpos::money::TaxLineOut;
using refpos::money::TaxMode;
using refpos::money::TaxResult;

__extension__ typedef __int128 Int128;  // NOLINT(modernize-use-using)

using RateSums = std::vector<std::pair<std::int32_t, std::int64_t>>;

TaxLineOut one_line(TaxLineIn in, TaxMode mode) {
  const TaxLineIn lines[] = {in};
  const TaxResult result = compute_tax(lines, mode);
  REQUIRE(result.lines.size() == 1);
  return result.lines[0];
}

struct LineCase {
  std::int64_t total, discount;
  std::int32_t rate_bp;
  std::int64_t net, taxable, tax, gross;
};

void check_line(const LineCase& c, TaxMode mode) {
  CAPTURE(c.total);
  CAPTURE(c.discount);
  CAPTURE(c.rate_bp);
  const TaxLineOut out = one_line({c.total, c.discount, c.rate_bp}, mode);
  CHECK(out.net_minor == c.net);
  CHECK(out.taxable_minor == c.taxable);
  CHECK(out.tax_minor == c.tax);
  CHECK(out.gross_minor == c.gross);
}

}  // namespace

TEST_CASE("tax: exclusive lines, hand-computed") {
  const LineCase cases[] = {
      // total, discount, rate: net, taxable, tax, gross
      {1'000, 0, 1'900, 1'000, 1'000, 190, 1'190},  // 19 % on 10.00
      {1'000, 0, 825, 1'000, 1'000, 83, 1'083},     // 0.825 -> 0.83: a half cent rounds up
      {999, 0, 825, 999, 999, 82, 1'081},           // 0.824175 -> 0.82
      // New York City's 8.875 % is 887.5 bp, which basis points cannot hold;
      // the rates either side of it give 0.89 on 10.00 as 8.875 % would.
      {1'000, 0, 888, 1'000, 1'000, 89, 1'089},        // 0.888 -> 0.89
      {1'000, 0, 887, 1'000, 1'000, 89, 1'089},        // 0.887 -> 0.89
      {1, 0, 5'000, 1, 1, 1, 2},                       // 0.5 -> 1
      {1, 0, 4'999, 1, 1, 0, 1},                       // 0.4999 -> 0
      {1'500, 500, 1'000, 1'000, 1'000, 100, 1'100},   // tax on the discounted price
      {1'234, 1'234, 1'900, 0, 0, 0, 0},               // fully discounted
      {1'234, 0, 0, 1'234, 1'234, 0, 1'234},           // 0 %
      {1'234, 0, 10'000, 1'234, 1'234, 1'234, 2'468},  // 100 %
      {0, 0, 10'000, 0, 0, 0, 0},
      {kMaxAmountMinor, 0, 10'000, kMaxAmountMinor, kMaxAmountMinor, kMaxAmountMinor,
       2 * kMaxAmountMinor},  // needs 128 bits
      {kMaxAmountMinor, 0, 9'999, kMaxAmountMinor, kMaxAmountMinor, 999'900'000'000'000,
       1'999'900'000'000'000},
      {kMaxAmountMinor, 0, 825, kMaxAmountMinor, kMaxAmountMinor, 82'500'000'000'000,
       1'082'500'000'000'000},
      {kMaxAmountMinor, 1, 5'000, kMaxAmountMinor - 1, kMaxAmountMinor - 1, 500'000'000'000'000,
       1'499'999'999'999'999},  // ...999.5 -> up
      {kMaxAmountMinor, kMaxAmountMinor, 10'000, 0, 0, 0, 0},
  };
  for (const LineCase& c : cases) check_line(c, TaxMode::exclusive);
}

TEST_CASE("tax: inclusive lines, hand-computed") {
  const LineCase cases[] = {
      // total, discount, rate: net, taxable, tax, gross
      {1'190, 0, 1'900, 1'190, 1'000, 190, 1'190},    // 19 % VAT in 11.90 is 1.90
      {1'500, 310, 1'900, 1'190, 1'000, 190, 1'190},  // the same after a 3.10 discount
      {100, 0, 1'900, 100, 84, 16, 100},              // 15.966 -> 16
      {1'000, 0, 700, 1'000, 935, 65, 1'000},         // 65.42 -> 65
      {999, 0, 2'000, 999, 832, 167, 999},            // 166.5 -> 167: a half cent rounds up
      {1'001, 0, 10'000, 1'001, 500, 501, 1'001},     // 100 %: 500.5 -> 501
      {1'000, 0, 10'000, 1'000, 500, 500, 1'000},
      {1, 0, 10'000, 1, 0, 1, 1},             // 0.5 -> 1: the whole cent is tax
      {1, 0, 9'999, 1, 1, 0, 1},              // 0.49998 -> 0
      {1'234, 0, 0, 1'234, 1'234, 0, 1'234},  // 0 %
      {1'234, 1'234, 2'000, 0, 0, 0, 0},      // fully discounted
      {kMaxAmountMinor, 0, 10'000, kMaxAmountMinor, 500'000'000'000'000, 500'000'000'000'000,
       kMaxAmountMinor},  // needs 128 bits
      {kMaxAmountMinor, 1, 10'000, kMaxAmountMinor - 1, 499'999'999'999'999, 500'000'000'000'000,
       kMaxAmountMinor - 1},  // ...999.5 -> up
      {kMaxAmountMinor, 0, 1'900, kMaxAmountMinor, 840'336'134'453'782, 159'663'865'546'218,
       kMaxAmountMinor},
      {kMaxAmountMinor, 0, 2'000, kMaxAmountMinor, 833'333'333'333'333, 166'666'666'666'667,
       kMaxAmountMinor},
      {kMaxAmountMinor, 0, 9'999, kMaxAmountMinor, 500'025'001'250'063, 499'974'998'749'937,
       kMaxAmountMinor},
  };
  for (const LineCase& c : cases) check_line(c, TaxMode::inclusive);
}

TEST_CASE("tax: an empty cart has zero totals and no rates") {
  for (const TaxMode mode : {TaxMode::exclusive, TaxMode::inclusive}) {
    const TaxResult result = compute_tax({}, mode);
    CHECK(result.lines.empty());
    CHECK(result.net_minor == 0);
    CHECK(result.tax_minor == 0);
    CHECK(result.gross_minor == 0);
    CHECK(result.tax_by_rate.empty());
    CHECK(result.taxable_by_rate.empty());
  }
}

TEST_CASE("tax: a mixed cart, per line, in total and per rate") {
  // A German receipt: 19 % and 7 % VAT, one line discounted, one at 0 %.
  const TaxLineIn lines[] = {
      {1'190, 0, 1'900},    // 1.90 VAT
      {1'070, 0, 700},      // 0.70
      {500, 0, 0},          // 0.00
      {2'000, 810, 1'900},  // net 11.90: 1.90
      {999, 0, 700},        // 65.355 -> 0.65
  };
  const TaxResult inclusive = compute_tax(lines, TaxMode::inclusive);
  REQUIRE(inclusive.lines.size() == 5);
  CHECK(inclusive.lines[3].net_minor == 1'190);
  CHECK(inclusive.lines[4].tax_minor == 65);
  CHECK(inclusive.net_minor == 1'190 + 1'070 + 500 + 1'190 + 999);
  CHECK(inclusive.gross_minor == inclusive.net_minor);
  CHECK(inclusive.tax_minor == 190 + 70 + 190 + 65);
  CHECK(inclusive.tax_by_rate == RateSums{{0, 0}, {700, 135}, {1'900, 380}});
  CHECK(inclusive.taxable_by_rate == RateSums{{0, 500}, {700, 1'934}, {1'900, 2'000}});

  const TaxResult exclusive = compute_tax(lines, TaxMode::exclusive);
  // 226.1, 74.9, 0, 226.1, 69.93 -> 226, 75, 0, 226, 70.
  CHECK(exclusive.tax_minor == 226 + 75 + 0 + 226 + 70);
  CHECK(exclusive.gross_minor == exclusive.net_minor + exclusive.tax_minor);
  CHECK(exclusive.tax_by_rate == RateSums{{0, 0}, {700, 145}, {1'900, 452}});
  CHECK(exclusive.taxable_by_rate == RateSums{{0, 500}, {700, 2'069}, {1'900, 2'380}});
}

TEST_CASE("tax: per-line rounding, so the lines add up to the totals") {
  // Three lines of 0.10 at 5 %: 0.005 each rounds up to 0.01, so the receipt
  // shows 0.03 of tax (rounding the total, 0.015, would show 0.02 and the
  // lines would not add up).
  const TaxLineIn lines[] = {{10, 0, 500}, {10, 0, 500}, {10, 0, 500}};
  const TaxResult result = compute_tax(lines, TaxMode::exclusive);
  CHECK(result.tax_minor == 3);
  CHECK(result.gross_minor == 33);
  CHECK(result.tax_by_rate == RateSums{{500, 3}});
}

TEST_CASE("tax: 500 lines of kMaxAmountMinor at 100 % do not overflow the totals") {
  const std::vector<TaxLineIn> lines(500, TaxLineIn{kMaxAmountMinor, 0, 10'000});
  const TaxResult exclusive = compute_tax(lines, TaxMode::exclusive);
  CHECK(exclusive.net_minor == 500 * kMaxAmountMinor);
  CHECK(exclusive.tax_minor == 500 * kMaxAmountMinor);
  CHECK(exclusive.gross_minor == 1'000 * kMaxAmountMinor);
  CHECK(exclusive.tax_by_rate == RateSums{{10'000, 500 * kMaxAmountMinor}});
  const TaxResult inclusive = compute_tax(lines, TaxMode::inclusive);
  CHECK(inclusive.tax_minor == 250 * kMaxAmountMinor);
  CHECK(inclusive.gross_minor == 500 * kMaxAmountMinor);
  CHECK(inclusive.taxable_by_rate == RateSums{{10'000, 250 * kMaxAmountMinor}});
}

namespace {

// 1..50 lines; totals a quarter zero, a quarter huge, the rest ordinary;
// discounts none, full or anything between; rates common or arbitrary.
std::vector<TaxLineIn> random_tax_cart(std::mt19937_64& rng) {
  constexpr std::int32_t kCommonRates[] = {0, 500, 700, 825, 1'000, 1'900, 2'000, 2'500, 10'000};
  std::uniform_int_distribution<int> line_count(1, 50);
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_int_distribution<std::int64_t> huge(0, kMaxAmountMinor);
  std::uniform_int_distribution<std::int64_t> ordinary(1, 100'000);
  std::uniform_int_distribution<std::size_t> common_rate(0, std::size(kCommonRates) - 1);
  std::uniform_int_distribution<std::int32_t> any_rate(0, kBasisPointsWhole);
  std::vector<TaxLineIn> lines(static_cast<std::size_t>(line_count(rng)));
  for (auto& line : lines) {
    const int k = kind(rng);
    line.total_minor = k == 0 ? 0 : k == 1 ? huge(rng) : ordinary(rng);
    const int discount_kind = kind(rng);
    line.discount_minor = discount_kind == 0   ? 0
                          : discount_kind == 1 ? line.total_minor
                                               : std::uniform_int_distribution<std::int64_t>(
                                                     0, line.total_minor)(rng);
    line.rate_bp = kind(rng) == 0 ? any_rate(rng) : kCommonRates[common_rate(rng)];
  }
  return lines;
}

// The exact half-up tax, written as floor((2 * n + d) / (2 * d)) for the
// fraction n / d rather than the way tax.cpp rounds.
std::int64_t expected_tax(std::int64_t net, std::int32_t rate_bp, TaxMode mode) {
  const Int128 numerator = Int128{net} * rate_bp;
  const Int128 denominator = mode == TaxMode::exclusive ? Int128{10'000} : Int128{10'000} + rate_bp;
  return static_cast<std::int64_t>((2 * numerator + denominator) / (2 * denominator));
}

// Why the line is wrong, or "" if it is right.
std::string line_violation(const TaxLineIn& in, const TaxLineOut& out, TaxMode mode) {
  if (out.net_minor != in.total_minor - in.discount_minor) return "net is not total - discount";
  if (out.tax_minor < 0) return "tax is negative";
  if (out.tax_minor > out.net_minor) return "tax is above net";
  if (out.tax_minor != expected_tax(out.net_minor, in.rate_bp, mode)) {
    return "tax " + std::to_string(out.tax_minor) + " is not the exact half-up " +
           std::to_string(expected_tax(out.net_minor, in.rate_bp, mode));
  }
  if (mode == TaxMode::exclusive) {
    if (out.taxable_minor != out.net_minor) return "exclusive taxable is not net";
    if (out.gross_minor != out.net_minor + out.tax_minor) return "exclusive gross is not net + tax";
  } else {
    if (out.taxable_minor + out.tax_minor != out.net_minor) return "inclusive taxable + tax != net";
    if (out.gross_minor != out.net_minor) return "inclusive gross is not net";
  }
  return "";
}

// Why the per-rate sums are wrong, or "": every input rate once, ascending,
// each entry the sum over the lines at that rate (found by a linear scan).
std::string by_rate_violation(const std::vector<TaxLineIn>& in, const TaxResult& result) {
  if (result.tax_by_rate.size() != result.taxable_by_rate.size()) return "by-rate sizes differ";
  Int128 tax_sum = 0;
  for (std::size_t r = 0; r < result.tax_by_rate.size(); ++r) {
    const std::int32_t rate = result.tax_by_rate[r].first;
    if (result.taxable_by_rate[r].first != rate) return "by-rate lists differ in their rates";
    if (r > 0 && rate <= result.tax_by_rate[r - 1].first) return "rates not strictly ascending";
    Int128 tax = 0;
    Int128 taxable = 0;
    bool seen = false;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i].rate_bp != rate) continue;
      seen = true;
      tax += result.lines[i].tax_minor;
      taxable += result.lines[i].taxable_minor;
    }
    if (!seen) return "rate " + std::to_string(rate) + " is not in the cart";
    if (tax != result.tax_by_rate[r].second) return "tax_by_rate is not the lines' sum";
    if (taxable != result.taxable_by_rate[r].second) return "taxable_by_rate is not the lines' sum";
    tax_sum += result.tax_by_rate[r].second;
  }
  for (const TaxLineIn& line : in) {
    bool listed = false;
    for (const auto& entry : result.tax_by_rate) listed = listed || entry.first == line.rate_bp;
    if (!listed) return "rate " + std::to_string(line.rate_bp) + " is missing";
  }
  if (tax_sum != result.tax_minor) return "tax_by_rate does not add up to tax_minor";
  return "";
}

std::string cart_violation(const std::vector<TaxLineIn>& in, const TaxResult& result,
                           TaxMode mode) {
  if (result.lines.size() != in.size()) return "wrong number of lines";
  Int128 net = 0;
  Int128 tax = 0;
  Int128 gross = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::string violation = line_violation(in[i], result.lines[i], mode);
    if (!violation.empty()) return "line " + std::to_string(i) + ": " + violation;
    net += result.lines[i].net_minor;
    tax += result.lines[i].tax_minor;
    gross += result.lines[i].gross_minor;
  }
  if (net != result.net_minor || tax != result.tax_minor || gross != result.gross_minor) {
    return "the lines do not add up to the totals";
  }
  return by_rate_violation(in, result);
}

}  // namespace

TEST_CASE("tax: property over 20000 random carts in both modes") {
  std::mt19937_64 rng(20240612);
  std::bernoulli_distribution inclusive(0.5);
  int violations = 0;
  for (int cart_index = 0; cart_index < 20'000; ++cart_index) {
    const std::vector<TaxLineIn> cart = random_tax_cart(rng);
    const TaxMode mode = inclusive(rng) ? TaxMode::inclusive : TaxMode::exclusive;
    const std::string violation = cart_violation(cart, compute_tax(cart, mode), mode);
    if (!violation.empty() && violations++ < 5) {
      FAIL_CHECK("cart " << cart_index << " (" << cart.size() << " lines, "
                         << (mode == TaxMode::inclusive ? "inclusive" : "exclusive")
                         << "): " << violation);
    }
  }
  CHECK(violations == 0);
}
