// Tests of print/codepage.cpp: every mapped byte of every page round-trips,
// the euro sign lands where each page has it (or is spelled out), nothing
// that a printer would take as a command gets through, broken UTF-8 prints
// '?', and the counts the host warns about are right.
#include "print/codepage.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

namespace {

using refpos::print::code_page_name;
using refpos::print::code_page_named;
using refpos::print::CodePage;
using refpos::print::decode_byte;
using refpos::print::encode_text;
using refpos::print::escpos_code_page_number;
using refpos::print::next_utf8;

constexpr CodePage kAllPages[] = {CodePage::cp437, CodePage::cp858, CodePage::cp1252};

// The code point as UTF-8 (test input built from decode_byte's answers).
std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) out += static_cast<char>(value);
  return out;
}

bool cp1252_undefined(int byte) {
  return byte == 0x81 || byte == 0x8D || byte == 0x8F || byte == 0x90 || byte == 0x9D;
}

}  // namespace

TEST_CASE("codepage: every printable byte of every page round-trips through UTF-8") {
  for (const CodePage page : kAllPages) {
    CAPTURE(code_page_name(page));
    int mapped = 0;
    for (int byte = 0x20; byte <= 0xFF; ++byte) {
      if (byte == 0x7F) continue;
      const char32_t cp = decode_byte(static_cast<std::uint8_t>(byte), page);
      if (page == CodePage::cp1252 && cp1252_undefined(byte)) {
        CHECK(cp == U'\uFFFD');
        continue;
      }
      CAPTURE(byte);
      const auto encoded = encode_text(utf8(cp), page);
      CHECK(encoded.bytes == std::string(1, static_cast<char>(byte)));
      CHECK(encoded.transliterated == 0);
      CHECK(encoded.unprintable == 0);
      ++mapped;
    }
    CHECK(mapped == (page == CodePage::cp1252 ? 223 - 5 : 223));
  }
}

TEST_CASE("codepage: upper halves match the unicode.org tables at landmark bytes") {
  CHECK(decode_byte(0x41, CodePage::cp437) == U'A');
  CHECK(decode_byte(0x80, CodePage::cp437) == U'Ç');
  CHECK(decode_byte(0x9C, CodePage::cp437) == U'£');
  CHECK(decode_byte(0xE1, CodePage::cp437) == U'ß');
  CHECK(decode_byte(0xFA, CodePage::cp437) == U'\u00B7');  // middle dot
  CHECK(decode_byte(0xFF, CodePage::cp437) == U'\u00A0');
  CHECK(decode_byte(0x9B, CodePage::cp858) == U'ø');  // cp437 has ¢ there
  CHECK(decode_byte(0xD5, CodePage::cp858) == U'€');  // cp850 has ı there
  CHECK(decode_byte(0xF2, CodePage::cp858) == U'\u2017');
  CHECK(decode_byte(0x80, CodePage::cp1252) == U'€');
  CHECK(decode_byte(0x9F, CodePage::cp1252) == U'Ÿ');
  CHECK(decode_byte(0xE9, CodePage::cp1252) == U'é');
}

TEST_CASE("codepage: the euro sign is 0xD5 in cp858, 0x80 in cp1252, EUR in cp437") {
  const auto cp858 = encode_text("€5", CodePage::cp858);
  CHECK(cp858.bytes == bytes({0xD5, '5'}));
  CHECK(cp858.transliterated == 0);
  const auto cp1252 = encode_text("€5", CodePage::cp1252);
  CHECK(cp1252.bytes == bytes({0x80, '5'}));
  const auto cp437 = encode_text("€5", CodePage::cp437);
  CHECK(cp437.bytes == "EUR5");
  CHECK(cp437.transliterated == 1);
  CHECK(cp437.unprintable == 0);
}

TEST_CASE("codepage: a page's own letter wins over transliteration") {
  CHECK(encode_text("é", CodePage::cp437).bytes == bytes({0x82}));
  CHECK(encode_text("é", CodePage::cp1252).bytes == bytes({0xE9}));
  CHECK(encode_text("ß", CodePage::cp858).bytes == bytes({0xE1}));
  CHECK(encode_text("“", CodePage::cp1252).bytes == bytes({0x93}));
  CHECK(encode_text("Œ", CodePage::cp1252).bytes == bytes({0x8C}));
}

