#include "command.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

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

void draw_progress(std::string_view label, std::int64_t done, std::int64_t total) {
  constexpr int kWidth = 30;
  const std::int64_t shown = total > 0 ? std::min(done, total) : 0;
  const int filled = total > 0 ? static_cast<int>(shown * kWidth / total) : kWidth;
  const int percent = total > 0 ? static_cast<int>(shown * 100 / total) : 100;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r%-6.*s %9lld/%-9lld [%s] %3d%%", static_cast<int>(label.size()),
               label.data(), static_cast<long long>(done), static_cast<long long>(total),
               bar.c_str(), percent);
  if (done >= total) std::fputc('\n', stderr);
  std::fflush(stderr);
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
