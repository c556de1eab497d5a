// Resident memory of the whole benchmark process, from /proc/self/status:
// the host program, libstdc++, the plugin, and the SQLite and OpenSSL
// libraries it uses, with their heaps and page caches. Nothing is subtracted,
// so the figure is an upper bound of what the plugin adds to a till.
#pragma once

#include <cstdint>

namespace refpos::bench {

struct ProcessMemory {
  std::int64_t rss_kib = 0;       // VmRSS: resident now
  std::int64_t peak_rss_kib = 0;  // VmHWM: the most that was ever resident
};

// Throws BenchError if /proc/self/status cannot be read or lacks the lines
// (not Linux, or /proc not mounted).
ProcessMemory read_process_memory();

}  // namespace refpos::bench
