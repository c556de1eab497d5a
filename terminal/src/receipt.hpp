// receipt: the human receipt refpos-terminal prints after a commit, and the
// money formatting it needs.
//
// A real host prints its own receipt layout and adds the plugin's
// receipt_lines (the referral code, the friend's offer, thanks to the
// referrer) where its layout has room; this one shows where each piece comes
// from. The cart lines come from the host's own request, because the commit
// answer does not echo them; every amount the plugin decided (discounts,
// totals) comes from the answer, never recomputed by the host.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace refpos::terminal {

// Characters per receipt line: an 80 mm printer in font A (576 dots, 12 dots
// a character), the plugin's default printer, so that its receipt_lines fit
// as they are.
inline constexpr std::size_t kReceiptWidth = 48;

// Digits after the decimal point for display: 0 for JPY and KRW, 3 for KWD,
// BHD, OMR, JOD and TND, 2 otherwise. Display only: amounts stay integers.
int currency_exponent(std::string_view currency);

// "12.34", "-0.05", "1234" (JPY), "1.234" (KWD).
std::string format_money(std::int64_t amount_minor, std::string_view currency);

// "2026-01-01 09:05 UTC" from Unix milliseconds.
std::string format_utc_time(std::int64_t unix_ms);

// The receipt for a successful commit: the host's part (below), then the
// answer's receipt_lines. Missing fields print as blanks rather than throw.
std::string format_receipt(const nlohmann::json& request, const nlohmann::json& answer);

// The host's own part of that receipt, one string per printed line without
// '\n': header (store, till, txn, time), the cart lines of `request`,
// subtotal, discount lines, total. These are render's "host_lines": the
// plugin adds its referral lines, the QR coupon, header and footer itself.
std::vector<std::string> host_receipt_lines(const nlohmann::json& request,
                                            const nlohmann::json& answer);

// Subtotal, discount and total lines of a preview or commit answer, and the
// code's status message if a code was presented (for the cashier's screen).
std::string format_totals(const nlohmann::json& answer);

}  // namespace refpos::terminal
