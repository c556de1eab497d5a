#include "wire/requests.hpp"

#include <openssl/evp.h>

#include "codes/code.hpp"
#include "wire/json_input.hpp"

namespace refpos::wire {
namespace {

constexpr std::int64_t kMinClockMs = 1'577'836'800'000;  // 2020-01-01

RequestDigest digest_of(Json doc) {
  doc.erase("clock_ms");
  const std::string canonical = doc.dump();
  RequestDigest out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  EVP_Digest(canonical.data(), canonical.size(), out.data(), &n, EVP_sha256(), nullptr);
  out.resize(n);
  return out;
}

// Reads the members every request may carry, then finishes the reader.
Result<RequestContext> finish_request(FieldReader& r, const Json& doc) {
  RequestContext ctx;
  ctx.clock_ms = r.optional_integer("clock_ms", kMinClockMs, INT64_MAX / 2);
  if (auto st = r.finish(); !st) return st.error();
  ctx.digest = digest_of(doc);
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
  if (auto st = r.finish(); !st) return st;
  auto total = money::checked_multiply(line.quantity, line.unit_price_minor, path);
  if (!total) return total.error();
  line.total_minor = *total;
  return ok_status();
}

Status read_lines(const Json& lines, Cart& cart) {
  cart.lines.resize(lines.size());
  std::int64_t subtotal = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto path = "lines[" + std::to_string(i) + "]";
    if (auto st = read_line(lines[i], path, cart.lines[i]); !st) return st;
    subtotal += cart.lines[i].total_minor;  // each <= 10^15, at most 500 lines: no overflow
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
Result<Request> parse_request(std::string_view text, ReadMembers read_members) {
  auto doc = parse_document(text, "the request");
  if (!doc) return doc.error();
  FieldReader r(*doc, "");
  Request req;
  read_members(r, req);
  auto ctx = finish_request(r, *doc);
  if (!ctx) return ctx.error();
  req.context = std::move(*ctx);
  return req;
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
    if (lines == nullptr || r.failed()) return;
    if (auto st = read_lines(*lines, out.cart); !st) line_error = st.error();
  });
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
  });
}

Result<IssueCodeRequest> parse_issue_code_request(std::string_view text) {
  return parse_request<IssueCodeRequest>(text, [](FieldReader& r, IssueCodeRequest& out) {
    out.customer_id = r.id("customer_id");
    out.terminal_id = r.id("terminal_id");
    out.cashier_id = r.optional_id("cashier_id");
  });
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
