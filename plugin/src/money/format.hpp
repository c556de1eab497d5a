// Money as a customer reads it on a receipt: "$1,234.50" in en-US,
// "1.234,50 €" in de-DE, "1 234,50 €" in fr-FR, "¥1,235" in ja-JP.
//
// Deliberately not the C library's locales: a till must print the same
// receipt whatever locales the operating system happens to have installed,
// so the conventions are a small table here (docs/receipts.md lists them).
// Amounts stay integers; this is display only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "money/money.hpp"

namespace refpos::money {

struct Locale {
  std::string_view tag;        // BCP 47: "en-US"
  std::string_view decimal;    // "." or ","
  std::string_view group;      // ",", ".", " " (U+202F narrow no-break in CLDR; a plain space prints everywhere), "'" or ""
  bool symbol_first = true;    // "$1.00" vs "1,00 €"
  bool space_after_symbol = false;  // "CHF 1.00" vs "$1.00" (when symbol_first)
};

// The locale for a BCP 47 tag ("en-US", case-insensitive, '_' accepted),
// or nullopt for a tag not in the table.
std::optional<Locale> find_locale(std::string_view tag);
// The table's tags, for error messages and docs.
std::string known_locale_tags();

// The currency's symbol as written in `locale` ("$" for USD in en-US,
// "US$" in en-CA, "€", "£", "¥", "kr", "CHF"); the ISO code when there is
// no well-known symbol.
std::string currency_symbol(Currency currency, const Locale& locale);

// "$1,234.50", "-$0.05", "1.234,50 €", "-1.234,50 €".
std::string format_money(std::int64_t minor, Currency currency, const Locale& locale);

}  // namespace refpos::money
