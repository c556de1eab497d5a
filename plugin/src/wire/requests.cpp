#include "wire/requests.hpp"

#include <openssl/evp.h>

#include "codes/code.hpp"
#include "wire/json_input.hpp"

namespace refpos::wire {
namespace {

constexpr std::int64_t kMinClockMs = 1'577'836'800'000;  // 2020-01-01

// The request without its clock: a retry with a later clock_ms is the same
// request. Takes the parsed document over (nothing reads it afterwards).
RequestDigest digest_of(Json& doc) {
  doc.erase("clock_ms");
  const std::string canonical = doc.dump();
  RequestDigest out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  EVP_Digest(canonical.data(), canonical.size(), out.data(), &n, EVP_sha256(), nullptr);
  out.resize(n);
  return out;
}

// Reads the members every request may carry, then finishes the reader. The
// digest (for replays) only where a retry can happen: a preview has none.
Result<RequestContext> finish_request(FieldReader& r, Json& doc, bool with_digest) {
  RequestContext ctx;
  ctx.clock_ms = r.optional_integer("clock_ms", kMinClockMs, INT64_MAX / 2);
  if (auto st = r.finish(); !st) return st.error();
  if (with_digest) ctx.digest = digest_of(doc);
  return ctx;
}

Status read_line(const Json& j, const std::string& path, CartLine& line) {
  if (!j.is_object()) {
    return make_error(ErrorKind::bad_request, path, "must be an object, got " + describe_value(j));
  }
  FieldReader r(j, path);
  line.sku = r.id("sku");
  line.category = r.optional_id("category").value_or("");
  line.quantity = r.integer("quantity", 1, kMaxQuantityPerLine);
  line.unit_price_minor = r.integer("unit_price_minor", 0, money::kMaxAmountMinor);
  line.host_discount_minor = r.optional_integer("discount_minor", 0, money::kMaxAmountMinor).value_or(0);
  line.tax_rate_bp = static_cast<std::int32_t>(
      r.optional_integer("tax_rate_bp", 0, money::kBasisPointsWhole).value_or(0));
  if (auto st = r.finish(); !st) return st;
  auto total = money::checked_multiply(line.quantity, line.unit_price_minor, path);
  if (!total) return total.error();
  line.total_minor = *total;
  if (line.host_discount_minor > line.total_minor) {
    return make_error(ErrorKind::bad_request, path + ".discount_minor",
                      "must not exceed the line total " + std::to_string(line.total_minor) +
                          ", got " + std::to_string(line.host_discount_minor));
  }
  return ok_status();
}

Status read_lines(const Json& lines, Cart& cart) {
  cart.lines.resize(lines.size());
  std::int64_t subtotal = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto path = "lines[" + std::to_string(i) + "]";
    if (auto st = read_line(lines[i], path, cart.lines[i]); !st) return st;
    subtotal += cart.lines[i].total_minor;  // each <= 10^15, at most 500 lines: no overflow
    cart.host_discount_minor += cart.lines[i].host_discount_minor;
    if (subtotal > money::kMaxAmountMinor) {
      return make_error(ErrorKind::bad_request, "lines",
                        "the cart total exceeds " + std::to_string(money::kMaxAmountMinor) +
                            " minor units");
    }
  }
  cart.subtotal_minor = subtotal;
  return ok_status();
}

// The frame every request shares: parse the document, let `read_members`
// fill the request from a FieldReader, then read the common members, refuse
// unknown ones and compute the digest.
template <typename Request, typename ReadMembers>
Result<Request> parse_request(std::string_view text, ReadMembers read_members,
                              bool with_digest = true) {
  auto doc = parse_document(text, "the request");
  if (!doc) return doc.error();
  FieldReader r(*doc, "");
  Request req;
  read_members(r, req);
  auto ctx = finish_request(r, *doc, with_digest);
  if (!ctx) return ctx.error();
  req.context = std::move(*ctx);
  return req;
}

// A list of identifiers (at most `max`), or of 64 hex digits when `hex`.
void read_id_list(FieldReader& r, std::string_view key, std::size_t max, bool hex,
                  std::set<std::string, std::less<>>& out) {
  const Json* list = r.array(key, false, 0, max);
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    const bool ok = item.is_string() &&
                    (hex ? item.get_ref<const std::string&>().size() == 64 &&
                               item.get_ref<const std::string&>().find_first_not_of(
                                   "0123456789abcdef") == std::string::npos
                         : is_clean_text(item.get_ref<const std::string&>(), kMaxIdBytes));
    if (!ok) {
      r.fail(std::string(key) + "[" + std::to_string(i) + "]",
             std::string(hex ? "must be a SHA-256 in 64 lower-case hex digits"
                             : "must be an identifier (1 to 64 bytes)") +
                 ", got " + describe_value(item));
      return;
    }
    out.insert(item.get<std::string>());
  }
}

