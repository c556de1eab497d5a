#include "escpos_parser.hpp"

namespace refpos::test {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  [[nodiscard]] bool done() const { return at_ >= bytes_.size(); }
  [[nodiscard]] std::size_t offset() const { return at_; }
  bool take(std::uint8_t& out) {
    if (done()) return false;
    out = static_cast<std::uint8_t>(bytes_[at_++]);
    return true;
  }
  bool take(std::size_t n, std::string_view& out) {
    if (bytes_.size() - at_ < n) return false;
    out = bytes_.substr(at_, n);
    at_ += n;
    return true;
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

}  // namespace

bool EscPosRaster::black(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_dots || y >= height_dots) return false;
  const auto row_bytes = static_cast<std::size_t>((width_dots + 7) / 8);
  const auto byte = rows[static_cast<std::size_t>(y) * row_bytes + static_cast<std::size_t>(x / 8)];
  return ((byte >> (7 - x % 8)) & 1U) != 0;
}

std::string EscPosRaster::to_pbm() const {
  std::string out = "P4\n" + std::to_string(width_dots) + " " + std::to_string(height_dots) + "\n";
  out.append(rows.begin(), rows.end());
  return out;
}

std::optional<EscPosDocument> parse_escpos(std::string_view bytes, std::string& error) {
  EscPosDocument doc;
  Reader in(bytes);
  std::string line;
  int align = 0;
  bool bold = false;
  bool last_was_raster = false;
  const auto fail = [&](const std::string& why) -> std::optional<EscPosDocument> {
    error = "offset " + std::to_string(in.offset()) + ": " + why;
    return std::nullopt;
  };
  while (!in.done()) {
    std::uint8_t b = 0;
    in.take(b);
    const bool raster_before = last_was_raster;
    last_was_raster = false;
    if (b == 0x0A) {
      doc.lines.push_back(line);
      doc.line_align.push_back(align);
      doc.line_bold.push_back(bold);
      line.clear();
      continue;
    }
    if (b >= 0x20 && b != 0x7F) {
      line.push_back(static_cast<char>(b));
      continue;
    }
    std::uint8_t c = 0;
    std::uint8_t n = 0;
    if (b == 0x1B) {  // ESC
      if (!in.take(c)) return fail("ESC at end");
      if (c == '@') {
        doc.initialized = true;
        continue;
      }
      if (!in.take(n)) return fail("ESC command without its parameter");
      switch (c) {
        case 't': doc.code_page = n; break;
        case 'a':
          if (n > 2) return fail("ESC a with n > 2");
          align = n;
          break;
        case 'E': bold = (n & 1U) != 0; break;
        case 'd': doc.feeds += n; break;
        default: return fail("unexpected ESC " + std::to_string(c));
      }
      continue;
    }
    if (b == 0x1D) {  // GS
      if (!in.take(c)) return fail("GS at end");
      if (c == '!') {
        if (!in.take(n)) return fail("GS ! without n");
        continue;
      }
      if (c == 'V') {
        std::uint8_t m = 0;
        if (!in.take(m) || m != 66 || !in.take(n)) return fail("GS V other than function B (66)");
        ++doc.cuts;
        continue;
      }
      if (c == 'v') {
        std::string_view head;
        if (!in.take(6, head) || head[0] != '0') return fail("GS v other than GS v 0");
        if (head[1] != 0) return fail("GS v 0 in a scaled mode");
        const auto u8 = [&](int i) { return static_cast<std::size_t>(static_cast<std::uint8_t>(head[static_cast<std::size_t>(i)])); };
        const std::size_t row_bytes = u8(2) + 256 * u8(3);
        const std::size_t height = u8(4) + 256 * u8(5);
        std::string_view data;
        if (row_bytes == 0 || height == 0 || !in.take(row_bytes * height, data)) {
          return fail("GS v 0 with no or truncated data");
        }
        const int width = static_cast<int>(row_bytes * 8);
        if (raster_before && doc.rasters.back().width_dots == width) {
          auto& r = doc.rasters.back();  // the next band of the same image
          r.rows.insert(r.rows.end(), data.begin(), data.end());
          r.height_dots += static_cast<int>(height);
        } else {
          EscPosRaster r;
          r.width_dots = width;
          r.height_dots = static_cast<int>(height);
          r.rows.assign(data.begin(), data.end());
          doc.rasters.push_back(std::move(r));
        }
        last_was_raster = true;
        continue;
      }
      if (c == '(') {
        std::string_view head;
        if (!in.take(4, head) || head[0] != 'k') return fail("GS ( other than GS ( k");
        const auto p = static_cast<std::size_t>(static_cast<std::uint8_t>(head[1])) +
                       256 * static_cast<std::size_t>(static_cast<std::uint8_t>(head[2]));
        const auto cn = static_cast<std::uint8_t>(head[3]);
        std::string_view rest;
        if (cn != 49 || p < 2 || !in.take(p - 1, rest)) return fail("GS ( k not a QR function");
        const auto fn = static_cast<std::uint8_t>(rest[0]);
        const auto arg = [&](std::size_t i) { return static_cast<std::uint8_t>(rest[i]); };
        if (fn == 65) {  // select model: n1 n2
          if (rest.size() != 3) return fail("QR function 165 of the wrong length");
          doc.qrs.emplace_back();
          doc.qrs.back().model = arg(1);
        } else if (fn == 67 || fn == 69) {
          if (doc.qrs.empty() || rest.size() != 2) return fail("QR size/ECC before the model");
          if (fn == 67) doc.qrs.back().module_dots = arg(1);
          else if (arg(1) >= 48 && arg(1) <= 51) doc.qrs.back().ecc = "LMQH"[arg(1) - 48];
          else return fail("QR error correction out of range");
        } else if (fn == 80) {
          if (doc.qrs.empty() || rest.size() < 2 || arg(1) != 48) return fail("QR store malformed");
          doc.qrs.back().payload = std::string(rest.substr(2));
        } else if (fn == 81) {
          if (doc.qrs.empty() || rest.size() != 2) return fail("QR print malformed");
          doc.qrs.back().printed = true;
        } else {
          return fail("QR function " + std::to_string(fn) + " not in the subset");
        }
        continue;
      }
      return fail("unexpected GS " + std::to_string(c));
    }
    return fail("control byte " + std::to_string(b) + " in text");
  }
  if (!line.empty()) return fail("text after the last LF never prints");
  return doc;
}

}  // namespace refpos::test
