#include "receipt/printout.hpp"

#include <openssl/evp.h>

#include "codes/code.hpp"
#include "print/png.hpp"
#include "print/svg.hpp"
#include "receipt/receipt_text.hpp"
#include "rules/evaluate.hpp"

namespace refpos::receipt {
namespace {

using nlohmann::json;

// Preview pictures are drawn 2 pixels per printer dot: a 576-dot receipt is
// 1152 pixels wide, sharp on a screen and still small as a 1-bit PNG.
constexpr int kPreviewScale = 2;
constexpr int kCouponPixels = 320;

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

const json& member(const json& doc, const char* key) {
  static const json kNull;
  const auto it = doc.find(key);
  return it == doc.end() ? kNull : *it;
}

std::string printer_name(const print::PrinterProfile& p) {
  return p.width_dots == print::kDots58mm ? "58mm" : "80mm";
}

}  // namespace

Result<print::ReceiptContent> content_of(const wire::StoreConfig& config, const json& answer,
                                         std::vector<std::string> host_lines) {
  const auto money = [&](std::int64_t minor) { return wire::money_text(config, minor); };
  const rules::OfferText offer = rules::offer_text(config.rules, money);
  print::ReceiptContent c;
  c.host_lines = std::move(host_lines);
  auto& v = c.values;
  v["store_name"] = config.store_name;
  v["store_id"] = config.store_id;
  v["txn_id"] = member(answer, "txn_id").is_string() ? member(answer, "txn_id").get<std::string>() : "";
  const json& at = member(answer, "committed_at_ms");
  v["date"] = at.is_number_integer() ? utc_date(at.get<std::int64_t>()) : "";
  v["friend_gets"] = offer.friend_gets;
  v["referrer_gets"] = offer.referrer_gets.empty() ? "our thanks" : offer.referrer_gets;
  v["offer"] = rules::referral_offer_message(config.rules, money);

  const json& redemption = member(answer, "redemption");
  if (redemption.is_object()) {
    c.redeemed = true;
    v["redeemed_code"] = member(redemption, "code").is_string()
                             ? member(redemption, "code").get<std::string>() : "";
    const json& discount = member(redemption, "discount_minor");
    v["discount"] = money(discount.is_number_integer() ? discount.get<std::int64_t>() : 0);
  }
  const json& issued = member(answer, "issued_code");
  if (issued.is_object()) {
    const json& normalized = member(issued, "normalized");
    const json& expires = member(issued, "expires_at_ms");
    if (!normalized.is_string() || !expires.is_number_integer()) {
      return make_error(ErrorKind::internal, "issued_code", "stored answer lacks the issued code");
    }
    const auto code = normalized.get<std::string>();
    c.coupon_payload = wire::qr_payload(config, code);
    auto symbol = print::encode_qr(c.coupon_payload, config.printer.qr_ecc,
                                   config.printer.qr_max_version);
    // Checked at open for the longest payload; a failure here is a defect.
    if (!symbol) return make_error(ErrorKind::internal, "issued_code", symbol.error().message);
    c.coupon = std::move(*symbol);
    v["code"] = codes::display(code);
    v["share_link"] = wire::share_link(config, code);
    v["valid_until"] = last_valid_day(expires.get<std::int64_t>());
  }
  return c;
}

void add_presentation(const wire::StoreConfig& config, json& answer) {
  auto content = content_of(config, answer);
  if (!content || !content->coupon) {
    answer["coupon"] = nullptr;
    answer["print"] = nullptr;
    return;
  }
  const print::QrSymbol& qr = *content->coupon;
  const auto& v = content->values;
  answer["coupon"] = {
      {"code_text", v.at("code")},
      {"share_link", v.at("share_link")},
      {"message", v.at("offer")},
      {"friend_gets", v.at("friend_gets")},
      {"referrer_gets", v.at("referrer_gets")},
      {"valid_until", v.at("valid_until")},
      {"qr", {{"payload", content->coupon_payload},
              {"version", qr.version()},
              {"ecc", std::string(1, print::ecc_letter(qr.ecc()))},
              {"size", qr.size()},
              {"quiet_zone", print::kQuietZoneModules},
              {"rows", qr.rows()}}}};
  const auto escpos =
      print::render_escpos(print::coupon_document(*config.receipt_template, *content), config.printer);
  answer["print"] = {
      {"printer", {{"paper", printer_name(config.printer)},
                   {"width_dots", config.printer.width_dots},
                   {"columns", config.printer.columns()},
                   {"qr", config.printer.qr_mode == print::QrMode::native ? "native" : "raster"},
                   {"code_page", print::code_page_name(config.printer.code_page)}}},
      {"coupon_escpos_base64", base64(escpos.bytes)},
      {"transliterated", escpos.transliterated},
      {"unprintable", escpos.unprintable}};
}

Result<std::string> render(const wire::StoreConfig& config, const json& answer,
                           std::string_view what, std::string_view format,
                           std::vector<std::string> host_lines) {
  auto content = content_of(config, answer, std::move(host_lines));
  if (!content) return content.error();
  const bool coupon = what == "coupon";
  if (coupon && !content->coupon) {
    return make_error(ErrorKind::not_found, "what",
                      "no referral code was issued in this transaction, so it has no coupon");
  }
  const print::ReceiptTemplate& tpl = *config.receipt_template;
  if (format == "svg") {
    return print::qr_svg(*content->coupon, content->coupon_payload, kCouponPixels);
  }
  const print::Document doc =
      coupon ? print::coupon_document(tpl, *content) : print::receipt_document(tpl, *content);
  if (format == "escpos") return print::render_escpos(doc, config.printer).bytes;
  if (format == "text") return print::render_text(doc, config.printer);
  return print::encode_png(print::render_bitmap(doc, config.printer), kPreviewScale);
}

}  // namespace refpos::receipt
