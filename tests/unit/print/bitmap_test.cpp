// Tests of print/bitmap.cpp and print/font8x8.cpp: clipping at every edge,
// the GS v 0 packing, the QR raster with its quiet zone, and text drawn dot
// for dot from the font (including '?' for what it lacks and for broken
// UTF-8).
#include "print/bitmap.hpp"

#include <doctest/doctest.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "print/font8x8.hpp"

namespace {

using refpos::print::Bitmap;
using refpos::print::draw_text;
using refpos::print::glyph8x8;
using refpos::print::kCellHeight;
using refpos::print::kCellWidth;
using refpos::print::kGlyphSize;
using refpos::print::text_columns;
using refpos::print::TextStyle;

int count_black(const Bitmap& bitmap) {
  int count = 0;
  for (int y = 0; y < bitmap.height(); ++y) {
    for (int x = 0; x < bitmap.width(); ++x) count += bitmap.black(x, y) ? 1 : 0;
  }
  return count;
}

// The bitmap as rows of '#' and '.', for readable failures.
std::vector<std::string> picture(const Bitmap& bitmap, int x, int y, int w, int h) {
  std::vector<std::string> rows;
  for (int row = y; row < y + h; ++row) {
    std::string line;
    for (int column = x; column < x + w; ++column) line += bitmap.black(column, row) ? '#' : '.';
    rows.push_back(line);
  }
  return rows;
}

// Text drawn at scale 1 x 1 sits 2 dots in from the cell's left (12 - 8) / 2
// and 8 dots down (24 - 8) / 2.
constexpr TextStyle kPlain{1, 1, false};
constexpr int kPlainOffsetX = (kCellWidth - kGlyphSize) / 2;
constexpr int kPlainOffsetY = (kCellHeight - kGlyphSize) / 2;

}  // namespace

TEST_CASE("bitmap: a new bitmap is white; negative sizes count as 0") {
  const Bitmap bitmap(5, 3);
  CHECK(bitmap.width() == 5);
  CHECK(bitmap.height() == 3);
  CHECK(count_black(bitmap) == 0);
  const Bitmap empty(-4, 7);
  CHECK(empty.width() == 0);
  CHECK(empty.height() == 7);
  CHECK(empty.packed_rows().empty());
  CHECK(Bitmap(3, -1).height() == 0);
}

TEST_CASE("bitmap: set, black and fill_rect clip at every edge") {
  Bitmap bitmap(4, 4);
  bitmap.set(-1, 0);
  bitmap.set(0, -1);
  bitmap.set(4, 0);
  bitmap.set(0, 4);
  CHECK(count_black(bitmap) == 0);
  CHECK_FALSE(bitmap.black(-1, -1));
  CHECK_FALSE(bitmap.black(100, 0));

  bitmap.fill_rect(-2, -2, 3, 3);  // only (0,0) is inside
  CHECK(picture(bitmap, 0, 0, 4, 4) == std::vector<std::string>{"#...", "....", "....", "...."});
  bitmap.fill_rect(3, 2, 10, 10);  // the lower part of the right column
  CHECK(picture(bitmap, 0, 0, 4, 4) == std::vector<std::string>{"#...", "....", "...#", "...#"});
  bitmap.fill_rect(1, 1, 0, 5);                                  // empty
  bitmap.fill_rect(1, 1, -3, 5);                                 // negative
  bitmap.fill_rect(INT_MAX - 1, INT_MAX - 1, INT_MAX, INT_MAX);  // no overflow
  bitmap.fill_rect(INT_MIN, 1, INT_MAX, 1);                      // ends before x = 0
  CHECK(count_black(bitmap) == 3);
  bitmap.set(3, 3, false);
  CHECK_FALSE(bitmap.black(3, 3));
  bitmap.fill_rect(INT_MIN, 1, INT_MAX, INT_MAX);  // covers nothing: ends at x = -1
  bitmap.fill_rect(-100, 1, 102, 1);               // (0,1) and (1,1)
  CHECK(picture(bitmap, 0, 0, 4, 4) == std::vector<std::string>{"#...", "##..", "...#", "...."});
}

TEST_CASE("bitmap: blit ORs the other picture in and clips it") {
  Bitmap stamp(2, 2);
  stamp.set(0, 0);
  stamp.set(1, 1);
  Bitmap bitmap(3, 3);
  bitmap.set(1, 0);
  bitmap.blit(stamp, 1, 1);   // (1,1) and (2,2)
  bitmap.blit(stamp, 2, -1);  // (2,-1) and (3,0): both outside
  bitmap.blit(stamp, -1, 1);  // (-1,1) clipped, (0,2) inside
  CHECK(picture(bitmap, 0, 0, 3, 3) == std::vector<std::string>{".#.", ".#.", "#.#"});
  // White dots of the stamp never clear black dots underneath.
  Bitmap white(3, 3);
  bitmap.blit(white, 0, 0);
  CHECK(count_black(bitmap) == 4);
}