TEST_CASE("codepage: letters, ligatures, quotes and dashes a page lacks are transliterated") {
  const auto text = encode_text("“Œuvre” – Łódź ﬁn…", CodePage::cp437);
  CHECK(text.bytes == "\"OEuvre\" - L" + bytes({0xA2}) + "dz fin...");  // cp437 has ó
  CHECK(text.transliterated == 8);
  CHECK(text.unprintable == 0);
  CHECK(encode_text("ẞ", CodePage::cp1252).bytes == "SS");
  CHECK(encode_text("Ș", CodePage::cp858).bytes == "S");
  CHECK(encode_text("Ã", CodePage::cp437).bytes == "A");  // cp858 and cp1252 have it
  CHECK(encode_text("Ã", CodePage::cp858).bytes == bytes({0xC7}));
}

TEST_CASE("codepage: characters with neither a byte nor a spelling print as '?'") {
  const auto text = encode_text("a中😀b", CodePage::cp1252);
  CHECK(text.bytes == "a??b");
  CHECK(text.unprintable == 2);
  CHECK(text.transliterated == 0);
}

TEST_CASE("codepage: control characters never pass through, on any page") {
  for (const CodePage page : kAllPages) {
    for (char32_t cp = 0; cp <= 0x9F; ++cp) {
      if (cp >= 0x20 && cp < 0x7F) continue;
      CAPTURE(static_cast<unsigned>(cp));
      const auto text = encode_text(utf8(cp), page);
      CHECK(text.bytes == "?");
      CHECK(text.unprintable == 1);
    }
    // ESC @ (initialise) and GS V (cut) embedded in a name stay text.
    const auto text = encode_text("Bob\x1B@\x1DV\n", page);
    CHECK(text.bytes == "Bob?@?V?");
    CHECK(text.unprintable == 3);
  }
}

TEST_CASE("codepage: invalid UTF-8 becomes '?', one per broken sequence") {
  const auto text = encode_text(
      "a\xFF"
      "b\xE2\x82"
      "c\x80\xC0\xAF"
      "d\xED\xA0\x80",
      CodePage::cp858);
  // FF; E2 82 (truncated euro); 80; C0; AF; ED; A0; 80 (a surrogate is 3 bad bytes)
  CHECK(text.bytes == "a?b?c???d???");
  CHECK(text.unprintable == 8);
  CHECK(text.transliterated == 0);
  CHECK(encode_text("\xF4\x90\x80\x80", CodePage::cp437).bytes == "????");  // above U+10FFFF
  CHECK(encode_text("\xF0\x9F\x98", CodePage::cp437).bytes == "?");         // truncated emoji
}

TEST_CASE("codepage: next_utf8 decodes every length and reports how far it read") {
  const std::string text = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  std::size_t pos = 0;
  for (const auto& [cp, length] :
       {std::pair<char32_t, std::size_t>{U'A', 1}, {U'é', 2}, {U'€', 3}, {U'\U0001F600', 4}}) {
    const auto step = next_utf8(text, pos);
    CHECK(step.valid);
    CHECK(step.code_point == cp);
    CHECK(step.length == length);
    pos += step.length;
  }
  CHECK(pos == text.size());
  const auto truncated = next_utf8("\xF0\x9F\x98", 0);
  CHECK_FALSE(truncated.valid);
  CHECK(truncated.length == 3);
}

TEST_CASE("codepage: counts add up over a mixed line") {
  const auto text = encode_text("Café – 5 € \x01 中", CodePage::cp437);
  CHECK(text.bytes == "Caf" + bytes({0x82}) + " - 5 EUR ? ?");
  CHECK(text.transliterated == 2);
  CHECK(text.unprintable == 2);
}

TEST_CASE("codepage: names and ESC t numbers") {
  for (const CodePage page : kAllPages) CHECK(code_page_named(code_page_name(page)) == page);
  CHECK_FALSE(code_page_named("CP437").has_value());
  CHECK_FALSE(code_page_named("cp850").has_value());
  CHECK(escpos_code_page_number(CodePage::cp437) == 0);
  CHECK(escpos_code_page_number(CodePage::cp858) == 19);
  CHECK(escpos_code_page_number(CodePage::cp1252) == 16);
}
