// refpos-bench-report's pieces (docs/benchmarks.md, "Reports: the chain
// report over 1,000,000 events"): a head-office file with the real schema
// filled with a seeded chain's events, and the bare SQLite aggregate the
// report is compared with.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace refpos::bench {

// What the seeded chain looks like. Events are spread evenly over `days`
// days from `from_ms` in every store; the same spec and seed give the same
// file, byte for byte.
struct ChainSpec {
  std::int64_t events = 1'000'000;
  std::int64_t stores = 100;
  std::int64_t from_ms = 0;
  std::int64_t days = 90;
  std::uint32_t seed = 20'261'123;
};

// What was written: counts per type (the bare query's answer, computed
// while writing), the conflicts and the file's size.
struct ChainFile {
  std::int64_t events = 0;
  std::int64_t body_bytes = 0;
  std::int64_t customers = 0;
  std::int64_t conflicts = 0;
  std::map<std::string, std::int64_t> events_by_type;
  std::int64_t committed_total_minor = 0;  // sum of txn_committed total_minor
  std::int64_t file_bytes = 0;             // main file after a TRUNCATE checkpoint
};

// Creates the head-office file at `path` with hq::SqliteStorage::open (the
// real migrations), then fills `stores`, `events` (hash-chained with
// store::event_hash, bodies shaped as plugin/src/checkout/checkout.cpp
// writes them), `conflicts` and `conflict_txns` with one prepared statement
// each, synchronous=OFF, in large transactions. Throws BenchError.
ChainFile write_chain_file(const std::string& path, const ChainSpec& spec);

// The bare aggregate over the same rows, one statement (kBareQuery):
// events per type in [from_ms, to_ms) and, for txn_committed, the sum of
// json_extract(body, '$.total_minor').
inline constexpr const char* kBareQuery =
    "SELECT type, count(*), sum(CASE WHEN type = 'txn_committed'"
    " THEN json_extract(body, '$.total_minor') END)"
    " FROM events WHERE at_ms >= ?1 AND at_ms < ?2 GROUP BY type";

struct BareAnswer {
  std::map<std::string, std::int64_t> events_by_type;
  std::int64_t committed_total_minor = 0;
};

// Runs kBareQuery on its own read-only connection (SQLite's defaults, as
// the report's). Throws BenchError.
BareAnswer run_bare_query(const std::string& path, std::int64_t from_ms, std::int64_t to_ms);

}  // namespace refpos::bench
