// ESC/POS, the command language of receipt printers (Epson TM series and the
// many printers that follow it), limited to what a receipt needs:
//
//   ESC @              initialise            ESC t n     code page
//   ESC a n            align (0 1 2)         ESC E n     emphasis on/off
//   GS ! n             character size        ESC d n     print and feed n lines
//   GS V 66 n          feed n and partial cut
//   GS ( k             QR code, model 2: 165 module size, 169 error
//                      correction, 180 store data, 181 print
//   GS v 0 m xL xH yL yH d...   raster bit image (the fallback for
//                      printers without a QR engine)
//
// The builder only appends bytes; text goes through the chosen code page
// (codepage.hpp), so no byte of receipt text can ever be a command.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "print/bitmap.hpp"
#include "print/codepage.hpp"
#include "print/qr.hpp"

namespace refpos::print {

enum class Align : std::uint8_t { left = 0, center = 1, right = 2 };

// Largest QR payload GS ( k can store in one command (pL pH count the
// payload + 3): 65535 - 3. Real limits are far lower (version 40-L holds
// 2953 bytes).
inline constexpr std::size_t kMaxNativeQrPayload = 2953;
// GS v 0 takes up to 65535 bytes per row and 65535 rows; printers buffer
// far less, so tall images are sent in bands of this many rows.
inline constexpr int kRasterBandRows = 256;

class EscPos {
 public:
  explicit EscPos(CodePage page) : page_(page) {}

  EscPos& initialize();         // ESC @ then ESC t <page>
  EscPos& align(Align align);   // ESC a n
  EscPos& emphasis(bool on);    // ESC E n
  EscPos& double_size(bool on); // GS ! 0x11 / 0x00
  // Text in the code page, then LF. Never contains a control byte.
  EscPos& line(std::string_view utf8);
  EscPos& feed(int lines);      // ESC d n (0..255)
  EscPos& cut(int feed_lines);  // GS V 66 n: feed then partial cut
  // Native QR of `payload` (model 2): the printer encodes it. module_dots
  // 1..16, payload at most kMaxNativeQrPayload bytes (checked by the caller's
  // config; longer payloads are truncated to keep the command well-formed).
  EscPos& qr_native(std::string_view payload, int module_dots, Ecc ecc);
  // A 1-bit image, left-aligned in the printable area, in bands.
  EscPos& raster(const Bitmap& image);
  // A QR symbol as a raster, `left_dots` from the left edge, each module
  // `module_dots` square, with its quiet zone: packed straight from the
  // modules (no intermediate bitmap), as this is on the commit's path.
  EscPos& raster_qr(const QrSymbol& symbol, int module_dots, int left_dots);

  [[nodiscard]] const std::string& bytes() const { return out_; }
  [[nodiscard]] std::string take_bytes() { return std::move(out_); }
  [[nodiscard]] int transliterated() const { return transliterated_; }
  [[nodiscard]] int unprintable() const { return unprintable_; }

 private:
  void put(std::uint8_t byte) { out_.push_back(static_cast<char>(byte)); }
  void raster_rows(const std::uint8_t* rows, std::size_t row_bytes, int height);
  void put(std::initializer_list<std::uint8_t> bytes) {
    for (const auto b : bytes) put(b);
  }

  CodePage page_;
  std::string out_;
  int transliterated_ = 0;
  int unprintable_ = 0;
};

}  // namespace refpos::print
