#include "report.hpp"

#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "temp_folder.hpp"
#include "workload.hpp"

namespace refpos::bench {
namespace {

using nlohmann::json;

// `value` with `decimals` digits after the point, then `suffix`.
std::string fixed(double value, int decimals, const char* suffix) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return std::string(buffer) + suffix;
}

std::string format_value(double value, Unit unit) {
  if (unit == Unit::kibibytes) return fixed(value / 1024.0, 1, " MiB");
  if (value < 1e3) return fixed(value, 0, " ns");
  if (value < 1e6) return fixed(value / 1e3, 1, " µs");
  return fixed(value / 1e6, 2, " ms");
}

// Pads to `width` columns counting UTF-8 code points, so "µs" lines up.
std::string pad(std::string_view text, std::size_t width) {
  std::size_t columns = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++columns;
  }
  std::string padded(text);
  if (columns < width) padded.append(width - columns, ' ');
  return padded;
}

std::string limit_text(const Figure& f) {
  if (!f.limit) return "-";
  return format_value(*f.limit, f.unit) + " (" + f.limit_source + ")";
}

std::string ratio_text(const Figure& f) {
  const auto ratio = ratio_of(f);
  if (!ratio) return "-";
  return fixed(*ratio, *ratio < 10 ? 2 : 0, "");
}

std::string result_text(const Figure& f) {
  if (!f.pass) return "-";
  return *f.pass ? "PASS" : "FAIL";
}

json version_of(const BenchResults& results) {
  json version = json::parse(results.plugin_version_json, nullptr, false);
  return version.is_discarded() ? json(results.plugin_version_json) : version;
}

unsigned cores() { return std::thread::hardware_concurrency(); }

std::string load_text(double load_average) {
  return load_average < 0 ? "unknown" : fixed(load_average, 2, "");
}

json load_json(double load_average) {
  return load_average < 0 ? json(nullptr) : json(load_average);
}

json summary_json(const LatencySummary& s) {
  return {{"count", s.count}, {"p50_ns", s.p50_ns}, {"p99_ns", s.p99_ns}, {"max_ns", s.max_ns}};
}

json summary_json(const LatencySummary& s, std::size_t checkpoint_commits) {
  json summary = summary_json(s);
  summary["checkpoint_commits"] = checkpoint_commits;
  return summary;
}

}  // namespace

void print_table(std::ostream& out, const BenchOptions& options, const BenchResults& results,
                 const std::vector<Figure>& figures) {
  const json version = version_of(results);
  out << "refpos checkout benchmark: plugin " << version.value("plugin", "?") << ", SQLite "
      << version.value("sqlite", "?") << ", " << version.value("openssl", "?") << "\n"
      << "plugin   " << options.plugin_path << "\n"
      << "folder   " << results.folder << " (" << results.folder_file_system << ")\n"
      << "machine  " << cores() << " cores, 1-min load average "
      << load_text(results.load_average_before) << " before, "
      << load_text(results.load_average_after) << " after\n"
      << "runs     " << options.previews << " previews (+" << kWarmupPreviews << " warm-up), "
      << options.commits << " commits and raw SQLite commits (+" << kWarmupCommits
      << " warm-up), " << kRepeatLoads << " repeat loads\n"
      << "store    " << results.prefill_commits << " untimed commits first: " << options.prefill_customers
      << " customers, " << results.prefill_events << " events; rule set of " << kBenchRuleCount
      << " rules (" << kBenchPartners + 1 << " programs, 15 exclusions, 4 fraud rules, 3 offline caps)\n\n";
  const std::size_t widths[] = {34, 11, 33, 7, 14};
  out << pad("figure", widths[0]) << pad("measured", widths[1]) << pad("limit", widths[2])
      << pad("ratio", widths[3]) << pad("budget", widths[4]) << "result\n";
  for (const Figure& f : figures) {
    out << pad(f.label, widths[0]) << pad(format_value(f.measured, f.unit), widths[1])
        << pad(limit_text(f), widths[2]) << pad(ratio_text(f), widths[3])
        << pad(f.budget.empty() ? "-" : f.budget, widths[4]) << result_text(f) << "\n";
  }
  out << "\ncommits that ran a WAL checkpoint: plugin " << results.commit_checkpoints << " of "
      << results.commit.count << ", raw SQLite " << results.raw_commit_checkpoints << " of "
      << results.raw_commit.count << "\n";
  out << "load + open: dlopen + refpos_get_api + open() of a new store; libstdc++, libsqlite3\n"
      << "and libcrypto were already mapped by this host (docs/benchmarks.md).\n";
  if (!results.repeat_loads_unloaded) {
    out << "repeat loads: dlclose left the plugin mapped, so they time open() of a new store.\n";
  }
  if (fsync_is_free(results.folder_file_system)) {
    out << "WARNING: " << results.folder_file_system
        << " has no disk: fsync is free and the commit figures are not durable writes.\n";
  }
  out << "\n" << (all_budgets_pass(figures) ? "all budgets pass" : "a budget FAILED") << "\n";
}

void print_json(std::ostream& out, const BenchOptions& options, const BenchResults& results,
                const std::vector<Figure>& figures) {
  json rows = json::array();
  for (const Figure& f : figures) {
    const auto ratio = ratio_of(f);
    rows.push_back({{"id", f.id},
                    {"label", f.label},
                    {"unit", f.unit == Unit::kibibytes ? "KiB" : "ns"},
                    {"measured", f.measured},
                    {"limit", f.limit ? json(*f.limit) : json(nullptr)},
                    {"limit_source", f.limit ? json(f.limit_source) : json(nullptr)},
                    {"ratio", ratio ? json(*ratio) : json(nullptr)},
                    {"budget", f.budget.empty() ? json(nullptr) : json(f.budget)},
                    {"pass", f.pass ? json(*f.pass) : json(nullptr)}});
  }
  const json doc = {
      {"schema", "refpos.bench.checkout/1"},
      {"pass", all_budgets_pass(figures)},
      {"plugin", {{"path", options.plugin_path}, {"version", version_of(results)}}},
      {"machine",
       {{"cores", cores()},
        {"load_average_1min_before", load_json(results.load_average_before)},
        {"load_average_1min_after", load_json(results.load_average_after)},
        {"folder_file_system", results.folder_file_system},
        {"fsync_is_free", fsync_is_free(results.folder_file_system)}}},
      {"runs",
       {{"previews", options.previews},
        {"prefill_commits", results.prefill_commits},
        {"prefill_events", results.prefill_events},
        {"rules", kBenchRuleCount},
        {"warmup_previews", kWarmupPreviews},
        {"commits", options.commits},
        {"warmup_commits", kWarmupCommits},
        {"repeat_loads", kRepeatLoads},
        {"repeat_loads_unloaded", results.repeat_loads_unloaded},
        {"mac_batches", kMacBatches},
        {"mac_calls_per_batch", kMacCallsPerBatch}}},
      {"figures", std::move(rows)},
      {"series",
       {{"preview", summary_json(results.preview)},
        {"commit", summary_json(results.commit, results.commit_checkpoints)},
        {"raw_sqlite_commit", summary_json(results.raw_commit, results.raw_commit_checkpoints)},
        {"repeat_load_open", summary_json(results.repeat_load_open)}}},
  };
  out << doc.dump() << "\n";
}

}  // namespace refpos::bench
