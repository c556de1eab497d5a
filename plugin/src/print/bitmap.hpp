// A 1-bit picture, dot for dot what a thermal printer prints: the raster QR
// fallback (GS v 0), the receipt preview (PNG) and the logo all go through
// it. Black is 1. Drawing outside the picture is clipped, never an error.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "print/qr.hpp"

namespace refpos::print {

class Bitmap {
 public:
  Bitmap() = default;
  Bitmap(int width, int height);  // all white; negative sizes count as 0

  [[nodiscard]] int width() const { return width_; }
  [[nodiscard]] int height() const { return height_; }
  [[nodiscard]] bool black(int x, int y) const;  // white outside
  void set(int x, int y, bool black = true);      // ignored outside
  void fill_rect(int x, int y, int w, int h);     // clipped
  void blit(const Bitmap& other, int x, int y);   // ORs `other` in, clipped
  // Adds white rows at the bottom (never shrinks).
  void extend_height(int height);

  // Rows top to bottom, (width + 7) / 8 bytes each, most significant bit
  // leftmost, 1 = black: the data layout of ESC/POS GS v 0 and of a 1-bit
  // PNG row.
  [[nodiscard]] std::vector<std::uint8_t> packed_rows() const;

  friend bool operator==(const Bitmap&, const Bitmap&) = default;

 private:
  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> dots_;  // one byte per dot, row-major
};

// The symbol with its quiet zone, each module `module_dots` square.
// Size: (symbol.size() + 2 * quiet_modules) * module_dots on each side.
// module_dots is clamped to [1, kMaxModuleDots] and quiet_modules to
// [0, kMaxQuietModules], so the symbol stays whole and its side fits an int.
inline constexpr int kMaxModuleDots = 64;
inline constexpr int kMaxQuietModules = 64;
Bitmap qr_bitmap(const QrSymbol& symbol, int module_dots, int quiet_modules = kQuietZoneModules);

// Text in the built-in 8x16 font (print/font.hpp: a console font turned into
// code at build time; ASCII, Latin-1, '€', ...), one glyph per character
// cell. At scale 1 a cell is kCellWidth x kCellHeight dots (font A of a
// thermal printer: 12 x 24); each font dot is drawn as scale_x x scale_y dots
// and the glyph is centred in a cell of cell_width(style) x
// cell_height(style). `utf8` is decoded as UTF-8; a character the font lacks,
// a control character, or an invalid byte, draws as '?'.
struct TextStyle {
  int scale_x = 1;  // 2 for double width (then cells are 2 * kCellWidth wide)
  int scale_y = 1;  // 2 for double height; at 1 a 16-dot glyph fits font A's 24-dot cell
  bool bold = false;  // drawn twice, one dot apart, like a printer's emphasis
};
inline constexpr int kCellWidth = 12;
inline constexpr int kCellHeight = 24;
// Scales are clamped to [1, kMaxTextScale] (a printer's GS ! goes to 8).
inline constexpr int kMaxTextScale = 8;

// The cell one character of `style` takes, in dots: kCellWidth * scale_x
// wide and kCellHeight * scale_y tall (double size, scale 2 both ways: a
// 24 x 48 cell), like a printer's font A under GS !.
int cell_width(const TextStyle& style);
int cell_height(const TextStyle& style);

// Draws `utf8` with its top-left cell at (x, y); returns the width drawn in
// dots. Characters per line is the caller's business (see layout).
int draw_text(Bitmap& bitmap, int x, int y, std::string_view utf8, const TextStyle& style = {});

// Number of characters draw_text would draw for `utf8` (code points).
int text_columns(std::string_view utf8);

}  // namespace refpos::print
