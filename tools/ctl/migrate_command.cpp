// refposctl hq migrate: a head office's SQLite file into an empty
// PostgreSQL database, checked by comparing the event hash chains of both
// before anything is committed (docs/scale-out.md, "Moving from SQLite").
// The work is the library's (tools/hq/migrate.hpp); this file parses, draws
// the progress and prints the summary. The URL may hold a password: it is
// only ever shown through redact_conninfo.
//
//   refposctl hq migrate --from PATH [--to URL] [--progress]
#include <iostream>
#include <string>

#include "command.hpp"
#include "commands.hpp"
#include "hq/config.hpp"
#include "hq/migrate.hpp"
#include "hq/pg_storage.hpp"
#include "report_source.hpp"

namespace refpos::ctl {
namespace {

struct MigrateArgs {
  std::string from;
  std::string to;
  bool progress = false;
};

void run_migrate_command(const MigrateArgs& o) {
  if (o.to.empty()) {
    fail_usage(std::string("--to: the PostgreSQL URL to migrate into (or ") + kDatabaseEnv + ")");
  }
  if (!hq::database_is_postgres(o.to)) {
    fail_usage(std::string("--to (or ") + kDatabaseEnv +
               ") must be a postgresql:// or postgres:// URL, got \"" + hq::redact_conninfo(o.to) +
               "\"");
  }
  hq::MigrateOptions options{o.from, o.to, {}};
  if (o.progress) {
    options.progress = [](std::string_view stage, std::int64_t done, std::int64_t total) {
      draw_progress(stage, done, total);
    };
  }
  auto summary = hq::migrate_sqlite_to_postgres(options);
  if (!summary) fail(summary.error().message);
  std::cout << "migrated \"" << o.from << "\" into " << hq::redact_conninfo(o.to) << "\n"
            << "stores: " << summary->stores << ", events: " << summary->events
            << ", change counter: " << summary->last_change << "\n"
            << "rows:";
  for (const auto& t : summary->tables) std::cout << " " << t.table << " " << t.rows;
  std::cout << "\nhash chains match: " << summary->chains_verified << " stores\n";
}

}  // namespace

void add_migrate_command(CLI::App& app) {
  auto& group = command_group(app, "hq", "head office's own records");
  auto options = std::make_shared<MigrateArgs>();
  auto& cmd = add_command(
      group, "migrate",
      "move a head office from its SQLite file into an empty PostgreSQL database: every table "
      "(code keys, rules, wallets, revocations, ...), every id and the change counter, in one "
      "transaction that is committed only if the event hash chains read back from PostgreSQL "
      "match the file's (docs/scale-out.md, \"Moving from SQLite\")");
  cmd.footer(
      std::string(kHelpFooter) +
      "\nStop refpos-hq before migrating: the file is read in one snapshot, and what the head "
      "office writes after it is not copied.\nThe file is opened read-only and must be at the "
      "latest schema (start refpos-hq on an older one once first). The database must hold "
      "no data: its schema is made if missing; on any mismatch everything is rolled back and "
      "nothing is written. Give a URL with a password through " +
      kDatabaseEnv +
      " rather than --to (arguments show in the process list); messages show "
      "it as USER:***@.");
  cmd.add_option("--from", options->from,
                 "the head office's SQLite file (<data_dir>/hq.sqlite3 by default)")
      ->required();
  cmd.add_option("--to", options->to,
                 "the PostgreSQL database, postgresql://USER@HOST/DB (any libpq URI); default: "
                 "$REFPOS_HQ_DATABASE")
      ->envname(kDatabaseEnv);
  cmd.add_flag("--progress", options->progress,
               "draw the progress on stderr while events are copied "
               "and checked");
  cmd.callback([options] { run_migrate_command(*options); });
}

}  // namespace refpos::ctl
