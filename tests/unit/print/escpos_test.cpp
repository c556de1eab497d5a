// Tests of print/escpos.cpp, read back by the independent parser in
// tests/support/escpos_parser: the QR commands carry the payload, size and
// error correction; a raster is the same dots as the bitmap; no byte of text
// is ever a command.
#include "print/escpos.hpp"

#include <doctest/doctest.h>

#include "escpos_parser.hpp"

namespace {

using namespace refpos::print;
using refpos::test::parse_escpos;

constexpr std::string_view kLink = "https://example.com/r/7K3M9Q2XWP4HABCD";

refpos::test::EscPosDocument parsed(const EscPos& p) {
  std::string error;
  auto doc = parse_escpos(p.bytes(), error);
  INFO(error);
  REQUIRE(doc.has_value());
  return *doc;
}

TEST_CASE("escpos: native QR is model 2 with the payload, module size and ECC asked for") {
  for (const Ecc ecc : {Ecc::low, Ecc::medium, Ecc::quartile, Ecc::high}) {
    for (int module = 1; module <= 16; module += 5) {
      EscPos p(CodePage::cp437);
      p.initialize().qr_native(kLink, module, ecc);
      const auto doc = parsed(p);
      REQUIRE(doc.qrs.size() == 1);
      CHECK(doc.qrs[0].model == 50);
      CHECK(doc.qrs[0].module_dots == module);
      CHECK(doc.qrs[0].ecc == ecc_letter(ecc));
      CHECK(doc.qrs[0].payload == kLink);
      CHECK(doc.qrs[0].printed);
    }
  }
}

TEST_CASE("escpos: a payload over 252 bytes uses the high length byte") {
  const std::string payload(700, 'A');
  EscPos p(CodePage::cp437);
  p.qr_native(payload, 4, Ecc::low);
  CHECK(parsed(p).qrs.at(0).payload == payload);
}

TEST_CASE("escpos: a raster image arrives dot for dot, in bands") {
  Bitmap image(100, kRasterBandRows * 2 + 17);  // three bands
  for (int y = 0; y < image.height(); ++y) image.set((y * 7) % 100, y);
  image.fill_rect(10, 10, 30, 5);
  EscPos p(CodePage::cp437);
  p.raster(image);
  const auto doc = parsed(p);
  REQUIRE(doc.rasters.size() == 1);
  const auto& r = doc.rasters[0];
  CHECK(r.width_dots == 104);  // whole bytes
  CHECK(r.height_dots == image.height());
  int mismatches = 0;
  for (int y = 0; y < r.height_dots; ++y) {
    for (int x = 0; x < r.width_dots; ++x) mismatches += r.black(x, y) != image.black(x, y) ? 1 : 0;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("escpos: text goes through the code page and can never be a command") {
  EscPos p(CodePage::cp858);
  p.initialize().align(Align::center).emphasis(true).line("Caf\xC3\xA9 \xE2\x82\xAC" "5").emphasis(false);
  p.line(std::string("bad\x1B@\x1D" "V", 7)).cut(3);
  const auto doc = parsed(p);
  CHECK(doc.initialized);
  CHECK(doc.code_page == 19);
  REQUIRE(doc.lines.size() == 2);
  CHECK(doc.lines[0] == "Caf\x82 \xD5" "5");  // é and € in CP858
  CHECK(doc.line_align[0] == 1);
  CHECK(doc.line_bold[0]);
  CHECK(doc.lines[1].find('\x1B') == std::string::npos);
  CHECK(doc.lines[1].find('\x1D') == std::string::npos);
  CHECK(p.unprintable() == 2);
  CHECK(doc.cuts == 1);
}

TEST_CASE("escpos: a character the page lacks is transliterated and counted") {
  EscPos p(CodePage::cp437);
  p.line("\xE2\x82\xAC" "10");  // € is not in CP437
  const auto doc = parsed(p);
  CHECK(doc.lines.at(0) == "EUR10");
  CHECK(p.transliterated() == 1);
}

}  // namespace

namespace {

TEST_CASE("escpos: a QR raster packed from the modules equals the bitmap route, dot for dot") {
  const auto symbol = *encode_qr(kLink, Ecc::medium);
  for (const int module : {1, 3, 7}) {
    for (const int left : {0, 5, 100}) {
      CAPTURE(module);
      CAPTURE(left);
      EscPos direct(CodePage::cp437);
      direct.raster_qr(symbol, module, left);
      const Bitmap qr = qr_bitmap(symbol, module);
      Bitmap placed(left + qr.width(), qr.height());
      placed.blit(qr, left, 0);
      EscPos via_bitmap(CodePage::cp437);
      via_bitmap.raster(placed);
      CHECK(direct.bytes() == via_bitmap.bytes());
    }
  }
}

}  // namespace
