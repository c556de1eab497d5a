#include "print/escpos.hpp"

#include <algorithm>

namespace refpos::print {
namespace {

constexpr std::uint8_t kEsc = 0x1B;
constexpr std::uint8_t kGs = 0x1D;
constexpr std::uint8_t kLf = 0x0A;

std::uint8_t low_byte(std::size_t v) { return static_cast<std::uint8_t>(v & 0xFFU); }
std::uint8_t high_byte(std::size_t v) { return static_cast<std::uint8_t>((v >> 8) & 0xFFU); }

// GS ( k pL pH cn fn [params]: the QR function family (cn = 49).
std::uint8_t ecc_parameter(Ecc ecc) {
  switch (ecc) {
    case Ecc::low: return 48;
    case Ecc::medium: return 49;
    case Ecc::quartile: return 50;
    case Ecc::high: return 51;
  }
  return 49;
}

}  // namespace

EscPos& EscPos::initialize() {
  put({kEsc, '@', kEsc, 't', escpos_code_page_number(page_)});
  return *this;
}

EscPos& EscPos::align(Align a) {
  put({kEsc, 'a', static_cast<std::uint8_t>(a)});
  return *this;
}

EscPos& EscPos::emphasis(bool on) {
  put({kEsc, 'E', static_cast<std::uint8_t>(on ? 1 : 0)});
  return *this;
}

EscPos& EscPos::double_size(bool on) {
  put({kGs, '!', static_cast<std::uint8_t>(on ? 0x11 : 0x00)});
  return *this;
}

EscPos& EscPos::line(std::string_view utf8) {
  const EncodedText text = encode_text(utf8, page_);
  out_ += text.bytes;
  transliterated_ += text.transliterated;
  unprintable_ += text.unprintable;
  put(kLf);
  return *this;
}

EscPos& EscPos::feed(int lines) {
  put({kEsc, 'd', static_cast<std::uint8_t>(std::clamp(lines, 0, 255))});
  return *this;
}

EscPos& EscPos::cut(int feed_lines) {
  put({kGs, 'V', 66, static_cast<std::uint8_t>(std::clamp(feed_lines, 0, 255))});
  return *this;
}

EscPos& EscPos::qr_native(std::string_view payload, int module_dots, Ecc ecc) {
  payload = payload.substr(0, kMaxNativeQrPayload);
  // Function 165: model 2 (n1 = 50).
  put({kGs, '(', 'k', 4, 0, 49, 65, 50, 0});
  // Function 167: module size in dots.
  put({kGs, '(', 'k', 3, 0, 49, 67, static_cast<std::uint8_t>(std::clamp(module_dots, 1, 16))});
  // Function 169: error correction level.
  put({kGs, '(', 'k', 3, 0, 49, 69, ecc_parameter(ecc)});
  // Function 180: store the data (pL pH count cn fn m + payload).
  const std::size_t length = payload.size() + 3;
  put({kGs, '(', 'k', low_byte(length), high_byte(length), 49, 80, 48});
  out_.append(payload);
  // Function 181: print the stored symbol.
  put({kGs, '(', 'k', 3, 0, 49, 81, 48});
  return *this;
}

EscPos& EscPos::raster(const Bitmap& image) {
  if (image.width() <= 0 || image.height() <= 0) return *this;
  const std::vector<std::uint8_t> rows = image.packed_rows();
  raster_rows(rows.data(), (static_cast<std::size_t>(image.width()) + 7) / 8, image.height());
  return *this;
}

EscPos& EscPos::raster_qr(const QrSymbol& symbol, int module_dots, int left_dots) {
  module_dots = std::clamp(module_dots, 1, 64);
  left_dots = std::max(0, left_dots);
  const int modules = symbol.size() + 2 * kQuietZoneModules;
  const int side = modules * module_dots;
  const auto row_bytes = static_cast<std::size_t>(left_dots + side + 7) / 8;
  std::vector<std::uint8_t> rows(row_bytes * static_cast<std::size_t>(side), 0);
  for (int my = 0; my < symbol.size(); ++my) {
    // One packed row per module row, then copied module_dots times.
    const int top = (my + kQuietZoneModules) * module_dots;
    std::uint8_t* row = rows.data() + static_cast<std::size_t>(top) * row_bytes;
    for (int mx = 0; mx < symbol.size(); ++mx) {
      if (!symbol.dark(mx, my)) continue;
      const int x0 = left_dots + (mx + kQuietZoneModules) * module_dots;
      for (int x = x0; x < x0 + module_dots; ++x) {
        row[static_cast<std::size_t>(x / 8)] |= static_cast<std::uint8_t>(0x80U >> (x % 8));
      }
    }
    for (int k = 1; k < module_dots; ++k) std::copy_n(row, row_bytes, row + static_cast<std::size_t>(k) * row_bytes);
  }
  raster_rows(rows.data(), row_bytes, side);
  return *this;
}

void EscPos::raster_rows(const std::uint8_t* rows, std::size_t row_bytes, int height) {
  for (int top = 0; top < height; top += kRasterBandRows) {
    const int band = std::min(kRasterBandRows, height - top);
    put({kGs, 'v', '0', 0, low_byte(row_bytes), high_byte(row_bytes),
         low_byte(static_cast<std::size_t>(band)), high_byte(static_cast<std::size_t>(band))});
    const auto* begin = rows + row_bytes * static_cast<std::size_t>(top);
    out_.append(reinterpret_cast<const char*>(begin), row_bytes * static_cast<std::size_t>(band));
  }
}

}  // namespace refpos::print
