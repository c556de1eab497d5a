// console: where refpos-terminal's output goes. Answers and receipts go to
// stdout, errors to stderr, receipt files to the --receipts folder. A real
// host sends receipts to its printer at the point marked in emit_receipt().
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "plugin_handle.hpp"

namespace refpos::terminal {

struct ConsoleOptions {
  bool quiet = false;                                 // no answer JSON, no banner
  std::optional<std::filesystem::path> receipts_dir;  // write <txn_id>.txt here
};

class Console {
 public:
  Console(ConsoleOptions options, std::ostream& out, std::ostream& err)
      : options_(std::move(options)), out_(out), err_(err) {}

  std::ostream& out() { return out_; }
  [[nodiscard]] bool quiet() const { return options_.quiet; }

  // The answer as pretty JSON (2-space indent), unless quiet.
  void print_answer(const nlohmann::json& answer);
  void print_raw_answer(std::string_view answer);

  // "refpos-terminal: <message>" on stderr.
  void error(std::string_view message);

  // Prints the receipt of a committed transaction and, with --receipts,
  // writes it to <dir>/<txn_id>.txt. Returns false (after saying why on
  // stderr) if the file could not be written.
  bool emit_receipt(const nlohmann::json& request, const nlohmann::json& answer);

 private:
  ConsoleOptions options_;
  std::ostream& out_;
  std::ostream& err_;
};

// A file name for a transaction id: ids are up to 64 bytes of any printable
// UTF-8 (docs/api.md), so '/', '\\' and a leading '.' are replaced by '_'.
std::string receipt_file_name(std::string_view txn_id);

}  // namespace refpos::terminal
