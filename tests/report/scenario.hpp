// A seeded store history whose report is known by construction: the real
// librefpos.so (dlopen, C ABI) runs checkouts, redemptions, refunds, NPS
// answers and ask outcomes at chosen instants around January 2026, and the
// scenario writes down, from its own constants, what every figure of the
// report for [2026-01-01, 2026-02-01) UTC must be.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace refpos::test {

// The period the expected figures are for.
inline constexpr const char* kScenarioFrom = "2026-01-01";
inline constexpr const char* kScenarioTo = "2026-02-01";

// Runs the full story into `data_dir` (which must exist) as store
// "store-001"; returns the expected figures keyed by their HTML
// data-figure names (docs/reports.md), each value a number, string or null.
nlohmann::json run_main_scenario(const std::string& data_dir);

// A small second store for chain-wide reports: `customers` customers, each
// one purchase of `price_minor` on 2026-01-10 with NPS 10, no codes.
void run_small_store(const std::string& data_dir, const std::string& store_id, int customers,
                     std::int64_t price_minor);

// Builds a head-office shaped SQLite file at `hq_path` (the tables of
// tools/hq/sqlite_storage.cpp the report reads: stores, events, conflicts,
// conflict_txns) holding the events of the given store files verbatim, and
// one conflict over `conflict_txn` of store-001 (code `conflict_code`).
void build_head_office_file(const std::string& hq_path,
                            const std::vector<std::pair<std::string, std::string>>& store_dbs,
                            const std::string& conflict_code, const std::string& conflict_txn);

// One integer from a SQLite file (opened read-only).
std::int64_t sql_int(const std::string& db_path, const std::string& sql);

}  // namespace refpos::test
