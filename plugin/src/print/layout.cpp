#include "print/layout.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace refpos::print {

namespace assets {
// Generated from assets/receipt/ by plugin/CMakeLists.txt.
extern const std::string_view kDefaultTemplateJson;
extern const std::string_view kDefaultLogoPbm;
}  // namespace assets

namespace {

using Json = nlohmann::json;

constexpr int kMinAutoModuleDots = 3;
constexpr int kMaxAutoModuleDots = 8;
constexpr int kMaxPrinterModuleDots = 16;
constexpr int kMaxLogoDots = kDots80mm;
constexpr int kMarginDots = 8;

Error config_error(std::string field, std::string message) {
  return make_error(ErrorKind::config, std::move(field), std::move(message));
}

// The characters of UTF-8 text, as draw_text and the code pages count them
// (a broken sequence is one character: it prints as one '?').
std::vector<std::string_view> characters(std::string_view utf8) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0; pos < utf8.size();) {
    const std::size_t length = next_utf8(utf8, pos).length;
    out.push_back(utf8.substr(pos, length));
    pos += length;
  }
  return out;
}

std::string join(const std::vector<std::string_view>& chars, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) out.append(chars[i]);
  return out;
}

// Double size only where the whole line fits: a referral code split over
// two lines is worse than one at normal size (a 19-character code is wider
// than a 58 mm printer's 16 double-size columns).
bool is_double(const Block& block, const PrinterProfile& printer) {
  return block.double_size &&
         text_columns(block.text) <= printer.columns() / 2;
}

int line_columns(const Block& block, const PrinterProfile& printer) {
  return is_double(block, printer) ? printer.columns() / 2 : printer.columns();
}

// A picture centred on the paper, as a raster the width of the paper's left
// half plus the picture (so no printer-side alignment is relied on).
Bitmap centred(const Bitmap& image, int paper_dots) {
  const int left = std::max(0, (paper_dots - image.width()) / 2);
  Bitmap out(std::min(paper_dots, left + image.width()), image.height());
  out.blit(image, left, 0);
  return out;
}

Align align_named(std::string_view name, bool& ok) {
  ok = true;
  if (name == "left") return Align::left;
  if (name == "center") return Align::center;
  if (name == "right") return Align::right;
  ok = false;
  return Align::left;
}

Result<TemplateLine> parse_line(const Json& j, const std::string& field, bool qr_allowed) {
  if (!j.is_object()) return config_error(field, "must be an object like {\"text\": \"...\"}");
  TemplateLine line;
  for (const auto& [key, value] : j.items()) {
    const std::string f = field + "." + key;
    if (key == "text") {
      if (!value.is_string()) return config_error(f, "must be a string");
      line.text = value.get<std::string>();
    } else if (key == "align") {
      bool ok = false;
      if (value.is_string()) line.align = align_named(value.get<std::string>(), ok);
      if (!ok) return config_error(f, "must be \"left\", \"center\" or \"right\"");
    } else if (key == "bold" || key == "qr" || key == "rule") {
      if (!value.is_boolean()) return config_error(f, "must be true or false");
      (key == "bold" ? line.bold : key == "qr" ? line.qr : line.rule) = value.get<bool>();
    } else if (key == "size") {
      if (!value.is_string() || (value != "normal" && value != "double")) {
        return config_error(f, "must be \"normal\" or \"double\"");
      }
      line.double_size = value == "double";
    } else {
      return config_error(f, "is not a template line field (text, align, bold, size, qr, rule)");
    }
  }
  if (line.qr && !qr_allowed) return config_error(field + ".qr", "the QR belongs in \"coupon\"");
  // Every placeholder must be one we fill: a typo would print as is.
  for (std::size_t open = line.text.find('{'); open != std::string::npos;
       open = line.text.find('{', open + 1)) {
    const std::size_t close = line.text.find('}', open);
    if (close == std::string::npos) break;
    const std::string_view name = std::string_view(line.text).substr(open + 1, close - open - 1);
    if (!is_known_placeholder(name)) {
      return config_error(field + ".text", "unknown placeholder {" + std::string(name) +
                                               "}; known: {store_name} {store_id} {txn_id} "
                                               "{date} {discount} {redeemed_code} {code} "
                                               "{share_link} {offer} {friend_gets} "
                                               "{referrer_gets} {valid_until}");
    }
  }
  return line;
}

