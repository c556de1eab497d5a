// refposctl report: the referral report (docs/reports.md) of a store's
// refpos.db or a head office (its SQLite file or its PostgreSQL URL,
// report_source.hpp), for a period [from, to), as HTML, JSON or CSV. The
// source is opened read-only; the output goes to stdout or, with --out, to
// a file written atomically (wholly there or not at all).
//
//   refposctl report --file PATH|URL --from DATE --to DATE [--store ID] [--tz TZ]
//                    [--format html|json|csv] [--out FILE] [--progress|--no-progress]
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "atomic_file.hpp"
#include "command.hpp"
#include "commands.hpp"
#include "hq/storage_reports.hpp"
#include "report.hpp"
#include "report_source.hpp"

namespace refpos::ctl {
namespace {

struct ReportOptions {
  std::string file;
  std::string from;
  std::string to;
  std::string store;
  std::string tz;
  std::string format = "html";
  std::string out;
  bool progress = false;
  bool no_progress = false;
};

void run_report_command(const ReportOptions& o) {
  std::error_code ec;
  const bool postgres = is_database_url(o.file);
  if (!postgres && !o.out.empty() && std::filesystem::equivalent(o.out, o.file, ec)) {
    fail_usage("--out \"" + o.out + "\" is the file being reported on; choose another path");
  }
  auto period = report::parse_period(o.from, o.to, o.tz);
  if (!period) fail_usage(period.error().describe());

  report::ReportRequest request;
  request.path = o.file;
  request.period = *period;
  if (!o.store.empty()) request.store_id = o.store;
  const bool show = !o.no_progress && (o.progress || isatty(STDERR_FILENO) == 1);
  if (show) {
    request.progress = [](std::int64_t done, std::int64_t total) {
      draw_progress("report", done, total);
    };
  }

  // Errors: not a refpos file or a store it does not hold (2), cannot read (1).
  auto built = postgres ? hq::build_report_from(*open_head_office(o.file), request)
                        : report::build_report(request);
  if (!built) fail_reading(built.error());
  std::string text;
  if (o.format == "json") {
    text = report::render_json(*built);
  } else if (o.format == "csv") {
    text = report::render_csv(*built);
  } else {
    text = report::render_html(*built);
  }
  if (o.out.empty()) {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) fail("cannot write the report to stdout");
    return;
  }
  if (auto st = write_file_atomically(o.out, text, kPublicFileMode); !st) {
    fail("cannot write \"" + o.out + "\": " + st.error().describe());
  }
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* command = app.add_subcommand(
      "report",
      "the referral report of a store or a head office (file or PostgreSQL) for a period "
      "[from, to) (docs/reports.md)");
  command->footer(
      std::string(kHelpFooter) +
      "\nThe file or database is opened read-only. A PostgreSQL password goes in PGPASSWORD or"
      "\n~/.pgpass, or in the URL through $REFPOS_HQ_DATABASE (arguments show in the process"
      "\nlist); messages show it as ***. Definitions of every figure: docs/reports.md.");
  command->add_option("--file", options->file, kSourceHelp)->required()->envname(kDatabaseEnv);
  command->add_option("--from", options->from, "first day of the period, YYYY-MM-DD")->required();
  command->add_option("--to", options->to, "first day AFTER the period, YYYY-MM-DD")->required();
  command->add_option("--store", options->store, "one store's figures (default: every store)")
      ->check(kIdentifier);
  command->add_option(
      "--tz", options->tz,
      "POSIX TZ the dates are in, e.g. \"CET-1CEST,M3.5.0,M10.5.0/3\" (default UTC)");
  command->add_option("--format", options->format, "html (default), json or csv")
      ->check(CLI::IsMember({"html", "json", "csv"}));
  command->add_option("--out", options->out, "write here (atomically) instead of stdout");
  auto* progress =
      command->add_flag("--progress", options->progress,
                        "show a progress bar on stderr even when it is not a terminal");
  command->add_flag("--no-progress", options->no_progress, "never show the progress bar")
      ->excludes(progress);
  command->callback([options] { run_report_command(*options); });
}

}  // namespace refpos::ctl
