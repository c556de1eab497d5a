#include "figures.hpp"

#include <algorithm>

namespace refpos::bench {
namespace {

double as_double(std::int64_t value) { return static_cast<double>(value); }

std::vector<Figure> load_figures(const BenchResults& r) {
  const double budget = as_double(kLoadOpenBudgetNs);
  return {
      {"load_open_first", "load + open, first in process", Unit::nanoseconds,
       as_double(r.first_load_open_ns), budget, "budget", "< 50 ms",
       r.first_load_open_ns < kLoadOpenBudgetNs},
      {"load_open_repeat_p50",
       r.repeat_loads_unloaded ? "load + open, repeat (p50)" : "load + open, cached lib (p50)",
       Unit::nanoseconds, as_double(r.repeat_load_open.p50_ns), budget, "budget", "", {}},
  };
}

std::vector<Figure> memory_figures(const BenchResults& r) {
  const double budget = as_double(kResidentBudgetKib);
  return {
      {"resident_peak", "resident, peak (VmHWM)", Unit::kibibytes,
       as_double(r.after_checkouts.peak_rss_kib), budget, "budget", "< 20 MiB",
       r.after_checkouts.peak_rss_kib < kResidentBudgetKib},
      {"resident_end", "resident, after the run (VmRSS)", Unit::kibibytes,
       as_double(r.after_checkouts.rss_kib), budget, "budget", "", {}},
      {"resident_host_alone", "resident, host before dlopen", Unit::kibibytes,
       as_double(r.before_load.rss_kib), {}, "", "", {}},
  };
}

std::vector<Figure> preview_figures(const BenchResults& r) {
  return {
      {"preview_p50", "preview p50", Unit::nanoseconds, as_double(r.preview.p50_ns),
       r.one_mac_ns, "one MAC", "", {}},
      {"preview_p99", "preview p99", Unit::nanoseconds, as_double(r.preview.p99_ns),
       r.one_mac_ns, "one MAC", "< 100 µs", r.preview.p99_ns < kPreviewP99BudgetNs},
      {"plain_work_p99", "plain CPU as long, p99", Unit::nanoseconds,
       as_double(r.plain_work.p99_ns), as_double(r.plain_work.p50_ns), "its p50", "", {}},
  };
}

std::vector<Figure> commit_figures(const BenchResults& r) {
  const double raw_p99 = as_double(r.raw_commit.p99_ns);
  return {
      {"commit_p50", "commit p50", Unit::nanoseconds, as_double(r.commit.p50_ns),
       as_double(r.raw_commit.p50_ns), "raw SQLite + QR p50", "", {}},
      {"commit_p99", "commit p99", Unit::nanoseconds, as_double(r.commit.p99_ns), raw_p99,
       "raw SQLite + QR p99", "ratio <= 1.5",
       as_double(r.commit.p99_ns) <= kCommitP99MaxRatio * raw_p99},
  };
}

}  // namespace

std::vector<Figure> figures_of(const BenchResults& results) {
  std::vector<Figure> figures;
  for (auto group : {load_figures(results), memory_figures(results), preview_figures(results),
                     commit_figures(results)}) {
    figures.insert(figures.end(), group.begin(), group.end());
  }
  figures.push_back({"one_mac", "one MAC, HMAC-SHA256 16 B (p50)", Unit::nanoseconds,
                     results.one_mac_ns, {}, "", "", {}});
  return figures;
}

std::optional<double> ratio_of(const Figure& figure) {
  if (!figure.limit || *figure.limit <= 0) return std::nullopt;
  return figure.measured / *figure.limit;
}

bool all_budgets_pass(const std::vector<Figure>& figures) {
  return std::all_of(figures.begin(), figures.end(),
                     [](const Figure& f) { return f.pass.value_or(true); });
}

}  // namespace refpos::bench
