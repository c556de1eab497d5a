// Tests of print/qr.cpp (encode_qr over qrcodegen, QrSymbol) and of
// print/svg.cpp, which draws a QrSymbol: the module matrix two ways, versions
// that grow with the text, the config error at max_version, and an SVG whose
// path covers exactly the dark modules.
#include "print/qr.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include "print/svg.hpp"

namespace {

using refpos::ErrorKind;
using refpos::print::Ecc;
using refpos::print::ecc_letter;
using refpos::print::ecc_named;
using refpos::print::encode_qr;
using refpos::print::kQuietZoneModules;
using refpos::print::qr_svg;
using refpos::print::QrSymbol;

constexpr const char* kLink = "https://example.com/r/7K3M9Q2XWP4HABCD";
constexpr Ecc kAllEcc[] = {Ecc::low, Ecc::medium, Ecc::quartile, Ecc::high};

QrSymbol encoded(std::string_view text, Ecc ecc, int max_version = refpos::print::kMaxQrVersion) {
  auto symbol = encode_qr(text, ecc, max_version);
  REQUIRE_MESSAGE(symbol.ok(), symbol.error().describe());
  return *symbol;
}

// The cells "M x,y h n v1 h-n z" of qr_svg's path, back as module coordinates.
std::set<std::pair<int, int>> svg_cells(const std::string& svg) {
  const auto start = svg.find(" d=\"");
  REQUIRE(start != std::string::npos);
  const std::string d = svg.substr(start + 4, svg.find('"', start + 4) - start - 4);
  std::set<std::pair<int, int>> cells;
  int x = 0;
  int y = 0;
  int run = 0;
  for (const char* p = d.c_str(); *p != '\0';) {
    int used = 0;
    REQUIRE(std::sscanf(p, "M%d,%dh%dv1h-%*dz%n", &x, &y, &run, &used) ==
            3);  // NOLINT(cert-err34-c)
    REQUIRE(used > 0);
    for (int i = 0; i < run; ++i) cells.emplace(x + i - kQuietZoneModules, y - kQuietZoneModules);
    p += used;
  }
  return cells;
}

}  // namespace

TEST_CASE("qr: rows() agrees with dark() module by module") {
  for (const Ecc ecc : kAllEcc) {
    const QrSymbol symbol = encoded(kLink, ecc);
    const auto rows = symbol.rows();
    REQUIRE(rows.size() == static_cast<std::size_t>(symbol.size()));
    int dark = 0;
    for (int y = 0; y < symbol.size(); ++y) {
      const std::string& row = rows[static_cast<std::size_t>(y)];
      REQUIRE(row.size() == static_cast<std::size_t>(symbol.size()));
      for (int x = 0; x < symbol.size(); ++x) {
        CHECK(row[static_cast<std::size_t>(x)] == (symbol.dark(x, y) ? '1' : '0'));
        dark += symbol.dark(x, y) ? 1 : 0;
      }
    }
    // A real symbol, not an empty or full matrix: finder patterns are dark in
    // their corners, and the size follows the version (4v + 17).
    CHECK(symbol.size() == 4 * symbol.version() + 17);
    CHECK(symbol.dark(0, 0));
    CHECK(symbol.dark(symbol.size() - 1, 0));
    CHECK(symbol.dark(0, symbol.size() - 1));
    CHECK(dark > symbol.size() * symbol.size() / 4);
    CHECK(dark < symbol.size() * symbol.size() * 3 / 4);
    CHECK(symbol.ecc() == ecc);
    CHECK_FALSE(symbol.dark(-1, 0));
    CHECK_FALSE(symbol.dark(symbol.size(), 0));
  }
}

TEST_CASE("qr: the version grows with the text's length and with the error correction") {
  int previous = 0;
  for (const std::size_t length : {10U, 40U, 100U, 250U, 600U}) {
    const QrSymbol symbol =
        encoded("https://example.com/r/" + std::string(length, 'x'), Ecc::medium);
    CHECK(symbol.version() > previous);
    previous = symbol.version();
  }
  CHECK(encoded(kLink, Ecc::low).version() < encoded(kLink, Ecc::high).version());
}

TEST_CASE("qr: a link too long for max_version is a config error naming the version and ECC") {
  const std::string link = "https://example.com/r/" + std::string(200, 'x');
  const auto result = encode_qr(link, Ecc::quartile, 5);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::config);
  CHECK(result.error().message.find("version 5") != std::string::npos);
  CHECK(result.error().message.find("error correction Q") != std::string::npos);
  CHECK(result.error().message.find(std::to_string(link.size())) != std::string::npos);
  // The same link fits when the version may grow: the limit is what failed.
  CHECK(encode_qr(link, Ecc::quartile).ok());
  // max_version itself is a valid bound: the smallest that fits is accepted.
  const int needed = encoded(link, Ecc::quartile).version();
  CHECK(encode_qr(link, Ecc::quartile, needed).ok());
  CHECK_FALSE(encode_qr(link, Ecc::quartile, needed - 1).ok());
}

TEST_CASE("qr: nonsense bounds and embedded NUL are config errors, not crashes") {
  CHECK(encode_qr(kLink, Ecc::low, 0).error().kind == ErrorKind::config);
  CHECK(encode_qr(kLink, Ecc::low, 41).error().kind == ErrorKind::config);
  CHECK(encode_qr(std::string("a\0b", 3), Ecc::low).error().kind == ErrorKind::config);
}

TEST_CASE("qr: ecc_named and ecc_letter round-trip, and nothing else parses") {
  for (const Ecc ecc : kAllEcc) {
    const char letter = ecc_letter(ecc);
    CHECK(ecc_named(std::string_view(&letter, 1)) == ecc);
  }
  CHECK(ecc_letter(Ecc::low) == 'L');
  CHECK(ecc_letter(Ecc::high) == 'H');
  for (const char* bad : {"", "l", "m", "X", "LL", "M "}) CHECK_FALSE(ecc_named(bad).has_value());
}

TEST_CASE("qr: qr_svg's path covers exactly the dark modules, inside a quiet zone") {
  const QrSymbol symbol = encoded(kLink, Ecc::medium);
  const std::string svg = qr_svg(symbol, "Alice's <code> & \"more\"", 300);
  const int side = symbol.size() + 2 * kQuietZoneModules;
  CHECK(svg.find("viewBox=\"0 0 " + std::to_string(side) + ' ' + std::to_string(side) + '"') !=
        std::string::npos);
  CHECK(svg.find("width=\"300\" height=\"300\"") != std::string::npos);
  CHECK(svg.find("<title>Alice&apos;s &lt;code&gt; &amp; &quot;more&quot;</title>") !=
        std::string::npos);
  std::set<std::pair<int, int>> dark;
  for (int y = 0; y < symbol.size(); ++y) {
    for (int x = 0; x < symbol.size(); ++x) {
      if (symbol.dark(x, y)) dark.emplace(x, y);
    }
  }
  CHECK(svg_cells(svg) == dark);
}

TEST_CASE("qr: qr_svg without a caption has no title, and a broken caption stays valid XML") {
  const QrSymbol symbol = encoded(kLink, Ecc::low);
  CHECK(qr_svg(symbol).find("<title>") == std::string::npos);
  const std::string svg = qr_svg(symbol, std::string("a\x01\xff"
                                                     "b",
                                                     4));
  CHECK(svg.find("<title>a?b</title>") != std::string::npos);
}