Result<std::vector<TemplateLine>> parse_section(const Json& doc, const char* name, bool qr_allowed) {
  std::vector<TemplateLine> lines;
  const auto it = doc.find(name);
  if (it == doc.end()) return lines;
  const std::string field = std::string("receipt.") + name;
  if (!it->is_array()) return config_error(field, "must be an array of lines");
  int qrs = 0;
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto line = parse_line((*it)[i], field + "[" + std::to_string(i) + "]", qr_allowed);
    if (!line) return line.error();
    qrs += line->qr ? 1 : 0;
    lines.push_back(std::move(*line));
  }
  if (qrs > 1) return config_error(field, "holds at most one {\"qr\": true} line");
  return lines;
}

void add_lines(Document& doc, const std::vector<TemplateLine>& lines, const ReceiptContent& c) {
  for (const TemplateLine& line : lines) {
    Block b;
    if (line.rule) {
      b.kind = Block::Kind::rule;
    } else if (line.qr) {
      if (!c.coupon) continue;
      b.kind = Block::Kind::qr;
      b.text = c.coupon_payload;
      b.symbol = c.coupon;
      b.align = Align::center;
    } else {
      b.text = fill(line.text, c.values);
    }
    b.align = line.qr ? Align::center : line.align;
    b.bold = line.bold;
    b.double_size = line.double_size;
    doc.blocks.push_back(std::move(b));
  }
}

}  // namespace

int PrinterProfile::module_dots_for(int modules) const {
  if (qr_module_dots > 0) return qr_module_dots;
  const int with_quiet = modules + 2 * kQuietZoneModules;
  return std::clamp(width_dots / 2 / std::max(1, with_quiet), kMinAutoModuleDots,
                    kMaxAutoModuleDots);
}

Result<PrinterProfile> make_printer_profile(const PrinterProfileInput& input) {
  PrinterProfile p;
  if (input.paper_mm) {
    if (*input.paper_mm == 58) p.width_dots = kDots58mm;
    else if (*input.paper_mm == 80) p.width_dots = kDots80mm;
    else {
      return config_error("printer.paper_mm", "must be 58 (384 dots) or 80 (576 dots), got " +
                                                  std::to_string(*input.paper_mm));
    }
  }
  if (input.qr) {
    if (*input.qr == "native") p.qr_mode = QrMode::native;
    else if (*input.qr == "raster") p.qr_mode = QrMode::raster;
    else {
      return config_error("printer.qr",
                          "must be \"native\" (the printer draws the QR, GS ( k) or \"raster\" "
                          "(refpos draws it as an image, GS v 0, for printers without a QR "
                          "engine)");
    }
  }
  if (input.code_page) {
    const auto page = code_page_named(*input.code_page);
    if (!page) return config_error("printer.code_page", "must be \"cp437\", \"cp858\" or \"cp1252\"");
    p.code_page = *page;
  }
  if (input.qr_ecc) {
    const auto ecc = ecc_named(*input.qr_ecc);
    if (!ecc) return config_error("printer.qr_ecc", "must be \"L\", \"M\", \"Q\" or \"H\"");
    p.qr_ecc = *ecc;
  }
  if (input.qr_module_dots) {
    if (*input.qr_module_dots < 1 || *input.qr_module_dots > kMaxPrinterModuleDots) {
      return config_error("printer.qr_module_dots", "must be from 1 to 16 dots");
    }
    p.qr_module_dots = *input.qr_module_dots;
  }
  if (input.cut) p.cut = *input.cut;
  // The largest symbol must fit across the paper with its quiet zone.
  const int modules = 4 * p.qr_max_version + 17;
  const int dots = p.module_dots_for(modules);
  if ((modules + 2 * kQuietZoneModules) * dots > p.width_dots) {
    return config_error("printer.qr_module_dots",
                        "a version " + std::to_string(p.qr_max_version) + " QR at " +
                            std::to_string(dots) + " dots a module is wider than " +
                            std::to_string(p.width_dots) + " dots of paper");
  }
  return p;
}

