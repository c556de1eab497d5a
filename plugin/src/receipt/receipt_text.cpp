#include "receipt/receipt_text.hpp"

#include <ctime>

namespace refpos::receipt {
namespace {

// "label ........ amount" padded to the receipt width (byte-wise: labels are
// ASCII here).
std::string columns(const std::string& label, const std::string& amount) {
  const std::size_t used = label.size() + amount.size();
  const std::size_t pad = used < kReceiptWidthChars ? kReceiptWidthChars - used : 1;
  return label + std::string(pad, ' ') + amount;
}

}  // namespace

std::string utc_date(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::vector<std::string> receipt_lines(const ReceiptFacts& facts) {
  std::vector<std::string> lines;
  if (facts.redeemed_code) {
    const auto amount = money::Money::of(-facts.discount_minor, facts.currency);
    lines.push_back(columns("Referral discount", amount ? amount->to_decimal_string() : ""));
    lines.push_back("  code " + *facts.redeemed_code + ": welcome, and thank your friend!");
  }
  if (facts.issued_code) {
    lines.push_back(std::string(kReceiptWidthChars, '-'));
    lines.push_back("Your referral code: " + *facts.issued_code);
    lines.push_back(facts.offer_message + ".");
    // expires_at_ms is the first instant the code is refused: the last
    // valid day is the one before it.
    lines.push_back("Valid until " + utc_date(facts.code_expires_at_ms - 1) + ".");
    if (!facts.share_link.empty()) lines.push_back(facts.share_link);
  }
  return lines;
}

}  // namespace refpos::receipt
