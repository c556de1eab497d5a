#include "latency.hpp"

#include <algorithm>
#include <cassert>

namespace refpos::bench {

std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, unsigned percent) {
  assert(!sorted.empty() && percent >= 1 && percent <= 100);
  // ceil(percent * n / 100) in integers: no rounding surprise at n = 100k.
  const std::size_t rank = (percent * sorted.size() + 99) / 100;
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

LatencySummary summarize(std::vector<std::int64_t> samples_ns) {
  assert(!samples_ns.empty());
  std::sort(samples_ns.begin(), samples_ns.end());
  return LatencySummary{samples_ns.size(), nearest_rank(samples_ns, 50),
                        nearest_rank(samples_ns, 99), samples_ns.back()};
}

}  // namespace refpos::bench
