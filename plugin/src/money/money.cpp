// Money arithmetic: range-checked integers of minor units, 128-bit
// intermediates for ratios, and the one rounding rule (half-up). The contract
// is in money.hpp; this file adds the ISO 4217 table.
#include "money/money.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <numeric>
#include <string>
#include <utility>

namespace refpos::money {
namespace {

// __extension__: -Wpedantic would otherwise reject the GCC/clang built-in type.
__extension__ typedef __int128 Int128;  // NOLINT(modernize-use-using)

// ISO 4217 active currencies (funds codes such as BOV, CLF, USN and currencies
// in transition such as ANG/XCG are left out on purpose: a store that needs
// one adds it here with its exponent from the ISO list, not a guess).
constexpr std::array kCurrencies = {
    // Exponent 0: no minor unit in use.
    Currency{"BIF", 0}, Currency{"CLP", 0}, Currency{"DJF", 0}, Currency{"GNF", 0},
    Currency{"ISK", 0}, Currency{"JPY", 0}, Currency{"KMF", 0}, Currency{"KRW", 0},
    Currency{"PYG", 0}, Currency{"RWF", 0}, Currency{"UGX", 0}, Currency{"VND", 0},
    Currency{"VUV", 0}, Currency{"XAF", 0}, Currency{"XOF", 0}, Currency{"XPF", 0},
    // Exponent 3: thousandths (fils, baisa, dirham).
    Currency{"BHD", 3}, Currency{"IQD", 3}, Currency{"JOD", 3}, Currency{"KWD", 3},
    Currency{"LYD", 3}, Currency{"OMR", 3}, Currency{"TND", 3},
    // Exponent 2: everything else below.
    Currency{"AED", 2}, Currency{"AFN", 2}, Currency{"ALL", 2}, Currency{"AMD", 2},
    Currency{"AOA", 2}, Currency{"ARS", 2}, Currency{"AUD", 2}, Currency{"AWG", 2},
    Currency{"AZN", 2}, Currency{"BAM", 2}, Currency{"BBD", 2}, Currency{"BDT", 2},
    Currency{"BGN", 2}, Currency{"BMD", 2}, Currency{"BND", 2}, Currency{"BOB", 2},
    Currency{"BRL", 2}, Currency{"BSD", 2}, Currency{"BTN", 2}, Currency{"BWP", 2},
    Currency{"BYN", 2}, Currency{"BZD", 2}, Currency{"CAD", 2}, Currency{"CDF", 2},
    Currency{"CHF", 2}, Currency{"CNY", 2}, Currency{"COP", 2}, Currency{"CRC", 2},
    Currency{"CUP", 2}, Currency{"CVE", 2}, Currency{"CZK", 2}, Currency{"DKK", 2},
    Currency{"DOP", 2}, Currency{"DZD", 2}, Currency{"EGP", 2}, Currency{"ERN", 2},
    Currency{"ETB", 2}, Currency{"EUR", 2}, Currency{"FJD", 2}, Currency{"FKP", 2},
    Currency{"GBP", 2}, Currency{"GEL", 2}, Currency{"GHS", 2}, Currency{"GIP", 2},
    Currency{"GMD", 2}, Currency{"GTQ", 2}, Currency{"GYD", 2}, Currency{"HKD", 2},
    Currency{"HNL", 2}, Currency{"HTG", 2}, Currency{"HUF", 2}, Currency{"IDR", 2},
    Currency{"ILS", 2}, Currency{"INR", 2}, Currency{"IRR", 2}, Currency{"JMD", 2},
    Currency{"KES", 2}, Currency{"KGS", 2}, Currency{"KHR", 2}, Currency{"KPW", 2},
    Currency{"KYD", 2}, Currency{"KZT", 2}, Currency{"LAK", 2}, Currency{"LBP", 2},
    Currency{"LKR", 2}, Currency{"LRD", 2}, Currency{"LSL", 2}, Currency{"MAD", 2},
    Currency{"MDL", 2}, Currency{"MGA", 2}, Currency{"MKD", 2}, Currency{"MMK", 2},
    Currency{"MNT", 2}, Currency{"MOP", 2}, Currency{"MRU", 2}, Currency{"MUR", 2},
    Currency{"MVR", 2}, Currency{"MWK", 2}, Currency{"MXN", 2}, Currency{"MYR", 2},
    Currency{"MZN", 2}, Currency{"NAD", 2}, Currency{"NGN", 2}, Currency{"NIO", 2},
    Currency{"NOK", 2}, Currency{"NPR", 2}, Currency{"NZD", 2}, Currency{"PAB", 2},
    Currency{"PEN", 2}, Currency{"PGK", 2}, Currency{"PHP", 2}, Currency{"PKR", 2},
    Currency{"PLN", 2}, Currency{"QAR", 2}, Currency{"RON", 2}, Currency{"RSD", 2},
    Currency{"RUB", 2}, Currency{"SAR", 2}, Currency{"SBD", 2}, Currency{"SCR", 2},
    Currency{"SDG", 2}, Currency{"SEK", 2}, Currency{"SGD", 2}, Currency{"SHP", 2},
    Currency{"SLE", 2}, Currency{"SOS", 2}, Currency{"SRD", 2}, Currency{"SSP", 2},
    Currency{"STN", 2}, Currency{"SVC", 2}, Currency{"SYP", 2}, Currency{"SZL", 2},
    Currency{"THB", 2}, Currency{"TJS", 2}, Currency{"TMT", 2}, Currency{"TOP", 2},
    Currency{"TRY", 2}, Currency{"TTD", 2}, Currency{"TWD", 2}, Currency{"TZS", 2},
    Currency{"UAH", 2}, Currency{"USD", 2}, Currency{"UYU", 2}, Currency{"UZS", 2},
    Currency{"VES", 2}, Currency{"WST", 2}, Currency{"XCD", 2}, Currency{"YER", 2},
    Currency{"ZAR", 2}, Currency{"ZMW", 2},
};

bool in_range(Int128 minor) { return minor >= -kMaxAmountMinor && minor <= kMaxAmountMinor; }

std::string range_text() {
  return "must be between " + std::to_string(-kMaxAmountMinor) + " and " +
         std::to_string(kMaxAmountMinor) + " minor units";
}

// mismatch_error("add", "to", usd, eur): "cannot add EUR to USD: ...".
Result<Money> mismatch_error(std::string_view verb, std::string_view preposition,
                             const Money& left, const Money& right) {
  std::string message = "cannot ";
  message.append(verb).append(" ").append(right.currency().code).append(" ");
  message.append(preposition).append(" ").append(left.currency().code);
  message.append(": both amounts must be in the same currency");
  return make_error(ErrorKind::bad_request, "currency", std::move(message));
}

}  // namespace

std::optional<Currency> find_currency(std::string_view iso_code) {
  const auto* it = std::find_if(kCurrencies.begin(), kCurrencies.end(),
                                [&](const Currency& c) { return c.code == iso_code; });
  if (it == kCurrencies.end()) return std::nullopt;
  return *it;
}

Result<Money> Money::of(std::int64_t minor, Currency currency) {
  if (!in_range(minor)) {
    return make_error(ErrorKind::bad_request, "amount_minor",
                      range_text() + ", got " + std::to_string(minor));
  }
  return Money(minor, currency);
}

Result<Money> Money::plus(const Money& other) const {
  if (!(currency_ == other.currency_)) return mismatch_error("add", "to", *this, other);
  // In range operands are far from INT64 limits, so the sum cannot wrap.
  const std::int64_t sum = minor_ + other.minor_;
  if (!in_range(sum)) {
    return make_error(ErrorKind::bad_request, "amount_minor",
                      "sum " + range_text() + ", got " + std::to_string(sum));
  }
  return Money(sum, currency_);
}

Result<Money> Money::minus(const Money& other) const {
  if (!(currency_ == other.currency_)) return mismatch_error("subtract", "from", *this, other);
  const std::int64_t difference = minor_ - other.minor_;
  if (!in_range(difference)) {
    return make_error(ErrorKind::bad_request, "amount_minor",
                      "difference " + range_text() + ", got " + std::to_string(difference));
  }
  return Money(difference, currency_);
}

std::string Money::to_decimal_string() const {
  // minor_ is in range, so negating it cannot overflow.
  std::string digits = std::to_string(minor_ < 0 ? -minor_ : minor_);
  const auto exponent = static_cast<std::size_t>(currency_.exponent);
  if (digits.size() <= exponent) digits.insert(0, exponent + 1 - digits.size(), '0');
  if (exponent > 0) digits.insert(digits.size() - exponent, 1, '.');
  return minor_ < 0 ? "-" + digits : digits;
}

Result<std::int64_t> checked_multiply(std::int64_t quantity, std::int64_t unit_minor,
                                      std::string_view field) {
  // Any product of two int64 values fits in 127 bits.
  const Int128 product = static_cast<Int128>(quantity) * unit_minor;
  if (!in_range(product)) {
    return make_error(ErrorKind::bad_request, std::string(field),
                      "quantity times unit amount " + range_text() + ", got " +
                          std::to_string(quantity) + " * " + std::to_string(unit_minor));
  }
  return static_cast<std::int64_t>(product);
}

std::int64_t share_half_up(std::int64_t amount_minor, std::int64_t part, std::int64_t whole) {
  assert(0 <= part && part <= whole);
  if (whole == 0) return 0;
  const bool negative = amount_minor < 0;
  const Int128 magnitude = static_cast<Int128>(negative ? -amount_minor : amount_minor);
  const Int128 scaled = (magnitude * part * 2 + whole) / (static_cast<Int128>(whole) * 2);
  return negative ? -static_cast<std::int64_t>(scaled) : static_cast<std::int64_t>(scaled);
}

std::int64_t percent_of_half_up(std::int64_t amount_minor, std::int32_t basis_points) {
  assert(amount_minor >= 0 && amount_minor <= kMaxAmountMinor);
  assert(basis_points >= 0 && basis_points <= kBasisPointsWhole);
  // 10^15 * 10^4 exceeds INT64_MAX, hence 128 bits. Both factors are
  // non-negative, so adding half the divisor rounds exact halves away from 0.
  const Int128 scaled = static_cast<Int128>(amount_minor) * basis_points;
  return static_cast<std::int64_t>((scaled + kBasisPointsWhole / 2) / kBasisPointsWhole);
}

namespace {

// Hands the units that flooring left over, one each, to the parts with the
// largest remainders (ties: lower index first, hence the stable sort).
void distribute_left_over(Int128 left_over, std::span<const Int128> remainders,
                          std::vector<std::int64_t>& parts) {
  std::vector<std::size_t> order(parts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return remainders[a] > remainders[b];
  });
  // left_over is the sum of the fractional parts, so it is smaller than the
  // number of non-zero remainders: only a part whose exact share is not an
  // integer gets a unit, which keeps every part <= its weight.
  for (std::size_t k = 0; left_over > 0; ++k, --left_over) {
    assert(k < parts.size() && remainders[order[k]] > 0);
    ++parts[order[k]];
  }
}

}  // namespace

std::vector<std::int64_t> allocate_largest_remainder(std::int64_t total_minor,
                                                     std::span<const std::int64_t> weights_minor) {
  assert(total_minor >= 0);
  assert(std::all_of(weights_minor.begin(), weights_minor.end(),
                     [](std::int64_t w) { return w >= 0; }));
  // The sum of the weights may exceed INT64_MAX; 128 bits cannot overflow.
  const Int128 weight_sum = std::accumulate(weights_minor.begin(), weights_minor.end(), Int128{0});
  assert(total_minor <= weight_sum);

  std::vector<std::int64_t> parts(weights_minor.size(), 0);
  if (weight_sum == 0) return parts;
  std::vector<Int128> remainders(weights_minor.size());
  Int128 left_over = total_minor;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Int128 exact_share = static_cast<Int128>(total_minor) * weights_minor[i];
    parts[i] = static_cast<std::int64_t>(exact_share / weight_sum);
    remainders[i] = exact_share % weight_sum;
    left_over -= parts[i];
  }
  distribute_left_over(left_over, remainders, parts);
  assert(std::accumulate(parts.begin(), parts.end(), Int128{0}) == total_minor);
  return parts;
}

}  // namespace refpos::money
