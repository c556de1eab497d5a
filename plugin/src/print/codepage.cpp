// Code pages of receipt printers (ESC t n): UTF-8 in, one byte per character
// out, and back for the preview.
//
// The upper halves (0x80..0xFF) are the Unicode Consortium's mapping files
// (unicode.org/Public/MAPPINGS/VENDORS/MICSFT/PC/CP437.TXT and CP850.TXT,
// .../WINDOWS/CP1252.TXT); cp858 is cp850 with U+20AC EURO SIGN in place of
// U+0131 at 0xD5. The rows were generated from Python's codecs (built from
// those files) and checked byte for byte against glibc's iconv. 0 marks a byte
// the page leaves undefined. Lower halves are ASCII on all three pages.
//
// Encoding order for each character: printable ASCII -> the page's own byte
// -> an ASCII transliteration -> '?'.
#include "print/codepage.hpp"

#include <algorithm>
#include <array>

namespace refpos::print {
namespace {

using UpperHalf = std::array<char16_t, 128>;

// clang-format off
constexpr UpperHalf kCp437 = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,  // 0x80
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,  // 0x88
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,  // 0x90
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,  // 0x98
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,  // 0xA0
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,  // 0xA8
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,  // 0xB0
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,  // 0xB8
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,  // 0xC0
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,  // 0xC8
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,  // 0xD0
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,  // 0xD8
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,  // 0xE0
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,  // 0xE8
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,  // 0xF0
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,  // 0xF8
};
// clang-format on

// clang-format off
constexpr UpperHalf kCp858 = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,  // 0x80
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,  // 0x88
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,  // 0x90
    0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192,  // 0x98
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,  // 0xA0
    0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,  // 0xA8
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0,  // 0xB0
    0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510,  // 0xB8
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3,  // 0xC0
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4,  // 0xC8
    0x00F0, 0x00D0, 0x00CA, 0x00CB, 0x00C8, 0x20AC, 0x00CD, 0x00CE,  // 0xD0
    0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580,  // 0xD8
    0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE,  // 0xE0
    0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4,  // 0xE8
    0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8,  // 0xF0
    0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0,  // 0xF8
};
// clang-format on

// clang-format off
constexpr UpperHalf kCp1252 = {
    0x20AC, 0x0000, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 0x80
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x0000, 0x017D, 0x0000,  // 0x88
    0x0000, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 0x90
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x0000, 0x017E, 0x0178,  // 0x98
    0x00A0, 0x00A1, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,  // 0xA0
    0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,  // 0xA8
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,  // 0xB0
    0x00B8, 0x00B9, 0x00BA, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00BF,  // 0xB8
    0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,  // 0xC0
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF,  // 0xC8
    0x00D0, 0x00D1, 0x00D2, 0x00D3, 0x00D4, 0x00D5, 0x00D6, 0x00D7,  // 0xD0
    0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,  // 0xD8
    0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7,  // 0xE0
    0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x00EC, 0x00ED, 0x00EE, 0x00EF,  // 0xE8
    0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,  // 0xF0
    0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF,  // 0xF8
};
// clang-format on

const UpperHalf& upper_half(CodePage page) {
  switch (page) {
    case CodePage::cp437:
      return kCp437;
    case CodePage::cp858:
      return kCp858;
    case CodePage::cp1252:
      return kCp1252;
  }
  return kCp437;
}

// ASCII spellings for characters a page may lack, sorted by code point.
// Letters lose their diacritics (generated from the Unicode NFKD
// decompositions, by hand for the letters that have none: Æ, Ð, Ø, Þ, ß, Đ,
// Ħ, ı, Ł, Ŋ, Œ, Ŧ, ...); symbols get their usual spelling. Printable ASCII
// only (checked below), so a transliteration never smuggles in a control byte.
struct Transliteration {
  char32_t code_point;
  const char* ascii;
};

