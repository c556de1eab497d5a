#include "money/format.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace refpos::money {
namespace {

// Conventions from CLDR 44 (decimal and grouping symbols, symbol position),
// restricted to characters every receipt code page can print or
// transliterate.
constexpr std::array kLocales{
    Locale{"en-US", ".", ",", true, false},  Locale{"en-GB", ".", ",", true, false},
    Locale{"en-CA", ".", ",", true, false},  Locale{"en-AU", ".", ",", true, false},
    Locale{"en-IE", ".", ",", true, false},  Locale{"en-NZ", ".", ",", true, false},
    Locale{"fr-CA", ",", " ", false, false}, Locale{"fr-FR", ",", " ", false, false},
    Locale{"fr-BE", ",", " ", false, false}, Locale{"fr-CH", ",", " ", false, false},
    Locale{"de-DE", ",", ".", false, false}, Locale{"de-AT", ",", ".", false, false},
    Locale{"de-CH", ".", "'", true, true},   Locale{"it-IT", ",", ".", false, false},
    Locale{"es-ES", ",", ".", false, false}, Locale{"es-MX", ".", ",", true, false},
    Locale{"pt-PT", ",", " ", false, false}, Locale{"pt-BR", ",", ".", true, true},
    Locale{"nl-NL", ",", ".", true, true},   Locale{"nl-BE", ",", ".", false, false},
    Locale{"sv-SE", ",", " ", false, false}, Locale{"da-DK", ",", ".", false, false},
    Locale{"nb-NO", ",", " ", false, false}, Locale{"fi-FI", ",", " ", false, false},
    Locale{"pl-PL", ",", " ", false, false}, Locale{"cs-CZ", ",", " ", false, false},
    Locale{"ja-JP", ".", ",", true, false},  Locale{"en-IN", ".", ",", true, false},
};

struct Symbol {
  std::string_view currency;
  std::string_view symbol;
};

// Symbols as their home markets write them. A dollar outside its own
// country is qualified the way CLDR does ("US$" in en-CA).
constexpr std::array kSymbols{
    Symbol{"EUR", "€"},  Symbol{"GBP", "£"},   Symbol{"JPY", "¥"},  Symbol{"CHF", "CHF"},
    Symbol{"SEK", "kr"}, Symbol{"NOK", "kr"},  Symbol{"DKK", "kr."}, Symbol{"PLN", "zł"},
    Symbol{"CZK", "Kč"}, Symbol{"BRL", "R$"},  Symbol{"INR", "₹"},  Symbol{"MXN", "$"},
};

struct DollarHome {
  std::string_view currency;
  std::string_view region;  // the locale region where "$" alone means it
};
constexpr std::array kDollars{
    DollarHome{"USD", "US"}, DollarHome{"CAD", "CA"}, DollarHome{"AUD", "AU"},
    DollarHome{"NZD", "NZ"}, DollarHome{"MXN", "MX"},
};

std::string normalised_tag(std::string_view tag) {
  std::string out(tag);
  std::replace(out.begin(), out.end(), '_', '-');
  const auto dash = out.find('-');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    out[i] = static_cast<char>(dash != std::string::npos && i > dash ? std::toupper(c)
                                                                       : std::tolower(c));
  }
  return out;
}

std::string group_digits(const std::string& digits, std::string_view separator) {
  if (separator.empty() || digits.size() <= 3) return digits;
  std::string out;
  const std::size_t head = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out.append(digits, 0, head);
  for (std::size_t i = head; i < digits.size(); i += 3) {
    out.append(separator);
    out.append(digits, i, 3);
  }
  return out;
}

}  // namespace

std::optional<Locale> find_locale(std::string_view tag) {
  const std::string wanted = normalised_tag(tag);
  for (const Locale& locale : kLocales) {
    if (locale.tag == wanted) return locale;
  }
  return std::nullopt;
}

std::string known_locale_tags() {
  std::string out;
  for (const Locale& locale : kLocales) {
    if (!out.empty()) out += ", ";
    out += locale.tag;
  }
  return out;
}

std::string currency_symbol(Currency currency, const Locale& locale) {
  const std::string_view region = locale.tag.substr(locale.tag.find('-') + 1);
  for (const DollarHome& home : kDollars) {
    if (home.currency != currency.code) continue;
    if (home.region == region) return "$";
    return std::string(home.currency.substr(0, 2)) + "$";  // US$, CA$, AU$
  }
  for (const Symbol& symbol : kSymbols) {
    if (symbol.currency == currency.code) return std::string(symbol.symbol);
  }
  return std::string(currency.code);
}

std::string format_money(std::int64_t minor, Currency currency, const Locale& locale) {
  // |INT64_MIN| does not fit: go through unsigned arithmetic.
  const std::uint64_t magnitude =
      minor < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(minor)
                : static_cast<std::uint64_t>(minor);
  std::string digits = std::to_string(magnitude);
  const auto exponent = static_cast<std::size_t>(currency.exponent);
  if (digits.size() <= exponent) digits.insert(0, exponent + 1 - digits.size(), '0');
  std::string number = group_digits(digits.substr(0, digits.size() - exponent), locale.group);
  if (exponent > 0) {
    number.append(locale.decimal);
    number.append(digits, digits.size() - exponent, exponent);
  }
  const std::string symbol = currency_symbol(currency, locale);
  // An ISO code is a word, and words need a space ("CHF 5.00", "5,00 SEK").
  const bool word = std::all_of(symbol.begin(), symbol.end(), [](char ch) {
    return std::isupper(static_cast<unsigned char>(ch)) != 0;
  });
  std::string out = minor < 0 ? "-" : "";
  if (locale.symbol_first) {
    out += symbol + (locale.space_after_symbol || word ? " " : "") + number;
  } else {
    out += number + " " + symbol;
  }
  return out;
}

}  // namespace refpos::money
