// Tests of print/layout.cpp: printer profiles, templates (and their errors),
// wrapping, and the three renderers of one document agreeing.
#include "print/layout.hpp"

#include <doctest/doctest.h>

#include "escpos_parser.hpp"

namespace {

using namespace refpos::print;
using refpos::ErrorKind;

constexpr std::string_view kLink = "https://example.com/r/7K3M9Q2XWP4HABCD";

ReceiptContent content_with_coupon() {
  ReceiptContent c;
  c.values = {{"store_name", "Corner Shop"}, {"store_id", "store-001"}, {"txn_id", "T-1"},
              {"date", "2026-01-01"},        {"code", "7K3M-9Q2X-WP4H-ABCD"},
              {"share_link", std::string(kLink)}, {"friend_gets", "20% off"},
              {"referrer_gets", "$10.00"},    {"valid_until", "2026-01-31"},
              {"offer", "Give this to a friend"}, {"discount", "$5.00"},
              {"redeemed_code", "AAAA-BBBB-CCCC-DDDD"}};
  c.host_lines = {"Coffee beans             12.00", "TOTAL                    12.00"};
  c.coupon_payload = std::string(kLink);
  c.coupon = *encode_qr(kLink, Ecc::medium);
  return c;
}

TEST_CASE("layout: printer profiles know 58 and 80 mm and nothing else") {
  PrinterProfileInput in;
  in.paper_mm = 58;
  CHECK(make_printer_profile(in)->width_dots == 384);
  CHECK(make_printer_profile(in)->columns() == 32);
  in.paper_mm = 80;
  CHECK(make_printer_profile(in)->columns() == 48);
  in.paper_mm = 76;
  const auto bad = make_printer_profile(in);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::config);
  CHECK(bad.error().field == "printer.paper_mm");
  CHECK(bad.error().message.find("58 (384 dots) or 80 (576 dots), got 76") != std::string::npos);
  in = {};
  in.qr = "laser";
  CHECK(make_printer_profile(in).error().field == "printer.qr");
  in = {};
  in.code_page = "cp999";
  CHECK(make_printer_profile(in).error().field == "printer.code_page");
  in = {};
  in.qr_ecc = "X";
  CHECK(make_printer_profile(in).error().field == "printer.qr_ecc");
  in = {};
  in.paper_mm = 58;
  in.qr_module_dots = 16;  // a version 10 symbol at 16 dots is 1040 dots wide
  CHECK(make_printer_profile(in).error().field == "printer.qr_module_dots");
}

TEST_CASE("layout: the automatic module size keeps the QR within half the paper") {
  PrinterProfile p;
  p.width_dots = kDots58mm;
  CHECK(p.module_dots_for(29) == 5);  // 37 modules with quiet zone * 5 = 185 <= 192
  p.width_dots = kDots80mm;
  CHECK(p.module_dots_for(29) == 7);
  CHECK(p.module_dots_for(57) == 4);
  CHECK(p.module_dots_for(177) == 3);  // never below 3: phones need it
  p.qr_module_dots = 6;
  CHECK(p.module_dots_for(29) == 6);
}

TEST_CASE("layout: wrap breaks at spaces, hard inside long words, counts characters") {
  CHECK(wrap("Give this to a friend", 10) == std::vector<std::string>{"Give this", "to a", "friend"});
  CHECK(wrap("https://example.com/r/ABC", 10) ==
        std::vector<std::string>{"https://ex", "ample.com/", "r/ABC"});
  CHECK(wrap("", 10) == std::vector<std::string>{""});
  // "€" is three bytes and one column.
  CHECK(wrap("\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC", 2).size() == 2);
}

TEST_CASE("layout: the shipped template parses and has a coupon QR") {
  const auto parsed = parse_receipt_template(default_receipt_template_json(), "");
  REQUIRE(parsed);
  const auto& tpl = default_receipt_template();
  CHECK(tpl.logo.has_value());
  int qrs = 0;
  for (const auto& l : tpl.coupon) qrs += l.qr ? 1 : 0;
  CHECK(qrs == 1);
  CHECK_FALSE(tpl.header.empty());
  CHECK_FALSE(tpl.footer.empty());
}

