// The QR symbol as SVG: one module per user unit, the quiet zone inside the
// viewBox, the dark modules as one <path> of horizontal runs ("M x,y h n v 1
// h -n z" per run), which keeps a version 10 symbol to a few kilobytes.
// shape-rendering="crispEdges" stops viewers from anti-aliasing the seams
// between runs into grey lines that a scanner can misread.
#include "print/svg.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>

#include "print/codepage.hpp"

namespace refpos::print {
namespace {

// Bounds the width and height attributes; any sane page is far below it.
constexpr int kMaxSvgPixels = 100'000;

// The entity for one of XML's five special characters, "" for any other.
std::string_view xml_entity(char32_t cp) {
  switch (cp) {
    case U'&':
      return "&amp;";
    case U'<':
      return "&lt;";
    case U'>':
      return "&gt;";
    case U'"':
      return "&quot;";
    case U'\'':
      return "&apos;";
    default:
      return {};
  }
}

// Text for an XML element: the five special characters escaped; control
// characters, which XML 1.0 forbids even escaped, dropped (tab, LF and CR
// are allowed and kept); invalid UTF-8, which would make the whole document
// unreadable, replaced by '?'.
std::string xml_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const Utf8Step step = next_utf8(text, pos);
    const std::string_view bytes = text.substr(pos, step.length);
    pos += step.length;
    const char32_t cp = step.code_point;
    if (!step.valid) {
      out += '?';
    } else if (const std::string_view entity = xml_entity(cp); !entity.empty()) {
      out += entity;
    } else if (cp >= 0x20 || cp == U'\t' || cp == U'\n' || cp == U'\r') {
      out += bytes;
    }
  }
  return out;
}

// The path data of the dark modules, shifted by the quiet zone.
std::string dark_runs(const QrSymbol& symbol) {
  std::string d;
  for (int y = 0; y < symbol.size(); ++y) {
    for (int x = 0; x < symbol.size();) {
      if (!symbol.dark(x, y)) {
        ++x;
        continue;
      }
      const int start = x;
      while (symbol.dark(x, y)) ++x;
      const std::string run = std::to_string(x - start);
      d += 'M';
      d += std::to_string(start + kQuietZoneModules);
      d += ',';
      d += std::to_string(y + kQuietZoneModules);
      d += 'h';
      d += run;
      d += "v1h-";
      d += run;
      d += 'z';
    }
  }
  return d;
}

void append_line(std::string& out, std::initializer_list<std::string_view> parts) {
  for (const std::string_view part : parts) out += part;
  out += '\n';
}

}  // namespace

std::string qr_svg(const QrSymbol& symbol, std::string_view caption, int pixels) {
  const std::string side = std::to_string(symbol.size() + 2 * kQuietZoneModules);
  const std::string size = std::to_string(std::clamp(pixels, 1, kMaxSvgPixels));
  std::string svg;
  append_line(svg, {R"(<?xml version="1.0" encoding="UTF-8"?>)"});
  append_line(svg, {R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width=")", size,
                    R"(" height=")", size, R"(" viewBox="0 0 )", side, " ", side,
                    R"(" shape-rendering="crispEdges">)"});
  if (!caption.empty()) append_line(svg, {"<title>", xml_text(caption), "</title>"});
  append_line(svg, {R"(<rect width="100%" height="100%" fill="#ffffff"/>)"});
  append_line(svg, {R"(<path fill="#000000" d=")", dark_runs(symbol), R"("/>)"});
  append_line(svg, {"</svg>"});
  return svg;
}

}  // namespace refpos::print
