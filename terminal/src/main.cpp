// refpos-terminal: the reference point-of-sale host of the refpos plugin.
//
// It does what a till does around the plugin, and nothing else: load
// librefpos.so through the C ABI only (plugin_handle.hpp), open the store
// from its JSON config, then run a checkout either from a script of JSON
// lines (script_runner.hpp: demos, tests, vendors' acceptance runs) or at an
// interactive prompt (interactive.hpp). Receipts are printed to stdout and,
// with --receipts, written to files (text, ESC/POS, PNG, the QR coupon) and,
// with --printer, sent to a receipt printer (receipt_output.hpp, printer.hpp).
//
// Exit codes: 0 ok; 1 a scripted step did not return what it expected (or
// its receipt files could not be written); 2 usage, config or script error
// (nothing was run); 3 the plugin could not be loaded or does not provide
// this host's ABI; 4 everything was committed but at least one receipt
// could not be printed (each is named on stderr; "reprint TXN_ID" prints it
// again). 1, 2 and 3 win over 4.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "console.hpp"
#include "interactive.hpp"
#include "plugin_handle.hpp"
#include "printer.hpp"
#include "receipt_output.hpp"
#include "script_runner.hpp"

namespace {

using refpos::terminal::Console;
using refpos::terminal::ConsoleOptions;
using refpos::terminal::Plugin;
using refpos::terminal::ReceiptOutput;
using refpos::terminal::ReceiptOutputOptions;
using refpos::terminal::Script;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitPlugin = 3;
constexpr int kExitNotPrinted = 4;

// Config files are small; anything larger is a mistake (the plugin refuses
// requests over 256 KiB for the same reason).
constexpr std::uintmax_t kMaxConfigBytes = std::uintmax_t{1024} * 1024;
constexpr std::string_view kPluginFileName = "librefpos.so";
// An installed tree (cmake --install): <prefix>/bin/refpos-terminal beside
// <prefix>/lib/librefpos.so.0 (the SONAME: present without the -dev link).
constexpr std::string_view kInstalledPluginFileName = "librefpos.so.0";

struct Options {
  std::string plugin_path;
  std::string config_path;
  std::string script_path;
  std::string receipts_dir;
  std::optional<std::string> printer;  // set, even to "", when given
  std::int64_t printer_timeout_ms = refpos::terminal::kDefaultPrinterTimeout.count();
  std::string terminal_id = "till-1";
  std::string cashier_id;
  bool quiet = false;
};

// Where the plugin is when --plugin and REFPOS_PLUGIN are not given: beside
// the build tree's terminal/ (../plugin/), beside the executable, in ../lib/
// of an installed prefix, else the dynamic linker's search path.
std::string default_plugin_path() {
  std::error_code ec;
  const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path dir = executable.parent_path();
    for (const std::filesystem::path& candidate :
         {dir / ".." / "plugin" / kPluginFileName, dir / kPluginFileName,
          dir / ".." / "lib" / kInstalledPluginFileName}) {
      if (std::filesystem::exists(candidate, ec)) {
        return candidate.lexically_normal().string();
      }
    }
  }
  return std::string(kPluginFileName);
}

std::optional<std::string> read_small_file(const std::string& path, std::string& error) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    error = "cannot read " + path + ": " + ec.message();
    return std::nullopt;
  }
  if (size > kMaxConfigBytes) {
    error = path + ": larger than " + std::to_string(kMaxConfigBytes) + " bytes";
    return std::nullopt;
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  if (!file) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  return text.str();
}

Script load_script(const std::string& path) {
  if (path == "-") {
    return refpos::terminal::parse_script(std::cin, "stdin");
  }
  std::ifstream file(path);
  if (!file) {
    Script script;
    script.error = "cannot read script " + path;
    return script;
  }
  return refpos::terminal::parse_script(file, path);
}

void define_flags(CLI::App& app, Options& options) {
  app.add_option("--plugin", options.plugin_path,
                 "The plugin to load (default: ../plugin/librefpos.so beside this program, "
                 "then librefpos.so beside it, then ../lib/librefpos.so.0 (installed), then the "
                 "dynamic linker's search path)")
      ->type_name("PATH")
      ->envname("REFPOS_PLUGIN");
  // Required, but checked after parsing (run()) so that a mistyped flag is
  // reported as such rather than as a missing --config.
  app.add_option("--config", options.config_path,
                 "Required: the store configuration, JSON (docs/api.md)")
      ->type_name("FILE")
      ->envname("REFPOS_CONFIG");
  app.add_option("--script", options.script_path,
                 "Run a script of JSON lines ('-' for stdin) instead of the prompt")
      ->type_name("FILE");
  app.add_option("--receipts", options.receipts_dir,
                 "Also write each receipt to DIR/<txn_id>.txt, .escpos and .png, and an issued "
                 "code's QR coupon to DIR/coupons/<txn_id>.png and .svg (created if missing)")
      ->type_name("DIR");
  app.add_option("--printer", options.printer,
                 "Also send each receipt's ESC/POS bytes to a printer: a device such as "
                 "/dev/usb/lp0, or tcp://HOST[:PORT] (raw port, 9100 by default)")
      ->type_name("TARGET");
  app.add_option("--printer-timeout-ms", options.printer_timeout_ms,
                 "Longest wait for the printer to connect, and again to take data")
      ->type_name("MS")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, refpos::terminal::kMaxPrinterTimeout.count()));
  app.add_option("--terminal-id", options.terminal_id, "Terminal id sent by the prompt's commands")
      ->type_name("ID")
      ->capture_default_str();
  app.add_option("--cashier-id", options.cashier_id, "Cashier id sent by the prompt's commands")
      ->type_name("ID");
  app.add_flag("-q,--quiet", options.quiet, "Do not print answers' JSON or the banner");
  app.set_version_flag(
      "--version", std::string("refpos-terminal ") + REFPOS_TERMINAL_VERSION + " (refpos ABI " +
                       refpos::terminal::abi_version_text(refpos::terminal::kHostAbiVersion) + ")");
  app.footer(
      "Environment: REFPOS_PLUGIN and REFPOS_CONFIG stand in for --plugin and --config.\n"
      "Exit codes: 0 ok, 1 a scripted step did not return its expected status,\n"
      "2 usage, config or script error, 3 plugin not loadable or ABI incompatible,\n"
      "4 committed, but a receipt could not be printed (named on stderr; the sale\n"
      "is recorded, and `reprint TXN_ID` prints it again).");
}

