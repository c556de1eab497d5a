#include "command.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>

namespace refpos::ctl {

std::int64_t now_unix() {
  const char* text = std::getenv("REFPOS_CTL_NOW");
  if (text == nullptr || *text == '\0') return static_cast<std::int64_t>(std::time(nullptr));
  const std::string_view value(text);
  std::int64_t seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error != std::errc() || end != value.data() + value.size()) {
    fail_usage("REFPOS_CTL_NOW must be Unix seconds (an integer), got '" + std::string(value) +
               "'");
  }
  return seconds;
}

CLI::App& command_group(CLI::App& app, const std::string& name, const std::string& description) {
  auto existing = app.get_subcommands([&](const CLI::App* sub) { return sub->get_name() == name; });
  if (!existing.empty()) return *existing.front();
  CLI::App* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  group->footer(kHelpFooter);
  return *group;
}

CLI::App& add_command(CLI::App& group, const std::string& name, const std::string& description) {
  CLI::App* command = group.add_subcommand(name, description);
  command->footer(kHelpFooter);
  return *command;
}

bool is_identifier(std::string_view text) {
  return !text.empty() && text.size() <= kIdentifierMax &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                  c == '-';
         });
}

const CLI::Validator kIdentifier(
    [](std::string& value) -> std::string {
      if (is_identifier(value)) return {};
      return "must be 1 to " + std::to_string(kIdentifierMax) +
             " characters of A-Z a-z 0-9 . _ -, got '" + value + "'";
    },
    "ID", "identifier");

}  // namespace refpos::ctl