TEST_CASE("layout: template mistakes are refused with the field named") {
  const auto error_of = [](std::string_view json) {
    auto r = parse_receipt_template(json, "");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::config);
    return r.error();
  };
  CHECK(error_of(R"({"schema":"refpos.receipt/2"})").field == "receipt.schema");
  CHECK(error_of("not json").field == "receipt");
  const auto unknown = error_of(
      R"({"schema":"refpos.receipt/1","footer":[{"text":"Hi {custmer}"}]})");
  CHECK(unknown.field == "receipt.footer[0].text");
  CHECK(unknown.message.find("{custmer}") != std::string::npos);
  CHECK(error_of(R"({"schema":"refpos.receipt/1","header":[{"qr":true}]})").field ==
        "receipt.header[0].qr");
  CHECK(error_of(R"({"schema":"refpos.receipt/1","coupon":[{"qr":true},{"qr":true}]})").field ==
        "receipt.coupon");
  CHECK(error_of(R"({"schema":"refpos.receipt/1","header":[{"txt":"x"}]})").field ==
        "receipt.header[0].txt");
  CHECK(error_of(R"({"schema":"refpos.receipt/1","header":[{"align":"middle"}]})").field ==
        "receipt.header[0].align");
  CHECK(error_of(R"({"schema":"refpos.receipt/1","colour":"red"})").field == "receipt.colour");
}

TEST_CASE("layout: PBM logos in P1 and P4 read the same; bad ones are refused") {
  const auto p1 = parse_pbm("P1\n# c\n3 2\n1 0 1\n0 1 0\n");
  const auto p4 = parse_pbm(std::string("P4\n3 2\n\xA0\x40", 9));
  REQUIRE(p1);
  REQUIRE(p4);
  CHECK(*p1 == *p4);
  CHECK(p1->black(0, 0));
  CHECK_FALSE(p1->black(1, 0));
  CHECK(p1->black(1, 1));
  CHECK_FALSE(parse_pbm("P2\n1 1\n1\n"));
  CHECK_FALSE(parse_pbm("P1\n3 2\n1 0 1\n"));      // truncated
  CHECK_FALSE(parse_pbm("P1\n9999 2\n"));          // too wide
  CHECK_FALSE(parse_pbm("P4\n8 2\n\xFF"));         // truncated binary
}

TEST_CASE("layout: fill replaces known placeholders and leaves the rest") {
  CHECK(fill("Hi {store_name}!", {{"store_name", "Corner"}}) == "Hi Corner!");
  CHECK(fill("{a}{b", {{"a", "1"}}) == "1{b");
  CHECK(fill("{x}", {}) == "{x}");
}

TEST_CASE("layout: one receipt, three renderers that agree") {
  const ReceiptContent c = content_with_coupon();
  const Document doc = receipt_document(default_receipt_template(), c);
  for (const int mm : {58, 80}) {
    for (const char* mode : {"native", "raster"}) {
      CAPTURE(mm);
      CAPTURE(mode);
      PrinterProfileInput in;
      in.paper_mm = mm;
      in.qr = mode;
      const PrinterProfile printer = *make_printer_profile(in);

      const std::string text = render_text(doc, printer);
      CHECK(text.find("Corner Shop") != std::string::npos);
      CHECK(text.find("Coffee beans") != std::string::npos);
      CHECK(text.find("7K3M-9Q2X-WP4H-ABCD") != std::string::npos);
      std::size_t start = 0;
      while (start < text.size()) {  // no line wider than the paper
        const auto end = text.find('\n', start);
        CHECK(static_cast<int>(end - start) <= printer.columns());
        start = end + 1;
      }

      std::string error;
      const auto escpos = refpos::test::parse_escpos(render_escpos(doc, printer).bytes, error);
      INFO(error);
      REQUIRE(escpos);
      CHECK(escpos->cuts == 1);
      if (printer.qr_mode == QrMode::native) {
        REQUIRE(escpos->qrs.size() == 1);
        CHECK(escpos->qrs[0].payload == kLink);
        CHECK(escpos->qrs[0].module_dots == printer.module_dots_for(c.coupon->size()));
        CHECK(escpos->rasters.size() == 1);  // the logo
      } else {
        CHECK(escpos->qrs.empty());
        CHECK(escpos->rasters.size() == 2);  // logo, QR
      }
      for (const auto& r : escpos->rasters) CHECK(r.width_dots <= printer.width_dots);

      const Bitmap paper = render_bitmap(doc, printer);
      CHECK(paper.width() == printer.width_dots);
      CHECK(paper.height() > 400);
    }
  }
}

TEST_CASE("layout: without a coupon, the coupon section and its QR are left out") {
  ReceiptContent c = content_with_coupon();
  c.coupon.reset();
  const Document doc = receipt_document(default_receipt_template(), c);
  for (const Block& b : doc.blocks) CHECK(b.kind != Block::Kind::qr);
  CHECK(render_text(doc, PrinterProfile{}).find("GIVE A FRIEND") == std::string::npos);
  CHECK(coupon_document(default_receipt_template(), c).blocks.empty());
}

}  // namespace
