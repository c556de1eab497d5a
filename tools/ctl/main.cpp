// refposctl: the chain administrator's tool (docs/sync.md). Commands live in
// one file per group (commands.hpp); this file parses and turns outcomes
// into exit codes: 0 done, 1 the operation failed, 2 usage error. Every
// error goes to stderr as "refposctl: <what went wrong>".
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace refpos::ctl;
  CLI::App app{"refposctl: the chain's PKI and head-office administration", "refposctl"};
  app.require_subcommand(1);
  app.footer(kHelpFooter);
  add_chain_commands(app);
  add_store_commands(app);
  add_admin_commands(app);
  add_hq_commands(app);
  add_report_command(app);
  add_export_command(app);
  add_migrate_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "refposctl: " << e.what() << "\n"
              << "Run with --help for the usage.\n";
    return kExitUsage;
  } catch (const CommandFailed& e) {
    std::cerr << "refposctl: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "refposctl: unexpected failure: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitOk;
}
