// Tests of money/format.cpp: money as receipts write it in each locale.
#include "money/format.hpp"

#include <doctest/doctest.h>

#include <limits>

namespace {

using refpos::money::find_currency;
using refpos::money::find_locale;
using refpos::money::format_money;

std::string as(std::int64_t minor, std::string_view currency, std::string_view locale) {
  return format_money(minor, *find_currency(currency), *find_locale(locale));
}

TEST_CASE("money format: symbol, grouping and decimals follow the locale") {
  CHECK(as(123450, "USD", "en-US") == "$1,234.50");
  CHECK(as(-5, "USD", "en-US") == "-$0.05");
  CHECK(as(0, "USD", "en-US") == "$0.00");
  CHECK(as(123450, "EUR", "de-DE") == "1.234,50 €");
  CHECK(as(-123450, "EUR", "de-DE") == "-1.234,50 €");
  CHECK(as(123450, "EUR", "fr-FR") == "1 234,50 €");
  CHECK(as(123456789, "EUR", "nl-NL") == "€ 1.234.567,89");
  CHECK(as(1235, "JPY", "ja-JP") == "¥1,235");
  CHECK(as(1000, "GBP", "en-GB") == "£10.00");
  CHECK(as(1000, "CHF", "de-CH") == "CHF 10.00");
  CHECK(as(100000, "CHF", "de-CH") == "CHF 1'000.00");
  CHECK(as(1234, "KWD", "en-US") == "KWD 1.234");
  CHECK(as(999, "SEK", "sv-SE") == "9,99 kr");
}

TEST_CASE("money format: a dollar abroad says whose it is") {
  CHECK(as(1000, "CAD", "en-CA") == "$10.00");
  CHECK(as(1000, "USD", "en-CA") == "US$10.00");
  CHECK(as(1000, "AUD", "en-US") == "AU$10.00");
}

TEST_CASE("money format: the extremes of int64 do not overflow") {
  CHECK(as(std::numeric_limits<std::int64_t>::min(), "USD", "en-US") ==
        "-$92,233,720,368,547,758.08");
  CHECK(as(std::numeric_limits<std::int64_t>::max(), "JPY", "en-US") ==
        "¥9,223,372,036,854,775,807");
}

TEST_CASE("money format: locale tags are matched leniently, unknown ones refused") {
  CHECK(find_locale("de_de").has_value());
  CHECK(find_locale("EN-us")->tag == "en-US");
  CHECK_FALSE(find_locale("xx-YY").has_value());
  CHECK_FALSE(find_locale("").has_value());
}

}  // namespace
