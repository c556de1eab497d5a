// refpos-bench-hq: the head office under load, next to limits measured in
// the same run (docs/benchmarks.md, "Head office: ingest and 1,000 stores").
//
// 1. Ingest: one store pushes --events events in batches of 500 over one
//    keep-alive mutual-TLS connection to the real refpos-hq; the same rows
//    then go into a raw SQLite file (WAL, synchronous=FULL) in transactions
//    of 500. Budget: ingest rate >= 0.5 x raw rate.
// 2. Stores: --stores stores, each with its own certificate and connection,
//    all connected at once, push --store-events events each and pull once.
//    Budgets: every store completes, nothing is lost (GET /v1/status as an
//    admin), the server's peak resident set (VmHWM) under --rss-limit-mib.
//
// Not a test: its figures depend on the machine (one smoke run is a ctest
// test that only checks that the run completes and nothing was lost).
//
// Exit codes: 0 every budget passes; 1 a budget fails or the run could not
// be made; 2 usage error; 3 head office lost events a store sent.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"  // CLI11's split(), see checkout/main.cpp
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "bench_error.hpp"
#include "hq_bench.hpp"
#ifdef REFPOS_BENCH_POSTGRES
#include "pg_cluster.hpp"
#endif
#include "machine_load.hpp"
#include "temp_folder.hpp"

namespace {

using namespace refpos::bench;

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLost = 3;

struct Options {
  std::string hq_path = REFPOS_HQ_PATH;
  std::size_t events = 50'000;
  std::size_t batch = 500;
  std::size_t stores = 1000;
  std::size_t store_events = 40;
  std::size_t store_batch = 20;
  // Measured: 123 MiB at 1000 connections (15 MiB idle, ~110 KiB per TLS
  // connection); 256 MiB is about 2x, and what the server's default
  // max_connections (2048) would need at that rate (docs/benchmarks.md).
  double rss_limit_mib = 256;
  double min_ingest_ratio = 0.5;
  // Head office on a throwaway PostgreSQL cluster instead of SQLite; the
  // ingest baseline is then a raw COPY into the same database.
  bool postgres = false;
  std::size_t instances = 1;  // head offices the stores spread over (postgres)
};

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string duration(std::int64_t ns) {
  const double v = static_cast<double>(ns);
  if (ns >= 1'000'000'000) return fixed(v / 1e9, 2) + " s";
  if (ns >= 1'000'000) return fixed(v / 1e6, 2) + " ms";
  return fixed(v / 1e3, 1) + " µs";
}

std::string rate(double per_s, const char* unit) { return fixed(per_s, 0) + " " + unit; }

std::string mib(std::int64_t bytes) { return fixed(static_cast<double>(bytes) / 1048576.0, 1) + " MiB"; }

std::string load(double l) { return l < 0 ? "unknown" : fixed(l, 2); }

// The display width of UTF-8 text (µ is two bytes, one column).
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

struct Row {
  std::string figure, measured, limit, ratio, budget, result;
};

void print_rows(std::ostream& out, const std::vector<Row>& rows) {
  const std::vector<std::string> head = {"figure", "measured", "limit", "ratio", "budget", "result"};
  std::vector<std::vector<std::string>> cells = {head};
  for (const auto& r : rows) cells.push_back({r.figure, r.measured, r.limit, r.ratio, r.budget, r.result});
  std::vector<std::size_t> width(head.size(), 0);
  for (const auto& line : cells)
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], columns(line[i]));
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text += std::string(width[i] - columns(line[i]) + 2, ' ');
    }
    out << text << "\n";
  }
}

const char* verdict(bool pass) { return pass ? "PASS" : "FAIL"; }

// The bench holds ~1000 connections and the server as many: raise the soft
// limit on open files to the hard one (refpos-hq inherits it).
std::string raise_open_files() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return "unknown";
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return std::to_string(limit.rlim_cur) + " (was " + std::to_string(before) + ", hard " +
         std::to_string(limit.rlim_max) + ")";
}