std::vector<std::string> wrap(std::string_view utf8, int columns) {
  std::vector<std::string> out;
  const auto chars = characters(utf8);
  const auto width = static_cast<std::size_t>(std::max(1, columns));
  std::size_t start = 0;
  while (start < chars.size()) {
    if (chars.size() - start <= width) {
      out.push_back(join(chars, start, chars.size()));
      break;
    }
    // Break at the last space that keeps the line within width.
    std::size_t cut = start + width;
    std::size_t space = cut;
    while (space > start && chars[space] != " ") --space;
    if (space > start) cut = space;
    out.push_back(join(chars, start, cut));
    start = cut;
    while (start < chars.size() && chars[start] == " ") ++start;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

Escposed render_escpos(const Document& doc, const PrinterProfile& printer) {
  EscPos p(printer.code_page);
  p.initialize();
  for (const Block& b : doc.blocks) {
    switch (b.kind) {
      case Block::Kind::text:
        p.align(b.align).emphasis(b.bold).double_size(is_double(b, printer));
        for (const auto& l : wrap(b.text, line_columns(b, printer))) p.line(l);
        if (b.bold) p.emphasis(false);
        if (is_double(b, printer)) p.double_size(false);
        break;
      case Block::Kind::rule:
        p.align(Align::left).line(std::string(static_cast<std::size_t>(printer.columns()), '-'));
        break;
      case Block::Kind::feed: p.feed(b.lines); break;
      case Block::Kind::qr:
        if (!b.symbol) break;
        if (printer.qr_mode == QrMode::native) {
          p.align(Align::center).qr_native(b.text, printer.module_dots_for(b.symbol->size()),
                                           b.symbol->ecc());
        } else {
          const int module = printer.module_dots_for(b.symbol->size());
          const int side = (b.symbol->size() + 2 * kQuietZoneModules) * module;
          p.align(Align::left).raster_qr(*b.symbol, module, std::max(0, (printer.width_dots - side) / 2));
        }
        break;
      case Block::Kind::image:
        p.align(Align::left).raster(centred(b.image, printer.width_dots));
        break;
    }
  }
  p.align(Align::left);
  if (doc.cut && printer.cut) p.cut(printer.feed_before_cut);
  else p.feed(printer.feed_before_cut);
  const int transliterated = p.transliterated();
  const int unprintable = p.unprintable();
  return {p.take_bytes(), transliterated, unprintable};
}

Bitmap render_bitmap(const Document& doc, const PrinterProfile& printer) {
  Bitmap paper(printer.width_dots, kMarginDots);
  int y = kMarginDots;
  const auto place = [&](const Bitmap& image) {
    paper.extend_height(y + image.height());
    paper.blit(image, std::max(0, (printer.width_dots - image.width()) / 2), y);
    y += image.height();
  };
  for (const Block& b : doc.blocks) {
    switch (b.kind) {
      case Block::Kind::text: {
        const bool big = is_double(b, printer);
        const TextStyle style{big ? 2 : 1, big ? 2 : 1, b.bold};
        const int cell_w = kCellWidth * style.scale_x;
        const int cell_h = kCellHeight * (big ? 2 : 1);
        for (const auto& l : wrap(b.text, line_columns(b, printer))) {
          paper.extend_height(y + cell_h);
          const int used = text_columns(l) * cell_w;
          int x = 0;
          if (b.align == Align::center) x = (printer.width_dots - used) / 2;
          if (b.align == Align::right) x = printer.width_dots - used;
          draw_text(paper, std::max(0, x), y, l, style);
          y += cell_h;
        }
        break;
      }
      case Block::Kind::rule:
        paper.extend_height(y + kCellHeight);
        for (int x = 0; x < printer.width_dots; x += 6) paper.fill_rect(x, y + kCellHeight / 2, 3, 1);
        y += kCellHeight;
        break;
      case Block::Kind::feed: y += kCellHeight * b.lines; paper.extend_height(y); break;
      case Block::Kind::qr:
        if (b.symbol) place(qr_bitmap(*b.symbol, printer.module_dots_for(b.symbol->size())));
        break;
      case Block::Kind::image: place(b.image); break;
    }
  }
  y += kCellHeight * printer.feed_before_cut;
  paper.extend_height(y);
  if (doc.cut && printer.cut) {
    // The cut, as a dashed line across the bottom of the preview.
    paper.extend_height(y + 2);
    for (int x = 0; x < printer.width_dots; x += 8) paper.fill_rect(x, y, 4, 2);
  }
  return paper;
}

std::string render_text(const Document& doc, const PrinterProfile& printer) {
  std::string out;
  const int columns = printer.columns();
  const auto emit = [&](const std::string& l, Align align, int width) {
    const int used = text_columns(l);
    int pad = 0;
    if (align == Align::center) pad = (width - used) / 2;
    if (align == Align::right) pad = width - used;
    out.append(static_cast<std::size_t>(std::max(0, pad)), ' ');
    out += l;
    out += '\n';
  };
  for (const Block& b : doc.blocks) {
    switch (b.kind) {
      case Block::Kind::text:
        for (const auto& l : wrap(b.text, line_columns(b, printer))) {
          emit(l, b.align, line_columns(b, printer));
        }
        break;
      case Block::Kind::rule: out += std::string(static_cast<std::size_t>(columns), '-') + "\n"; break;
      case Block::Kind::feed: out.append(static_cast<std::size_t>(std::max(0, b.lines)), '\n'); break;
      case Block::Kind::qr:
        for (const auto& l : wrap("[QR " + b.text + "]", columns)) emit(l, Align::center, columns);
        break;
      case Block::Kind::image: break;  // the logo has no text form
    }
  }
  return out;
}

bool is_known_placeholder(std::string_view name) {
  static constexpr std::string_view kKnown[] = {
      "store_name", "store_id", "txn_id",     "date",        "discount",      "redeemed_code",
      "code",       "share_link", "offer",    "friend_gets", "referrer_gets", "valid_until"};
  return std::find(std::begin(kKnown), std::end(kKnown), name) != std::end(kKnown);
}

std::string fill(std::string_view text, const Placeholders& values) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find('{', i);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const auto it = values.find(text.substr(open + 1, close - open - 1));
    if (it != values.end()) out += it->second;
    else out.append(text.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

Result<Bitmap> parse_pbm(std::string_view bytes) {
  const auto bad = [](const std::string& why) { return config_error("receipt.logo", why); };
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '1' && bytes[1] != '4')) {
    return bad("is not a PBM image (P1 or P4)");
  }
  const bool binary = bytes[1] == '4';
  std::size_t i = 2;
  // Header: whitespace, comments (# to end of line), width, height.
  const auto next_number = [&]() -> std::optional<int> {
    while (i < bytes.size()) {
      if (bytes[i] == '#') {
        while (i < bytes.size() && bytes[i] != '\n') ++i;
      } else if (std::isspace(static_cast<unsigned char>(bytes[i])) != 0) {
        ++i;
      } else {
        break;
      }
    }
    long value = 0;
    const std::size_t start = i;
    while (i < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[i])) != 0 &&
           value <= kMaxLogoDots) {
      value = value * 10 + (bytes[i] - '0');
      ++i;
    }
    if (i == start) return std::nullopt;
    return static_cast<int>(value);
  };
  const auto w = next_number();
  const auto h = next_number();
  if (!w || !h || *w < 1 || *h < 1 || *w > kMaxLogoDots || *h > kMaxLogoDots) {
    return bad("must be a PBM of 1 to 576 dots each way");
  }
  Bitmap image(*w, *h);
  if (binary) {
    ++i;  // the single whitespace after the height
    const std::size_t row_bytes = (static_cast<std::size_t>(*w) + 7) / 8;
    if (bytes.size() < i + row_bytes * static_cast<std::size_t>(*h)) return bad("is truncated");
    for (int y = 0; y < *h; ++y) {
      for (int x = 0; x < *w; ++x) {
        const auto byte = static_cast<unsigned char>(
            bytes[i + static_cast<std::size_t>(y) * row_bytes + static_cast<std::size_t>(x / 8)]);
        if (((byte >> (7 - x % 8)) & 1U) != 0) image.set(x, y);
      }
    }
    return image;
  }
  for (int n = 0; n < *w * *h;) {
    if (i >= bytes.size()) return bad("is truncated");
    const char c = bytes[i++];
    if (c == '#') {
      while (i < bytes.size() && bytes[i] != '\n') ++i;
    } else if (c == '0' || c == '1') {
      if (c == '1') image.set(n % *w, n / *w);
      ++n;
    } else if (std::isspace(static_cast<unsigned char>(c)) == 0) {
      return bad("holds a character other than 0, 1 and whitespace");
    }
  }
  return image;
}

