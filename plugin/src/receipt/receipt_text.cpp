#include "receipt/receipt_text.hpp"

#include <ctime>

#include "print/layout.hpp"

namespace refpos::receipt {
namespace {

// "label ........ amount" padded to the receipt width (labels are ASCII;
// the amount may hold a multi-byte currency sign, counted as one column).
std::string columns(const std::string& label, const std::string& amount, int width) {
  const auto used = static_cast<int>(label.size()) + print::text_columns(amount);
  const int pad = used < width ? width - used : 1;
  return label + std::string(static_cast<std::size_t>(pad), ' ') + amount;
}

void add_wrapped(std::vector<std::string>& lines, const std::string& text, int width) {
  for (auto& l : print::wrap(text, width)) lines.push_back(std::move(l));
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

// expires_at_ms is the first instant the code is refused: the last valid
// day is the one before it.
std::string last_valid_day(std::int64_t expires_at_ms) { return utc_date(expires_at_ms - 1); }

std::vector<std::string> receipt_lines(const ReceiptFacts& facts) {
  std::vector<std::string> lines;
  const int width = facts.columns;
  if (facts.redeemed_code) {
    // A friend rewarded with store credit gets no discount: the notes name
    // the credit instead of a "-$0.00" line.
    if (!facts.discount_text.empty()) {
      lines.push_back(columns("Referral discount", facts.discount_text, width));
    }
    add_wrapped(lines, "  code " + *facts.redeemed_code + ": welcome, and thank your friend!",
                width);
  }
  for (const auto& note : facts.notes) add_wrapped(lines, note, width);
  if (facts.issued_code) {
    lines.push_back(std::string(static_cast<std::size_t>(width), '-'));
    add_wrapped(lines, "Your referral code: " + *facts.issued_code, width);
    add_wrapped(lines, facts.offer_message + ".", width);
    add_wrapped(lines, "Valid until " + last_valid_day(facts.code_expires_at_ms) + ".", width);
    if (!facts.share_link.empty()) add_wrapped(lines, facts.share_link, width);
  }
  return lines;
}

}  // namespace refpos::receipt
