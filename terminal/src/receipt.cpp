// receipt: see receipt.hpp.
#include "receipt.hpp"

#include <array>
#include <cctype>
#include <ctime>
#include <optional>

namespace refpos::terminal {
namespace {

using nlohmann::json;

// Field readers that tolerate a missing or mistyped member (a receipt is
// printed after the money moved: it must not fail on a cosmetic problem).
std::string text_of(const json& object, const char* key) {
  if (object.is_object()) {
    const auto found = object.find(key);
    if (found != object.end() && found->is_string()) {
      return found->get<std::string>();
    }
  }
  return "";
}

std::optional<std::int64_t> integer_of(const json& object, const char* key) {
  if (object.is_object()) {
    const auto found = object.find(key);
    if (found != object.end() && found->is_number_integer()) {
      return found->get<std::int64_t>();
    }
  }
  return std::nullopt;
}

const json& member_of(const json& object, const char* key) {
  static const json kNull;
  if (object.is_object()) {
    const auto found = object.find(key);
    if (found != object.end()) {
      return *found;
    }
  }
  return kNull;
}

// Display width of UTF-8 text: code points, not bytes (good enough for the
// Latin and CJK-free names of a receipt).
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) {
      ++width;
    }
  }
  return width;
}

// "left ......... right" in kReceiptWidth columns; if both do not fit, the
// right part goes on its own line, flush right.
std::string two_columns(std::string_view left, std::string_view right) {
  const std::size_t used = display_width(left) + display_width(right);
  std::string line(left);
  if (used + 1 > kReceiptWidth) {
    line += '\n';
    line.append(kReceiptWidth > display_width(right) ? kReceiptWidth - display_width(right) : 0,
                ' ');
  } else {
    line.append(kReceiptWidth - used, ' ');
  }
  line += right;
  line += '\n';
  return line;
}

// `text` broken at spaces into lines of at most kReceiptWidth bytes (a word
// longer than that is cut), each ending in '\n'. The plugin's lines may be
// longer than the paper is wide; a printer would cut them mid-word.
std::string wrapped(std::string_view text) {
  std::string out;
  while (display_width(text) > kReceiptWidth) {
    std::size_t cut = text.rfind(' ', kReceiptWidth);
    const bool at_space = cut != std::string_view::npos && cut > 0;
    if (!at_space) {
      cut = kReceiptWidth;
      // Never split a UTF-8 sequence: back up to the start of a code point.
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
      }
    }
    out.append(text.substr(0, cut));
    out += '\n';
    text.remove_prefix(at_space ? cut + 1 : cut);
  }
  out.append(text);
  out += '\n';
  return out;
}

std::string rule(char c) { return std::string(kReceiptWidth, c) + '\n'; }

std::string capitalized(std::string text) {
  if (!text.empty()) {
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  }
  return text;
}

std::string cart_lines(const json& lines, std::string_view currency) {
  std::string out;
  if (!lines.is_array()) {
    return out;
  }
  for (const json& line : lines) {
    const std::int64_t quantity = integer_of(line, "quantity").value_or(0);
    const std::int64_t unit_minor = integer_of(line, "unit_price_minor").value_or(0);
    std::int64_t line_minor = 0;
    const bool overflow = __builtin_mul_overflow(quantity, unit_minor, &line_minor);
    out += text_of(line, "sku") + "  " + text_of(line, "category") + '\n';
    out += two_columns("  " + std::to_string(quantity) + " x " + format_money(unit_minor, currency),
                       overflow ? "(too large)" : format_money(line_minor, currency));
  }
  return out;
}

std::string discount_lines(const json& answer, const json& request_lines,
                           std::string_view currency) {
  std::string out;
  const json& discounts = member_of(answer, "discount_lines");
  if (!discounts.is_array()) {
    return out;
  }
  for (const json& discount : discounts) {
    std::string label = capitalized(text_of(discount, "reason"));
    label += label.empty() ? "Discount" : " discount";
    // "line" is the index of the cart line in the request.
    if (const auto index = integer_of(discount, "line");
        index && *index >= 0 && request_lines.is_array() &&
        static_cast<std::size_t>(*index) < request_lines.size()) {
      label += ", " + text_of(request_lines[static_cast<std::size_t>(*index)], "sku");
    }
    const std::int64_t amount = integer_of(discount, "amount_minor").value_or(0);
    out += two_columns(label, format_money(-amount, currency));
  }
  return out;
}

}  // namespace

int currency_exponent(std::string_view currency) {
  constexpr std::array<std::string_view, 2> kNoMinorUnit = {"JPY", "KRW"};
  constexpr std::array<std::string_view, 5> kThreeDigits = {"KWD", "BHD", "OMR", "JOD", "TND"};
  for (const std::string_view code : kNoMinorUnit) {
    if (code == currency) {
      return 0;
    }
  }
  for (const std::string_view code : kThreeDigits) {
    if (code == currency) {
      return 3;
    }
  }
  return 2;
}

