// The physical limit of a preview: the one HMAC-SHA256 it must compute to
// tell a real code from a forged one (plugin/src/codes/code.hpp). Measured
// with the same OpenSSL call the plugin makes, on a 16-byte message with a
// 16-byte key. Context only: no budget is attached to it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "latency.hpp"

namespace refpos::bench {

// The median time of one HMAC() call in nanoseconds. Calls are timed in
// batches of `calls_per_batch` (a single call is close to the clock's own
// cost) and the p50 of `batches` batch times is divided by the batch size.
// Throws BenchError if OpenSSL fails.
double one_mac_p50_ns(int batches, int calls_per_batch);

// The machine's own tail: `runs` timings of plain CPU work (chained MACs, no
// I/O, no allocation) as long as `target_ns` at the median. On a virtual
// machine, timer ticks and the host steal tens of microseconds from a few
// percent of any such runs; the preview's p99 sits beside this figure so the
// report tells the plugin's tail from the machine's.
LatencySummary plain_work(double target_ns, double one_mac_ns, std::size_t runs);

}  // namespace refpos::bench
