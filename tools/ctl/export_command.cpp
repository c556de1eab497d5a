// refposctl export: the follow-up messages of a referral program
// (docs/reports.md, "Follow-up exports"): thank-you messages to referrers
// or messages to the friends they gave as leads, for contacts that
// consented only, rendered from templates, as CSV or JSON, from a store's
// refpos.db or a head office (its SQLite file or its PostgreSQL URL,
// report_source.hpp), opened read-only. The output holds contact data:
// --out is written atomically with mode 0600, and nothing about a person
// is ever printed on stderr.
//
//   refposctl export --file PATH|URL --kind thanks|leads --from DATE --to DATE
//                    [--store ID] [--tz TZ] [--channel email|sms|all]
//                    [--templates DIR] [--locale TAG] [--format csv|json]
//                    [--out FILE] [--progress|--no-progress]
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "command.hpp"
#include "commands.hpp"
#include "hq/storage_reports.hpp"
#include "exports.hpp"
#include "report.hpp"
#include "report_source.hpp"

#ifndef REFPOS_EXPORT_TEMPLATES_DIR
#error "REFPOS_EXPORT_TEMPLATES_DIR: the installed templates folder (tools/ctl/CMakeLists.txt)"
#endif

namespace refpos::ctl {
namespace {

constexpr const char* kTemplatesEnv = "REFPOS_TEMPLATES_DIR";

struct ExportOptions {
  std::string file;
  std::string kind;
  std::string from;
  std::string to;
  std::string store;
  std::string tz;
  std::string channel = "all";
  std::string templates;
  std::string locale = "en-US";
  std::string format = "csv";
  std::string out;
  bool progress = false;
  bool no_progress = false;
};

// --templates, else $REFPOS_TEMPLATES_DIR, else the installed folder.
std::string templates_dir(const ExportOptions& o) {
  if (!o.templates.empty()) return o.templates;
  const char* env = std::getenv(kTemplatesEnv);
  if (env != nullptr && *env != '\0') return env;
  return REFPOS_EXPORT_TEMPLATES_DIR;
}

std::vector<report::Channel> channels_of(const std::string& choice) {
  if (choice == "email") return {report::Channel::email};
  if (choice == "sms") return {report::Channel::sms};
  return {report::Channel::email, report::Channel::sms};
}

std::string skipped_text(const report::SkippedCounts& s) {
  return std::to_string(s.no_consent) + " without consent, " + std::to_string(s.withdrawn) +
         " withdrawn, " + std::to_string(s.forgotten) + " forgotten, " +
         std::to_string(s.unreadable) + " unreadable, " + std::to_string(s.other_channel) +
         " on another channel";
}

void run_export_command(const ExportOptions& o) {
  std::error_code ec;
  const bool postgres = is_database_url(o.file);
  if (!postgres && !o.out.empty() && std::filesystem::equivalent(o.out, o.file, ec)) {
    fail_usage("--out \"" + o.out + "\" is the file being exported from; choose another path");
  }
  auto period = report::parse_period(o.from, o.to, o.tz);
  if (!period) fail_usage(period.error().describe());
  const auto kind = report::parse_export_kind(o.kind);
  if (!kind) fail_usage("--kind must be thanks or leads, got '" + o.kind + "'");

  report::ExportRequest request;
  request.path = o.file;
  request.kind = *kind;
  request.period = *period;
  if (!o.store.empty()) request.store_id = o.store;
  request.channels = channels_of(o.channel);
  request.locale = o.locale;
  // Every template is checked before a single event is read.
  auto templates = report::load_templates(templates_dir(o), *kind, request.channels);
  if (!templates) fail_usage(templates.error().describe());
  request.templates = std::move(*templates);
  const bool show = !o.no_progress && (o.progress || isatty(STDERR_FILENO) == 1);
  if (show) {
    request.progress = [](std::int64_t done, std::int64_t total) {
      draw_progress("export", done, total);
    };
  }

  // Errors: not a refpos file, a store it does not hold, a bad locale (2),
  // cannot read (1).
  auto built = postgres ? hq::build_export_from(*open_head_office(o.file), request)
                        : report::build_export(request);
  if (!built) fail_reading(built.error());
  if (built->messages.empty()) {
    std::cerr << "no messages for " << o.kind << " from " << period->from_date << " to "
              << period->to_date << " (" << (o.store.empty() ? "every store" : "store " + o.store)
              << ", " << o.channel << "); skipped: " << skipped_text(built->skipped) << "\n";
  }
  const std::string text =
      o.format == "json" ? report::render_export_json(*built) : report::render_export_csv(*built);
  if (o.out.empty()) {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) fail("cannot write the export to stdout");
    return;
  }
  if (auto st = write_file_atomically(o.out, text, kSecretFileMode); !st) {
    fail("cannot write \"" + o.out + "\": " + st.error().describe());
  }
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = app.add_subcommand(
      "export",
      "follow-up messages for a period [from, to): thanks to referrers or messages to their "
      "leads, for consented contacts only (docs/reports.md, \"Follow-up exports\")");
  command->footer(
      std::string(kHelpFooter) + "\nTemplates: --templates DIR, else $" + kTemplatesEnv +
      ", else " + REFPOS_EXPORT_TEMPLATES_DIR +
      "\n(thanks.email.txt, thanks.sms.txt, lead.email.txt, lead.sms.txt). A template with an"
      "\nunknown placeholder, an unclosed \"{{\" or no Subject line (e-mail) is a usage error (2)."
      "\nThe output holds contact data: --out is written with mode 0600. An export with no"
      "\nmessages is valid (exit 0) and says so on stderr. The file or database is opened"
      "\nread-only; a PostgreSQL password goes in PGPASSWORD or ~/.pgpass, or in the URL through"
      "\n$REFPOS_HQ_DATABASE (arguments show in the process list).");
  command->add_option("--file", options->file, kSourceHelp)->required()->envname(kDatabaseEnv);
  command->add_option("--kind", options->kind, "thanks (referrers) or leads (their friends)")
      ->required()
      ->check(CLI::IsMember({"thanks", "leads"}));
  command->add_option("--from", options->from, "first day of the period, YYYY-MM-DD")->required();
  command->add_option("--to", options->to, "first day AFTER the period, YYYY-MM-DD")->required();
  command->add_option("--store", options->store, "one store's messages (default: every store)")
      ->check(kIdentifier);
  command->add_option(
      "--tz", options->tz,
      "POSIX TZ the dates are in, e.g. \"CET-1CEST,M3.5.0,M10.5.0/3\" (default UTC)");
  command->add_option("--channel", options->channel, "email, sms or all (default)")
      ->check(CLI::IsMember({"email", "sms", "all"}));
  command->add_option("--templates", options->templates, "the templates folder");
  command->add_option("--locale", options->locale,
                      "how {{reward}} writes money, e.g. en-US (default), de-DE, fr-FR");
  command->add_option("--format", options->format, "csv (default) or json")
      ->check(CLI::IsMember({"csv", "json"}));
  command->add_option("--out", options->out,
                      "write here (atomically, mode 0600) instead of stdout");
  auto* progress =
      command->add_flag("--progress", options->progress,
                        "show a progress bar on stderr even when it is not a terminal");
  command->add_flag("--no-progress", options->no_progress, "never show the progress bar")
      ->excludes(progress);
  command->callback([options] { run_export_command(*options); });
}

}  // namespace refpos::ctl