// clang-format off
constexpr Transliteration kTransliterations[] = {
    // Latin-1 symbols.
    {0x00A0, " "}, {0x00A1, "!"}, {0x00A2, "c"}, {0x00A3, "GBP"}, {0x00A5, "JPY"},
    {0x00A6, "|"}, {0x00A9, "(C)"}, {0x00AA, "a"}, {0x00AB, "<<"}, {0x00AD, "-"},
    {0x00AE, "(R)"}, {0x00B1, "+/-"}, {0x00B2, "2"}, {0x00B3, "3"}, {0x00B4, "'"},
    {0x00B5, "u"}, {0x00B7, "."}, {0x00B8, ","}, {0x00B9, "1"}, {0x00BA, "o"},
    {0x00BB, ">>"}, {0x00BC, "1/4"}, {0x00BD, "1/2"}, {0x00BE, "3/4"}, {0x00BF, "?"},
    // Latin-1 and Latin Extended-A letters (with × and ÷), f with hook,
    // Romanian S and T with comma below.
    {0x00C0, "A"}, {0x00C1, "A"}, {0x00C2, "A"}, {0x00C3, "A"}, {0x00C4, "A"}, {0x00C5, "A"},
    {0x00C6, "AE"}, {0x00C7, "C"}, {0x00C8, "E"}, {0x00C9, "E"}, {0x00CA, "E"}, {0x00CB, "E"},
    {0x00CC, "I"}, {0x00CD, "I"}, {0x00CE, "I"}, {0x00CF, "I"}, {0x00D0, "D"}, {0x00D1, "N"},
    {0x00D2, "O"}, {0x00D3, "O"}, {0x00D4, "O"}, {0x00D5, "O"}, {0x00D6, "O"}, {0x00D7, "x"},
    {0x00D8, "O"}, {0x00D9, "U"}, {0x00DA, "U"}, {0x00DB, "U"}, {0x00DC, "U"}, {0x00DD, "Y"},
    {0x00DE, "TH"}, {0x00DF, "ss"}, {0x00E0, "a"}, {0x00E1, "a"}, {0x00E2, "a"}, {0x00E3, "a"},
    {0x00E4, "a"}, {0x00E5, "a"}, {0x00E6, "ae"}, {0x00E7, "c"}, {0x00E8, "e"}, {0x00E9, "e"},
    {0x00EA, "e"}, {0x00EB, "e"}, {0x00EC, "i"}, {0x00ED, "i"}, {0x00EE, "i"}, {0x00EF, "i"},
    {0x00F0, "d"}, {0x00F1, "n"}, {0x00F2, "o"}, {0x00F3, "o"}, {0x00F4, "o"}, {0x00F5, "o"},
    {0x00F6, "o"}, {0x00F7, "/"}, {0x00F8, "o"}, {0x00F9, "u"}, {0x00FA, "u"}, {0x00FB, "u"},
    {0x00FC, "u"}, {0x00FD, "y"}, {0x00FE, "th"}, {0x00FF, "y"}, {0x0100, "A"}, {0x0101, "a"},
    {0x0102, "A"}, {0x0103, "a"}, {0x0104, "A"}, {0x0105, "a"}, {0x0106, "C"}, {0x0107, "c"},
    {0x0108, "C"}, {0x0109, "c"}, {0x010A, "C"}, {0x010B, "c"}, {0x010C, "C"}, {0x010D, "c"},
    {0x010E, "D"}, {0x010F, "d"}, {0x0110, "D"}, {0x0111, "d"}, {0x0112, "E"}, {0x0113, "e"},
    {0x0114, "E"}, {0x0115, "e"}, {0x0116, "E"}, {0x0117, "e"}, {0x0118, "E"}, {0x0119, "e"},
    {0x011A, "E"}, {0x011B, "e"}, {0x011C, "G"}, {0x011D, "g"}, {0x011E, "G"}, {0x011F, "g"},
    {0x0120, "G"}, {0x0121, "g"}, {0x0122, "G"}, {0x0123, "g"}, {0x0124, "H"}, {0x0125, "h"},
    {0x0126, "H"}, {0x0127, "h"}, {0x0128, "I"}, {0x0129, "i"}, {0x012A, "I"}, {0x012B, "i"},
    {0x012C, "I"}, {0x012D, "i"}, {0x012E, "I"}, {0x012F, "i"}, {0x0130, "I"}, {0x0131, "i"},
    {0x0132, "IJ"}, {0x0133, "ij"}, {0x0134, "J"}, {0x0135, "j"}, {0x0136, "K"}, {0x0137, "k"},
    {0x0138, "k"}, {0x0139, "L"}, {0x013A, "l"}, {0x013B, "L"}, {0x013C, "l"}, {0x013D, "L"},
    {0x013E, "l"}, {0x013F, "L"}, {0x0140, "l"}, {0x0141, "L"}, {0x0142, "l"}, {0x0143, "N"},
    {0x0144, "n"}, {0x0145, "N"}, {0x0146, "n"}, {0x0147, "N"}, {0x0148, "n"}, {0x0149, "'n"},
    {0x014A, "N"}, {0x014B, "n"}, {0x014C, "O"}, {0x014D, "o"}, {0x014E, "O"}, {0x014F, "o"},
    {0x0150, "O"}, {0x0151, "o"}, {0x0152, "OE"}, {0x0153, "oe"}, {0x0154, "R"}, {0x0155, "r"},
    {0x0156, "R"}, {0x0157, "r"}, {0x0158, "R"}, {0x0159, "r"}, {0x015A, "S"}, {0x015B, "s"},
    {0x015C, "S"}, {0x015D, "s"}, {0x015E, "S"}, {0x015F, "s"}, {0x0160, "S"}, {0x0161, "s"},
    {0x0162, "T"}, {0x0163, "t"}, {0x0164, "T"}, {0x0165, "t"}, {0x0166, "T"}, {0x0167, "t"},
    {0x0168, "U"}, {0x0169, "u"}, {0x016A, "U"}, {0x016B, "u"}, {0x016C, "U"}, {0x016D, "u"},
    {0x016E, "U"}, {0x016F, "u"}, {0x0170, "U"}, {0x0171, "u"}, {0x0172, "U"}, {0x0173, "u"},
    {0x0174, "W"}, {0x0175, "w"}, {0x0176, "Y"}, {0x0177, "y"}, {0x0178, "Y"}, {0x0179, "Z"},
    {0x017A, "z"}, {0x017B, "Z"}, {0x017C, "z"}, {0x017D, "Z"}, {0x017E, "z"}, {0x017F, "s"},
    {0x0192, "f"}, {0x0218, "S"}, {0x0219, "s"}, {0x021A, "T"}, {0x021B, "t"},
    // Modifier letters used as accents.
    {0x02C6, "^"}, {0x02DC, "~"},
    // Capital sharp s.
    {0x1E9E, "SS"},
    // Spaces, dashes, quotes and other punctuation.
    {0x2002, " "}, {0x2003, " "}, {0x2004, " "}, {0x2005, " "}, {0x2006, " "},
    {0x2007, " "}, {0x2008, " "}, {0x2009, " "}, {0x200A, " "}, {0x200B, ""},
    {0x2010, "-"}, {0x2011, "-"}, {0x2012, "-"}, {0x2013, "-"}, {0x2014, "-"},
    {0x2015, "-"}, {0x2018, "'"}, {0x2019, "'"}, {0x201A, ","}, {0x201B, "'"},
    {0x201C, "\""}, {0x201D, "\""}, {0x201E, "\""}, {0x201F, "\""}, {0x2020, "+"},
    {0x2022, "*"}, {0x2026, "..."}, {0x202F, " "}, {0x2030, "o/oo"}, {0x2032, "'"},
    {0x2033, "\""}, {0x2039, "<"}, {0x203A, ">"}, {0x2044, "/"},
    // Currency signs: the ISO 4217 code where the sign names one currency.
    {0x20A4, "L"}, {0x20A9, "KRW"}, {0x20AA, "ILS"}, {0x20AB, "VND"}, {0x20AC, "EUR"},
    {0x20B1, "PHP"}, {0x20B4, "UAH"}, {0x20B9, "INR"}, {0x20BA, "TRY"}, {0x20BD, "RUB"},
    // Letterlike symbols, fractions, minus.
    {0x2116, "No"}, {0x2122, "TM"}, {0x2153, "1/3"}, {0x2154, "2/3"}, {0x215B, "1/8"},
    {0x2212, "-"},
    // Latin ligatures.
    {0xFB00, "ff"}, {0xFB01, "fi"}, {0xFB02, "fl"}, {0xFB03, "ffi"}, {0xFB04, "ffl"},
    {0xFB05, "st"}, {0xFB06, "st"},
};
// clang-format on

