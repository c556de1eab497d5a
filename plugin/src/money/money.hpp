// Money: an integer count of minor units with its currency. Never a float.
//
// Contract:
//  - Amounts live in [-kMaxAmountMinor, kMaxAmountMinor]; arithmetic that
//    would leave that range, or mix currencies, fails instead of wrapping.
//  - Ratios (percentages) use 128-bit intermediates and are rounded in one
//    named function, percent_of_half_up().
//  - Splitting a total over lines uses largest remainder, so the parts add up
//    to the total exactly (allocate_largest_remainder()).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace refpos::money {

// Largest magnitude of any amount: 10^15 minor units (ten trillion dollars).
// Far above any basket, far below INT64_MAX so that a sum of kMaxLinesPerCart
// lines is checked before it could overflow.
inline constexpr std::int64_t kMaxAmountMinor = 1'000'000'000'000'000;
// Basis points: 10'000 = 100 %.
inline constexpr std::int32_t kBasisPointsWhole = 10'000;

// An ISO 4217 currency: alphabetic code and number of minor-unit digits.
struct Currency {
  std::string_view code;  // "USD"; points into a static table
  int exponent = 2;       // 0 (JPY), 2 (USD), 3 (KWD)
  friend bool operator==(const Currency& a, const Currency& b) { return a.code == b.code; }
};

// The currency with this ISO 4217 alphabetic code (upper case), or nullopt.
std::optional<Currency> find_currency(std::string_view iso_code);

class Money {
 public:
  // Fails (bad_request) if |minor| > kMaxAmountMinor.
  static Result<Money> of(std::int64_t minor, Currency currency);
  static Money zero(Currency currency) { return Money(0, currency); }

  [[nodiscard]] std::int64_t minor() const { return minor_; }
  [[nodiscard]] Currency currency() const { return currency_; }
  [[nodiscard]] bool is_zero() const { return minor_ == 0; }
  [[nodiscard]] bool is_negative() const { return minor_ < 0; }

  // Fail with a clear error on currency mismatch or range overflow.
  [[nodiscard]] Result<Money> plus(const Money& other) const;
  [[nodiscard]] Result<Money> minus(const Money& other) const;
  [[nodiscard]] Money negated() const { return Money(-minor_, currency_); }

  // "12.34" / "1234" (JPY) / "1.234" (KWD); a leading '-' when negative.
  [[nodiscard]] std::string to_decimal_string() const;

  friend bool operator==(const Money& a, const Money& b) {
    return a.minor_ == b.minor_ && a.currency_ == b.currency_;
  }

 private:
  Money(std::int64_t minor, Currency currency) : minor_(minor), currency_(currency) {}
  std::int64_t minor_;
  Currency currency_;
};

// quantity * unit_minor, failing (bad_request, naming `field`) if the result
// leaves [-kMaxAmountMinor, kMaxAmountMinor].
Result<std::int64_t> checked_multiply(std::int64_t quantity, std::int64_t unit_minor,
                                      std::string_view field);

// amount_minor * basis_points / 10'000, rounded half-up (away from zero on
// exact halves) to the minor unit. Requires 0 <= amount_minor <= kMaxAmountMinor
// and 0 <= basis_points <= kBasisPointsWhole. Tax (money/tax.hpp) and
// refund shares (below) are the other roundings.
std::int64_t percent_of_half_up(std::int64_t amount_minor, std::int32_t basis_points);

// amount_minor * part / whole, rounded half-up: the share of an amount that
// belongs to `part` of `whole` units (0 when whole is 0). Refunds take
// differences of this cumulative share, so any sequence of partial refunds
// adds up to the whole amount exactly. Requires 0 <= part <= whole and
// |amount_minor| <= kMaxAmountMinor.
std::int64_t share_half_up(std::int64_t amount_minor, std::int64_t part, std::int64_t whole);

// Splits `total_minor` over parts in proportion to `weights_minor` by largest
// remainder: each part gets floor(total * w / W), and the units left over go
// one each to the parts with the largest remainders (ties: lower index
// first). Requires 0 <= total_minor <= sum(weights) and every weight >= 0.
// The result has weights.size() entries, each <= its weight, and sums to
// total_minor exactly.
std::vector<std::int64_t> allocate_largest_remainder(std::int64_t total_minor,
                                                     std::span<const std::int64_t> weights_minor);

}  // namespace refpos::money