TEST_CASE("bitmap: extend_height adds white rows at the bottom and never shrinks") {
  Bitmap bitmap(3, 2);
  bitmap.set(2, 1);
  bitmap.extend_height(5);
  CHECK(bitmap.height() == 5);
  CHECK(bitmap.black(2, 1));
  CHECK(count_black(bitmap) == 1);
  bitmap.set(0, 4);
  CHECK(bitmap.black(0, 4));
  bitmap.extend_height(1);
  CHECK(bitmap.height() == 5);
}

TEST_CASE("bitmap: packed_rows is MSB first, 1 = black, (width + 7) / 8 bytes a row") {
  Bitmap bitmap(10, 2);
  bitmap.set(0, 0);  // first byte, top bit
  bitmap.set(7, 0);  // first byte, low bit
  bitmap.set(8, 0);  // second byte, top bit
  bitmap.set(9, 1);  // second row, second byte, second bit
  const std::vector<std::uint8_t> expected = {0x81, 0x80, 0x00, 0x40};
  CHECK(bitmap.packed_rows() == expected);

  Bitmap byte_wide(8, 1);
  byte_wide.fill_rect(0, 0, 8, 1);
  CHECK(byte_wide.packed_rows() == std::vector<std::uint8_t>{0xFF});
}

TEST_CASE("bitmap: qr_bitmap is the symbol, scaled, inside a white quiet zone") {
  const auto symbol = refpos::print::encode_qr("https://example.com/r/7K3M9Q2XWP4HABCD",
                                               refpos::print::Ecc::medium);
  REQUIRE(symbol.ok());
  for (const int dots : {1, 3}) {
    for (const int quiet : {0, 4}) {
      const Bitmap bitmap = refpos::print::qr_bitmap(*symbol, dots, quiet);
      const int side = (symbol->size() + 2 * quiet) * dots;
      REQUIRE(bitmap.width() == side);
      REQUIRE(bitmap.height() == side);
      for (int y = 0; y < side; ++y) {
        for (int x = 0; x < side; ++x) {
          const bool dark = symbol->dark(x / dots - quiet, y / dots - quiet);
          if (bitmap.black(x, y) != dark) {
            FAIL("dot (" << x << "," << y << ") differs at module_dots " << dots);
          }
        }
      }
    }
  }
  // The default quiet zone is 4 modules, all white.
  const Bitmap bitmap = refpos::print::qr_bitmap(*symbol, 2);
  CHECK(bitmap.width() == (symbol->size() + 8) * 2);
  for (int i = 0; i < bitmap.width(); ++i) {
    for (int band = 0; band < 8; ++band) {
      CHECK_FALSE(bitmap.black(i, band));
      CHECK_FALSE(bitmap.black(band, i));
      CHECK_FALSE(bitmap.black(i, bitmap.height() - 1 - band));
      CHECK_FALSE(bitmap.black(bitmap.width() - 1 - band, i));
    }
  }
  CHECK(bitmap.black(8, 8));  // the finder pattern's corner
  // Nonsense sizes are clamped: a module is at least one dot.
  CHECK(refpos::print::qr_bitmap(*symbol, 0, -3).width() == symbol->size());
}

TEST_CASE("bitmap: font8x8 has ASCII and Latin-1, nothing for control characters") {
  const std::uint8_t* a = glyph8x8(U'A');
  REQUIRE(a != nullptr);
  const std::vector<std::uint8_t> upstream_a = {0x0C, 0x1E, 0x33, 0x33, 0x3F, 0x33, 0x33, 0x00};
  CHECK(std::vector<std::uint8_t>(a, a + 8) == upstream_a);
  REQUIRE(glyph8x8(U'é') != nullptr);
  CHECK(glyph8x8(U'é')[0] == 0x38);  // font8x8_ext_latin, U+00E9
  CHECK(glyph8x8(U' ') != nullptr);
  CHECK(glyph8x8(U'\u00FF') != nullptr);
  for (const char32_t missing :
       {U'\0', U'\n', U'\x1F', U'\x7F', U'\x80', U'\x9F', U'€', U'\u0100'}) {
    CHECK(glyph8x8(missing) == nullptr);
  }
}

