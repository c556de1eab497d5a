// The cart a host presents at checkout, as typed values. Built once at the
// edge (wire/requests.cpp) with every limit checked; the core trusts it.
#pragma once

#include <cstdint>
#include <optional>
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
};

struct Cart {
  std::string terminal_id;
  std::optional<std::string> cashier_id;
  std::optional<std::string> customer_id;  // absent: anonymous customer
  money::Currency currency;
  std::vector<CartLine> lines;            // 1..kMaxLinesPerCart
  std::int64_t subtotal_minor = 0;        // sum of line totals, range-checked
};

}  // namespace refpos
