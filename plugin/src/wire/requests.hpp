// Requests as typed values, parsed once at the edge (docs/api.md). Every
// parse_* function refuses malformed JSON, wrong types, strings outside their
// limits, unknown members and values of another currency, with an error that
// names the field; nothing downstream re-checks.
//
// Each request also carries the SHA-256 of its canonical form (parsed JSON,
// keys sorted, no whitespace, without "clock_ms"), the key under which commit
// and reverse recognise a retry: a host that re-sends the same facts with
// other spacing or member order is retrying, not conflicting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "cart/cart.hpp"
#include "money/money.hpp"

namespace refpos::wire {

using RequestDigest = std::vector<std::uint8_t>;  // SHA-256, 32 bytes

// What every request may carry besides its own members.
struct RequestContext {
  std::optional<std::int64_t> clock_ms;  // only honoured with a test clock
  RequestDigest digest;
};

struct CheckoutRequest {
  RequestContext context;
  std::optional<std::string> txn_id;     // required for commit
  Cart cart;
  std::optional<std::string> code;       // as typed; normalised by codes/
};

struct ReverseRequest {
  RequestContext context;
  std::string reversal_id;
  std::string txn_id;
  std::string kind;                      // "void" or "refund"
  std::string terminal_id;
  std::optional<std::string> cashier_id;
};

struct IssueCodeRequest {
  RequestContext context;
  std::string customer_id;
  std::string terminal_id;
  std::optional<std::string> cashier_id;
};

struct CustomerRequest {
  RequestContext context;
  std::string customer_id;
};

// render (ABI 1.1): what to print for a committed transaction.
struct RenderRequest {
  RequestContext context;
  std::string txn_id;
  std::string what;    // "receipt" or "coupon"
  std::string format;  // "escpos", "png", "svg" or "text"
  std::vector<std::string> host_lines;
};
inline constexpr std::size_t kMaxHostLines = 200;
inline constexpr std::size_t kMaxHostLineBytes = 400;

Result<CheckoutRequest> parse_checkout_request(std::string_view text, money::Currency currency,
                                               bool require_txn_id);
Result<ReverseRequest> parse_reverse_request(std::string_view text);
Result<IssueCodeRequest> parse_issue_code_request(std::string_view text);
Result<CustomerRequest> parse_customer_request(std::string_view text);
Result<RenderRequest> parse_render_request(std::string_view text);

}  // namespace refpos::wire
