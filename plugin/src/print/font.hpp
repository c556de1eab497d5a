// The built-in 8x16 bitmap font (internal to print/): what draw_text draws
// when a picture, not the printer's own font, carries the text.
//
// No font data is committed: glyph8x16 is defined in a file generated at build
// time by plugin/tools/psf_to_cpp from a Linux console font (by default
// Lat15-Fixed16 of Debian's console-setup-linux, public domain; see
// REFPOS_RECEIPT_FONT in plugin/CMakeLists.txt). It covers ASCII, Latin-1 and
// whatever else that font's Unicode table maps (Lat15: Latin-9, '€', ...).
#pragma once

#include <cstdint>

namespace refpos::print {

inline constexpr int kGlyphWidth = 8;    // dots; one byte a row
inline constexpr int kGlyphHeight = 16;  // dots, = rows

// The kGlyphHeight rows of `cp`'s glyph, top to bottom; in each row the MOST
// significant bit is the LEFTMOST dot (bit 0x80 is column 0, as in
// packed_rows). nullptr when the font has no glyph for `cp`, and always for
// control characters (C0, DEL, C1), so they never draw as blanks that look
// like text. The rows are static: valid for the life of the program.
const std::uint8_t* glyph8x16(char32_t cp);

}  // namespace refpos::print
