// Printer code pages: receipt text arrives as UTF-8 and leaves as the single
// bytes of the code page the printer was told to use (ESC t n). A character
// the page lacks is transliterated ("é" -> "e", "€" -> "EUR", "ß" -> "ss",
// "“" -> '"') and, failing that, printed as '?'; the count of such
// substitutions is reported so that the host can warn once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace refpos::print {

enum class CodePage : std::uint8_t { cp437, cp858, cp1252 };

// "cp437", "cp858", "cp1252" and back.
std::optional<CodePage> code_page_named(std::string_view name);
std::string_view code_page_name(CodePage page);
// n in ESC t n (Epson numbering): PC437 = 0, PC858 = 19, WPC1252 = 16.
std::uint8_t escpos_code_page_number(CodePage page);

struct EncodedText {
  std::string bytes;
  int transliterated = 0;  // characters replaced by an ASCII spelling
  int unprintable = 0;     // characters (or invalid UTF-8 bytes) printed as '?'
};

// Control characters (below 0x20, and 0x7F) are never passed through: they
// would be printer commands. They become '?' (counted as unprintable).
EncodedText encode_text(std::string_view utf8, CodePage page);

// The Unicode code point a byte of `page` prints as (for the preview and for
// tests that turn printer bytes back into text). Bytes below 0x80 are ASCII
// (control bytes included); a byte the page leaves undefined (0x81, 0x8D,
// 0x8F, 0x90 and 0x9D in cp1252) is U+FFFD.
char32_t decode_byte(std::uint8_t byte, CodePage page);

// One step of UTF-8 decoding, shared by everything that walks receipt text.
// An invalid sequence (a stray continuation byte, an overlong form, a
// surrogate, a value above U+10FFFF, a truncated sequence) comes back as
// valid == false, covering its maximal invalid prefix (at least one byte), so
// that a caller prints one '?' per broken sequence, as WHATWG decoders do.
struct Utf8Step {
  char32_t code_point = 0;  // 0 when !valid
  std::size_t length = 1;   // bytes consumed, >= 1
  bool valid = false;
};
// Decodes the character starting at text[pos]; pos must be < text.size().
Utf8Step next_utf8(std::string_view text, std::size_t pos);

}  // namespace refpos::print
