// The budgets of the checkout benchmark, and the figures of a run next to
// the limits they are compared with. A limit is either a fixed budget or a
// floor measured in the same run (one raw fsync'd SQLite commit, one MAC);
// the ratio is measured / limit. Rows without a budget are context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checkout_bench.hpp"

namespace refpos::bench {

inline constexpr std::int64_t kLoadOpenBudgetNs = 50'000'000;  // 50 ms
inline constexpr std::int64_t kResidentBudgetKib = 20 * 1024;  // 20 MiB
inline constexpr std::int64_t kPreviewP99BudgetNs = 100'000;   // 100 µs
inline constexpr double kCommitP99MaxRatio = 1.5;              // x raw SQLite commit p99

enum class Unit { nanoseconds, kibibytes };

struct Figure {
  std::string id;     // stable key for --json
  std::string label;  // what the table shows
  Unit unit = Unit::nanoseconds;
  double measured = 0;
  std::optional<double> limit;  // in `unit`
  std::string limit_source;     // "budget", "raw SQLite p99", "one MAC"
  std::string budget;           // the pass rule as text; empty for context rows
  std::optional<bool> pass;     // empty for context rows
};

std::vector<Figure> figures_of(const BenchResults& results);

// measured / limit, if there is a limit.
std::optional<double> ratio_of(const Figure& figure);

// True if no figure with a budget failed it.
bool all_budgets_pass(const std::vector<Figure>& figures);

}  // namespace refpos::bench
