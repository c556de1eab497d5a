// Per-line tax in exclusive and inclusive modes, and the cart's totals as
// exact sums of the lines. The contract is in tax.hpp.
#include "money/tax.hpp"

#include <cassert>
#include <limits>
#include <map>

#include "money/money.hpp"

namespace refpos::money {
namespace {

// __extension__: -Wpedantic would otherwise reject the GCC/clang built-in type.
__extension__ typedef __int128 Int128;  // NOLINT(modernize-use-using)

// The tax contained in a tax-inclusive price: net * rate / (10'000 + rate),
// rounded half-up. percent_of_half_up() cannot express it (its divisor is
// always 10'000), so this is the one other rounding, and it follows the same
// rule: a remainder of at least half the divisor rounds up.
std::int64_t inclusive_tax_half_up(std::int64_t net_minor, std::int32_t rate_bp) {
  // 10^15 * 10^4 exceeds INT64_MAX, hence 128 bits.
  const Int128 scaled = static_cast<Int128>(net_minor) * rate_bp;
  const Int128 divisor = Int128{kBasisPointsWhole} + rate_bp;
  const Int128 quotient = scaled / divisor;
  const Int128 remainder = scaled % divisor;
  return static_cast<std::int64_t>(remainder * 2 >= divisor ? quotient + 1 : quotient);
}

TaxLineOut tax_line(const TaxLineIn& in, TaxMode mode) {
  assert(in.total_minor >= 0 && in.total_minor <= kMaxAmountMinor);
  assert(in.discount_minor >= 0 && in.discount_minor <= in.total_minor);
  assert(in.rate_bp >= 0 && in.rate_bp <= kBasisPointsWhole);
  const std::int64_t net = in.total_minor - in.discount_minor;
  if (mode == TaxMode::exclusive) {
    const std::int64_t tax = percent_of_half_up(net, in.rate_bp);
    return TaxLineOut{net, net, tax, net + tax};
  }
  const std::int64_t tax = inclusive_tax_half_up(net, in.rate_bp);
  return TaxLineOut{net, net - tax, tax, net};
}

// The sums are taken in 128 bits so that a cart too large for int64 trips
// the assertion instead of wrapping.
std::int64_t narrow_total(Int128 sum) {
  assert(sum >= 0 && sum <= std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(sum);
}

struct RateSums {
  Int128 tax = 0;
  Int128 taxable = 0;
};

}  // namespace

TaxResult compute_tax(std::span<const TaxLineIn> lines, TaxMode mode) {
  TaxResult result;
  result.lines.reserve(lines.size());
  Int128 net_sum = 0;
  Int128 tax_sum = 0;
  Int128 gross_sum = 0;
  std::map<std::int32_t, RateSums> by_rate;  // ordered: the output is sorted by rate
  for (const TaxLineIn& in : lines) {
    const TaxLineOut out = tax_line(in, mode);
    assert(out.tax_minor >= 0 && out.tax_minor <= out.net_minor);
    net_sum += out.net_minor;
    tax_sum += out.tax_minor;
    gross_sum += out.gross_minor;
    RateSums& sums = by_rate[in.rate_bp];
    sums.tax += out.tax_minor;
    sums.taxable += out.taxable_minor;
    result.lines.push_back(out);
  }
  result.net_minor = narrow_total(net_sum);
  result.tax_minor = narrow_total(tax_sum);
  result.gross_minor = narrow_total(gross_sum);
  result.tax_by_rate.reserve(by_rate.size());
  result.taxable_by_rate.reserve(by_rate.size());
  for (const auto& [rate_bp, sums] : by_rate) {
    result.tax_by_rate.emplace_back(rate_bp, narrow_total(sums.tax));
    result.taxable_by_rate.emplace_back(rate_bp, narrow_total(sums.taxable));
  }
  return result;
}

}  // namespace refpos::money
