// Tests of print/bitmap.cpp and of the generated font (print/font.hpp):
// clipping at every edge, the GS v 0 packing, the QR raster with its quiet
// zone, and text drawn dot for dot from glyph8x16's rows (including '?' for
// what the font lacks and for broken UTF-8). The font is whatever the build
// generated (REFPOS_RECEIPT_FONT), so no glyph is typed in here.
#include "print/bitmap.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "print/font.hpp"

namespace {

using refpos::print::Bitmap;
using refpos::print::draw_text;
using refpos::print::glyph8x16;
using refpos::print::kCellHeight;
using refpos::print::kCellWidth;
using refpos::print::kGlyphHeight;
using refpos::print::kGlyphWidth;
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
// and 4 dots down (24 - 16) / 2.
constexpr TextStyle kPlain{1, 1, false};
constexpr int kPlainOffsetX = (kCellWidth - kGlyphWidth) / 2;
constexpr int kPlainOffsetY = (kCellHeight - kGlyphHeight) / 2;

// Font dot (x, y) of `cp`'s glyph: the most significant bit is the leftmost.
bool font_dot(char32_t cp, int x, int y) {
  const std::uint8_t* rows = glyph8x16(cp);
  REQUIRE(rows != nullptr);
  return (rows[y] & (0x80U >> x)) != 0;
}

int font_dots(char32_t cp) {
  int count = 0;
  for (int y = 0; y < kGlyphHeight; ++y) {
    for (int x = 0; x < kGlyphWidth; ++x) count += font_dot(cp, x, y) ? 1 : 0;
  }
  return count;
}

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

TEST_CASE("bitmap: the generated font has ASCII and Latin-1, nothing for control characters") {
  for (char32_t cp = 0x20; cp <= 0x7E; ++cp) {
    CAPTURE(static_cast<unsigned>(cp));
    CHECK(glyph8x16(cp) != nullptr);
  }
  for (char32_t cp = 0xA0; cp <= 0xFF; ++cp) {  // Latin-1: NBSP, ©, Ä, é, ß, ÿ, ...
    CAPTURE(static_cast<unsigned>(cp));
    CHECK(glyph8x16(cp) != nullptr);
  }
  CHECK(glyph8x16(U'€') != nullptr);  // Lat15 is Latin-9 too
  CHECK(font_dots(U' ') == 0);
  CHECK(font_dots(U'A') > 0);
  CHECK(font_dots(U'é') > 0);
  CHECK(font_dots(U'ß') > 0);
  // Distinct letters, distinct glyphs (the table is not one glyph repeated).
  const auto rows = [](char32_t cp) {
    const std::uint8_t* r = glyph8x16(cp);
    return std::vector<std::uint8_t>(r, r + kGlyphHeight);
  };
  CHECK(rows(U'e') != rows(U'é'));
  CHECK(rows(U'A') != rows(U'B'));
  CHECK(rows(U's') != rows(U'ß'));
  for (char32_t cp = 0; cp < 0x20; ++cp) CHECK(glyph8x16(cp) == nullptr);      // C0
  for (char32_t cp = 0x7F; cp <= 0x9F; ++cp) CHECK(glyph8x16(cp) == nullptr);  // DEL, C1
  for (const char32_t missing : {U'\u4E2D', U'\U0001F600', U'\U0010FFFF', char32_t{0x110000}}) {
    CHECK(glyph8x16(missing) == nullptr);
  }
}

TEST_CASE("bitmap: draw_text of \"A\" sets exactly the glyph's dots, leftmost bit first") {
  Bitmap bitmap(kCellWidth, kCellHeight);
  CHECK(draw_text(bitmap, 0, 0, "A", kPlain) == kCellWidth);
  for (int y = 0; y < kGlyphHeight; ++y) {
    for (int x = 0; x < kGlyphWidth; ++x) {
      CAPTURE(x);
      CAPTURE(y);
      CHECK(bitmap.black(kPlainOffsetX + x, kPlainOffsetY + y) == font_dot(U'A', x, y));
    }
  }
  CHECK(count_black(bitmap) == font_dots(U'A'));  // nothing outside the glyph
  // The row order, checked against the letter rather than the table: the
  // stem of an 'L' is its leftmost column and runs down to its foot, the
  // widest row, at the bottom.
  Bitmap l(kCellWidth, kCellHeight);
  draw_text(l, 0, 0, "L", kPlain);
  int left = kCellWidth, right = -1, top = kCellHeight, bottom = -1;
  for (int y = 0; y < kCellHeight; ++y) {
    for (int x = 0; x < kCellWidth; ++x) {
      if (!l.black(x, y)) continue;
      left = std::min(left, x);
      right = std::max(right, x);
      top = std::min(top, y);
      bottom = std::max(bottom, y);
    }
  }
  REQUIRE(right > left);
  REQUIRE(bottom > top);
  for (int y = top; y <= bottom; ++y) CHECK(l.black(left, y));
  for (int x = left; x <= right; ++x) CHECK(l.black(x, bottom));
  CHECK_FALSE(l.black(right, top));
}

TEST_CASE("bitmap: draw_text scales each dot, sizes the cell by the scale, and emboldens") {
  Bitmap plain(kCellWidth * 2, kCellHeight);
  draw_text(plain, 0, 0, "A", kPlain);

  // Default style: scale 1 x 1, the 8 x 16 glyph centred in a 12 x 24 cell.
  CHECK(refpos::print::cell_width(TextStyle{}) == kCellWidth);
  CHECK(refpos::print::cell_height(TextStyle{}) == kCellHeight);
  Bitmap default_style(kCellWidth * 2, kCellHeight);
  CHECK(draw_text(default_style, 0, 0, "A") == kCellWidth);
  CHECK(default_style == plain);

  // Double size: scale 2 both ways, a 24 x 48 cell, the 16 x 32 glyph centred.
  Bitmap scaled(kCellWidth * 4, kCellHeight * 2);
  const TextStyle double_both{2, 2, false};
  CHECK(refpos::print::cell_width(double_both) == 2 * kCellWidth);
  CHECK(refpos::print::cell_height(double_both) == 2 * kCellHeight);
  CHECK(draw_text(scaled, 0, 0, "AA", double_both) == 4 * kCellWidth);
  const int ox = (2 * kCellWidth - 2 * kGlyphWidth) / 2;
  const int oy = (2 * kCellHeight - 2 * kGlyphHeight) / 2;
  // Double width only: a 24 x 24 cell.
  Bitmap wide(kCellWidth * 2, kCellHeight);
  const TextStyle double_width{2, 1, false};
  CHECK(refpos::print::cell_height(double_width) == kCellHeight);
  CHECK(draw_text(wide, 0, 0, "A", double_width) == 2 * kCellWidth);
  for (int y = 0; y < kGlyphHeight; ++y) {
    for (int x = 0; x < kGlyphWidth; ++x) {
      const bool dot = font_dot(U'A', x, y);
      CHECK(scaled.black(ox + 2 * x, oy + 2 * y) == dot);
      CHECK(scaled.black(ox + 2 * x + 1, oy + 2 * y + 1) == dot);
      CHECK(scaled.black(2 * kCellWidth + ox + 2 * x, oy + 2 * y) == dot);  // second cell
      CHECK(wide.black(ox + 2 * x + 1, kPlainOffsetY + y) == dot);
    }
  }
  CHECK(count_black(scaled) == 2 * 4 * count_black(plain));
  CHECK(count_black(wide) == 2 * count_black(plain));
  // Scales are clamped to [1, kMaxTextScale].
  CHECK(refpos::print::cell_width(TextStyle{0, -3, false}) == kCellWidth);
  CHECK(refpos::print::cell_height(TextStyle{0, -3, false}) == kCellHeight);
  CHECK(refpos::print::cell_height(TextStyle{1, 100, false}) ==
        refpos::print::kMaxTextScale * kCellHeight);

  Bitmap bold(kCellWidth, kCellHeight);
  draw_text(bold, 0, 0, "A", TextStyle{1, 1, true});
  for (int y = 0; y < kCellHeight; ++y) {
    for (int x = 0; x < kCellWidth; ++x) {
      CHECK(bold.black(x, y) == (plain.black(x, y) || plain.black(x - 1, y)));
    }
  }
}

TEST_CASE("bitmap: draw_text draws '?' for a missing glyph and for broken UTF-8") {
  REQUIRE(glyph8x16(U'\u4E2D') == nullptr);  // 中: not in a Latin console font
  Bitmap question(kCellWidth, kCellHeight);
  draw_text(question, 0, 0, "?", kPlain);
  REQUIRE(count_black(question) > 0);
  for (const std::string& text :
       {std::string("\u4E2D"), std::string("\t"), std::string("\x7F"), std::string("\xC2\x85"),
        std::string("\xC3"), std::string("\xFF"), std::string("\xED\xA0\x80")}) {
    CAPTURE(text);
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