constexpr bool printable_ascii(const char* text) {
  for (; *text != '\0'; ++text) {
    if (*text < 0x20 || *text > 0x7E) return false;
  }
  return true;
}

constexpr bool transliterations_well_formed() {
  for (const auto& entry : kTransliterations) {
    if (!printable_ascii(entry.ascii)) return false;
  }
  return std::ranges::is_sorted(kTransliterations, {}, &Transliteration::code_point) &&
         std::ranges::adjacent_find(kTransliterations, {}, &Transliteration::code_point) ==
             std::ranges::end(kTransliterations);
}
static_assert(transliterations_well_formed(),
              "kTransliterations: printable ASCII only, sorted by code point, no duplicates");

const char* transliterate(char32_t cp) {
  const auto* found =
      std::ranges::lower_bound(kTransliterations, cp, {}, &Transliteration::code_point);
  if (found == std::ranges::end(kTransliterations) || found->code_point != cp) return nullptr;
  return found->ascii;
}

// The page's byte for a non-ASCII character. A scan of 128 entries is cheap
// next to printing, and keeps one table per page instead of two to agree.
std::optional<std::uint8_t> page_byte(char32_t cp, CodePage page) {
  const UpperHalf& table = upper_half(page);
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i] != 0 && table[i] == cp) return static_cast<std::uint8_t>(0x80 + i);
  }
  return std::nullopt;
}

