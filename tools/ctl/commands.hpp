// refposctl's command groups. Each file adds its commands to the app (or to
// a group another file made, through command_group), so main.cpp only lists
// them. A new group: one file with one add_..._commands, one line in main.
#pragma once

#include <CLI/CLI.hpp>

namespace refpos::ctl {

void add_chain_commands(CLI::App& app);  // chain init|crl        (chain.cpp)
void add_store_commands(CLI::App& app);  // store provision|revoke (store_certs.cpp)
void add_admin_commands(CLI::App& app);  // admin issue            (admin_certs.cpp)
// sync, status, rules publish, keys put, code revoke, hq block-store (hq_commands.cpp)
void add_hq_commands(CLI::App& app);
void add_report_command(CLI::App& app);  // report               (report_command.cpp)
void add_export_command(CLI::App& app);  // export               (export_command.cpp)
void add_migrate_command(CLI::App& app);  // hq migrate          (migrate_command.cpp)

}  // namespace refpos::ctl