void read_spend(FieldReader& parent, Spend& out) {
  const Json* spend = parent.object("spend", false);
  if (spend == nullptr) return;
  FieldReader r(*spend, "spend");
  out.store_credit_minor = r.optional_integer("store_credit_minor", 0, money::kMaxAmountMinor).value_or(0);
  out.points = r.optional_integer("points", 0, 1'000'000'000).value_or(0);
  if (auto st = r.finish(); !st) parent.fail(st.error().field, st.error().message);
}

Status read_refund_lines(const Json& lines, std::vector<RefundLine>& out) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto path = "lines[" + std::to_string(i) + "]";
    if (!lines[i].is_object()) {
      return make_error(ErrorKind::bad_request, path, "must be an object, got " + describe_value(lines[i]));
    }
    FieldReader r(lines[i], path);
    RefundLine line;
    line.line = static_cast<std::size_t>(r.integer("line", 0, static_cast<std::int64_t>(kMaxLinesPerCart) - 1));
    line.quantity = r.integer("quantity", 1, kMaxQuantityPerLine);
    if (auto st = r.finish(); !st) return st;
    for (const auto& seen : out) {
      if (seen.line == line.line) {
        return make_error(ErrorKind::bad_request, path + ".line",
                          "line " + std::to_string(line.line) + " is listed twice");
      }
    }
    out.push_back(line);
  }
  return ok_status();
}

}  // namespace

Result<CheckoutRequest> parse_checkout_request(std::string_view text, money::Currency currency,
                                               bool require_txn_id) {
  std::optional<Error> line_error;  // lines are read while the document lives
  auto req = parse_request<CheckoutRequest>(text, [&](FieldReader& r, CheckoutRequest& out) {
    out.txn_id = require_txn_id ? std::optional<std::string>(r.id("txn_id")) : r.optional_id("txn_id");
    out.cart.terminal_id = r.id("terminal_id");
    out.cart.cashier_id = r.optional_id("cashier_id");
    out.cart.customer_id = r.optional_id("customer_id");
    const auto cur = r.text("currency", 3);
    if (!r.failed() && cur != currency.code) {
      r.fail("currency", "must be the store's currency \"" + std::string(currency.code) +
                             "\", got \"" + cur + "\"");
    }
    out.cart.currency = currency;
    const Json* lines = r.array("lines", true, 1, kMaxLinesPerCart);
    out.code = r.optional_text("code", codes::kMaxTypedCodeLength);
    const auto tax = r.optional_id("tax");
    if (tax && *tax == "inclusive") out.cart.tax = TaxPricing::inclusive;
    else if (tax && *tax == "exclusive") out.cart.tax = TaxPricing::exclusive;
    else if (tax && !r.failed()) r.fail("tax", "must be \"inclusive\" or \"exclusive\", got \"" + *tax + "\"");
    read_id_list(r, "identity_hashes", kMaxIdentityHashes, true, out.cart.identity_hashes);
    read_id_list(r, "linked_customer_ids", kMaxLinkedCustomers, false, out.cart.linked_customer_ids);
    if (const auto nps = r.optional_integer("nps", 0, 10)) out.nps = static_cast<int>(*nps);
    read_spend(r, out.spend);
    if (!r.failed() && (out.spend.store_credit_minor > 0 || out.spend.points > 0) &&
        !out.cart.customer_id) {
      r.fail("spend", "needs a customer_id: a balance belongs to a named customer");
    }
    if (!r.failed() && out.nps && !out.cart.customer_id) {
      r.fail("nps", "needs a customer_id: the answer is recorded for a named customer");
    }
    if (lines == nullptr || r.failed()) return;
    if (auto st = read_lines(*lines, out.cart); !st) line_error = st.error();
  }, require_txn_id);
  if (!req) return req.error();
  if (line_error) return *line_error;
  return req;
}

