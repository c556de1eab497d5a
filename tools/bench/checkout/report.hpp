// How a run is shown: a table for people (figure, measured, limit, ratio,
// budget, result) or, with --json, one JSON object for scripts
// (schema "refpos.bench.checkout/1", documented in docs/benchmarks.md).
#pragma once

#include <ostream>
#include <vector>

#include "checkout_bench.hpp"
#include "figures.hpp"

namespace refpos::bench {

void print_table(std::ostream& out, const BenchOptions& options, const BenchResults& results,
                 const std::vector<Figure>& figures);

void print_json(std::ostream& out, const BenchOptions& options, const BenchResults& results,
                const std::vector<Figure>& figures);

}  // namespace refpos::bench
