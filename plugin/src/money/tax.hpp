// Tax on discounted cart lines, in integer minor units, without a cent of
// drift between the lines a receipt prints and the totals under them.
//
// Contract:
//  - Tax is computed per line and rounded half-up once per line. A receipt
//    shows per-line figures and totals that are their sums, so the lines
//    always add up to the totals exactly; no rounding happens on a total.
//  - Exclusive prices (US sales tax): tax = net * rate / 10'000, rounded with
//    percent_of_half_up(). Inclusive prices (EU VAT): the tax contained in
//    the net price, net * rate / (10'000 + rate), rounded half-up.
//  - Jurisdictions that round once per invoice per rate instead can recompute
//    from the per-rate bases: the sum of net_minor at a rate is
//    taxable_by_rate (exclusive) or taxable_by_rate + tax_by_rate (inclusive).
//  - 128-bit intermediates: kMaxAmountMinor at a rate of 100 % never
//    overflows. Inputs are checked by the caller; the preconditions are
//    asserted, not reported.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace refpos::money {

enum class TaxMode {
  exclusive,  // prices exclude tax (US): tax is added on top
  inclusive,  // prices include tax (EU VAT): tax is contained in the price
};

struct TaxLineIn {
  std::int64_t total_minor;     // line total before discounts, 0..kMaxAmountMinor
  std::int64_t discount_minor;  // sum of all discounts on the line, 0..total_minor
  std::int32_t rate_bp;         // tax rate in basis points, 0..kBasisPointsWhole (0..100 %)
};

struct TaxLineOut {
  // total - discount: the price actually charged for the line (tax included
  // when inclusive).
  std::int64_t net_minor;
  // The base the tax is computed on: exclusive net; inclusive net - tax.
  std::int64_t taxable_minor;
  // Exclusive: net * rate, half-up. Inclusive: the tax contained in net,
  // net * rate / (10'000 + rate), half-up. Always 0..net.
  std::int64_t tax_minor;
  // What the customer pays for the line: exclusive net + tax; inclusive net.
  // Up to 2 * kMaxAmountMinor (exclusive, rate 100 %).
  std::int64_t gross_minor;
};

struct TaxResult {
  std::vector<TaxLineOut> lines;  // one per input line, in input order
  std::int64_t net_minor = 0;     // sum of the lines' net_minor
  std::int64_t tax_minor = 0;     // sum of the lines' tax_minor
  std::int64_t gross_minor = 0;   // sum of the lines' gross_minor
  // One entry per distinct rate_bp among the lines (0 % included), sorted by
  // rate: the sum of tax_minor, and of taxable_minor, of the lines at that
  // rate. Both vectors list the same rates in the same order.
  std::vector<std::pair<std::int32_t, std::int64_t>> tax_by_rate;
  std::vector<std::pair<std::int32_t, std::int64_t>> taxable_by_rate;
};

// The tax on each line and the cart's totals. Requires every line within the
// ranges documented on TaxLineIn, and the totals to fit in int64 (they do for
// any cart of up to 4'611 lines, far above kMaxLinesPerCart); asserted.
TaxResult compute_tax(std::span<const TaxLineIn> lines, TaxMode mode);

}  // namespace refpos::money
