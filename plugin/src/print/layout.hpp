// A receipt as a list of blocks (text lines, the QR coupon, the logo, rules,
// feeds) and the three things made from it: ESC/POS bytes for the printer,
// a 1-bit picture of the paper (PNG preview), and plain text. One document,
// three renderers, so that the preview shows exactly what prints.
//
// The document is built from the store's receipt template (assets/receipt/,
// docs/receipts.md): header, logo, the referral lines, the coupon, footer,
// with {placeholders} filled from the transaction's facts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "print/bitmap.hpp"
#include "print/codepage.hpp"
#include "print/escpos.hpp"
#include "print/qr.hpp"

namespace refpos::print {

// Paper widths receipt printers come in, as dots across at 203 dpi.
inline constexpr int kDots58mm = 384;
inline constexpr int kDots80mm = 576;

enum class QrMode : std::uint8_t { native, raster };

struct PrinterProfile {
  int width_dots = kDots80mm;
  QrMode qr_mode = QrMode::native;
  CodePage code_page = CodePage::cp437;
  Ecc qr_ecc = Ecc::medium;
  int qr_module_dots = 0;  // 0: the largest that keeps the QR within half the paper (3..8)
  int qr_max_version = 10; // keeps a QR scannable from a phone at arm's length
  bool cut = true;
  int feed_before_cut = 3;

  // Characters per line in font A (12 dots per character): 32 or 48.
  [[nodiscard]] int columns() const { return width_dots / kCellWidth; }
  // Module size actually used for a symbol of `modules` per side.
  [[nodiscard]] int module_dots_for(int modules) const;
};

// Parses "paper_mm" etc. (docs/receipts.md) into a profile. Fails (kind
// `config`, field under "printer.") on an unknown width, code page, QR mode
// or error correction, naming the accepted values.
struct PrinterProfileInput {
  std::optional<int> paper_mm;
  std::optional<std::string> qr;
  std::optional<std::string> code_page;
  std::optional<std::string> qr_ecc;
  std::optional<int> qr_module_dots;
  std::optional<bool> cut;
};
Result<PrinterProfile> make_printer_profile(const PrinterProfileInput& input);

struct Block {
  enum class Kind : std::uint8_t { text, qr, image, rule, feed };
  Kind kind = Kind::text;
  std::string text;          // text: one line (wrapped by the renderers); qr: the payload
  Align align = Align::left;
  bool bold = false;
  bool double_size = false;
  std::optional<QrSymbol> symbol;  // qr
  Bitmap image;                    // image
  int lines = 1;                   // feed
};

struct Document {
  std::vector<Block> blocks;
  bool cut = true;
};

// Splits a line into lines of at most `columns` characters (code points),
// at spaces where it can, hard where a word is longer than a line.
std::vector<std::string> wrap(std::string_view utf8, int columns);

struct Escposed {
  std::string bytes;
  int transliterated = 0;
  int unprintable = 0;
};
Escposed render_escpos(const Document& doc, const PrinterProfile& printer);
Bitmap render_bitmap(const Document& doc, const PrinterProfile& printer);
std::string render_text(const Document& doc, const PrinterProfile& printer);

// ---- The receipt template ----

struct TemplateLine {
  std::string text;  // with {placeholders}
  Align align = Align::left;
  bool bold = false;
  bool double_size = false;
  bool qr = false;   // the coupon's QR goes here (coupon section only)
  bool rule = false; // a line of '-' across the paper
};

struct ReceiptTemplate {
  std::vector<TemplateLine> header;
  std::optional<Bitmap> logo;
  std::vector<TemplateLine> redemption;  // when a code was redeemed
  std::vector<TemplateLine> coupon;      // when a code was issued
  std::vector<TemplateLine> footer;
};

// Placeholders a template may use; anything else is refused at open.
// {store_name} {store_id} {txn_id} {date} {discount} {redeemed_code}
// {code} {share_link} {offer} {friend_gets} {referrer_gets} {valid_until}
bool is_known_placeholder(std::string_view name);

// Parses a template (JSON, schema "refpos.receipt/1"); `logo_pbm` is the
// logo file's bytes (PBM P1 or P4) or empty. Errors are kind `config` with
// the field under "receipt.".
Result<ReceiptTemplate> parse_receipt_template(std::string_view json_text,
                                               std::string_view logo_pbm);
// The template that ships in assets/receipt/ (compiled in).
const ReceiptTemplate& default_receipt_template();
std::string_view default_receipt_template_json();

// Reads a PBM image (P1 text or P4 binary), at most 576 x 576.
Result<Bitmap> parse_pbm(std::string_view bytes);

using Placeholders = std::map<std::string, std::string, std::less<>>;

// "{name}" replaced by values[name]; unknown names are left as they are
// (they were refused when the template was parsed).
std::string fill(std::string_view text, const Placeholders& values);

struct ReceiptContent {
  Placeholders values;
  std::vector<std::string> host_lines;  // printed between header and refpos's part
  bool redeemed = false;
  std::optional<QrSymbol> coupon;       // when a code was issued
  std::string coupon_payload;           // the share link (or the code)
};

// The whole receipt: header, logo, host lines, redemption, coupon, footer.
Document receipt_document(const ReceiptTemplate& tpl, const ReceiptContent& content);
// The coupon alone (its section of the template), without cut.
Document coupon_document(const ReceiptTemplate& tpl, const ReceiptContent& content);

}  // namespace refpos::print