Result<ReverseRequest> parse_reverse_request(std::string_view text) {
  return parse_request<ReverseRequest>(text, [](FieldReader& r, ReverseRequest& out) {
    out.reversal_id = r.id("reversal_id");
    out.txn_id = r.id("txn_id");
    out.kind = r.id("kind");
    if (!r.failed() && out.kind != "void" && out.kind != "refund") {
      r.fail("kind", "must be \"void\" or \"refund\", got \"" + out.kind + "\"");
    }
    out.terminal_id = r.id("terminal_id");
    out.cashier_id = r.optional_id("cashier_id");
    const Json* lines = r.array("lines", false, 1, kMaxLinesPerCart);
    if (lines == nullptr || r.failed()) return;
    if (out.kind != "refund") {
      r.fail("lines", "a void reverses the whole transaction; partial reversals are refunds");
      return;
    }
    if (auto st = read_refund_lines(*lines, out.lines); !st) r.fail(st.error().field, st.error().message);
  });
}

Result<IssueCodeRequest> parse_issue_code_request(std::string_view text) {
  return parse_request<IssueCodeRequest>(text, [](FieldReader& r, IssueCodeRequest& out) {
    const auto customer = r.optional_id("customer_id");
    out.partner_id = r.optional_id("partner_id");
    if (!r.failed() && customer.has_value() == out.partner_id.has_value()) {
      r.fail("customer_id", "give exactly one of customer_id and partner_id");
    }
    out.customer_id = customer ? *customer : "partner:" + out.partner_id.value_or("");
    out.terminal_id = r.id("terminal_id");
    out.cashier_id = r.optional_id("cashier_id");
  });
}

Result<AskOutcomeRequest> parse_ask_outcome_request(std::string_view text) {
  return parse_request<AskOutcomeRequest>(text, [](FieldReader& r, AskOutcomeRequest& out) {
    out.txn_id = r.id("txn_id");
    out.outcome = r.id("outcome");
    if (!r.failed() && out.outcome != "asked" && out.outcome != "declined" &&
        out.outcome != "code_issued" && out.outcome != "not_asked") {
      r.fail("outcome", "must be \"asked\", \"declined\", \"code_issued\" or \"not_asked\", got \"" +
                            out.outcome + "\"");
    }
    out.terminal_id = r.id("terminal_id");
    out.cashier_id = r.optional_id("cashier_id");
  });
}

Result<LeadRequest> parse_lead_request(std::string_view text) {
  return parse_request<LeadRequest>(text, [](FieldReader& r, LeadRequest& out) {
    out.lead_id = r.id("lead_id");
    out.customer_id = r.id("customer_id");
    out.friend_name = r.text("friend_name", kMaxNameBytes);
    out.friend_contact = r.text("friend_contact", kMaxContactBytes);
    out.consent = r.boolean("consent", false);
    if (!r.failed() && !out.consent) {
      r.fail("consent", "must be true: a friend's contact is kept only with the friend's consent");
    }
    if (!r.failed() && out.friend_contact.find('@') == std::string::npos &&
        out.friend_contact.find_first_not_of("+0123456789 -().") != std::string::npos) {
      r.fail("friend_contact", "must be a phone number or an e-mail address");
    }
    out.terminal_id = r.id("terminal_id");
    out.cashier_id = r.optional_id("cashier_id");
  });
}

namespace {

// local@domain.tld: one '@', something before it, a dot in the domain, no
// spaces. Deliverability is the mail system's to judge; this catches typing.
bool looks_like_email(std::string_view a) {
  const auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || a.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const auto domain = a.substr(at + 1);
  const auto dot = domain.find('.');
  return dot != std::string_view::npos && dot != 0 && dot + 1 < domain.size() &&
         a.find_first_of(" \t\r\n<>,;\"") == std::string_view::npos;
}

// An international number: an optional '+', 7 to 15 digits (E.164), with the
// spaces, dashes, dots and brackets people write between them.
bool looks_like_phone(std::string_view a) {
  std::size_t digits = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char ch = a[i];
    if (ch >= '0' && ch <= '9') {
      ++digits;
    } else if (ch == '+' ? i != 0 : std::string_view(" -().").find(ch) == std::string_view::npos) {
      return false;
    }
  }
  return digits >= 7 && digits <= 15;
}

}  // namespace

