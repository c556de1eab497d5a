// The text a receipt gains from refpos: the referral discount, the thanks,
// and the customer's own code with what it gives. Plain lines, at most the
// printer's width, for hosts that print text only (receipt_lines in the
// commit answer); ESC/POS and pictures come from printout.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace refpos::receipt {

struct ReceiptFacts {
  int columns = 48;                          // the printer's characters per line
  std::string discount_text;                 // "-$10.00" in the store's locale; "" when none
  std::optional<std::string> redeemed_code;  // display form
  std::optional<std::string> issued_code;    // display form
  std::string offer_message;                 // what the friend and referrer get
  std::string share_link;
  std::int64_t code_expires_at_ms = 0;
  // Lines about the loop: balances spent, the friend's welcome credit, and
  // "Your friend joined" for a referrer whose friend redeemed.
  std::vector<std::string> notes;
};

std::vector<std::string> receipt_lines(const ReceiptFacts& facts);

// "2026-02-01" (UTC) for Unix milliseconds.
std::string utc_date(std::int64_t unix_ms);

// The last day a code is accepted, for a code refused from `expires_at_ms`.
std::string last_valid_day(std::int64_t expires_at_ms);

}  // namespace refpos::receipt
