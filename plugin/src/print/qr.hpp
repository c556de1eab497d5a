// The QR symbol of a coupon: what the share link looks like as modules.
// Encoded with qrcodegen (Nayuki) in byte/alphanumeric mode as it chooses,
// at the error correction the store configured (never silently raised or
// lowered, so that a printer's native QR and our raster fallback print the
// same capacity), and at most `max_version` so that the symbol fits the
// narrowest configured printer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace refpos::print {

enum class Ecc : std::uint8_t { low, medium, quartile, high };  // L M Q H

// "L", "M", "Q", "H" and back.
std::optional<Ecc> ecc_named(std::string_view name);
char ecc_letter(Ecc ecc);

class QrSymbol {
 public:
  QrSymbol(int version, Ecc ecc, int size, std::vector<std::uint8_t> modules)
      : version_(version), ecc_(ecc), size_(size), modules_(std::move(modules)) {}

  [[nodiscard]] int version() const { return version_; }
  [[nodiscard]] Ecc ecc() const { return ecc_; }
  // Modules per side, without the quiet zone (4 modules each side, added by
  // whoever draws it).
  [[nodiscard]] int size() const { return size_; }
  // True for a dark module; false outside the symbol.
  [[nodiscard]] bool dark(int x, int y) const {
    if (x < 0 || y < 0 || x >= size_ || y >= size_) return false;
    return modules_[static_cast<std::size_t>(y) * static_cast<std::size_t>(size_) +
                    static_cast<std::size_t>(x)] != 0;
  }
  // One string of '1' (dark) and '0' (light) per row, top to bottom: the
  // module matrix hosts draw themselves.
  [[nodiscard]] std::vector<std::string> rows() const;

 private:
  int version_;
  Ecc ecc_;
  int size_;
  std::vector<std::uint8_t> modules_;
};

inline constexpr int kQuietZoneModules = 4;
inline constexpr int kMaxQrVersion = 40;

// Encodes `text`; fails (kind `config`) when it does not fit in a symbol of
// at most `max_version` at `ecc`, naming both and the text's length.
Result<QrSymbol> encode_qr(std::string_view text, Ecc ecc, int max_version = kMaxQrVersion);

}  // namespace refpos::print
