// libFuzzer target: every request parser, the configuration parser, and the
// receipt template and PBM logo parsers on arbitrary bytes. Besides "no
// crash, no sanitizer report", it checks what a successful parse promises:
// limits hold, totals add up, digests are SHA-256; and what a failure
// promises: a kind of bad_request/config and a message.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "print/layout.hpp"
#include "wire/config.hpp"
#include "wire/requests.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

void check_cart(const refpos::Cart& cart) {
  std::int64_t sum = 0;
  require(!cart.lines.empty() && cart.lines.size() <= refpos::kMaxLinesPerCart);
  for (const auto& line : cart.lines) {
    require(line.quantity >= 1 && line.quantity <= refpos::kMaxQuantityPerLine);
    require(line.unit_price_minor >= 0);
    require(line.total_minor == line.quantity * line.unit_price_minor);
    sum += line.total_minor;
  }
  require(sum == cart.subtotal_minor);
  require(cart.subtotal_minor <= refpos::money::kMaxAmountMinor);
}

template <typename R>
void check_failure(const refpos::Result<R>& r, refpos::ErrorKind expected) {
  if (r.ok()) return;
  require(r.error().kind == expected);
  require(!r.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto usd = *refpos::money::find_currency("USD");

  // A preview (no txn_id needed) cannot be replayed: it carries no digest.
  const auto preview = refpos::wire::parse_checkout_request(text, usd, false);
  check_failure(preview, refpos::ErrorKind::bad_request);
  if (preview.ok()) {
    check_cart(preview->cart);
    require(preview->context.digest.empty());
  }
  const auto commit = refpos::wire::parse_checkout_request(text, usd, true);
  check_failure(commit, refpos::ErrorKind::bad_request);
  if (commit.ok()) {
    check_cart(commit->cart);
    require(commit->context.digest.size() == 32);
  }
  check_failure(refpos::wire::parse_reverse_request(text), refpos::ErrorKind::bad_request);
  check_failure(refpos::wire::parse_issue_code_request(text), refpos::ErrorKind::bad_request);
  check_failure(refpos::wire::parse_customer_request(text), refpos::ErrorKind::bad_request);
  const auto render = refpos::wire::parse_render_request(text);
  check_failure(render, refpos::ErrorKind::bad_request);
  if (render.ok()) {
    require(render->what == "receipt" || render->what == "coupon");
    require(render->host_lines.size() <= refpos::wire::kMaxHostLines);
  }
  // Receipt templates and logos come from files a store's admin writes.
  check_failure(refpos::print::parse_receipt_template(text, ""), refpos::ErrorKind::config);
  check_failure(refpos::print::parse_pbm(text), refpos::ErrorKind::config);
  const auto config = refpos::wire::parse_store_config(text);
  check_failure(config, refpos::ErrorKind::config);
  if (config.ok()) require(config->key(config->active_key_id) != nullptr);
  return 0;
}
