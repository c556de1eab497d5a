// receipt_output: what happens to a receipt once a sale is committed. The
// text receipt goes to stdout; with --receipts, files go to a folder; with
// --printer, the plugin's ESC/POS bytes go to the printer.
//
// Files, for a transaction T (T must be [A-Za-z0-9._-], not starting with
// '.', or no file is written: the id names the file):
//   T.txt                 the text receipt (receipt.hpp), as on stdout
//   T.escpos              the whole slip as ESC/POS bytes, as sent to a printer
//   T.png                 a picture of that slip (preview)
//   coupons/T.png, .svg   the QR coupon alone, when the sale issued a code
// Every file is written to a temporary name in the same folder, synced and
// renamed, so a crash never leaves half a receipt under the real name.
//
// Everything but T.txt comes from the plugin's render call (ABI 1.1). With
// an ABI 1.0 plugin only T.txt is written, and the printer gets the text
// receipt as plain lines; this is said once on stderr.
//
// Integration point: a failed print never undoes or repeats a sale. The
// commit already happened; the receipt is rendered again from the stored
// answer whenever the cashier reprints it.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "console.hpp"
#include "plugin_handle.hpp"
#include "printer.hpp"

namespace refpos::terminal {

// Sales whose cart this session remembers for reprints (the oldest are
// forgotten first; a reprint of a forgotten sale has no cart lines).
inline constexpr std::size_t kMaxRememberedSales = 10'000;

struct ReceiptOutputOptions {
  std::optional<std::filesystem::path> receipts_dir;  // --receipts
  std::optional<PrinterTarget> printer;               // --printer
  std::chrono::milliseconds printer_timeout = kDefaultPrinterTimeout;
};

struct ReprintResult {
  // The render call's status and, on failure, its error document and
  // message (REFPOS_E_NOT_FOUND for an unknown transaction).
  Reply reply;
  bool files_written = true;
};

class ReceiptOutput {
 public:
  // Says once on stderr if the plugin cannot render and files or a printer
  // were asked for.
  ReceiptOutput(ReceiptOutputOptions options, Store& store, Console& console);

  // After a successful commit, including a retry that answered the same:
  // prints, writes and sends the receipt. Returns false if a receipt file
  // could not be written (said on stderr). A failed print is said on stderr
  // and counted (print_failures()), never returned: the sale stands.
  bool deliver(const nlohmann::json& request, const nlohmann::json& answer);

  // The cashier's "reprint": the receipt again on stdout, in the files and
  // on the printer, rendered by the plugin from the stored answer.
  ReprintResult reprint(const std::string& txn_id);

  [[nodiscard]] std::size_t print_failures() const { return print_failures_; }

 private:
  // What the host alone knows of a sale (the commit answer does not echo
  // the cart), kept for reprints.
  struct Sale {
    std::vector<std::string> host_lines;
    std::string text;  // "" if not known (a sale of an earlier session)
    bool has_coupon = false;
  };

  void remember(const std::string& txn_id, Sale sale);
  bool produce(const std::string& txn_id, const Sale& sale);
  bool write_files(const std::string& txn_id, const Sale& sale,
                   const std::optional<std::string>& escpos);
  void send_to_printer(const std::string& txn_id, const Sale& sale,
                       const std::optional<std::string>& escpos);
  // render's bytes, or nullopt after saying on stderr why not.
  std::optional<std::string> render(const std::string& txn_id, const Sale& sale,
                                    std::string_view what, std::string_view format);

  ReceiptOutputOptions options_;
  Store& store_;
  Console& console_;
  std::map<std::string, Sale, std::less<>> sales_;
  std::deque<std::string> sales_order_;  // oldest first, for forgetting
  std::size_t print_failures_ = 0;
};

// The file name stem for a transaction id: the id itself if it is 1 to 64
// of [A-Za-z0-9._-] and does not start with '.', else nullopt (an id never
// becomes a path outside the folder, and two ids never share a file).
std::optional<std::string> receipt_file_stem(std::string_view txn_id);

// Writes `bytes` to dir/name through a temporary file in dir (written,
// fsynced, renamed, then the folder fsynced). Returns "" or what failed.
std::string write_file_atomically(const std::filesystem::path& dir, const std::string& name,
                                  std::string_view bytes);

}  // namespace refpos::terminal