// C0, DEL and C1: bytes a printer would take as commands.
bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool is_continuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

// Appends how `page` prints the printable character `cp`: ASCII as is, then
// the page's own byte, then a transliteration. False when none applies.
bool append_character(EncodedText& out, char32_t cp, CodePage page) {
  if (cp < 0x80) {
    out.bytes += static_cast<char>(cp);
    return true;
  }
  if (const auto byte = page_byte(cp, page)) {
    out.bytes += static_cast<char>(*byte);
    return true;
  }
  if (const char* ascii = transliterate(cp)) {
    out.bytes += ascii;
    ++out.transliterated;
    return true;
  }
  return false;
}

}  // namespace

std::optional<CodePage> code_page_named(std::string_view name) {
  if (name == "cp437") return CodePage::cp437;
  if (name == "cp858") return CodePage::cp858;
  if (name == "cp1252") return CodePage::cp1252;
  return std::nullopt;
}

std::string_view code_page_name(CodePage page) {
  switch (page) {
    case CodePage::cp437:
      return "cp437";
    case CodePage::cp858:
      return "cp858";
    case CodePage::cp1252:
      return "cp1252";
  }
  return "cp437";
}

std::uint8_t escpos_code_page_number(CodePage page) {
  switch (page) {
    case CodePage::cp437:
      return 0;
    case CodePage::cp858:
      return 19;
    case CodePage::cp1252:
      return 16;
  }
  return 0;
}

Utf8Step next_utf8(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return {lead, 1, true};
  // The length and the range of the second byte (RFC 3629, section 4): the
  // narrowed ranges rule out overlong forms, surrogates and values above
  // U+10FFFF in one check.
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1FU;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0FU;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07U;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {};  // a continuation byte, C0, C1 or F5..FF: never a lead byte
  }
  for (std::size_t i = 1; i < length; ++i) {
    const std::size_t at = pos + i;
    const bool fits = at < text.size() && is_continuation(byte(at)) &&
                      (i != 1 || (byte(at) >= low && byte(at) <= high));
    // The broken prefix only: the byte that broke it may start a character.
    if (!fits) return {0, i, false};
    cp = (cp << 6) | (byte(at) & 0x3FU);
  }
  return {cp, length, true};
}

EncodedText encode_text(std::string_view utf8, CodePage page) {
  EncodedText out;
  out.bytes.reserve(utf8.size());
  for (std::size_t pos = 0; pos < utf8.size();) {
    const Utf8Step step = next_utf8(utf8, pos);
    pos += step.length;
    const bool printable = step.valid && !is_control(step.code_point);
    if (!printable || !append_character(out, step.code_point, page)) {
      out.bytes += '?';
      ++out.unprintable;
    }
  }
  return out;
}

char32_t decode_byte(std::uint8_t byte, CodePage page) {
  if (byte < 0x80) return byte;
  const char16_t cp = upper_half(page)[static_cast<std::size_t>(byte - 0x80)];
  return cp == 0 ? char32_t{0xFFFD} : char32_t{cp};
}

}  // namespace refpos::print
