// The physical limit of a preview: the one HMAC-SHA256 it must compute to
// tell a real code from a forged one (plugin/src/codes/code.hpp). Measured
// with the same OpenSSL call the plugin makes, on a 16-byte message with a
// 16-byte key. Context only: no budget is attached to it.
#pragma once

#include <cstdint>

namespace refpos::bench {

// The median time of one HMAC() call in nanoseconds. Calls are timed in
// batches of `calls_per_batch` (a single call is close to the clock's own
// cost) and the p50 of `batches` batch times is divided by the batch size.
// Throws BenchError if OpenSSL fails.
double one_mac_p50_ns(int batches, int calls_per_batch);

}  // namespace refpos::bench
