// console: see console.hpp.
#include "console.hpp"

#include <fstream>
#include <ostream>
#include <system_error>

#include "receipt.hpp"

namespace refpos::terminal {

std::string receipt_file_name(std::string_view txn_id) {
  std::string name(txn_id);
  for (char& c : name) {
    if (c == '/' || c == '\\') {
      c = '_';
    }
  }
  if (name.empty() || name[0] == '.') {
    name.insert(0, "_");
  }
  return name + ".txt";
}

void Console::print_answer(const nlohmann::json& answer) {
  if (!options_.quiet) {
    out_ << answer.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
}

void Console::print_raw_answer(std::string_view answer) {
  if (!options_.quiet) {
    out_ << answer << '\n';
  }
}

void Console::error(std::string_view message) {
  out_.flush();  // keep stdout and stderr in order when both go to one terminal
  err_ << "refpos-terminal: " << message << '\n';
}

bool Console::emit_receipt(const nlohmann::json& request, const nlohmann::json& answer) {
  const std::string receipt = format_receipt(request, answer);
  // Integration point: this is where a till sends the receipt to its printer
  // (and, for a QR coupon, the plugin's ESC/POS bytes).
  out_ << receipt;
  if (!options_.receipts_dir) {
    return true;
  }
  const auto txn = answer.find("txn_id");
  const std::string txn_id = txn != answer.end() && txn->is_string() ? txn->get<std::string>() : "";
  const std::filesystem::path target = *options_.receipts_dir / receipt_file_name(txn_id);
  // Write beside, then rename: a reader never sees half a receipt. A retried
  // commit rewrites the same receipt with the same content.
  std::filesystem::path partial = target;
  partial += ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << receipt;
    file.close();
    if (!file) {
      error("cannot write receipt " + partial.string());
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(partial, target, ec);
  if (ec) {
    error("cannot write receipt " + target.string() + ": " + ec.message());
    return false;
  }
  return true;
}

}  // namespace refpos::terminal
