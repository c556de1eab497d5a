#include "process_memory.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "bench_error.hpp"

namespace refpos::bench {

ProcessMemory read_process_memory() {
  std::ifstream status("/proc/self/status");
  if (!status) throw BenchError("cannot read /proc/self/status");
  ProcessMemory memory{-1, -1};
  std::string line;
  // Lines look like "VmHWM:\t   13452 kB".
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string name;
    std::int64_t kib = 0;
    if (!(fields >> name >> kib)) continue;
    if (name == "VmRSS:") memory.rss_kib = kib;
    if (name == "VmHWM:") memory.peak_rss_kib = kib;
  }
  if (memory.rss_kib < 0 || memory.peak_rss_kib < 0) {
    throw BenchError("/proc/self/status has no VmRSS or VmHWM line");
  }
  return memory;
}

}  // namespace refpos::bench
