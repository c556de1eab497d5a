// The built-in 8x8 bitmap font (internal to print/): what draw_text draws when
// a picture, not the printer's own font, carries the text.
#pragma once

#include <cstdint>

namespace refpos::print {

inline constexpr int kGlyphSize = 8;  // dots per side

// The 8 rows of `cp`'s glyph, top to bottom; in each row bit 0 is the
// LEFTMOST dot (the font's own order, the reverse of packed_rows). nullptr
// when the font has no glyph: outside U+0020..U+007E and U+00A0..U+00FF, so
// control characters (C0, DEL, C1) never draw as blanks that look like text.
const std::uint8_t* glyph8x8(char32_t cp);

}  // namespace refpos::print
