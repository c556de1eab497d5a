#include "checkout_bench.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench_error.hpp"
#include "file_watch.hpp"
#include "machine_load.hpp"
#include "one_mac.hpp"
#include "one_qr.hpp"
#include "plugin_library.hpp"
#include "raw_sqlite_commit.hpp"
#include "temp_folder.hpp"
#include "workload.hpp"

namespace refpos::bench {
namespace {

// docs/api.md: the store's SQLite file is <data_dir>/refpos.db.
std::string store_database_of(const std::string& data_dir) { return data_dir + "/refpos.db"; }

void require_ok(const TimedReply& reply, const PluginStore& store, const char* what) {
  if (reply.status == REFPOS_OK) return;
  throw BenchError(std::string(what) + " failed with status " + std::to_string(reply.status) +
                   ": " + store.last_error());
}

struct TimedCommit {
  std::int64_t elapsed_ns = 0;
  std::string issued_code;
};

TimedCommit commit_customer(PluginStore& store, std::size_t index,
                            const std::optional<std::string>& code) {
  const std::string request = commit_request_json(index, code);
  const TimedReply reply = store.call(store.api().commit, request, true);
  require_ok(reply, store, "commit");
  return TimedCommit{reply.elapsed_ns, issued_code_of(reply.answer, code.has_value())};
}

// The timed commit series of one database: its samples, and how many of
// them ran a checkpoint.
struct CommitSeries {
  explicit CommitSeries(std::string database_path) : watch(std::move(database_path)) {}

  FileWatch watch;
  std::vector<std::int64_t> samples_ns;
  std::size_t checkpoints = 0;

  void look_before() { (void)watch.changed_since_last_look(); }
  void record_after(std::int64_t elapsed_ns, bool timed) {
    const bool checkpointed = watch.changed_since_last_look();
    if (!timed) return;
    samples_ns.push_back(elapsed_ns);
    if (checkpointed) ++checkpoints;
  }
};

// The referral chain, one raw commit beside each plugin commit (which one
// goes first alternates). Returns the code the last commit issued.
std::string run_commits(PluginStore& store, const std::string& data_dir, RawSqliteCommits& raw,
                        std::size_t timed, BenchResults& results) {
  std::string code = commit_customer(store, 0, std::nullopt).issued_code;
  CommitSeries plugin(store_database_of(data_dir));
  CommitSeries baseline(raw.path());
  plugin.samples_ns.reserve(timed);
  baseline.samples_ns.reserve(timed);
  const auto raw_commit = [&](bool is_timed) {
    baseline.look_before();
    // The limit: one fsync'd SQLite commit plus one QR encode (DESIGN.md 7).
    baseline.record_after(raw.timed_commit() + timed_qr_encode(), is_timed);
  };
  for (std::size_t i = 1; i <= kWarmupCommits + timed; ++i) {
    const bool is_timed = i > kWarmupCommits;
    const bool raw_first = i % 2 == 0;
    if (raw_first) raw_commit(is_timed);
    plugin.look_before();
    TimedCommit commit = commit_customer(store, i, code);
    plugin.record_after(commit.elapsed_ns, is_timed);
    if (!raw_first) raw_commit(is_timed);
    code = std::move(commit.issued_code);
  }
  results.commit = summarize(std::move(plugin.samples_ns));
  results.raw_commit = summarize(std::move(baseline.samples_ns));
  results.commit_checkpoints = plugin.checkpoints;
  results.raw_commit_checkpoints = baseline.checkpoints;
  return code;
}

// A large store's state before anything is timed: prefill_customers
// customers in a referral chain, each back for more visits until the log
// holds prefill_events events. Untimed; prints progress on stderr.
void prefill(PluginStore& store, const BenchOptions& options, BenchResults& results) {
  std::optional<std::string> code;
  std::int64_t last_seq = 0;
  std::size_t commits = 0;
  for (std::size_t visit = 0; commits == 0 || last_seq < options.prefill_events; ++visit) {
    for (std::size_t i = 0; i < options.prefill_customers; ++i) {
      const std::string request = prefill_request_json(i, visit, visit == 0 ? code : std::nullopt);
      const TimedReply reply = store.call(store.api().commit, request, true);
      require_ok(reply, store, "prefill commit");
      if (visit == 0) code = issued_code_of(reply.answer, code.has_value());
      last_seq = last_seq_of(reply.answer);
      ++commits;
      if (commits % 2000 == 0) {
        std::fprintf(stderr, "\rprefill: %zu commits, %lld events", commits,
                     static_cast<long long>(last_seq));
      }
      if (visit > 0 && last_seq >= options.prefill_events) break;
    }
  }
  std::fprintf(stderr, "\rprefill: %zu commits, %lld events\n", commits,
               static_cast<long long>(last_seq));
  results.prefill_commits = commits;
  results.prefill_events = last_seq;
}

void run_previews(PluginStore& store, const std::string& code, std::size_t timed,
                  BenchResults& results) {
  const std::string request = preview_request_json(code);
  const TimedReply first = store.call(store.api().preview, request, true);
  require_ok(first, store, "preview");
  require_accepted_preview(first.answer);
  std::vector<std::int64_t> samples;
  samples.reserve(timed);
  for (std::size_t i = 0; i < kWarmupPreviews + timed; ++i) {
    const TimedReply reply = store.call(store.api().preview, request, false);
    require_ok(reply, store, "preview");
    if (i >= kWarmupPreviews) samples.push_back(reply.elapsed_ns);
  }
  results.preview = summarize(std::move(samples));
}

void run_repeat_loads(const std::string& plugin_path, const TempFolder& folder,
                      BenchResults& results) {
  std::vector<std::int64_t> samples;
  bool always_unloaded = true;
  for (std::size_t i = 0; i < kRepeatLoads; ++i) {
    always_unloaded = always_unloaded && !PluginLibrary::is_mapped(plugin_path);
    const std::string config =
        store_config_json(folder.child("repeat-load-" + std::to_string(i)));
    std::int64_t elapsed = 0;
    const LoadedPlugin loaded = load_and_open(plugin_path, config, elapsed);
    samples.push_back(elapsed);
  }
  results.repeat_load_open = summarize(std::move(samples));
  results.repeat_loads_unloaded = always_unloaded;
}

}  // namespace

BenchResults run_checkout_bench(const BenchOptions& options) {
  BenchResults results;
  results.load_average_before = one_minute_load_average();
  const TempFolder folder;
  results.folder = folder.path();
  results.folder_file_system = file_system_name(folder.path());
  results.before_load = read_process_memory();
  {
    const std::string data_dir = folder.child("store");
    const std::string config = store_config_json(data_dir);
    const LoadedPlugin plugin =
        load_and_open(options.plugin_path, config, results.first_load_open_ns);
    results.plugin_version_json = plugin.library->api().version();
    prefill(*plugin.store, options, results);
    RawSqliteCommits raw(folder.child("raw-commit.db"));
    const std::string code = run_commits(*plugin.store, data_dir, raw, options.commits, results);
    run_previews(*plugin.store, code, options.previews, results);
    results.after_checkouts = read_process_memory();
  }
  run_repeat_loads(options.plugin_path, folder, results);
  results.one_mac_ns = one_mac_p50_ns(kMacBatches, kMacCallsPerBatch);
  results.plain_work = plain_work(static_cast<double>(results.preview.p50_ns), results.one_mac_ns,
                                  options.previews);
  results.load_average_after = one_minute_load_average();
  return results;
}

}  // namespace refpos::bench
