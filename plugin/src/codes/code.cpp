// Referral codes: issue, normalise, parse and authenticate the 16-symbol
// format documented at the top of code.hpp (and in docs/codes.md).
//
// Numbers are written most significant symbol first, 5 bits per symbol. The
// MAC is computed over the ASCII text of symbols 0-10, so what is signed is
// exactly what a person reads.
#include "codes/code.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "base/clock.hpp"

namespace refpos::codes {
namespace {

constexpr std::size_t kIssueDayOffset = 1;
constexpr std::size_t kIssueDaySymbols = 3;
constexpr std::size_t kNonceOffset = 4;
constexpr std::size_t kNonceSymbols = 7;
constexpr std::size_t kSignedSymbols = 11;  // key id, issue day, nonce
constexpr std::size_t kMacOffset = 11;
constexpr std::size_t kMacSymbols = 4;
constexpr std::size_t kCheckOffset = 15;
constexpr std::uint64_t kNonceLimit = std::uint64_t{1} << 35;
constexpr std::string_view kMacDomain = "refpos-code-v1:";
constexpr std::uint8_t kNotASymbol = 0xFF;

static_assert(kMacOffset + kMacSymbols == kCheckOffset && kCheckOffset + 1 == kCodeLength);

constexpr std::array<std::uint8_t, 256> make_symbol_values() {
  std::array<std::uint8_t, 256> values{};
  values.fill(kNotASymbol);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return values;
}
constexpr auto kSymbolValues = make_symbol_values();

std::uint8_t symbol_value(char symbol) {
  return kSymbolValues[static_cast<unsigned char>(symbol)];
}

void append_symbols(std::uint64_t value, std::size_t symbols, std::string& out) {
  assert(symbols * 5 >= 64 || value >> (symbols * 5) == 0);
  for (std::size_t i = symbols; i-- > 0;) out.push_back(kAlphabet[(value >> (i * 5)) & 31U]);
}

// Requires symbols of kAlphabet only (checked by the caller).
std::uint64_t read_symbols(std::string_view symbols) {
  std::uint64_t value = 0;
  for (char symbol : symbols) value = (value << 5) | symbol_value(symbol);
  return value;
}

bool all_symbols(std::string_view text) {
  for (char c : text) {
    if (symbol_value(c) == kNotASymbol) return false;
  }
  return true;
}

bool is_valid_key(const CodeKey& key) {
  return key.id >= 1 && key.id <= kMaxKeyId && key.secret.size() >= kMinKeySecretBytes &&
         key.secret.size() <= kMaxKeySecretBytes;
}

// The first 20 bits of HMAC-SHA256(secret, domain + signed symbols), as four
// symbols; nullopt only if OpenSSL fails (out of memory).
std::optional<std::string> compute_mac(const CodeKey& key, std::string_view signed_symbols) {
  assert(signed_symbols.size() == kSignedSymbols);
  std::string message(kMacDomain);
  message.append(signed_symbols);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  const unsigned char* data = reinterpret_cast<const unsigned char*>(message.data());
  if (HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()), data,
           message.size(), digest.data(), &digest_size) == nullptr) {
    return std::nullopt;
  }
  const std::uint32_t bits = (std::uint32_t{digest[0]} << 12) | (std::uint32_t{digest[1]} << 4) |
                             (std::uint32_t{digest[2]} >> 4);
  std::string mac;
  append_symbols(bits, kMacSymbols, mac);
  return mac;
}

Error malformed(std::string message) {
  return make_error(ErrorKind::code_rejected, "code", std::move(message), "malformed");
}

// "'x'" for a printable ASCII character, "byte 0xNN" otherwise, so that a
// message never carries control bytes or broken UTF-8 into a log line.
std::string describe_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7F) return std::string("'") + c + "'";
  constexpr std::string_view kHex = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0x0F];
}

// Crockford decoding of one typed character: upper case, I and L read as 1,
// O as 0. Anything else comes back unchanged for the caller to judge.
char crockford_decode(char typed) {
  const char c = (typed >= 'a' && typed <= 'z') ? static_cast<char>(typed - 'a' + 'A') : typed;
  if (c == 'I' || c == 'L') return '1';
  if (c == 'O') return '0';
  return c;
}

// The code for these fields; nullopt only if OpenSSL's HMAC fails.
std::optional<std::string> make_code(const CodeKey& key, std::uint32_t issue_day,
                                     std::uint64_t nonce) {
  assert(is_valid_key(key) && issue_day <= kMaxIssueDay && nonce < kNonceLimit);
  std::string code;
  code.reserve(kCodeLength);
  append_symbols(key.id, 1, code);
  append_symbols(issue_day, kIssueDaySymbols, code);
  append_symbols(nonce, kNonceSymbols, code);
  const auto mac = compute_mac(key, code);
  if (!mac) return std::nullopt;
  code.append(*mac);
  code.push_back(check_symbol(code));
  return code;
}

}  // namespace

std::string issue_with_nonce(const CodeKey& key, std::uint32_t issue_day, std::uint64_t nonce) {
  auto code = make_code(key, issue_day, nonce);
  // Exceptional (OpenSSL out of memory); the C boundary turns it into a status.
  if (!code) throw std::runtime_error("HMAC-SHA256 failed while issuing a code");
  return std::move(*code);
}