void report_error(std::string_view message) {
  std::cout.flush();
  std::cerr << "refpos-terminal: " << message << '\n';
}

// The interactive till, with this store's currency for its display.
int run_prompt(refpos::terminal::Store& store, const Options& options, const nlohmann::json& config,
               Console& console, ReceiptOutput& receipts) {
  refpos::terminal::TillIdentity till;
  till.terminal_id = options.terminal_id;
  till.cashier_id = options.cashier_id;
  if (const auto currency = config.find("currency");
      currency != config.end() && currency->is_string()) {
    till.currency = currency->get<std::string>();
  }
  const bool stdin_is_terminal = isatty(STDIN_FILENO) != 0;
  return refpos::terminal::run_interactive(store, till, std::cin, !stdin_is_terminal, console,
                                           receipts);
}

int run(const Options& options) {
  if (options.config_path.empty()) {
    report_error("--config FILE (or REFPOS_CONFIG) is required; see --help");
    return kExitUsage;
  }
  std::string error;
  const std::optional<std::string> config_text = read_small_file(options.config_path, error);
  if (!config_text) {
    report_error("config: " + error);
    return kExitUsage;
  }
  const nlohmann::json config = nlohmann::json::parse(*config_text, nullptr, false);
  if (!config.is_object()) {
    report_error("config: " + options.config_path + " is not a JSON object");
    return kExitUsage;
  }

  // Read and check the whole script before the store is touched.
  Script script;
  if (!options.script_path.empty()) {
    script = load_script(options.script_path);
    if (!script.error.empty()) {
      report_error("script: " + script.error);
      return kExitUsage;
    }
  }

  ReceiptOutputOptions receipt_options;
  receipt_options.printer_timeout = std::chrono::milliseconds(options.printer_timeout_ms);
  if (options.printer) {
    refpos::terminal::ParsedPrinterTarget printer =
        refpos::terminal::parse_printer_target(*options.printer);
    if (!printer.target) {
      report_error(printer.error);
      return kExitUsage;
    }
    receipt_options.printer = std::move(printer.target);
  }
  if (!options.receipts_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.receipts_dir, ec);
    if (ec) {
      report_error("--receipts: cannot create " + options.receipts_dir + ": " + ec.message());
      return kExitUsage;
    }
    receipt_options.receipts_dir = options.receipts_dir;
  }
  Console console(ConsoleOptions{options.quiet}, std::cout, std::cerr);

  const std::string plugin_path =
      options.plugin_path.empty() ? default_plugin_path() : options.plugin_path;
  refpos::terminal::LoadResult loaded = Plugin::load(plugin_path);
  if (!loaded.plugin) {
    console.error(plugin_path + ": " + loaded.error);
    return kExitPlugin;
  }
  const Plugin& plugin = *loaded.plugin;
  if (!options.quiet) {
    std::cout << "refpos-terminal " << REFPOS_TERMINAL_VERSION << ", plugin " << plugin_path << ' '
              << plugin.version() << '\n';
  }

  // The plugin validates the config in full; its message names the field.
  refpos::terminal::OpenResult opened = plugin.open_store(*config_text);
  if (!opened.store) {
    console.error("cannot open the store of " + options.config_path + ": " +
                  refpos::terminal::status_name(opened.status) + ": " + opened.error);
    return kExitUsage;
  }
  ReceiptOutput receipts(std::move(receipt_options), *opened.store, console);
  const int exit_code =
      options.script_path.empty()
          ? run_prompt(*opened.store, options, config, console, receipts)
          : refpos::terminal::run_script(*opened.store, script, console, receipts);
  if (exit_code == kExitOk && receipts.print_failures() > 0) {
    console.error(std::to_string(receipts.print_failures()) +
                  " receipt(s) could not be printed; every sale is recorded");
    return kExitNotPrinted;
  }
  return exit_code;
}

int parse_and_run(int argc, char** argv) {
  CLI::App app{
      "refpos-terminal: the reference point-of-sale host of the refpos plugin.\n"
      "Runs a checkout script (--script) or an interactive till prompt.",
      "refpos-terminal"};
  Options options;
  define_flags(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with exit code 0.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return run(options);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return parse_and_run(argc, argv);
  } catch (const std::exception& e) {
    report_error(std::string("unexpected error: ") + e.what());
  } catch (...) {
    report_error("unexpected error");
  }
  return 1;
}
