// console: where refpos-terminal's output goes. Answers and receipts go to
// stdout, errors to stderr. Receipts are produced by receipt_output.hpp
// (stdout, the --receipts folder, the --printer).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace refpos::terminal {

struct ConsoleOptions {
  bool quiet = false;  // no answer JSON, no banner
};

class Console {
 public:
  Console(ConsoleOptions options, std::ostream& out, std::ostream& err)
      : options_(options), out_(out), err_(err) {}

  std::ostream& out() { return out_; }
  [[nodiscard]] bool quiet() const { return options_.quiet; }

  // The answer as pretty JSON (2-space indent), unless quiet.
  void print_answer(const nlohmann::json& answer);
  void print_raw_answer(std::string_view answer);

  // "refpos-terminal: <message>" on stderr.
  void error(std::string_view message);

 private:
  ConsoleOptions options_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace refpos::terminal
