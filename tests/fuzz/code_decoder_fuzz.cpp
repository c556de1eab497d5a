// libFuzzer target for the code decoder: arbitrary bytes go through
// normalize(), parse() and mac_matches() with a fixed key, as a cashier's
// typing or a scanner's output would. Besides "no crash, no sanitizer
// report", it checks the decoder's invariants:
//  - a normalised code is 16 alphabet symbols and a fixed point of
//    normalize(), also once displayed ("XXXX-XXXX-XXXX-XXXX");
//  - every failure is code_rejected on field "code", with reason
//    "malformed" (normalize, parse) or "mistyped" (parse);
//  - parsed fields are in range, and re-issuing them with the key that
//    made the MAC reproduces the code exactly.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "codes/code.hpp"

namespace {

using namespace refpos::codes;

// Not assert(): the invariants must hold in any build type.
void require(bool holds, const char* invariant) {
  if (holds) return;
  std::fprintf(stderr, "code_decoder_fuzz: invariant broken: %s\n", invariant);
  std::abort();
}

const CodeKey& fixed_key() {
  static const CodeKey key{3, std::vector<std::uint8_t>(32, 0xA7)};
  return key;
}

bool is_rejection(const refpos::Error& error, std::string_view reason) {
  return error.kind == refpos::ErrorKind::code_rejected && error.field == "code" &&
         error.reason == reason;
}

void check_normalized(const std::string& code) {
  require(code.size() == kCodeLength, "normalised code has 16 symbols");
  require(code.find_first_not_of(kAlphabet) == std::string::npos, "normalised code is alphabet");
  const auto again = normalize(code);
  require(again.ok() && *again == code, "normalize is idempotent");
  const auto from_display = normalize(display(code));
  require(from_display.ok() && *from_display == code, "display re-normalises to the code");
}

void check_parsed(const std::string& code, const CodeFields& fields) {
  require(fields.key_id >= 1 && fields.key_id <= kMaxKeyId, "key id in 1..31");
  require(fields.issue_day <= kMaxIssueDay, "issue day fits 15 bits");
  require(fields.nonce < (std::uint64_t{1} << 35), "nonce fits 35 bits");
  const bool matches = mac_matches(code, fixed_key());
  if (fields.key_id != fixed_key().id) {
    require(!matches, "a code with another key id never matches");
    return;
  }
  const std::string reissued = issue_with_nonce(fixed_key(), fields.issue_day, fields.nonce);
  require(matches == (reissued == code), "MAC matches iff re-issuing reproduces the code");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view typed(reinterpret_cast<const char*>(data), size);
  const auto normalized = normalize(typed);
  if (!normalized.ok()) {
    require(is_rejection(normalized.error(), "malformed"), "normalize fails as malformed");
    return 0;
  }
  check_normalized(*normalized);
  const auto fields = parse(*normalized);
  if (!fields.ok()) {
    require(is_rejection(fields.error(), "malformed") || is_rejection(fields.error(), "mistyped"),
            "parse fails as malformed or mistyped");
    // Once normalize() succeeded, the only malformed code left is key id 0.
    const bool key_id_zero = (*normalized)[0] == '0';
    require(fields.error().reason == "mistyped" || key_id_zero, "malformed only for key id 0");
    require(!key_id_zero || !mac_matches(*normalized, fixed_key()), "key id 0 never matches");
    return 0;
  }
  check_parsed(*normalized, *fields);
  return 0;
}