TEST_CASE("bitmap: draw_text of \"A\" sets exactly the glyph's dots, leftmost bit first") {
  Bitmap bitmap(kCellWidth, kCellHeight);
  CHECK(draw_text(bitmap, 0, 0, "A", kPlain) == kCellWidth);
  // font8x8's 'A' written out by hand: bit 0 of each row is its left dot.
  const std::vector<std::string> expected = {
      "..##....",  // 0x0C
      ".####...",  // 0x1E
      "##..##..",  // 0x33
      "##..##..",  // 0x33
      "######..",  // 0x3F
      "##..##..",  // 0x33
      "##..##..",  // 0x33
      "........",  // 0x00
  };
  CHECK(picture(bitmap, kPlainOffsetX, kPlainOffsetY, 8, 8) == expected);
  CHECK(count_black(bitmap) == 2 + 4 + 4 + 4 + 6 + 4 + 4);  // nothing outside the glyph
}

TEST_CASE("bitmap: draw_text scales each dot, doubles the cell width, and emboldens") {
  Bitmap plain(kCellWidth * 2, kCellHeight);
  draw_text(plain, 0, 0, "A", kPlain);

  Bitmap scaled(kCellWidth * 4, kCellHeight * 2);
  const TextStyle double_both{2, 4, false};
  CHECK(refpos::print::cell_width(double_both) == 2 * kCellWidth);
  CHECK(refpos::print::cell_height(double_both) == 2 * kCellHeight);
  CHECK(draw_text(scaled, 0, 0, "AA", double_both) == 4 * kCellWidth);
  // Default style: scale 1 x 2, 8 x 16 dots centred in a 12 x 24 cell.
  Bitmap default_style(kCellWidth, kCellHeight);
  draw_text(default_style, 0, 0, "A");
  const int ox = (2 * kCellWidth - 16) / 2;
  const int oy = (2 * kCellHeight - 32) / 2;
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      const bool dot = plain.black(kPlainOffsetX + x, kPlainOffsetY + y);
      CHECK(scaled.black(ox + 2 * x + 1, oy + 4 * y + 3) == dot);
      CHECK(scaled.black(2 * kCellWidth + ox + 2 * x, oy + 4 * y) == dot);  // second cell
      CHECK(default_style.black(kPlainOffsetX + x, (kCellHeight - 16) / 2 + 2 * y + 1) == dot);
    }
  }
  CHECK(count_black(scaled) == 2 * 8 * count_black(plain));

  Bitmap bold(kCellWidth, kCellHeight);
  draw_text(bold, 0, 0, "A", TextStyle{1, 1, true});
  for (int y = 0; y < kCellHeight; ++y) {
    for (int x = 0; x < kCellWidth; ++x) {
      CHECK(bold.black(x, y) == (plain.black(x, y) || plain.black(x - 1, y)));
    }
  }
}

TEST_CASE("bitmap: draw_text draws '?' for a missing glyph and for broken UTF-8") {
  Bitmap question(kCellWidth, kCellHeight);
  draw_text(question, 0, 0, "?", kPlain);
  REQUIRE(count_black(question) > 0);
  for (const std::string& text : {std::string("€"), std::string("\t"), std::string("\xC3"),
                                  std::string("\xFF"), std::string("\xED\xA0\x80")}) {
    Bitmap bitmap(kCellWidth * 4, kCellHeight);
    const int width = draw_text(bitmap, 0, 0, text, kPlain);
    CHECK(width == kCellWidth * text_columns(text));
    Bitmap first(kCellWidth, kCellHeight);
    first.blit(bitmap, 0, 0);
    CHECK(first == question);
  }
}

TEST_CASE("bitmap: draw_text clips text that runs off the picture") {
  Bitmap bitmap(kCellWidth + 5, kCellHeight);
  CHECK(draw_text(bitmap, -3, -10, "AB", kPlain) == 2 * kCellWidth);
  CHECK(count_black(bitmap) > 0);
  Bitmap nowhere(4, 4);
  CHECK(draw_text(nowhere, 1000, 1000, "AB", kPlain) == 2 * kCellWidth);
  CHECK(count_black(nowhere) == 0);
}

TEST_CASE("bitmap: text_columns counts code points, one per broken sequence") {
  CHECK(text_columns("") == 0);
  CHECK(text_columns("abc") == 3);
  CHECK(text_columns("Zürich €5") == 9);
  CHECK(text_columns("\xF0\x9F\x98\x80") == 1);  // one emoji, one column
  CHECK(text_columns("a\xE2\x82") == 2);         // truncated euro: one '?'
  CHECK(text_columns("\x80\x80") == 2);          // stray continuation bytes
  CHECK(text_columns("\xC0\xAF") == 2);          // overlong '/': two bad bytes
}
