// console: see console.hpp.
#include "console.hpp"

#include <ostream>

namespace refpos::terminal {

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

}  // namespace refpos::terminal
