// Bitmap, the QR raster and text in the built-in font. Every drawing
// operation clips: a caller may draw a glyph half off the paper and get the
// half that fits, never an error or an out-of-bounds write.
#include "print/bitmap.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "print/codepage.hpp"
#include "print/font.hpp"

namespace refpos::print {
namespace {

std::size_t to_size(int value) { return static_cast<std::size_t>(std::max(value, 0)); }

// [begin, begin + length) clipped to [0, limit), computed in 64 bits so that a
// huge length cannot overflow.
struct Span {
  int begin;
  int end;
};
Span clip(int begin, int length, int limit) {
  const std::int64_t lo = std::max<std::int64_t>(begin, 0);
  const std::int64_t hi = std::min<std::int64_t>(std::int64_t{begin} + std::max(length, 0), limit);
  if (hi <= lo) return {0, 0};
  return {static_cast<int>(lo), static_cast<int>(hi)};
}

int clamp_scale(int scale) { return std::clamp(scale, 1, kMaxTextScale); }

// One glyph (or '?' when the font lacks `cp`) with its top-left dot at (x, y).
void draw_glyph(Bitmap& bitmap, int x, int y, char32_t cp, int scale_x, int scale_y) {
  const std::uint8_t* rows = glyph8x16(cp);
  if (rows == nullptr) rows = glyph8x16(U'?');
  for (int row = 0; row < kGlyphHeight; ++row) {
    for (int column = 0; column < kGlyphWidth; ++column) {
      if ((rows[row] & (0x80U >> column)) == 0) continue;  // the top bit is the leftmost dot
      bitmap.fill_rect(x + column * scale_x, y + row * scale_y, scale_x, scale_y);
    }
  }
}

}  // namespace

Bitmap::Bitmap(int width, int height)
    : width_(std::max(width, 0)),
      height_(std::max(height, 0)),
      dots_(to_size(width_) * to_size(height_), 0) {}

bool Bitmap::black(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return false;
  return dots_[to_size(y) * to_size(width_) + to_size(x)] != 0;
}

void Bitmap::set(int x, int y, bool black) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  dots_[to_size(y) * to_size(width_) + to_size(x)] = black ? 1 : 0;
}

void Bitmap::fill_rect(int x, int y, int w, int h) {
  const Span columns = clip(x, w, width_);
  const Span rows = clip(y, h, height_);
  for (int row = rows.begin; row < rows.end; ++row) {
    const std::size_t start = to_size(row) * to_size(width_);
    std::fill(dots_.begin() + static_cast<std::ptrdiff_t>(start + to_size(columns.begin)),
              dots_.begin() + static_cast<std::ptrdiff_t>(start + to_size(columns.end)),
              std::uint8_t{1});
  }
}

void Bitmap::blit(const Bitmap& other, int x, int y) {
  for (int row = 0; row < other.height_; ++row) {
    for (int column = 0; column < other.width_; ++column) {
      if (other.black(column, row)) set(x + column, y + row);
    }
  }
}

void Bitmap::extend_height(int height) {
  if (height <= height_) return;
  height_ = height;
  dots_.resize(to_size(width_) * to_size(height_), 0);
}

std::vector<std::uint8_t> Bitmap::packed_rows() const {
  const std::size_t stride = (to_size(width_) + 7) / 8;
  std::vector<std::uint8_t> packed(stride * to_size(height_), 0);
  for (int y = 0; y < height_; ++y) {
    for (int x = 0; x < width_; ++x) {
      if (!black(x, y)) continue;
      packed[to_size(y) * stride + to_size(x) / 8] |=
          static_cast<std::uint8_t>(0x80U >> (to_size(x) % 8));
    }
  }
  return packed;
}

Bitmap qr_bitmap(const QrSymbol& symbol, int module_dots, int quiet_modules) {
  // Whatever the configuration says, the symbol stays whole (a module is at
  // least one dot) and its side fits an int (185 modules at version 40).
  const int dots = std::clamp(module_dots, 1, kMaxModuleDots);
  const int quiet = std::clamp(quiet_modules, 0, kMaxQuietModules);
  const int side = (symbol.size() + 2 * quiet) * dots;
  Bitmap bitmap(side, side);
  for (int y = 0; y < symbol.size(); ++y) {
    for (int x = 0; x < symbol.size(); ++x) {
      if (symbol.dark(x, y)) bitmap.fill_rect((quiet + x) * dots, (quiet + y) * dots, dots, dots);
    }
  }
  return bitmap;
}

int cell_width(const TextStyle& style) { return kCellWidth * clamp_scale(style.scale_x); }

int cell_height(const TextStyle& style) { return kCellHeight * clamp_scale(style.scale_y); }

int draw_text(Bitmap& bitmap, int x, int y, std::string_view utf8, const TextStyle& style) {
  const int scale_x = clamp_scale(style.scale_x);
  const int scale_y = clamp_scale(style.scale_y);
  const int width = cell_width(style);
  // Centred in the cell. The glyph always fits (8 x 16 font dots in a cell of
  // 12 x 24 per step of scale), so the offsets are never negative.
  static_assert(kGlyphWidth <= kCellWidth && kGlyphHeight <= kCellHeight);
  const int offset_x = (width - kGlyphWidth * scale_x) / 2;
  const int offset_y = (cell_height(style) - kGlyphHeight * scale_y) / 2;
  int cell_x = x;
  for (std::size_t pos = 0; pos < utf8.size();) {
    const Utf8Step step = next_utf8(utf8, pos);
    pos += step.length;
    const char32_t cp = step.valid ? step.code_point : U'?';
    draw_glyph(bitmap, cell_x + offset_x, y + offset_y, cp, scale_x, scale_y);
    if (style.bold) draw_glyph(bitmap, cell_x + offset_x + 1, y + offset_y, cp, scale_x, scale_y);
    cell_x += width;
  }
  return cell_x - x;
}

int text_columns(std::string_view utf8) {
  int columns = 0;
  for (std::size_t pos = 0; pos < utf8.size(); pos += next_utf8(utf8, pos).length) ++columns;
  return columns;
}

}  // namespace refpos::print
