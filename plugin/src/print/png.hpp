// PNG output for pictures a person looks at: the coupon and the receipt
// preview. 1-bit grayscale through libpng, written to memory.
#pragma once

#include <string>

#include "base/result.hpp"
#include "print/bitmap.hpp"

namespace refpos::print {

// The bitmap as a PNG file (bytes), each dot `scale` x `scale` pixels.
// Fails (kind `internal`) only if libpng does.
Result<std::string> encode_png(const Bitmap& bitmap, int scale = 1);

}  // namespace refpos::print