std::string format_money(std::int64_t amount_minor, std::string_view currency) {
  // Magnitude as unsigned so that INT64_MIN formats instead of overflowing.
  const bool negative = amount_minor < 0;
  const std::uint64_t magnitude = negative ? 0U - static_cast<std::uint64_t>(amount_minor)
                                           : static_cast<std::uint64_t>(amount_minor);
  const int exponent = currency_exponent(currency);
  std::string digits = std::to_string(magnitude);
  std::string text;
  if (exponent > 0) {
    const auto decimals = static_cast<std::size_t>(exponent);
    if (digits.size() <= decimals) {
      digits.insert(0, decimals + 1 - digits.size(), '0');
    }
    text =
        digits.substr(0, digits.size() - decimals) + '.' + digits.substr(digits.size() - decimals);
  } else {
    text = digits;
  }
  return negative ? '-' + text : text;
}

std::string format_utc_time(std::int64_t unix_ms) {
  const auto seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) {
    return std::to_string(unix_ms) + " ms";
  }
  std::array<char, 32> buffer{};
  const std::size_t length =
      std::strftime(buffer.data(), buffer.size(), "%Y-%m-%d %H:%M UTC", &utc);
  return {buffer.data(), length};
}

std::string format_totals(const json& answer) {
  const std::string currency = text_of(answer, "currency");
  std::string out;
  out += two_columns("Subtotal",
                     format_money(integer_of(answer, "subtotal_minor").value_or(0), currency));
  if (const std::int64_t discount = integer_of(answer, "discount_minor").value_or(0);
      discount != 0) {
    out += two_columns("Discount", format_money(-discount, currency));
  }
  out += two_columns("TOTAL " + currency,
                     format_money(integer_of(answer, "total_minor").value_or(0), currency));
  if (const json& code = member_of(answer, "code"); code.is_object()) {
    out += "Code " + text_of(code, "code") + ": " + text_of(code, "status");
    if (const std::string message = text_of(code, "message"); !message.empty()) {
      out += " (" + message + ")";
    }
    out += '\n';
  }
  return out;
}

namespace {

// Header, cart lines and totals: the part of the receipt the host knows
// without the plugin's receipt_lines.
std::string format_host_part(const json& request, const json& answer) {
  const std::string currency = text_of(answer, "currency");
  const json& lines = member_of(request, "lines");
  std::string out;
  out += rule('=');
  out += two_columns(text_of(answer, "store_id"), text_of(request, "terminal_id"));
  out += two_columns("Txn " + text_of(answer, "txn_id"),
                     text_of(request, "cashier_id").empty()
                         ? std::string()
                         : "Cashier " + text_of(request, "cashier_id"));
  if (const auto committed_at = integer_of(answer, "committed_at_ms")) {
    out += format_utc_time(*committed_at) + '\n';
  }
  if (const std::string customer = text_of(request, "customer_id"); !customer.empty()) {
    out += "Customer " + customer + '\n';
  }
  out += rule('-');
  out += cart_lines(lines, currency);
  out += rule('-');
  out += two_columns("Subtotal",
                     format_money(integer_of(answer, "subtotal_minor").value_or(0), currency));
  out += discount_lines(answer, lines, currency);
  out += two_columns("TOTAL " + currency,
                     format_money(integer_of(answer, "total_minor").value_or(0), currency));
  return out;
}

}  // namespace

std::string format_receipt(const json& request, const json& answer) {
  std::string out = format_host_part(request, answer);
  // Integration point: the plugin's receipt_lines are ready to print as they
  // are (the code, what the friend gets, what the referrer gets). A host that
  // prints the QR coupon adds it right after them (or lets render() lay out
  // the whole slip, as --receipts and --printer do).
  if (const json& extra = member_of(answer, "receipt_lines"); extra.is_array() && !extra.empty()) {
    const bool starts_with_rule =
        extra[0].is_string() && !extra[0].get_ref<const std::string&>().empty() &&
        extra[0].get_ref<const std::string&>().find_first_not_of('-') == std::string::npos;
    if (!starts_with_rule) {
      out += rule('-');
    }
    for (const json& line : extra) {
      if (line.is_string()) {
        out += wrapped(line.get_ref<const std::string&>());
      }
    }
  }
  out += rule('=');
  return out;
}

std::vector<std::string> host_receipt_lines(const json& request, const json& answer) {
  const std::string text = format_host_part(request, answer);
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    lines.push_back(text.substr(begin, end - begin));
    begin = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

}  // namespace refpos::terminal