Result<ReceiptTemplate> parse_receipt_template(std::string_view json_text,
                                               std::string_view logo_pbm) {
  const Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return config_error("receipt", "the template is not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    static constexpr std::string_view kKeys[] = {"schema", "logo",       "header",
                                                 "redemption", "coupon", "footer"};
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return config_error("receipt." + key, "is not a template field (schema, logo, header, "
                                            "redemption, coupon, footer)");
    }
  }
  if (doc.value("schema", "") != "refpos.receipt/1") {
    return config_error("receipt.schema", "must be \"refpos.receipt/1\"");
  }
  ReceiptTemplate tpl;
  auto header = parse_section(doc, "header", false);
  if (!header) return header.error();
  auto redemption = parse_section(doc, "redemption", false);
  if (!redemption) return redemption.error();
  auto coupon = parse_section(doc, "coupon", true);
  if (!coupon) return coupon.error();
  auto footer = parse_section(doc, "footer", false);
  if (!footer) return footer.error();
  tpl.header = std::move(*header);
  tpl.redemption = std::move(*redemption);
  tpl.coupon = std::move(*coupon);
  tpl.footer = std::move(*footer);
  if (!logo_pbm.empty()) {
    auto logo = parse_pbm(logo_pbm);
    if (!logo) return logo.error();
    tpl.logo = std::move(*logo);
  }
  return tpl;
}

