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

#include <nlohmann/json.hpp>

namespace refpos::wire {

using RequestDigest = std::vector<std::uint8_t>;  // SHA-256, 32 bytes

// What every request may carry besides its own members.
struct RequestContext {
  std::optional<std::int64_t> clock_ms;  // only honoured with a test clock
  RequestDigest digest;  // of the request without clock_ms; empty for a preview
};

// Balances a customer chooses to spend at checkout (up to what they have).
struct Spend {
  std::int64_t store_credit_minor = 0;
  std::int64_t points = 0;
};

struct CheckoutRequest {
  RequestContext context;
  std::optional<std::string> txn_id;     // required for commit
  Cart cart;
  std::optional<std::string> code;       // as typed; normalised by codes/
  std::optional<int> nps;                // the customer's 0-10 answer, if asked
  Spend spend;
};

inline constexpr std::size_t kMaxIdentityHashes = 8;
inline constexpr std::size_t kMaxLinkedCustomers = 8;

struct RefundLine {
  std::size_t line = 0;
  std::int64_t quantity = 0;
};

struct ReverseRequest {
  RequestContext context;
  std::string reversal_id;
  std::string txn_id;
  std::string kind;                      // "void" or "refund"
  std::string terminal_id;
  std::optional<std::string> cashier_id;
  std::vector<RefundLine> lines;         // a partial refund; empty: all of it
};

// What happened when the cashier was prompted to ask for a referral.
struct AskOutcomeRequest {
  RequestContext context;
  std::string txn_id;
  std::string outcome;                   // asked, declined, code_issued, not_asked
  std::string terminal_id;
  std::optional<std::string> cashier_id;
};

// A friend's contact handed over at the till, with the friend's consent.
struct LeadRequest {
  RequestContext context;
  std::string lead_id;
  std::string customer_id;               // who gave it
  std::string friend_name;
  std::string friend_contact;            // phone or e-mail
  bool consent = false;                  // must be true
  std::string terminal_id;
  std::optional<std::string> cashier_id;
};
inline constexpr std::size_t kMaxNameBytes = 100;
inline constexpr std::size_t kMaxContactBytes = 254;

// A customer's own contact for one channel, and whether they agree to be
// contacted there (thank-you messages, docs/reports.md "Follow-up exports").
struct ContactRequest {
  RequestContext context;
  std::string customer_id;
  std::string channel;                   // "email" or "sms"
  std::string address;                   // e-mail address or phone number; "" to withdraw
  std::string name;                      // how to greet them; may be ""
  bool consent = false;                  // false withdraws consent for the channel
  std::string terminal_id;
  std::optional<std::string> cashier_id;
};

struct ForgetRequest {
  RequestContext context;
  std::string customer_id;
  std::string terminal_id;
};

// A new rule set for the store (from head office).
struct RulesRequest {
  RequestContext context;
  nlohmann::json rules;
};

// sync (ABI 1.3): nothing but the common members.
struct SyncRequest {
  RequestContext context;
};

struct IssueCodeRequest {
  RequestContext context;
  std::string customer_id;
  std::string terminal_id;
  std::optional<std::string> cashier_id;
  std::optional<std::string> partner_id;  // a partner's code instead of a customer's
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
Result<AskOutcomeRequest> parse_ask_outcome_request(std::string_view text);
Result<LeadRequest> parse_lead_request(std::string_view text);
Result<ContactRequest> parse_contact_request(std::string_view text);
Result<ForgetRequest> parse_forget_request(std::string_view text);
Result<RulesRequest> parse_rules_request(std::string_view text);
Result<SyncRequest> parse_sync_request(std::string_view text);

}  // namespace refpos::wire
