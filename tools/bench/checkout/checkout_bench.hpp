// One run of the checkout benchmark: what it does, in which order, and what
// it measures. main.cpp parses the flags; figures.hpp turns the results into
// figures next to their limits; report.hpp prints them.
//
// Order of a run, all in one fresh temporary folder:
//   1. load + open: dlopen, refpos_get_api, open() of a new store, timed as
//      the first load of the plugin in this process (the headline figure);
//   2. prefill (untimed): a store holding 10,000 customers and 100,000
//      events under a rule set of kBenchRuleCount rules (workload.hpp);
//   2b. commits: customer 0 buys without a code, then the referral chain of
//      workload.hpp (warm-up, then the timed commits), each plugin commit
//      interleaved with one raw fsync'd SQLite commit in the same folder, so
//      both series see the same disk, the same neighbours and the same drift;
//   3. previews of a cart with the code the last commit issued, for a
//      customer who never bought (the code is accepted every time);
//   4. resident memory of the process, with the store still open;
//   5. repeat loads: close, dlclose, and load + open again in fresh folders;
//   6. one HMAC-SHA256, the physical limit of a preview.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "latency.hpp"
#include "process_memory.hpp"

namespace refpos::bench {

inline constexpr std::size_t kDefaultPreviews = 20'000;
inline constexpr std::size_t kDefaultCommits = 2'000;
inline constexpr std::size_t kMaxPreviews = 10'000'000;
inline constexpr std::size_t kMaxCommits = 1'000'000;
// Untimed rounds before a timed series: the plugin's prepared statements,
// SQLite's page cache and the WAL file are in their steady state by then.
inline constexpr std::size_t kWarmupCommits = 20;
inline constexpr std::size_t kWarmupPreviews = 200;
inline constexpr std::size_t kRepeatLoads = 20;
inline constexpr int kMacBatches = 2'000;
inline constexpr int kMacCallsPerBatch = 32;

struct BenchOptions {
  std::string plugin_path;
  std::size_t previews = kDefaultPreviews;
  std::size_t commits = kDefaultCommits;
  std::size_t prefill_customers = 10'000;
  std::int64_t prefill_events = 100'000;
  bool json = false;
};

struct BenchResults {
  std::string plugin_version_json;  // the plugin's version() document
  std::string folder;               // the temporary folder (gone by now)
  std::string folder_file_system;
  double load_average_before = -1;  // 1-minute load average (machine_load.hpp)
  double load_average_after = -1;
  std::int64_t first_load_open_ns = 0;
  LatencySummary repeat_load_open;
  bool repeat_loads_unloaded = false;  // dlclose unmapped the plugin before every repeat
  ProcessMemory before_load;           // the host alone, before dlopen
  ProcessMemory after_checkouts;       // store open, all commits and previews done
  LatencySummary commit;
  LatencySummary raw_commit;
  // Timed commits during which the main database file was written, i.e.
  // that ran a WAL checkpoint (file_watch.hpp).
  std::size_t commit_checkpoints = 0;
  std::size_t raw_commit_checkpoints = 0;
  LatencySummary preview;
  double one_mac_ns = 0;
  LatencySummary plain_work;  // as many runs as previews, each as long as the preview p50
  std::size_t prefill_commits = 0;  // untimed, before the timed series
  std::int64_t prefill_events = 0;
};

// Throws BenchError when the plugin, SQLite or OpenSSL does not do what the
// run needs; the temporary folder is removed either way.
BenchResults run_checkout_bench(const BenchOptions& options);

}  // namespace refpos::bench