Result<std::string> issue(const CodeKey& key, std::uint32_t issue_day) {
  if (!is_valid_key(key)) {
    return make_error(ErrorKind::internal, "key",
                      "code key must have an id in 1..31 and a secret of 16..64 bytes");
  }
  if (issue_day > kMaxIssueDay) {
    return make_error(ErrorKind::internal, "issue_day",
                      "must be at most " + std::to_string(kMaxIssueDay) + ", got " +
                          std::to_string(issue_day));
  }
  std::array<unsigned char, 5> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return make_error(ErrorKind::internal, "", "OpenSSL RAND_bytes failed to make a nonce");
  }
  std::uint64_t nonce = 0;
  for (unsigned char byte : random) nonce = (nonce << 8) | byte;
  auto code = make_code(key, issue_day, nonce % kNonceLimit);
  if (!code) return make_error(ErrorKind::internal, "", "OpenSSL HMAC-SHA256 failed");
  return std::move(*code);
}

Result<std::string> normalize(std::string_view typed) {
  if (typed.size() > kMaxTypedCodeLength) {
    return malformed("must be at most " + std::to_string(kMaxTypedCodeLength) +
                     " characters, got " + std::to_string(typed.size()));
  }
  // A share link "https://host/r/CODE": the code is the last path segment.
  const std::size_t slash = typed.rfind('/');
  const std::size_t start = slash == std::string_view::npos ? 0 : slash + 1;
  std::string code;
  for (std::size_t i = start; i < typed.size(); ++i) {
    if (typed[i] == '-' || typed[i] == ' ') continue;
    const char symbol = crockford_decode(typed[i]);
    if (symbol_value(symbol) == kNotASymbol) {
      return malformed("unexpected " + describe_char(typed[i]) + " at position " +
                       std::to_string(i) + "; expected 0-9, A-Z except U, '-' or ' '");
    }
    code.push_back(symbol);
  }
  if (code.size() != kCodeLength) {
    return malformed("must have " + std::to_string(kCodeLength) + " symbols, got " +
                     std::to_string(code.size()));
  }
  return code;
}

Result<CodeFields> parse(std::string_view normalized) {
  if (normalized.size() != kCodeLength || !all_symbols(normalized)) {
    return malformed("must be 16 upper-case symbols of 0-9 A-Z except I L O U; normalize() first");
  }
  if (check_symbol(normalized.substr(0, kCheckOffset)) != normalized[kCheckOffset]) {
    return make_error(ErrorKind::code_rejected, "code",
                      "check symbol does not match: the code was probably mistyped", "mistyped");
  }
  CodeFields fields;
  fields.key_id = symbol_value(normalized[0]);
  if (fields.key_id == 0) return malformed("key id must be between 1 and 31, got 0");
  const auto day_symbols = normalized.substr(kIssueDayOffset, kIssueDaySymbols);
  fields.issue_day = static_cast<std::uint32_t>(read_symbols(day_symbols));
  fields.nonce = read_symbols(normalized.substr(kNonceOffset, kNonceSymbols));
  return fields;
}

bool mac_matches(std::string_view normalized, const CodeKey& key) {
  if (!is_valid_key(key) || normalized.size() != kCodeLength || !all_symbols(normalized)) {
    return false;
  }
  if (symbol_value(normalized[0]) != key.id) return false;  // key ids are public
  const auto expected = compute_mac(key, normalized.substr(0, kSignedSymbols));
  if (!expected) return false;
  return CRYPTO_memcmp(expected->data(), normalized.data() + kMacOffset, kMacSymbols) == 0;
}

std::string display(std::string_view normalized) {
  assert(normalized.size() == kCodeLength);
  std::string shown;
  for (std::size_t i = 0; i < normalized.size(); ++i) {
    if (i > 0 && i % 4 == 0) shown.push_back('-');
    shown.push_back(normalized[i]);
  }
  return shown;
}

// Luhn mod N with N = 32: from the right, every second code point (starting
// with the rightmost data symbol, the check symbol's neighbour) is doubled
// and its base-32 digits summed; the check symbol brings the total to 0 mod 32.
char check_symbol(std::string_view data) {
  unsigned sum = 0;
  bool doubled = true;
  for (std::size_t i = data.size(); i-- > 0; doubled = !doubled) {
    const unsigned code_point = symbol_value(data[i]);
    assert(code_point < 32);
    const unsigned addend = doubled ? code_point * 2 : code_point;
    sum += addend / 32 + addend % 32;
  }
  return kAlphabet[(32 - sum % 32) % 32];
}

Result<std::uint32_t> issue_day_of(std::int64_t unix_ms) {
  // Floor division: a time just before 1970 belongs to the previous day.
  std::int64_t unix_day = unix_ms / kMsPerDay;
  if (unix_ms % kMsPerDay < 0) --unix_day;
  const std::int64_t issue_day = unix_day - kCodeEpochUnixDay;
  if (issue_day < 0 || issue_day > std::int64_t{kMaxIssueDay}) {
    return make_error(ErrorKind::bad_request, "unix_ms",
                      "issue day must be between 0 (2020-01-01 UTC) and " +
                          std::to_string(kMaxIssueDay) + " (2109-09-18 UTC), got " +
                          std::to_string(issue_day) + " for unix_ms " + std::to_string(unix_ms));
  }
  return static_cast<std::uint32_t>(issue_day);
}

std::int64_t issue_day_start_ms(std::uint32_t issue_day) {
  assert(issue_day <= kMaxIssueDay);
  return (kCodeEpochUnixDay + std::int64_t{issue_day}) * kMsPerDay;
}

}  // namespace refpos::codes
