#include "print/qr.hpp"

#include <qrcodegen.hpp>

namespace refpos::print {
namespace {

qrcodegen::QrCode::Ecc to_qrcodegen(Ecc ecc) {
  switch (ecc) {
    case Ecc::low: return qrcodegen::QrCode::Ecc::LOW;
    case Ecc::medium: return qrcodegen::QrCode::Ecc::MEDIUM;
    case Ecc::quartile: return qrcodegen::QrCode::Ecc::QUARTILE;
    case Ecc::high: return qrcodegen::QrCode::Ecc::HIGH;
  }
  return qrcodegen::QrCode::Ecc::MEDIUM;
}

}  // namespace

std::optional<Ecc> ecc_named(std::string_view name) {
  if (name == "L") return Ecc::low;
  if (name == "M") return Ecc::medium;
  if (name == "Q") return Ecc::quartile;
  if (name == "H") return Ecc::high;
  return std::nullopt;
}

char ecc_letter(Ecc ecc) {
  switch (ecc) {
    case Ecc::low: return 'L';
    case Ecc::medium: return 'M';
    case Ecc::quartile: return 'Q';
    case Ecc::high: return 'H';
  }
  return '?';
}

std::vector<std::string> QrSymbol::rows() const {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(size_));
  for (int y = 0; y < size_; ++y) {
    std::string row(static_cast<std::size_t>(size_), '0');
    for (int x = 0; x < size_; ++x) {
      if (dark(x, y)) row[static_cast<std::size_t>(x)] = '1';
    }
    out.push_back(std::move(row));
  }
  return out;
}

Result<QrSymbol> encode_qr(std::string_view text, Ecc ecc, int max_version) {
  const std::string owned(text);  // qrcodegen wants a NUL-terminated string
  const auto fail = [&] {
    return make_error(ErrorKind::config, "printer.qr_ecc",
                      "a " + std::to_string(text.size()) +
                          "-byte share link does not fit a QR symbol of version " +
                          std::to_string(max_version) + " at error correction " +
                          ecc_letter(ecc) +
                          ": shorten share_link_template or lower the error correction");
  };
  if (owned.find('\0') != std::string::npos || max_version < 1 || max_version > kMaxQrVersion) {
    return fail();
  }
  try {
    const auto segments = qrcodegen::QrSegment::makeSegments(owned.c_str());
    const auto code = qrcodegen::QrCode::encodeSegments(
        segments, to_qrcodegen(ecc), qrcodegen::QrCode::MIN_VERSION, max_version, -1,
        /*boostEcl=*/false);
    const int size = code.getSize();
    std::vector<std::uint8_t> modules(static_cast<std::size_t>(size) *
                                      static_cast<std::size_t>(size));
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        modules[static_cast<std::size_t>(y) * static_cast<std::size_t>(size) +
                static_cast<std::size_t>(x)] = code.getModule(x, y) ? 1 : 0;
      }
    }
    return QrSymbol(code.getVersion(), ecc, size, std::move(modules));
  } catch (const qrcodegen::data_too_long&) {
    return fail();
  } catch (const std::exception&) {
    return fail();
  }
}

}  // namespace refpos::print