void define_flags(CLI::App& app, Options& o) {
  app.add_option("--hq", o.hq_path, "refpos-hq executable to start")
      ->type_name("PATH")->check(CLI::ExistingFile)->capture_default_str();
  app.add_option("--events", o.events, "ingest: events one store pushes (0: skip the ingest run)")
      ->type_name("N")->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))->capture_default_str();
  app.add_option("--batch", o.batch, "ingest: events per batch and per raw SQLite transaction")
      ->type_name("N")->check(CLI::Range(std::size_t{1}, refpos::sync::kMaxBatchEvents))->capture_default_str();
  app.add_option("--stores", o.stores, "stores syncing at once, each with its own certificate (0: skip)")
      ->type_name("N")->check(CLI::Range(std::size_t{0}, std::size_t{10'000}))->capture_default_str();
  app.add_option("--store-events", o.store_events, "events each of those stores pushes")
      ->type_name("N")->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  app.add_option("--store-batch", o.store_batch, "events per batch for those stores")
      ->type_name("N")->check(CLI::Range(std::size_t{1}, refpos::sync::kMaxBatchEvents))->capture_default_str();
  app.add_option("--rss-limit-mib", o.rss_limit_mib, "budget: each server's peak resident set (VmHWM)")
      ->type_name("MIB")->check(CLI::Range(1.0, 1e6))->capture_default_str();
  app.add_flag("--postgres", o.postgres,
               "head office on a throwaway PostgreSQL 15 cluster (Debian's binaries); the ingest baseline "
               "is a raw COPY into the same database");
  app.add_option("--instances", o.instances, "stores: head-office instances on one database (needs --postgres)")
      ->type_name("N")->check(CLI::Range(std::size_t{1}, std::size_t{8}))->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  // The raw SQLite baseline runs with the settings refpos-hq uses (its
  // main.cpp): no allocation statistics.
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  Options o;
  CLI::App app{
      "refpos head-office benchmark: ingest over one mutual-TLS connection against raw SQLite\n"
      "inserts, then many stores syncing at once (each its own certificate and connection),\n"
      "against the real refpos-hq.\n"
      "Exit codes: 0 all budgets pass, 1 a budget fails or the run failed, 2 usage error,\n"
      "3 head office lost events that a store sent."};
  define_flags(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitPass : kExitUsage;
  }
  if (o.events == 0 && o.stores == 0) {
    std::cerr << "refpos-bench-hq: nothing to run (--events 0 and --stores 0)\n";
    return kExitUsage;
  }
  if (o.instances > 1 && !o.postgres) {
    std::cerr << "refpos-bench-hq: --instances above 1 needs --postgres (instances share one database)\n";
    return kExitUsage;
  }
#ifndef REFPOS_BENCH_POSTGRES
  if (o.postgres) {
    std::cerr << "refpos-bench-hq: built without the PostgreSQL test cluster (REFPOS_BUILD_TESTS=OFF)\n";
    return kExitUsage;
  }
#endif

  try {
    const std::string nofile = raise_open_files();
    TempFolder folder;
    const double load_before = one_minute_load_average();
    const auto chain_start = BenchClock::now();
    const BenchChain chain = make_chain(folder.path(), std::max<std::size_t>(o.stores, 1));
    const std::int64_t chain_ns = elapsed_ns(chain_start, BenchClock::now());

    // One database per run: ingest's and the stores' (both use store-0001).
    std::string ingest_db, stores_db, backend = "SQLite " + std::string(sqlite3_libversion());
#ifdef REFPOS_BENCH_POSTGRES
    std::optional<refpos::test::PgCluster> cluster;
    if (o.postgres) {
      cluster.emplace();
      ingest_db = cluster->create_database("bench_ingest");
      stores_db = cluster->create_database("bench_stores");
      backend = "PostgreSQL 15 (throwaway cluster, Unix socket)";
    }
#endif
    const std::string raw_name = o.postgres ? "raw COPY" : "raw SQLite";

    // The stores' connections wait, connected and silent, until all of them
    // are: longer than the default 10 s header deadline with 1000 of them.
    HqServer server(o.hq_path, folder.path(), chain, 300'000, ingest_db);

    std::optional<IngestResult> ingest;
    if (o.events > 0) {
      const auto events = make_events(chain.store_ids.at(0), o.events);
      const auto raw = o.postgres ? raw_copy_baseline(ingest_db) : raw_sqlite_baseline(folder.path());
      ingest = run_ingest(server, chain, events, o.batch, *raw);
    }
    std::optional<StoresResult> stores;
    const std::int64_t rss_after_ingest = server.peak_resident_bytes();
    std::vector<std::int64_t> peak_rss;  // per instance
    int server_exit = 0;
    if (o.stores > 0) {
      // Fresh head offices for the stores (ingest's store is store-0001 too,
      // and its peak resident set must not count here).
      server_exit = server.stop();
      std::vector<std::unique_ptr<HqServer>> fresh;
      std::vector<std::uint16_t> ports;
      for (std::size_t i = 0; i < o.instances; ++i) {
        const std::string stores_folder = folder.child("stores-" + std::to_string(i + 1));
        if (::mkdir(stores_folder.c_str(), 0700) != 0) throw BenchError("cannot create " + stores_folder);
        fresh.push_back(std::make_unique<HqServer>(o.hq_path, stores_folder, chain, 300'000, stores_db));
        ports.push_back(fresh.back()->port());
      }
      stores = run_stores(ports, chain, o.store_events, o.store_batch);
      for (auto& f : fresh) {
        peak_rss.push_back(f->peak_resident_bytes());
        const int code = f->stop();
        if (server_exit == 0) server_exit = code;
      }
    } else {
      peak_rss.push_back(rss_after_ingest);
      server_exit = server.stop();
    }
    const double load_after = one_minute_load_average();

    // ---- report ----
    std::ostream& out = std::cout;
    out << "refpos head-office benchmark: " << backend << "\n";
    out << "hq       " << o.hq_path << "\n";
    const std::string fs = file_system_name(folder.path());
    out << "folder   " << folder.path() << " (" << fs << ")"
        << (fsync_is_free(fs) ? "  WARNING: fsync is free on this file system" : "") << "\n";
    out << "machine  " << std::thread::hardware_concurrency() << " cores, 1-min load average "
        << load(load_before) << " before, " << load(load_after) << " after; open files " << nofile << "\n";
    out << "chain    CA, head office, admin and " << chain.stores.size() << " store certificates (P-256) in "
        << duration(chain_ns) << "\n";

    std::vector<Row> rows;
    bool pass = true;
    if (ingest) {
      const double ingest_rate = static_cast<double>(ingest->events) / (static_cast<double>(ingest->ingest_ns) / 1e9);
      const double raw_rate = static_cast<double>(ingest->events) / (static_cast<double>(ingest->raw_ns) / 1e9);
      const double ratio = ingest_rate / raw_rate;
      const bool ok = ratio >= o.min_ingest_ratio;
      pass = pass && ok;
      out << "ingest   " << ingest->events << " events of one store (body "
          << ingest->body_bytes / static_cast<std::int64_t>(ingest->events) << " B on average), "
          << ingest->batches << " batches of up to " << o.batch << " ("
          << ingest->request_bytes / static_cast<std::int64_t>(ingest->batches)
          << " B per request) over one connection; " << raw_name
          << ": the same rows, one transaction per batch, each right after its push\n";
      const auto batch = summarize(ingest->batch_ns);
      const auto raw_txn = summarize(ingest->raw_txn_ns);
      rows.push_back({"ingest rate", rate(ingest_rate, "events/s"), rate(raw_rate, ("rows/s (" + raw_name + ")").c_str()),
                      fixed(ratio, 2), ">= " + fixed(o.min_ingest_ratio, 1), verdict(ok)});
      rows.push_back({"ingest, summed", duration(ingest->ingest_ns), duration(ingest->raw_ns) + " (" + raw_name + ")",
                      fixed(static_cast<double>(ingest->ingest_ns) / static_cast<double>(ingest->raw_ns), 2), "-",
                      "-"});
      rows.push_back({"batch p50", duration(batch.p50_ns), duration(raw_txn.p50_ns) + " (raw txn p50)",
                      fixed(static_cast<double>(batch.p50_ns) / static_cast<double>(raw_txn.p50_ns), 2), "-", "-"});
      rows.push_back({"batch p99", duration(batch.p99_ns), duration(raw_txn.p99_ns) + " (raw txn p99)",
                      fixed(static_cast<double>(batch.p99_ns) / static_cast<double>(raw_txn.p99_ns), 2), "-", "-"});
      // Not budgeted: what the pushes left behind for the fold worker.
      const double folded_rate = static_cast<double>(ingest->events) /
                                 (static_cast<double>(ingest->ingest_ns + ingest->fold_drain_ns) / 1e9);
      rows.push_back({"folded after last ack", duration(ingest->fold_drain_ns), "-", "-", "-", "-"});
      rows.push_back({"pushed and folded", rate(folded_rate, "events/s"),
                      rate(raw_rate, ("rows/s (" + raw_name + ")").c_str()),
                      fixed(folded_rate / raw_rate, 2), "-", "-"});
      if (!stores) rows.push_back({"server resident, peak", mib(peak_rss.at(0)), "-", "-", "-", "-"});
      else rows.push_back({"server resident after ingest", mib(rss_after_ingest), "-", "-", "-", "-"});
    }
    bool lost = false;
    if (stores) {
      const auto& s = *stores;
      const std::int64_t limit = static_cast<std::int64_t>(o.rss_limit_mib * 1048576.0);
      const bool all_done = s.completed == s.stores && s.stores_short == 0;
      bool rss_ok = true;
      for (const auto peak : peak_rss) rss_ok = rss_ok && peak < limit;
      lost = s.stores_lost > 0;
      pass = pass && all_done && rss_ok && !lost;
      out << "stores   " << s.stores << " stores, each its own certificate, connection and thread; all connected "
          << "before any pushes; " << o.store_events << " events each in batches of " << o.store_batch
          << ", then one GET /v1/updates; checked with GET /v1/status as an admin"
          << (o.instances > 1 ? "; store i talks to instance i mod " + std::to_string(o.instances) : std::string())
          << "\n";
      const std::string n = std::to_string(s.stores);
      rows.push_back({"stores completed", std::to_string(s.completed), n, "-", "all", verdict(s.completed == s.stores)});
      rows.push_back({"events held by head office", std::to_string(s.events_verified), std::to_string(s.events_sent) +
                      " (sent)", "-", "all, none lost", verdict(s.stores_short == 0 && !lost)});
      rows.push_back({"events acked to the stores", std::to_string(s.events_acked), std::to_string(s.events_sent) +
                      " (sent)", "-", "-", "-"});
      for (std::size_t i = 0; i < peak_rss.size(); ++i) {
        const std::string who = peak_rss.size() > 1 ? "instance " + std::to_string(i + 1) + " resident, peak (VmHWM)"
                                                    : std::string("server resident, peak (VmHWM)");
        rows.push_back({who, mib(peak_rss[i]), mib(limit) + " (budget)",
                        fixed(static_cast<double>(peak_rss[i]) / static_cast<double>(limit), 2),
                        "< " + fixed(o.rss_limit_mib, 0) + " MiB", verdict(peak_rss[i] < limit)});
      }
      rows.push_back({"connect, all stores (wall)", duration(s.connect_ns), "-", "-", "-", "-"});
      rows.push_back({"sync, all stores (wall)", duration(s.sync_ns), "-", "-", "-", "-"});
      if (!s.store_ns.empty()) {
        const auto per_store = summarize(s.store_ns);
        rows.push_back({"per-store sync p50", duration(per_store.p50_ns), "-", "-", "-", "-"});
        rows.push_back({"per-store sync p99", duration(per_store.p99_ns), "-", "-", "-", "-"});
      }
    }
    out << "\n";
    print_rows(out, rows);
    out << "\n";
    if (stores) {
      out << "per-store sync: from the release (all " << stores->stores
          << " connected) to that store's pull answer; wall: to the last one\n";
      for (const auto& e : stores->errors) out << "error: " << e << "\n";
      if (stores->stores_lost > 0)
        out << stores->stores_lost << " stores: head office holds fewer events than it acknowledged or was sent\n";
    }
    if (server_exit != 0) {
      out << "refpos-hq did not stop cleanly after SIGTERM (exit " << server_exit << ")\n";
      pass = false;
    }
    if (lost) {
      out << "EVENTS LOST\n";
      return kExitLost;
    }
    out << (pass ? "every budget passed" : "a budget FAILED") << "\n";
    return pass ? kExitPass : kExitFail;
  } catch (const std::exception& e) {
    std::cerr << "refpos-bench-hq: " << e.what() << "\n";
    return kExitFail;
  }
}
