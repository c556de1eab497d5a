// Latency samples and their percentiles, the one way every figure of the
// checkout benchmark is summarised.
//
// Time is read with std::chrono::steady_clock around a single call and kept
// in integer nanoseconds. Percentiles are nearest-rank on the sorted samples:
// p of n samples is the ceil(p/100 * n)-th smallest, always a value that was
// actually measured (no interpolation), so p99 of 20 samples is the maximum.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace refpos::bench {

using BenchClock = std::chrono::steady_clock;

inline std::int64_t elapsed_ns(BenchClock::time_point start, BenchClock::time_point end) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
}

struct LatencySummary {
  std::size_t count = 0;
  std::int64_t p50_ns = 0;
  std::int64_t p99_ns = 0;
  std::int64_t max_ns = 0;
};

// The nearest-rank `percent` percentile (1..100) of samples sorted ascending.
// Requires at least one sample.
std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, unsigned percent);

// p50, p99 and max of the samples (taken by value: they are sorted here).
// Requires at least one sample.
LatencySummary summarize(std::vector<std::int64_t> samples_ns);

}  // namespace refpos::bench