std::string_view default_receipt_template_json() { return assets::kDefaultTemplateJson; }

const ReceiptTemplate& default_receipt_template() {
  // Parsed once; a broken shipped template is a build defect, caught by the
  // unit tests (layout_test), so failing here falls back to an empty one.
  static const ReceiptTemplate tpl = [] {
    auto parsed = parse_receipt_template(assets::kDefaultTemplateJson, assets::kDefaultLogoPbm);
    return parsed ? std::move(*parsed) : ReceiptTemplate{};
  }();
  return tpl;
}

Document receipt_document(const ReceiptTemplate& tpl, const ReceiptContent& c) {
  Document doc;
  if (tpl.logo) {
    Block logo;
    logo.kind = Block::Kind::image;
    logo.image = *tpl.logo;
    doc.blocks.push_back(std::move(logo));
  }
  add_lines(doc, tpl.header, c);
  for (const auto& l : c.host_lines) {
    Block b;
    b.text = l;
    doc.blocks.push_back(std::move(b));
  }
  if (c.redeemed) add_lines(doc, tpl.redemption, c);
  if (c.coupon) add_lines(doc, tpl.coupon, c);
  add_lines(doc, tpl.footer, c);
  return doc;
}

Document coupon_document(const ReceiptTemplate& tpl, const ReceiptContent& c) {
  Document doc;
  doc.cut = false;
  if (c.coupon) add_lines(doc, tpl.coupon, c);
  return doc;
}

}  // namespace refpos::print
