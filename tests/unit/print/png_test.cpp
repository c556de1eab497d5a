// Tests of print/png.cpp: the QR of a share link, encoded as a PNG at every
// module size a printer or a screen uses and at every error correction level,
// is read back by a real scanner (zbarimg) as exactly the link; a picture of
// text is a well-formed PNG of the right size.
#include "print/png.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "print/qr.hpp"
#include "temp_dir.hpp"
#include "zbar.hpp"

namespace {

using refpos::print::Bitmap;
using refpos::print::Ecc;
using refpos::print::encode_png;

constexpr const char* kLink = "https://example.com/r/7K3M9Q2XWP4HABCD";

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::uint32_t big_endian_at(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value = (value << 8) | static_cast<std::uint8_t>(bytes[at + i]);
  }
  return value;
}

// The PNG signature, then IHDR first: width, height, bit depth, colour type.
struct Header {
  std::uint32_t width;
  std::uint32_t height;
  int bit_depth;
  int color_type;
};
Header png_header(const std::string& png) {
  REQUIRE(png.size() > 33);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1A\n", 8));
  REQUIRE(png.substr(12, 4) == "IHDR");
  return {big_endian_at(png, 16), big_endian_at(png, 20), static_cast<std::uint8_t>(png[24]),
          static_cast<std::uint8_t>(png[25])};
}

}  // namespace

TEST_CASE("png: a QR of a share link scans as exactly the link, sizes 2..8, every ECC level") {
  const refpos::test::TempDir dir;
  for (const Ecc ecc : {Ecc::low, Ecc::medium, Ecc::quartile, Ecc::high}) {
    const auto symbol = refpos::print::encode_qr(kLink, ecc);
    REQUIRE(symbol.ok());
    for (int module_dots = 2; module_dots <= 8; ++module_dots) {
      CAPTURE(refpos::print::ecc_letter(ecc));
      CAPTURE(module_dots);
      const Bitmap bitmap = refpos::print::qr_bitmap(*symbol, module_dots);
      const auto png = encode_png(bitmap);
      REQUIRE_MESSAGE(png.ok(), png.error().describe());
      const Header header = png_header(*png);
      CHECK(header.width == static_cast<std::uint32_t>(bitmap.width()));
      CHECK(header.bit_depth == 1);
      CHECK(header.color_type == 0);  // grayscale
      const auto path = dir.path() / ("qr-" + std::string(1, refpos::print::ecc_letter(ecc)) + '-' +
                                      std::to_string(module_dots) + ".png");
      write_file(path, *png);
      CHECK(refpos::test::zbar_decode(path) == std::optional<std::string>(kLink));
    }
  }
}

TEST_CASE("png: scale enlarges every dot, and the scaled QR still scans") {
  const refpos::test::TempDir dir;
  const auto symbol = refpos::print::encode_qr(kLink, Ecc::medium);
  REQUIRE(symbol.ok());
  const Bitmap bitmap = refpos::print::qr_bitmap(*symbol, 1);
  const auto png = encode_png(bitmap, 3);
  REQUIRE(png.ok());
  CHECK(png_header(*png).width == static_cast<std::uint32_t>(bitmap.width() * 3));
  CHECK(png_header(*png).height == static_cast<std::uint32_t>(bitmap.height() * 3));
  write_file(dir.path() / "scaled.png", *png);
  CHECK(refpos::test::zbar_decode(dir.path() / "scaled.png") == std::optional<std::string>(kLink));
}

TEST_CASE("png: a blank picture and a missing file give zbar_decode nothing") {
  const refpos::test::TempDir dir;
  const auto png = encode_png(Bitmap(64, 64));
  REQUIRE(png.ok());
  write_file(dir.path() / "blank.png", *png);
  CHECK_FALSE(refpos::test::zbar_decode(dir.path() / "blank.png").has_value());
  CHECK_FALSE(refpos::test::zbar_decode(dir.path() / "it's missing.png").has_value());
}

TEST_CASE("png: a picture of text is a valid 1-bit PNG of the bitmap's size") {
  Bitmap bitmap(200, refpos::print::kCellHeight);
  const int width = refpos::print::draw_text(bitmap, 0, 0, "Café 5,00 €");
  CHECK(width == 11 * refpos::print::kCellWidth);
  const auto png = encode_png(bitmap);
  REQUIRE(png.ok());
  const Header header = png_header(*png);
  CHECK(header.width == 200U);
  CHECK(header.height == static_cast<std::uint32_t>(refpos::print::kCellHeight));
  CHECK(header.bit_depth == 1);
  CHECK(png->substr(png->size() - 8, 4) == "IEND");
  // Deterministic: no time stamp, so the same picture gives the same file.
  CHECK(encode_png(bitmap).value() == *png);
}

TEST_CASE("png: what libpng refuses is an internal error, not a crash") {
  const auto empty = encode_png(Bitmap());
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == refpos::ErrorKind::internal);
  CHECK(empty.error().message.find("libpng") != std::string::npos);
  const auto huge = encode_png(Bitmap(1000, 1), 2000);
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().kind == refpos::ErrorKind::internal);
}