Result<ContactRequest> parse_contact_request(std::string_view text) {
  return parse_request<ContactRequest>(text, [](FieldReader& r, ContactRequest& out) {
    out.customer_id = r.id("customer_id");
    out.channel = r.id("channel");
    if (!r.failed() && out.channel != "email" && out.channel != "sms") {
      r.fail("channel", "must be \"email\" or \"sms\"");
    }
    out.consent = r.boolean("consent", false);
    out.address = r.optional_text("address", kMaxContactBytes).value_or("");
    out.name = r.optional_text("name", kMaxNameBytes).value_or("");
    if (!r.failed() && out.consent) {
      if (out.address.empty()) {
        r.fail("address", "is required when consent is true");
      } else if (out.channel == "email" && !looks_like_email(out.address)) {
        r.fail("address", "must be an e-mail address (name@example.com)");
      } else if (out.channel == "sms" && !looks_like_phone(out.address)) {
        r.fail("address", "must be a phone number of 7 to 15 digits, optionally after '+'");
      }
    }
    if (!r.failed() && !out.consent) {
      // Withdrawing keeps no contact, so none is taken in.
      if (!out.address.empty()) r.fail("address", "must be absent when consent is false");
      if (!out.name.empty()) r.fail("name", "must be absent when consent is false");
    }
    out.terminal_id = r.id("terminal_id");
    out.cashier_id = r.optional_id("cashier_id");
  });
}

Result<ForgetRequest> parse_forget_request(std::string_view text) {
  return parse_request<ForgetRequest>(text, [](FieldReader& r, ForgetRequest& out) {
    out.customer_id = r.id("customer_id");
    out.terminal_id = r.id("terminal_id");
  });
}

Result<RulesRequest> parse_rules_request(std::string_view text) {
  return parse_request<RulesRequest>(text, [](FieldReader& r, RulesRequest& out) {
    if (const Json* rules = r.object("rules", true)) out.rules = *rules;
  });
}

Result<SyncRequest> parse_sync_request(std::string_view text) {
  return parse_request<SyncRequest>(text, [](FieldReader&, SyncRequest&) {}, false);
}

Result<CustomerRequest> parse_customer_request(std::string_view text) {
  return parse_request<CustomerRequest>(
      text, [](FieldReader& r, CustomerRequest& out) { out.customer_id = r.id("customer_id"); });
}

Result<RenderRequest> parse_render_request(std::string_view text) {
  return parse_request<RenderRequest>(text, [](FieldReader& r, RenderRequest& out) {
    out.txn_id = r.id("txn_id");
    out.what = r.id("what");
    if (!r.failed() && out.what != "receipt" && out.what != "coupon") {
      r.fail("what", "must be \"receipt\" or \"coupon\", got \"" + out.what + "\"");
    }
    out.format = r.id("format");
    if (!r.failed() && out.format != "escpos" && out.format != "png" && out.format != "svg" &&
        out.format != "text") {
      r.fail("format", "must be \"escpos\", \"png\", \"svg\" or \"text\", got \"" +
                           out.format + "\"");
    }
    if (!r.failed() && out.format == "svg" && out.what != "coupon") {
      r.fail("format", "\"svg\" is for coupons; a receipt renders as escpos, png or text");
    }
    const Json* lines = r.array("host_lines", false, 0, kMaxHostLines);
    if (lines == nullptr || r.failed()) return;
    for (std::size_t i = 0; i < lines->size(); ++i) {
      const Json& line = (*lines)[i];
      const std::string key = "host_lines[" + std::to_string(i) + "]";
      if (!line.is_string() || line.get_ref<const std::string&>().size() > kMaxHostLineBytes) {
        r.fail(key, "must be a string of at most " + std::to_string(kMaxHostLineBytes) +
                        " bytes, got " + describe_value(line));
        return;
      }
      out.host_lines.push_back(line.get<std::string>());
    }
  });
}

}  // namespace refpos::wire
