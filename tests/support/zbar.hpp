// zbar_decode: reads the barcodes in a picture with the real zbarimg (Debian
// package zbar-tools), so that a test proves a symbol scans, not merely that
// it matches our own idea of a QR code.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace refpos::test {

// Runs `zbarimg --raw -q <picture>` on a PNG (or any format zbarimg reads)
// and returns every decoded symbol's text, one per line, without a final
// newline. nullopt when zbarimg is missing, fails, finds no symbol, or
// prints more than 1 MiB. A symbol whose text holds a newline spans lines.
std::optional<std::string> zbar_decode(const std::filesystem::path& picture);

}  // namespace refpos::test
