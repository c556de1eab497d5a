// How busy the machine was: the 1-minute load average from /proc/loadavg,
// read before and after a run. Latency tails on a 2-core machine move with
// whatever else runs (a compiler, another benchmark), so every report says
// what the neighbours were doing instead of pretending the machine was idle.
#pragma once

namespace refpos::bench {

// The 1-minute load average, or a negative number if /proc/loadavg cannot
// be read (the report then says "unknown").
double one_minute_load_average();

}  // namespace refpos::bench
