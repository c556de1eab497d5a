// The text a receipt gains from refpos: the referral discount, the thanks,
// and the customer's own code with what it gives. Plain lines the host
// prints as they are (ESC/POS and pictures come from the same facts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "money/money.hpp"

namespace refpos::receipt {

inline constexpr std::size_t kReceiptWidthChars = 42;  // 80 mm printers, font A

struct ReceiptFacts {
  money::Currency currency;
  std::int64_t discount_minor = 0;
  std::optional<std::string> redeemed_code;  // display form
  std::optional<std::string> issued_code;    // display form
  std::string offer_message;                 // what the friend and referrer get
  std::string share_link;
  std::int64_t code_expires_at_ms = 0;
};

std::vector<std::string> receipt_lines(const ReceiptFacts& facts);

// "2026-02-01" (UTC) for Unix milliseconds.
std::string utc_date(std::int64_t unix_ms);

}  // namespace refpos::receipt
