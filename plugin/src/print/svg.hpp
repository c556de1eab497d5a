// SVG output of the coupon QR: scales to any size without blur, for web
// pages and print shops.
#pragma once

#include <string>
#include <string_view>

#include "print/qr.hpp"

namespace refpos::print {

// A standalone SVG document: the symbol with its quiet zone, one module per
// user unit (viewBox), drawn as a single <path> with crisp edges, black on a
// white background, `pixels` wide and high by default. `caption`, if not
// empty, is set as the <title> (XML-escaped).
std::string qr_svg(const QrSymbol& symbol, std::string_view caption = {}, int pixels = 256);

}  // namespace refpos::print
