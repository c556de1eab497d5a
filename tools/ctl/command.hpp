// What every refposctl command shares: the exit codes, how a command fails
// (main prints "refposctl: <message>" on stderr), the clock, and how command
// groups are found or made so that several files can add to one group
// (`refposctl store ...` gets commands from more than one file).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>

#include "base/result.hpp"

namespace refpos::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed (files, keys, OpenSSL)
inline constexpr int kExitUsage = 2;   // the command line (or REFPOS_CTL_NOW) was wrong

// Printed under every command's --help.
inline constexpr const char* kHelpFooter =
    "Exit codes: 0 done, 1 the operation failed, 2 usage error.\n"
    "Environment: REFPOS_CTL_NOW=<Unix seconds> replaces the system clock for\n"
    "certificate validity and CRL dates (tests make expired certificates with it).";

// Thrown from a command's callback; main reports it and exits with exit_code().
class CommandFailed : public std::runtime_error {
 public:
  CommandFailed(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

[[noreturn]] inline void fail(const std::string& message) {
  throw CommandFailed(kExitFailed, message);
}
[[noreturn]] inline void fail_usage(const std::string& message) {
  throw CommandFailed(kExitUsage, message);
}

// The value, or fail with "<what>: <the error>".
template <typename T>
T must(Result<T> result, std::string_view what) {
  if (!result) fail(std::string(what) + ": " + result.error().describe());
  return std::move(result).value();
}

// Unix seconds: REFPOS_CTL_NOW when set, else the system clock. A value that
// is not an integer is a usage error.
std::int64_t now_unix();

// "report   120000/500000 [######........................]  24%" on one
// line of stderr (`label` padded to 6), redrawn in place; a newline once
// `done` reaches `total`. For commands that read many rows (report, export,
// hq migrate).
void draw_progress(std::string_view label, std::int64_t done, std::int64_t total);

// The subcommand `name` of `app`, made (requiring one subcommand of its own)
// if no file has made it yet.
CLI::App& command_group(CLI::App& app, const std::string& name, const std::string& description);

// A command in a group, with the common --help footer.
CLI::App& add_command(CLI::App& group, const std::string& name, const std::string& description);

// Store ids and admin names: 1 to 64 of [A-Za-z0-9._-].
inline constexpr std::size_t kIdentifierMax = 64;
[[nodiscard]] bool is_identifier(std::string_view text);
extern const CLI::Validator kIdentifier;

}  // namespace refpos::ctl
