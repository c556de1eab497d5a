// The cart a host presents at checkout, as typed values. Built once at the
// edge (wire/requests.cpp) with every limit checked; the core trusts it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "money/money.hpp"

namespace refpos {

inline constexpr std::size_t kMaxLinesPerCart = 500;
inline constexpr std::int64_t kMaxQuantityPerLine = 100'000;

struct CartLine {
  std::string sku;
  std::string category;
  std::int64_t quantity = 0;          // 1..kMaxQuantityPerLine
  std::int64_t unit_price_minor = 0;  // 0..kMaxAmountMinor
  std::int64_t total_minor = 0;       // quantity * unit price, range-checked
  std::int64_t host_discount_minor = 0;  // the host's own discounts on the line, 0..total
  std::int32_t tax_rate_bp = 0;       // 0..10000
};

enum class TaxPricing { none, exclusive, inclusive };

struct Cart {
  std::string terminal_id;
  std::optional<std::string> cashier_id;
  std::optional<std::string> customer_id;  // absent: anonymous customer
  money::Currency currency;
  std::vector<CartLine> lines;            // 1..kMaxLinesPerCart
  std::int64_t subtotal_minor = 0;        // sum of line totals, range-checked
  std::int64_t host_discount_minor = 0;   // sum of the lines' host discounts
  TaxPricing tax = TaxPricing::none;
  // Hashes the host computed (hex SHA-256 of a normalised phone or e-mail,
  // of a payment token): never the data itself. Used against self-referral.
  std::set<std::string, std::less<>> identity_hashes;
  // Other loyalty ids presented in this basket (a second card scanned).
  std::set<std::string, std::less<>> linked_customer_ids;

  [[nodiscard]] std::int64_t line_net_minor(std::size_t i) const {
    return lines[i].total_minor - lines[i].host_discount_minor;
  }
};

}  // namespace refpos
