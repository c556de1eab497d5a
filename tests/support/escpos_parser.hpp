// A reader of the ESC/POS command subset refpos emits, written from the
// Epson command reference independently of plugin/src/print/escpos.cpp, so
// that tests check the bytes a printer would get rather than our own
// builder's idea of them. Anything outside the subset is an error: a stray
// byte would print as garbage or run an unknown command on a real printer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace refpos::test {

struct EscPosQr {
  int model = 0;         // 50 = model 2
  int module_dots = 0;
  char ecc = '?';        // L M Q H
  std::string payload;   // stored with function 180
  bool printed = false;  // function 181 followed
};

struct EscPosRaster {
  int width_dots = 0;
  int height_dots = 0;
  std::vector<std::uint8_t> rows;  // packed, MSB leftmost, 1 = black

  [[nodiscard]] bool black(int x, int y) const;
  // As a PBM (P4) file: zbarimg and image viewers read it.
  [[nodiscard]] std::string to_pbm() const;
};

struct EscPosDocument {
  bool initialized = false;
  int code_page = -1;                 // ESC t n
  std::vector<std::string> lines;     // text bytes up to each LF, as sent
  std::vector<int> line_align;        // ESC a in force for each line
  std::vector<bool> line_bold;        // ESC E in force for each line
  std::vector<EscPosQr> qrs;
  std::vector<EscPosRaster> rasters;  // consecutive GS v 0 bands joined
  int feeds = 0;                      // ESC d n, summed
  int cuts = 0;
};

// Parses the bytes; on error returns nullopt and sets `error` to the offset
// and what was wrong.
std::optional<EscPosDocument> parse_escpos(std::string_view bytes, std::string& error);

}  // namespace refpos::test
