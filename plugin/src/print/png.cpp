// PNG encoding with libpng's low-level API: 1-bit grayscale, no interlace, no
// time stamp (the same bitmap always gives the same bytes).
//
// Errors. libpng reports an error by calling an error function that must not
// return. Throwing a C++ exception from it would unwind through libpng's C
// frames, which is undefined behaviour, so errors take libpng's own route: a
// longjmp back to the setjmp in write_png(). longjmp runs no destructors, so
// write_png() and the callbacks hold only pointers and plain structs; the
// std::string and the row buffer are owned by encode_png(), a frame longjmp
// never crosses. The write callback appends to the string inside try/catch
// and raises png_error() only after the handler has ended.
//
// Why not png_image_write_to_memory (the simplified API): it writes 8-bit
// gray, eight times the row memory for a long receipt and not the 1-bit
// picture the printer prints.
#include "print/png.hpp"

#include <png.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace refpos::print {
namespace {

// libpng's default limit on width and height (PNG_USER_WIDTH_MAX), checked
// before the row buffer is sized from them.
constexpr std::int64_t kMaxPngSide = 1'000'000;

struct PngOutput {
  std::string* bytes = nullptr;
  bool out_of_memory = false;
  char error[160] = {};  // libpng's message when it fails
};

void on_write(png_structp png, png_bytep data, std::size_t length) {
  auto* output = static_cast<PngOutput*>(png_get_io_ptr(png));
  try {
    output->bytes->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {  // bad_alloc must not unwind through libpng
    output->out_of_memory = true;
  }
  if (output->out_of_memory) png_error(png, "out of memory for the PNG file");
}

void on_flush(png_structp /*png*/) {}

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  auto* output = static_cast<PngOutput*>(png_get_error_ptr(png));
  std::snprintf(output->error, sizeof output->error, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp /*png*/, png_const_charp /*message*/) {}  // no stderr in a plugin

// Row `y` of the picture scaled `scale` times, packed MSB first. PNG gray
// has 0 = black, the reverse of the bitmap's packing.
void fill_row(const Bitmap& bitmap, int scale, int y, png_bytep row, std::size_t row_bytes) {
  std::fill(row, row + row_bytes, png_byte{0xFF});
  const auto dots = static_cast<std::size_t>(scale);
  for (int x = 0; x < bitmap.width(); ++x) {
    if (!bitmap.black(x, y / scale)) continue;
    const std::size_t first = static_cast<std::size_t>(x) * dots;
    for (std::size_t dot = first; dot < first + dots; ++dot) {
      row[dot / 8] &= static_cast<png_byte>(~(0x80U >> (dot % 8)));
    }
  }
}

// Only trivially destructible objects in this frame (see the file comment).
// png and info are not modified after setjmp, so they are valid after longjmp.
bool write_png(const Bitmap& bitmap, int scale, png_bytep row, std::size_t row_bytes,
               PngOutput* output) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, output, on_error, on_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  const int height = bitmap.height() * scale;
  png_set_write_fn(png, output, on_write, on_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(bitmap.width() * scale),
               static_cast<png_uint_32>(height), 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) {
    fill_row(bitmap, scale, y, row, row_bytes);
    png_write_row(png, row);
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

Result<std::string> encode_png(const Bitmap& bitmap, int scale) {
  scale = std::max(scale, 1);
  const std::int64_t width = std::int64_t{bitmap.width()} * scale;
  const std::int64_t height = std::int64_t{bitmap.height()} * scale;
  if (width > kMaxPngSide || height > kMaxPngSide) {
    return make_error(ErrorKind::internal, "",
                      "a " + std::to_string(width) + " x " + std::to_string(height) +
                          " picture exceeds libpng's limit of " + std::to_string(kMaxPngSide) +
                          " pixels a side");
  }
  const auto row_bytes = static_cast<std::size_t>((width + 7) / 8);
  std::vector<png_byte> row(std::max<std::size_t>(row_bytes, 1));
  std::string bytes;
  PngOutput output;
  output.bytes = &bytes;
  if (!write_png(bitmap, scale, row.data(), row_bytes, &output)) {
    return make_error(ErrorKind::internal, "",
                      std::string("libpng could not write the PNG: ") +
                          (output.error[0] != '\0' ? output.error : "out of memory"));
  }
  return bytes;
}

}  // namespace refpos::print
