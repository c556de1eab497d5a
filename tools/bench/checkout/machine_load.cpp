#include "machine_load.hpp"

#include <fstream>

namespace refpos::bench {

double one_minute_load_average() {
  std::ifstream loadavg("/proc/loadavg");
  double one_minute = -1;
  if (!(loadavg >> one_minute)) return -1;
  return one_minute;
}

}  // namespace refpos::bench
