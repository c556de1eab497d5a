// Referral codes: short, readable aloud, checkable offline.
//
// Layout: 16 Crockford base32 symbols (alphabet 0-9 A-Z without I L O U),
// shown as four groups of four ("7K3M-9Q2X-WP4H-ABCD"):
//
//   symbol  0      key id (1..31): which code key made the MAC
//   symbols 1-3    issue day: days since 2020-01-01 UTC (15 bits)
//   symbols 4-10   nonce: 35 bits from OpenSSL's RAND_bytes
//   symbols 11-14  MAC: first 20 bits of HMAC-SHA256(key, "refpos-code-v1:" +
//                  symbols 0-10)
//   symbol  15     check symbol: Luhn mod 32 over symbols 0-14
//
// Checks run in this order: characters and length, check symbol (a typo is
// reported as such before anything else), key id known, MAC. A forger who
// knows the layout must guess the 20-bit MAC: accepted with probability
// 2^-20 = 9.5e-7, below the 1e-6 budget (docs/codes.md has the arithmetic).
//
// The check symbol is Luhn mod 32 rather than Crockford's mod-37 symbol so
// that every symbol of a code stays in the 32-symbol alphabet (Crockford's
// extra check symbols * ~ $ = U are awkward to read aloud and type). Luhn
// mod 32 catches every single-symbol substitution (check symbol included) and
// every transposition of two adjacent symbols except "0Z" <-> "Z0". Swapping
// a and b goes unseen when doubling changes both by the same amount mod 32;
// 0 and Z (code point 31: 62 -> 1 + 30 = 31) are the only symbols doubling
// leaves unchanged, the analogue of 09 <-> 90 in decimal Luhn. The unit tests
// check both claims exhaustively.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace refpos::codes {

inline constexpr std::size_t kCodeLength = 16;
inline constexpr std::size_t kMaxTypedCodeLength = 64;  // before normalisation
inline constexpr std::uint8_t kMaxKeyId = 31;
inline constexpr std::size_t kMinKeySecretBytes = 16;
inline constexpr std::size_t kMaxKeySecretBytes = 64;
inline constexpr std::int64_t kCodeEpochUnixDay = 18'262;  // 2020-01-01
inline constexpr std::uint32_t kMaxIssueDay = (1U << 15) - 1;

inline constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct CodeKey {
  std::uint8_t id = 0;                // 1..kMaxKeyId; 0 is never valid
  std::vector<std::uint8_t> secret;   // kMinKeySecretBytes..kMaxKeySecretBytes
};

// What a well-formed code carries (before its MAC is checked).
struct CodeFields {
  std::uint8_t key_id = 0;
  std::uint32_t issue_day = 0;        // days since kCodeEpochUnixDay
  std::uint64_t nonce = 0;            // 35 bits
};

// A new code made with `key` on `issue_day` (days since the code epoch), with
// a nonce from OpenSSL. Returns the 16-symbol normalised form. Fails
// (internal) only if OpenSSL's generator fails, or the key or issue_day is
// invalid (a caller bug: keys are checked when loaded, days come from
// issue_day_of()).
Result<std::string> issue(const CodeKey& key, std::uint32_t issue_day);

// The same, with a caller-chosen nonce (tests and fuzzers). Requires a valid
// key, issue_day <= kMaxIssueDay and nonce < 2^35 (asserted).
std::string issue_with_nonce(const CodeKey& key, std::uint32_t issue_day, std::uint64_t nonce);

// Turns what a cashier typed or a scanner read into the normalised form:
// upper-cases, drops '-' and spaces, reads I and L as 1 and O as 0 (Crockford
// decoding). Accepts a share link whose last path segment is the code
// (everything up to the last '/' is dropped). Fails (code_rejected, field
// "code", reason "malformed") on input longer than kMaxTypedCodeLength, on
// any other character (U included) or on a symbol count other than
// kCodeLength.
Result<std::string> normalize(std::string_view typed);

// Parses a normalised code. Fails (code_rejected, field "code") with reason
// "malformed" if it is not kCodeLength symbols of kAlphabet or its key id is
// 0, and with reason "mistyped" if the check symbol does not match (checked
// before the key id, so a typo is reported as a typo).
Result<CodeFields> parse(std::string_view normalized);

// True if the MAC in `normalized` was made with `key`: the key id symbol is
// key.id and the MAC symbols match (compared in constant time). False for an
// invalid key or a string that is not a normalised code; the check symbol is
// parse()'s business and is not looked at.
bool mac_matches(std::string_view normalized, const CodeKey& key);

// "7K3M-9Q2X-WP4H-ABCD" from "7K3M9Q2XWP4HABCD". Requires a normalised code.
std::string display(std::string_view normalized);

// The Luhn mod 32 check symbol of `data` (symbols of kAlphabet, asserted):
// appended to `data`, it makes the whole string Luhn-valid.
char check_symbol(std::string_view data);

// Issue day of a Unix time in milliseconds (UTC days since the code epoch,
// rounded down); fails (bad_request, field "unix_ms") if before the epoch or
// past kMaxIssueDay (2109-09-18).
Result<std::uint32_t> issue_day_of(std::int64_t unix_ms);

// Unix milliseconds at the start (00:00 UTC) of an issue day.
std::int64_t issue_day_start_ms(std::uint32_t issue_day);

}  // namespace refpos::codes
